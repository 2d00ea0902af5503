"""A cluster for the live tests: two GNRP Live processes on one PostgreSQL and one Redis."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from server.services.context import Services
from tests.helpers import PASSWORD, make_user
from tests.live.servers import SITE, RedisServer, ServerProcess, process_services_for_tests

# Every live test module runs on PostgreSQL, as a deployment with several processes does.
ON_POSTGRES = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@dataclass
class Cluster:
    database_url: str
    redis_url: str | None
    env: dict[str, str]
    log_dir: Path
    services: Services
    servers: list[ServerProcess] = field(default_factory=list)

    def add_server(self, name: str, **env: str) -> ServerProcess:
        server = ServerProcess(env={**self.env, **env}, log_dir=self.log_dir, name=name)
        server.start()
        self.servers.append(server)
        return server

    async def user(self, *, role: str = "member") -> tuple[int, str]:
        """A new account signed in over HTTP: its id and its session cookie."""
        user = await make_user(self.services, role=role)
        async with httpx.AsyncClient(base_url=self.servers[0].http) as client:
            response = await client.post(
                "/api/auth/login",
                json={"email": user.email, "password": PASSWORD},
                headers={"Origin": SITE},
            )
            assert response.status_code == 200, response.text
        return int(user.id), response.cookies["gnrp_session"]


def http_client(server: ServerProcess, cookie: str | None = None) -> httpx.AsyncClient:
    cookies = {"gnrp_session": cookie} if cookie else None
    return httpx.AsyncClient(
        base_url=server.http, headers={"Origin": SITE}, cookies=cookies, timeout=30
    )


def _env(database_url: str, redis_url: str | None, **extra: str) -> dict[str, str]:
    env = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "live-test-secret",
        "BASE_URL": SITE,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PASSWORD_TIME_COST": "1",
        "PASSWORD_MEMORY_KIB": "1024",
        "PASSWORD_PARALLELISM": "1",
        "LIVE_SWEEP_SECONDS": "1",
        "MESSAGES_PER_MINUTE": "100000",
        "THREADS_PER_HOUR": "100000",
        "PRESENCE_TTL_SECONDS": "4",
        "REPLAY_LIMIT": "50",
        "LOG_LEVEL": "WARNING",
        **extra,
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
        env["REDIS_PREFIX"] = f"gnrp-test-{uuid.uuid4().hex[:8]}:"
    return env


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shared_redis_url() -> str:
    return os.environ.get("GNRP_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def cluster(
    database_url: str, shared_redis_url: str, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Two processes, A and B, on the run's PostgreSQL and Redis (keys under a fresh prefix)."""
    async for built in _cluster(database_url, shared_redis_url, tmp_path, processes=2):
        yield built


async def _cluster(
    database_url: str, redis_url: str | None, log_dir: Path, *, processes: int
) -> AsyncIterator[Cluster]:
    env = _env(database_url, redis_url)
    prefix = env.get("REDIS_PREFIX", "")
    async with process_services_for_tests(database_url, redis_url, prefix) as services:
        built = Cluster(database_url, redis_url, env, log_dir, services)
        try:
            for name in ("a", "b")[:processes]:
                built.add_server(name)
            yield built
        finally:
            for server in built.servers:
                server.stop()


@pytest.fixture
async def restartable_cluster(
    database_url: str, redis_server: RedisServer, tmp_path: Path
) -> AsyncIterator[Cluster]:
    """Like ``cluster``, on a Redis of the test's own that it may stop and start."""
    async for built in _cluster(database_url, redis_server.url, tmp_path, processes=2):
        yield built


@pytest.fixture
async def embedded(database_url: str, tmp_path: Path) -> AsyncIterator[Cluster]:
    """One process on the embedded default: SQLite and the in-memory bus, no Redis."""
    async for built in _cluster(database_url, None, tmp_path, processes=1):
        yield built
