"""Browser tests: Debian's Chromium driven by Playwright, against real uvicorn processes."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

from server.services.context import Services
from tests.helpers import PASSWORD, make_user
from tests.live.servers import ServerProcess, process_services_for_tests

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Site:
    """GNRP Live processes on one database, and an account factory on the same database."""

    services: Services
    servers: list[ServerProcess] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.servers[0].http

    async def account(self, role: str = "member") -> tuple[str, str]:
        user = await make_user(self.services, role=role)
        return user.email, user.display_name


async def _site(
    database_url: str, redis_url: str | None, log_dir: Path, processes: int
) -> AsyncIterator[Site]:
    prefix = f"gnrp-web-{uuid.uuid4().hex[:8]}:"
    servers = [ServerProcess(env={}, log_dir=log_dir, name=f"web{n}") for n in range(processes)]
    origins = ",".join(server.http for server in servers)
    for server in servers:
        server.env.update(
            {
                "DATABASE_URL": database_url,
                "BASE_URL": server.http,
                "ALLOWED_ORIGINS": origins,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECRET_KEY": "web-test-secret",
                "PASSWORD_TIME_COST": "1",
                "PASSWORD_MEMORY_KIB": "1024",
                "PASSWORD_PARALLELISM": "1",
                "LIVE_SWEEP_SECONDS": "1",
                "MESSAGES_PER_MINUTE": "100000",
                "THREADS_PER_HOUR": "100000",
                "LOG_LEVEL": "WARNING",
            }
        )
        if redis_url:
            server.env.update({"REDIS_URL": redis_url, "REDIS_PREFIX": prefix})
    async with process_services_for_tests(database_url, redis_url, prefix) as services:
        site = Site(services, servers)
        try:
            for server in servers:
                server.start()
            yield site
        finally:
            for server in servers:
                server.stop()


@pytest.fixture
async def site(database_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """One process on the embedded default (SQLite, in-memory bus)."""
    async for built in _site(database_url, None, tmp_path, processes=1):
        yield built


@pytest.fixture
async def two_process_site(database_url: str, tmp_path: Path) -> AsyncIterator[Site]:
    """Two processes on PostgreSQL and Redis."""
    redis_url = os.environ.get("GNRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
    async for built in _site(database_url, redis_url, tmp_path, processes=2):
        yield built


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=os.environ.get("GNRP_TEST_CHROMIUM", "/usr/bin/chromium"),
            args=CHROMIUM_FLAGS,
        )
        yield launched
        await launched.close()


class Watched:
    """A page whose console errors and dialogs are recorded, for assertions."""

    def __init__(self, context: BrowserContext, page: Page) -> None:
        self.context = context
        self.page = page
        self.console_errors: list[str] = []
        self.dialogs: list[str] = []
        page.on("console", self._console)
        page.on("dialog", self._dialog)

    def _console(self, message: object) -> None:
        if getattr(message, "type", "") == "error":
            self.console_errors.append(str(getattr(message, "text", "")))

    async def _dialog(self, dialog: object) -> None:
        self.dialogs.append(str(getattr(dialog, "message", "")))
        await dialog.dismiss()  # type: ignore[attr-defined]


async def open_page(browser: Browser, **options: object) -> Watched:
    context = await browser.new_context(**options)  # type: ignore[arg-type]
    return Watched(context, await context.new_page())


async def sign_in(watched: Watched, base: str, email: str) -> None:
    page = watched.page
    await page.goto(f"{base}/login")
    await page.get_by_label("E-mail").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(f"{base}/")


async def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
