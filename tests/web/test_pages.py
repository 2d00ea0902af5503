"""Pages without JavaScript, hostile bodies, weight, small screens, and a screenshot of each."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Response, expect

from server.domain.permissions import Viewer
from server.services import rooms, threads
from tests.helpers import make_user
from tests.web.conftest import Site, open_page, screenshot, sign_in

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

HOSTILE = (
    "<script>alert('script')</script> <img src=x onerror=\"alert('img')\"> "
    "[click](javascript:alert('link')) <svg onload=\"alert('svg')\"></svg> "
    "<iframe src=\"javascript:alert('frame')\"></iframe>"
)


async def _public_thread(
    site: Site, body: str = "Which regulators granted **temporary** access?"
) -> int:
    moderator = await make_user(site.services, role="moderator")
    viewer = Viewer(user_id=moderator.id, role="moderator")
    await rooms.create_room(
        site.services, viewer=viewer, slug="spectrum", title="Emergency spectrum",
        description="Temporary assignments and lending between operators.",
        theme="spectrum", visibility="public",
    )  # fmt: skip
    thread, _ = await threads.create_thread(
        site.services, viewer=viewer, slug="spectrum", title="Who has lent 600 MHz spectrum?",
        body=body, kind="question", countries=["US"],
    )  # fmt: skip
    return int(thread["id"])


async def test_without_javascript_rooms_threads_and_sign_in_work(
    browser: Browser, site: Site
) -> None:
    thread_id = await _public_thread(site)
    email, name = await site.account()
    watched = await open_page(browser, java_script_enabled=False)
    page = watched.page
    await page.goto(site.url + "/")
    await page.get_by_role("link", name="Emergency spectrum").click()
    await expect(page.get_by_role("heading", name="Emergency spectrum")).to_be_visible()
    await page.get_by_role("link", name="Who has lent 600 MHz spectrum?").click()
    await expect(page.locator(".message strong", has_text="temporary")).to_be_visible()

    await page.get_by_role("link", name="Sign in").first.click()
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{site.url}/threads/{thread_id}")
    await expect(page.get_by_role("link", name=name)).to_be_visible()
    # Replying works as a plain form post too.
    await page.get_by_label("Your message").fill("Posted without JavaScript")
    await page.get_by_role("button", name="Post").click()
    await expect(page.locator(".message", has_text="Posted without JavaScript")).to_have_count(1)


async def test_hostile_bodies_render_as_text_under_the_csp(browser: Browser, site: Site) -> None:
    thread_id = await _public_thread(site, body=HOSTILE)
    email, _ = await site.account()
    watched = await open_page(browser)
    await sign_in(watched, site.url, email)
    page = watched.page
    responses: list[Response] = []
    page.on("response", lambda response: responses.append(response))
    await page.goto(f"{site.url}/threads/{thread_id}")
    await page.get_by_label("Your message").fill(HOSTILE)
    await page.get_by_role("button", name="Post").click()
    bodies = page.locator(".message .body")
    await expect(bodies).to_have_count(2)
    for text in await bodies.all_inner_texts():
        assert "<script>alert('script')</script>" in text  # shown as the text it is
    assert (
        await page.locator(".message script, .message img, .message svg, .message iframe").count()
        == 0
    )
    await page.reload()
    await expect(page.locator(".message")).to_have_count(2)
    assert watched.dialogs == []
    document = next(r for r in responses if r.url.endswith(f"/threads/{thread_id}"))
    csp = (await document.all_headers())["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert not [e for e in watched.console_errors if "Content Security Policy" in e]
    assert watched.console_errors == []


async def test_thread_page_first_load_is_under_100_kb(browser: Browser, site: Site) -> None:
    thread_id = await _public_thread(site)
    watched = await open_page(browser)
    page = watched.page
    sizes: dict[str, int] = {}

    async def record(response: Response) -> None:
        body = await response.body() if response.status == 200 else b""
        headers = await response.all_headers()
        sizes[response.url] = len(body) + sum(len(k) + len(v) + 4 for k, v in headers.items())

    page.on("response", record)
    await page.goto(f"{site.url}/threads/{thread_id}", wait_until="networkidle")
    total = sum(sizes.values())
    assert total < 100 * 1024, f"{total} bytes: {sizes}"
    assert any(url.endswith(".js") or ".js?" in url for url in sizes)  # modules were counted


async def test_pages_fit_a_360_px_screen_and_get_screenshots(browser: Browser, site: Site) -> None:
    thread_id = await _public_thread(site)
    email, _ = await site.account()
    watched = await open_page(browser, viewport={"width": 360, "height": 740})
    page = watched.page
    for name, path in (("login", "/login"), ("signup", "/signup")):
        await page.goto(site.url + path)
        await screenshot(page, name)
        assert await page.evaluate("document.documentElement.scrollWidth") <= 360
    await sign_in(watched, site.url, email)
    for name, path in (
        ("home", "/"),
        ("room", "/rooms/spectrum"),
        ("thread-360px", f"/threads/{thread_id}"),
        ("settings", "/settings"),
    ):
        await page.goto(site.url + path)
        await page.wait_for_load_state("networkidle")
        await screenshot(page, name)
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{name} is {width} px wide"
    assert watched.console_errors == []


async def test_keyboard_reaches_the_composer_and_tokens_are_shown_once(
    browser: Browser, site: Site
) -> None:
    thread_id = await _public_thread(site)
    email, _ = await site.account()
    watched = await open_page(browser)
    await sign_in(watched, site.url, email)
    page = watched.page
    await page.goto(f"{site.url}/threads/{thread_id}")
    for _ in range(30):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.id") == "body":
            break
    assert await page.evaluate("document.activeElement.id") == "body"
    await page.keyboard.type("Sent from the keyboard")
    await page.keyboard.press("Control+Enter")
    await expect(page.locator(".message", has_text="Sent from the keyboard")).to_have_count(1)

    await page.goto(f"{site.url}/settings")
    await page.get_by_label("Name", exact=True).last.fill("monitoring")
    await page.get_by_role("button", name="Create token").click()
    secret = await page.locator(".secret").inner_text()
    assert secret.startswith("gnrp_")
    await page.goto(f"{site.url}/settings")
    assert secret not in await page.content()
    await page.get_by_label("E-mail digest").select_option("weekly")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_label("E-mail digest")).to_have_value("weekly")
