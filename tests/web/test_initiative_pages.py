"""The initiatives pages in Chromium: filters and search narrow the list; a country page is live."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Browser, expect

from server.services.demo import seed_demo
from tests.helpers import PASSWORD, make_user
from tests.web.conftest import Site, open_page, screenshot

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


async def test_filters_and_search_narrow_the_list(browser: Browser, site: Site) -> None:
    await seed_demo(site.services)  # the 40 sample measures of 2020
    watched = await open_page(browser)
    page = watched.page
    await page.goto(f"{site.url}/initiatives")
    count = page.locator("#result-count")
    await expect(count).to_have_text("40 initiatives")
    await expect(page.locator("svg.chart")).to_have_count(2)
    await screenshot(page, "initiatives")

    await page.get_by_label("Region", exact=True).select_option("americas")
    await page.get_by_role("button", name="Filter").click()
    americas = int((await count.inner_text()).split()[0])
    assert 0 < americas < 40
    await page.get_by_label("Search", exact=True).fill("spectrum")
    await page.get_by_role("button", name="Filter").click()
    narrowed = int((await count.inner_text()).split()[0])
    assert 0 < narrowed < americas
    titles = await page.locator("#initiatives > li > a").all_inner_texts()
    assert len(titles) == narrowed

    await page.locator("#initiatives > li > a").first.click()
    await expect(page.get_by_role("heading", name="Timeline")).to_be_visible()
    await screenshot(page, "initiative")
    assert watched.console_errors == []


async def test_an_initiative_created_over_the_api_appears_live_on_its_country_page(
    browser: Browser, site: Site
) -> None:
    moderator = await make_user(site.services, role="moderator")
    watched = await open_page(browser)
    page = watched.page
    await page.goto(f"{site.url}/countries/KE")
    await expect(page.locator("#initiatives .empty")).to_be_visible()
    await expect(page.locator("#live-status")).to_be_hidden()
    await page.wait_for_function("document.documentElement.dataset.live === 'open'")

    async with httpx.AsyncClient(base_url=site.url, headers={"Origin": site.url}) as api:
        login = await api.post(
            "/api/auth/login", json={"email": moderator.email, "password": PASSWORD}
        )
        assert login.status_code == 200
        created = await api.post(
            "/api/initiatives",
            json={
                "country": "KE", "title": "Zero-rated health portal", "summary": "Free access.",
                "theme": "affordability", "stakeholder": "regulator", "instrument": "voluntary",
                "status": "active", "phase": "emergency",
            },
        )  # fmt: skip
        assert created.status_code == 201, created.text
    await expect(
        page.locator("#initiatives li", has_text="Zero-rated health portal")
    ).to_have_count(1, timeout=5000)
    assert await page.evaluate("performance.getEntriesByType('navigation').length") == 1
    await screenshot(page, "country")
    assert watched.console_errors == []
