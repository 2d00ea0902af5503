"""Notifications in Chromium: follow a country from its page, hear of a new measure live in the
header, find it on the notifications page and open it."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.helpers import PASSWORD, make_user
from tests.web.conftest import Site, open_page, screenshot, sign_in

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]

# Counts the WebSockets each document opens (init scripts run before the page's, CSP aside).
COUNT_SOCKETS = """
window.socketsOpened = 0;
window.WebSocket = class extends window.WebSocket {
  constructor(...args) { super(...args); window.socketsOpened += 1; }
};
"""


async def _publish(site: Site, email: str, title: str) -> int:
    """A moderator publishes a measure in Kenya over the HTTP API."""
    async with httpx.AsyncClient(base_url=site.url, headers={"Origin": site.url}) as api:
        login = await api.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert login.status_code == 200, login.text
        body: dict[str, Any] = {
            "country": "KE", "title": title, "summary": "Free access for clinics.",
            "theme": "affordability", "stakeholder": "regulator", "instrument": "voluntary",
            "status": "active", "phase": "emergency",
        }  # fmt: skip
        created = await api.post("/api/initiatives", json=body)
        assert created.status_code == 201, created.text
        return int(created.json()["initiative"]["id"])


async def _fits(page: Page, name: str) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{name} is {width} px wide"


async def test_following_a_country_brings_its_new_measures_to_the_badge_and_the_list(
    browser: Browser, site: Site
) -> None:
    moderator = await make_user(site.services, role="moderator")
    email, _ = await site.account()
    watched = await open_page(browser, viewport={"width": 360, "height": 740})
    page = watched.page
    await page.add_init_script(COUNT_SOCKETS)
    await sign_in(watched, site.url, email)

    await page.goto(f"{site.url}/countries/KE")
    badge = page.locator("#unread-count")
    await expect(badge).to_have_text("0")
    control = page.get_by_label("Follow Kenya")
    await expect(control).to_have_value("none")
    await control.select_option("live")
    await page.get_by_role("button", name="Update").click()
    await page.wait_for_url(f"{site.url}/countries/KE")
    await expect(page.get_by_label("Follow Kenya")).to_have_value("live")
    await _fits(page, "country")
    await page.wait_for_function("document.documentElement.dataset.live === 'open'")
    await page.evaluate("window.notReloaded = true")

    first = await _publish(site, moderator.email, "Zero-rated health portal")
    await expect(badge).to_have_text("1", timeout=5000)  # live, without a reload
    assert await page.evaluate("window.notReloaded === true")
    await expect(page.locator("#unread-status")).to_have_text("1 unread notification")
    await expect(page).to_have_title(re.compile(r"^\(1\) Kenya"))
    # The country page's own stream, on the same socket, showed the measure too.
    await expect(
        page.locator("#initiatives li", has_text="Zero-rated health portal")
    ).to_have_count(1)
    assert await page.evaluate("window.socketsOpened") == 1  # one socket for both streams

    await page.get_by_role("link", name=re.compile("^Notifications")).click()
    await page.wait_for_url(f"{site.url}/notifications")
    items = page.locator("#notifications > li")
    await expect(items).to_have_count(1)
    await expect(items.first).to_contain_text("Unread")
    await expect(items.first).to_contain_text("New measure")
    await expect(items.first).to_contain_text("Zero-rated health portal")

    # On the notifications page a new one also goes on top of the list, live.
    await page.wait_for_function("document.documentElement.dataset.live === 'open'")
    await page.evaluate("window.notReloaded = true")
    await _publish(site, moderator.email, "Free SIM cards for clinics")
    await expect(badge).to_have_text("2", timeout=5000)
    await expect(items).to_have_count(2)
    await expect(items.first).to_contain_text("Free SIM cards for clinics")
    await expect(items.first).to_contain_text("Unread")
    assert await page.evaluate("window.notReloaded === true")
    await _fits(page, "notifications")
    await screenshot(page, "notifications")

    await page.get_by_role("link", name=re.compile("Zero-rated health portal")).click()
    await page.wait_for_url(f"{site.url}/initiatives/{first}")
    await expect(badge).to_have_text("1")
    await page.goto(f"{site.url}/notifications")
    await expect(page.locator("#notifications > li.unread")).to_have_count(1)
    await page.get_by_role("button", name="Mark all as read").click()
    await page.wait_for_url(f"{site.url}/notifications")
    await expect(badge).to_have_text("0")
    await expect(page.locator("#notifications > li.unread")).to_have_count(0)

    await page.goto(f"{site.url}/settings")
    await expect(page.get_by_label("Follow Kenya")).to_have_value("live")
    await _fits(page, "settings")
    # The same control on the settings page, back to the settings page.
    await page.get_by_label("Follow Kenya").select_option("mute")
    await page.locator("form.follow").get_by_role("button", name="Update").click()
    await page.wait_for_url(f"{site.url}/settings#following")
    await expect(page.get_by_label("Follow Kenya")).to_have_value("mute")
    assert watched.console_errors == []
