"""Moderation from the pages, as plain forms: a member flags, a moderator hides from the queue,
and the audit log shows it."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect

from tests.web.conftest import Site, open_page, screenshot, sign_in
from tests.web.test_live_pages import _thread

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


async def test_flag_then_hide_from_the_queue_without_javascript(
    browser: Browser, site: Site
) -> None:
    thread_id = await _thread(site)
    member_email, _ = await site.account()
    member = await open_page(browser, java_script_enabled=False)
    await sign_in(member, site.url, member_email)
    page = member.page
    await page.goto(f"{site.url}/threads/{thread_id}")
    message = page.locator(".messages .message").first
    await message.locator("summary").click()
    await message.get_by_label("Flag as").select_option("misinformation")
    await message.get_by_role("button", name="Flag").click()
    await page.wait_for_url(f"{site.url}/threads/{thread_id}*")
    assert await page.locator("a", has_text="Moderation").count() == 0  # not for members
    assert (await page.goto(f"{site.url}/moderation")).status == 404  # type: ignore[union-attr]

    moderator_email, _ = await site.account(role="moderator")
    moderator = await open_page(browser, java_script_enabled=False)
    await sign_in(moderator, site.url, moderator_email)
    page = moderator.page
    await page.get_by_role("link", name="Moderation").click()
    flagged = page.locator("#queue ~ article")
    await expect(flagged).to_have_count(1)
    await expect(flagged).to_contain_text("misinformation")
    await flagged.get_by_label("Reason").fill("not supported by the sources")
    await flagged.get_by_role("button", name="Hide").click()
    await expect(page.get_by_text("No open flags.")).to_be_visible()
    audit = page.locator("table.audit tbody tr")
    await expect(audit.nth(0)).to_contain_text("flags.hide")
    await expect(audit.nth(1)).to_contain_text("message.hide")
    await screenshot(page, "moderation")

    reader = await open_page(browser)
    await reader.page.goto(f"{site.url}/threads/{thread_id}")
    await expect(reader.page.locator(".messages .message").first).to_contain_text(
        "Hidden by a moderator."
    )


async def test_asking_for_and_granting_regulator_verification(browser: Browser, site: Site) -> None:
    member_email, _ = await site.account()
    member = await open_page(browser)
    await sign_in(member, site.url, member_email)
    await member.page.goto(f"{site.url}/settings")
    await member.page.get_by_label("Regulator or ministry").fill("Ghana NCA")
    await member.page.get_by_label("Country").fill("GH")
    await member.page.get_by_role("button", name="Ask to be verified").click()
    await expect(member.page.get_by_text("Your request is with the moderators.")).to_be_visible()

    moderator_email, _ = await site.account(role="moderator")
    moderator = await open_page(browser)
    await sign_in(moderator, site.url, moderator_email)
    await moderator.page.goto(f"{site.url}/moderation")
    request = moderator.page.locator("#verifications ~ article")
    await expect(request).to_contain_text("Ghana NCA (GH)")
    await request.get_by_role("button", name="Verify").click()
    await expect(moderator.page.get_by_text("No requests waiting.")).to_be_visible()
    await member.page.goto(f"{site.url}/settings")
    await expect(member.page.get_by_role("heading", name="Verified regulator")).to_have_count(0)


async def test_edit_history_is_readable_from_the_message(browser: Browser, site: Site) -> None:
    thread_id = await _thread(site)
    email, _ = await site.account()
    author = await open_page(browser)
    await sign_in(author, site.url, email)
    page = author.page
    await page.goto(f"{site.url}/threads/{thread_id}")
    await page.get_by_label("Your message").fill("First *draft*")
    await page.get_by_role("button", name="Post").click()
    posted = page.locator(".message", has_text="First draft")
    await expect(posted).to_have_count(1)
    message_id = await posted.get_attribute("data-id")
    response = await page.request.patch(
        f"{site.url}/api/messages/{message_id}",
        data={"body": "Final text"},
        headers={"Origin": site.url},
    )
    assert response.status == 200
    reader = await open_page(browser)
    await reader.page.goto(f"{site.url}/threads/{thread_id}")
    await reader.page.get_by_role("link", name="(edited)").click()
    await expect(reader.page.locator(".history em", has_text="draft")).to_be_visible()
