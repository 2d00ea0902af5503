"""Fixtures shared by the whole suite: fresh databases (SQLite and PostgreSQL), services, clients.

Each run gets its own PostgreSQL template database, migrated once; each test gets its own database
copied from that template (and its own SQLite file copied from a migrated one), so no test ever
sees another's rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager
from starlette.applications import Starlette

from server.app import build_services, create_app
from server.db.migrate import upgrade
from server.services.context import Services
from server.settings import Settings

SITE = "http://gnrp.test"
RUN_ID = uuid.uuid4().hex[:10]


def postgres_admin_url() -> str:
    return os.environ.get("GNRP_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def _database_url(admin_url: str, name: str) -> str:
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)


async def _pg_execute(sql: str) -> None:
    connection = await asyncpg.connect(postgres_admin_url())
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "template.db"
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    name = f"gnrp_test_{RUN_ID}_template"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}"'))
    asyncio.run(upgrade(_database_url(postgres_admin_url(), name)))
    yield name
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, migrated database of each kind; tests using it run once on each."""
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "gnrp.db"
        shutil.copyfile(template, path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    template_name: str = request.getfixturevalue("postgres_template")
    name = f"gnrp_test_{RUN_ID}_{uuid.uuid4().hex[:8]}"
    asyncio.run(_pg_execute(f'CREATE DATABASE "{name}" TEMPLATE "{template_name}"'))
    yield _database_url(postgres_admin_url(), name)
    asyncio.run(_pg_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-" + RUN_ID,
        base_url=SITE,
        allowed_hosts=("gnrp.test",),
        # Posting limits out of the way; the tests of the limits set their own.
        messages_per_minute=100_000,
        threads_per_hour=100_000,
        # Cheap argon2id parameters: the tests check behaviour, not the cost.
        password_time_cost=1,
        password_memory_kib=1024,
        password_parallelism=1,
        # No digest cron in the apps under test: the digest tests run it when they choose.
        digest_every_seconds=0,
    )


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    built = build_services(settings)
    yield built
    await built.close()


@pytest.fixture
async def app(services: Services) -> AsyncIterator[Starlette]:
    application = create_app(services=services)
    async with LifespanManager(application) as manager:
        yield manager.app  # type: ignore[no-any-return]


ClientFactory = Callable[[], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def new_client(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Make browser-like clients of the app: each keeps its own cookies and sends the site's
    Origin, as a browser does on a same-origin fetch."""
    clients: list[httpx.AsyncClient] = []

    async def make() -> httpx.AsyncClient:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url=SITE,
            headers={"Origin": SITE},
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


@pytest.fixture
async def client(new_client: ClientFactory) -> httpx.AsyncClient:
    return await new_client()


@pytest.fixture
async def client_with() -> AsyncIterator[Callable[[Settings], Awaitable[httpx.AsyncClient]]]:
    """A client of a second app built on other settings (an https site, other limits)."""
    stack = contextlib.AsyncExitStack()

    async def make(other: Settings) -> httpx.AsyncClient:
        built = build_services(other)
        stack.push_async_callback(built.close)
        manager = await stack.enter_async_context(LifespanManager(create_app(services=built)))
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app, raise_app_exceptions=False),
            base_url=other.base_url,
            headers={"Origin": other.site_origin},
        )
        stack.push_async_callback(client.aclose)
        return client

    async with stack:
        yield make
