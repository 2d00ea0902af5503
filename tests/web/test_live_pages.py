"""Rooms and threads live in a real browser: two users, offline and back, two processes."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from server.domain.permissions import Viewer
from server.services import moderation, rooms, threads
from tests.helpers import make_user
from tests.web.conftest import Site, Watched, open_page, screenshot, sign_in

pytestmark = pytest.mark.timeout(120)


async def _thread(site: Site, slug: str = "spectrum", visibility: str = "public") -> int:
    moderator = await make_user(site.services, role="moderator")
    viewer = Viewer(user_id=moderator.id, role="moderator")
    await rooms.create_room(
        site.services, viewer=viewer, slug=slug, title="Emergency spectrum",
        description="Temporary assignments and lending between operators.",
        theme="spectrum", visibility=visibility,
    )  # fmt: skip
    thread, _ = await threads.create_thread(
        site.services, viewer=viewer, slug=slug, title="Who has lent 600 MHz spectrum?",
        body="Which regulators granted **temporary** access, and for how long?",
        kind="question", countries=["US", "CA"],
    )  # fmt: skip
    return int(thread["id"])


async def _two_readers(
    browser: Browser, site: Site, thread_id: int, *, urls: tuple[str, str]
) -> tuple[Watched, Watched, str, str]:
    a_email, a_name = await site.account()
    b_email, b_name = await site.account()
    a = await open_page(browser)
    b = await open_page(browser)
    await sign_in(a, urls[0], a_email)
    await sign_in(b, urls[1], b_email)
    await a.page.goto(f"{urls[0]}/threads/{thread_id}")
    await b.page.goto(f"{urls[1]}/threads/{thread_id}")
    return a, b, a_name, b_name


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_posts_and_b_sees_it_live_with_typing_and_presence(
    browser: Browser, site: Site
) -> None:
    thread_id = await _thread(site)
    a, b, a_name, b_name = await _two_readers(browser, site, thread_id, urls=(site.url, site.url))

    presence = b.page.locator(".presence")
    await expect(presence).to_contain_text(a_name, timeout=5000)
    await expect(presence).to_contain_text(b_name)
    await expect(a.page.locator(".presence")).to_contain_text(b_name, timeout=5000)

    await a.page.get_by_label("Your message").press_sequentially("Typing a reply")
    await expect(b.page.locator(".typing")).to_contain_text(f"{a_name} is typing", timeout=5000)

    await a.page.get_by_label("Your message").fill("The FCC granted STA for **600 MHz**.")
    await a.page.get_by_role("button", name="Post").click()
    reply = b.page.locator(".message", has_text="The FCC granted STA for")
    await expect(reply).to_have_count(1, timeout=2000)  # within 2 s, no reload
    await expect(reply.locator("strong", has_text="600 MHz")).to_have_count(1)
    # A sees their own message once: the pending copy was reconciled with the ack.
    await expect(a.page.locator(".message", has_text="The FCC granted STA for")).to_have_count(1)
    await expect(a.page.locator(".message.pending")).to_have_count(0)

    await screenshot(a.page, "thread")
    await a.page.get_by_label("Your message").fill("Preview *this*")
    await a.page.get_by_role("button", name="Preview").click()
    await expect(a.page.locator("#preview em", has_text="this")).to_be_visible()
    assert a.console_errors == [] and b.console_errors == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_b_offline_then_back_shows_all_three_once_in_order(
    browser: Browser, site: Site
) -> None:
    thread_id = await _thread(site)
    a, b, _, _ = await _two_readers(browser, site, thread_id, urls=(site.url, site.url))
    await expect(b.page.locator(".presence")).to_be_visible(timeout=5000)
    await _offline_posts_then_back(a, b)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_the_same_across_two_processes_and_redis(
    browser: Browser, two_process_site: Site
) -> None:
    site = two_process_site
    thread_id = await _thread(site)
    urls = (site.servers[0].http, site.servers[1].http)
    a, b, a_name, _ = await _two_readers(browser, site, thread_id, urls=urls)
    await expect(b.page.locator(".presence")).to_contain_text(a_name, timeout=5000)
    await a.page.get_by_label("Your message").fill("Across processes")
    await a.page.get_by_role("button", name="Post").click()
    await expect(b.page.locator(".message", has_text="Across processes")).to_have_count(
        1, timeout=2000
    )
    await _offline_posts_then_back(a, b)


async def _offline_posts_then_back(a: Watched, b: Watched) -> None:
    await b.context.set_offline(True)
    # The socket drops with the network; the page says so.
    await expect(b.page.locator("#live-status")).to_have_text("Reconnecting…", timeout=10000)
    for n in range(3):
        await a.page.get_by_label("Your message").fill(f"while offline {n}")
        await a.page.get_by_role("button", name="Post").click()
        await expect(a.page.locator(".message", has_text=f"while offline {n}")).to_have_count(1)
    await b.context.set_offline(False)
    await expect(b.page.locator("#live-status")).to_be_hidden(timeout=20000)
    offline = b.page.locator(".message", has_text="while offline")
    await expect(offline).to_have_count(3, timeout=5000)
    bodies = [text.split("\n")[-1].strip() for text in await offline.all_inner_texts()]
    assert bodies == ["while offline 0", "while offline 1", "while offline 2"]
    assert await b.page.evaluate("performance.getEntriesByType('navigation').length") == 1


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_pinned_answer_shows_first_and_labelled_in_other_browsers(
    browser: Browser, site: Site
) -> None:
    thread_id = await _thread(site)
    a, b, _, _ = await _two_readers(browser, site, thread_id, urls=(site.url, site.url))
    expert = await make_user(site.services, role="member")
    async with site.services.write() as tx:
        expert.expert = True
        tx.session.add(expert)
    posted = await threads.post_message(
        site.services,
        viewer=Viewer(user_id=expert.id, role="member"),
        thread_id=thread_id,
        body="The FCC granted STA to T-Mobile in the 600 MHz band.",
        client_id=None,
    )
    for reader in (a, b):
        await expect(reader.page.locator(f"#m{posted.message['id']}")).to_have_count(1)

    moderator = await make_user(site.services, role="moderator")
    await moderation.pin_answer(
        site.services,
        viewer=Viewer(user_id=moderator.id, role="moderator"),
        thread_id=thread_id,
        message_id=posted.message["id"],
    )
    for reader in (a, b):
        answer = reader.page.locator("#answer-section")
        await expect(answer.get_by_role("heading", name="Answer by an expert")).to_be_visible(
            timeout=5000
        )
        await expect(answer.locator(".message", has_text="granted STA")).to_have_count(1)
        first = reader.page.locator("main section").first
        assert await first.get_attribute("id") == "answer-section"
        assert await reader.page.evaluate("performance.getEntriesByType('navigation').length") == 1
    await screenshot(b.page, "thread-pinned")
