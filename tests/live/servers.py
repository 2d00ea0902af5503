"""Real processes for the live tests: GNRP Live under uvicorn, and throwaway Redis servers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect

from server.app import build_services
from server.bus.redis import RedisBus
from server.services.context import Services
from server.services.publishing import bus_publisher
from server.settings import Settings

SITE = "http://gnrp.test"  # BASE_URL of every test server; clients send it as their Origin


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until(check: Any, *, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not happen within {deadline} s")


class ServerProcess:
    """``gnrp serve`` on a loopback port, with its log kept for failures."""

    def __init__(self, *, env: dict[str, str], log_dir: Path, name: str) -> None:
        self.port = free_port()
        self.name = name
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self._spawn(log)
        _wait_until(self._healthy, deadline=30, what=f"{self.name} start")

    def _spawn(self, log: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--no-migrate"],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def terminate(self) -> int:
        """SIGTERM, as a platform does on deploy; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=30)

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=30)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)


class RedisServer:
    """A Redis of the test's own, so that it can be stopped and started again on its port."""

    def __init__(self, work_dir: Path) -> None:
        self.binary = os.environ.get("GNRP_TEST_REDIS_SERVER") or shutil.which("redis-server")
        if not self.binary:
            raise RuntimeError("redis-server not found: run the tests with `bash scripts/test`")
        self.port = free_port()
        self.work_dir = work_dir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.binary is not None
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.work_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        _wait_until(self._answers, deadline=15, what="redis start")

    def _answers(self) -> bool:
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn,
        ):
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
        return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=15)


class LiveClient:
    """A WebSocket client speaking the live protocol, with deadlines on every wait."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.frames: list[dict[str, Any]] = []

    @classmethod
    async def open(
        cls, url: str, *, cookie: str | None = None, token: str | None = None, **kwargs: Any
    ) -> LiveClient:
        headers = {}
        if cookie:
            headers["Cookie"] = f"gnrp_session={cookie}"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        connection = await connect(url, origin=SITE, additional_headers=headers, **kwargs)  # type: ignore[arg-type]
        return cls(connection)

    async def send(self, frame: dict[str, Any]) -> None:
        await self.connection.send(orjson.dumps(frame).decode())

    async def recv(self, deadline: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(deadline):
            frame: dict[str, Any] = orjson.loads(await self.connection.recv())
        self.frames.append(frame)
        return frame

    async def expect(self, kind: str, deadline: float = 10, **match: Any) -> dict[str, Any]:
        """The next frame of type ``kind`` (and matching ``match``), skipping others."""
        async with asyncio.timeout(deadline):
            while True:
                frame = await self.recv(deadline)
                if frame["type"] == kind and all(frame.get(k) == v for k, v in match.items()):
                    return frame

    async def subscribe(self, stream: str, since: int | None = None) -> dict[str, Any]:
        frame: dict[str, Any] = {"op": "subscribe", "stream": stream}
        if since is not None:
            frame["since"] = since
        await self.send(frame)
        return await self.expect_one_of(("subscribed", "reset", "error"))

    async def expect_one_of(self, kinds: tuple[str, ...], deadline: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(deadline):
            while True:
                frame = await self.recv(deadline)
                if frame["type"] in kinds:
                    return frame

    async def events_until(
        self, stream: str, seq: int, deadline: float = 30
    ) -> list[dict[str, Any]]:
        """Every event frame of ``stream`` received until one with ``seq`` (inclusive)."""
        events = []
        async with asyncio.timeout(deadline):
            while True:
                frame = await self.recv(deadline)
                if frame["type"] == "event" and frame["stream"] == stream:
                    events.append(frame)
                    if frame["seq"] >= seq:
                        return events

    async def quiet(self) -> list[dict[str, Any]]:
        """Frames that arrive before the reply to a ping: proves nothing else was pending."""
        await self.send({"op": "ping"})
        extra = []
        while True:
            frame = await self.recv()
            if frame["type"] == "pong":
                return extra
            extra.append(frame)

    async def close(self) -> None:
        await self.connection.close()


@contextlib.asynccontextmanager
async def process_services_for_tests(
    database_url: str, redis_url: str | None, prefix: str
) -> AsyncIterator[Services]:
    """Services for the test process on the servers' database. With Redis, the test process
    writes like one more server process: its events go out on the same bus."""
    settings = Settings(
        database_url=database_url,
        base_url=SITE,
        password_time_cost=1,
        password_memory_kib=1024,
        password_parallelism=1,
        messages_per_minute=100_000,
        threads_per_hour=100_000,
    )
    services = build_services(settings)
    bus = RedisBus(redis_url, prefix=prefix) if redis_url else None
    if bus is not None:
        await bus.start(_ignore, _nothing)
        services.publishers.append(bus_publisher(bus))
    try:
        yield services
    finally:
        if bus is not None:
            await bus.stop()
        await services.close()


async def _ignore(_stream: str, _payload: bytes) -> None:
    return None


async def _nothing() -> None:
    return None
