"""Fan-out benchmark: GNRP Live as 2 uvicorn processes behind nothing, PostgreSQL, Redis.

    python bench/fanout.py [--sizes 10,1000,5000] [--rate 50] [--seconds 10]

For each room size N it opens N sockets from a separate client process (picows, spread over
127.0.0.2-127.0.0.51, alternating between the two server processes), subscribes them all to one
room, then publishes ``--rate`` messages a second over HTTP for ``--seconds`` seconds, each
carrying its send time. It prints deliveries/s, publish->deliver p50/p99/max, lost and duplicated
events (by seq, per socket), server RSS per idle socket and server CPU seconds.

Needs PostgreSQL and Redis: GNRP_BENCH_POSTGRES_URL (an admin URL, default the local
``postgres`` database) and GNRP_BENCH_REDIS_URL (default redis://127.0.0.1:6379/0). Not part
of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import psutil

ROOT = Path(__file__).resolve().parent.parent
SITE = "http://bench.gnrp.test"


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Servers:
    database_url: str
    env: dict[str, str]
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1",
                 "--port", str(port), "--no-migrate"],
                env={**os.environ, **self.env},
                cwd=ROOT,
            )  # fmt: skip
            self.ports.append(port)
            self.processes.append(process)
        deadline = time.monotonic() + 60
        for port in self.ports:
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("servers did not start")
                time.sleep(0.1)

    def rss(self) -> int:
        return sum(psutil.Process(p.pid).memory_info().rss for p in self.processes)

    def cpu_seconds(self) -> float:
        total = 0.0
        for process in self.processes:
            times = psutil.Process(process.pid).cpu_times()
            total += times.user + times.system
        return total

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


async def prepare_database(admin_url: str) -> tuple[str, str]:
    name = f"gnrp_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    base = admin_url.rsplit("/", 1)[0]
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    from server.db.migrate import upgrade

    await upgrade(url)
    return name, url


async def drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def make_room(database_url: str, sizes: list[int]) -> tuple[str, dict[int, int]]:
    """A moderator with an API token, and one public room and thread per size."""
    from server.app import build_services
    from server.domain.permissions import Viewer
    from server.services import accounts, rooms, threads
    from server.settings import Settings

    services = build_services(
        Settings(database_url=database_url, password_memory_kib=1024, password_time_cost=1)
    )
    try:
        user = await accounts.create_user(
            services,
            accounts.NewAccount(
                email="bench@example.org",
                password="bench password 1",
                display_name="Bench",
                handle="bench",
                role="moderator",
            ),
        )
        assert user.id is not None
        _, token = await accounts.create_token(services, user_id=user.id, name="bench")
        viewer = Viewer(user_id=user.id, role="moderator")
        thread_ids = {}
        for size in sizes:
            slug = f"bench-{size}"
            await rooms.create_room(
                services, viewer=viewer, slug=slug, title=slug, description="",
                theme="resilience", visibility="public",
            )  # fmt: skip
            thread, _ = await threads.create_thread(
                services, viewer=viewer, slug=slug, title="Fan-out", body="start",
                kind="discussion", countries=[],
            )  # fmt: skip
            thread_ids[size] = int(thread["id"])
        return token, thread_ids
    finally:
        await services.engine.dispose()


# --------------------------------------------------------------------------- client process


@dataclass
class Job:
    ws_urls: list[str]
    http_urls: list[str]
    stream: str
    sockets: int
    thread_id: int
    token: str
    rate: float
    seconds: float


def client_main(job: Job, pipe: Pipe) -> None:
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(run_client(job, pipe))
    pipe.send(result)


async def run_client(job: Job, pipe: Pipe) -> dict[str, Any]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    latencies: list[float] = []
    listeners: list[Any] = []
    subscribed = asyncio.Event()
    subscribed_count = 0

    class Reader(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.seqs: list[int] = []

        def on_ws_connected(self, transport: WSTransport) -> None:
            frame = {"op": "subscribe", "stream": job.stream}
            transport.send(WSMsgType.TEXT, orjson.dumps(frame))

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            nonlocal subscribed_count
            if frame.msg_type != WSMsgType.TEXT:
                return
            now = time.time()
            message = orjson.loads(frame.get_payload_as_bytes())
            kind = message.get("type")
            if kind == "event":
                self.seqs.append(message["seq"])
                body = message["data"]["message"]["body"]
                latencies.append(now - float(body.rsplit(" ", 1)[1]))
            elif kind == "subscribed":
                subscribed_count += 1
                if subscribed_count == job.sockets:
                    subscribed.set()

    for index in range(job.sockets):
        source = f"127.0.0.{2 + index % 50}"

        def factory(parsed: Any, source: str = source) -> socket.socket:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((source, 0))
            sock.setblocking(False)
            return sock

        url = job.ws_urls[index % len(job.ws_urls)]
        _, listener = await ws_connect(
            Reader, url, extra_headers={"Origin": SITE}, socket_factory=factory
        )
        listeners.append(listener)
    async with asyncio.timeout(120):
        await subscribed.wait()
    pipe.send("subscribed")
    pipe.recv()  # the parent has measured idle memory

    published: list[int] = []
    failed_posts = 0
    async with httpx.AsyncClient(
        headers={"Authorization": f"Bearer {job.token}"}, timeout=60
    ) as http:
        interval = 1 / job.rate
        count = int(job.rate * job.seconds)
        started = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()

        async def post(n: int) -> None:
            nonlocal failed_posts
            url = f"{job.http_urls[n % len(job.http_urls)]}/api/threads/{job.thread_id}/messages"
            try:
                response = await http.post(url, json={"body": f"bench {n} {time.time():.6f}"})
                response.raise_for_status()
            except httpx.HTTPError:
                failed_posts += 1
                return
            published.append(response.json()["seq"])

        for n in range(count):
            await asyncio.sleep(max(0.0, started + n * interval - time.perf_counter()))
            task = asyncio.create_task(post(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        publish_seconds = time.perf_counter() - started

    expected = set(published)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if all(len(set(listener.seqs) & expected) == len(expected) for listener in listeners):
            break
        await asyncio.sleep(0.1)
    finished = time.perf_counter() - started
    lost = sum(len(expected - set(listener.seqs)) for listener in listeners)
    duplicated = sum(len(listener.seqs) - len(set(listener.seqs)) for listener in listeners)
    deliveries = sum(len(listener.seqs) for listener in listeners)
    latencies.sort()
    return {
        "published": len(published),
        "failed_posts": failed_posts,
        "publish_seconds": publish_seconds,
        "deliveries": deliveries,
        "seconds": finished,
        "lost": lost,
        "duplicated": duplicated,
        "p50_ms": 1000 * statistics.median(latencies) if latencies else None,
        "p99_ms": 1000 * latencies[int(len(latencies) * 0.99) - 1] if latencies else None,
        "max_ms": 1000 * latencies[-1] if latencies else None,
    }


# --------------------------------------------------------------------------- driver


def run_size(servers: Servers, job: Job) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    rss_before = servers.rss()
    client = context.Process(target=client_main, args=(job, child))
    client.start()
    if not parent.poll(180):
        raise TimeoutError("sockets did not subscribe")
    assert parent.recv() == "subscribed"
    time.sleep(1.0)  # let allocations settle
    rss_idle = servers.rss()
    cpu_before = servers.cpu_seconds()
    parent.send("go")
    if not parent.poll(600):
        raise TimeoutError("the client did not finish")
    result: dict[str, Any] = parent.recv()
    client_cpu = psutil.Process(client.pid).cpu_times() if client.is_alive() else None
    client.join()
    result["client_cpu_seconds"] = (client_cpu.user + client_cpu.system) if client_cpu else 0.0
    result["cpu_seconds"] = servers.cpu_seconds() - cpu_before
    result["rss_per_socket_kib"] = (rss_idle - rss_before) / job.sockets / 1024
    return result


def main() -> None:
    # A `timeout` or Ctrl-C still stops the servers and drops the database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,1000,5000")
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]

    admin_url = os.environ.get(
        "GNRP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("GNRP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    name, database_url = asyncio.run(prepare_database(admin_url))
    token, thread_ids = asyncio.run(make_room(database_url, sizes))
    servers = Servers(
        database_url,
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"gnrp-bench-{uuid.uuid4().hex[:6]}:",
            "BASE_URL": SITE,
            "ALLOWED_HOSTS": "*",
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
        },
    )
    print(
        f"# fanout: {platform.node()} {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB; {args.processes} server processes, "
        f"{args.rate:g} msg/s for {args.seconds:g} s"
    )
    try:
        servers.start(args.processes)
        header = (
            f"{'members':>8} {'published':>9} {'deliveries/s':>12} {'per CPU-s':>10} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'lost':>6} {'dup':>5} "
            f"{'KiB/socket':>10} {'server CPU s':>12} {'client CPU s':>12}"
        )
        print(header)
        for size in sizes:
            job = Job(
                ws_urls=[f"ws://127.0.0.1:{port}/ws" for port in servers.ports],
                http_urls=[f"http://127.0.0.1:{port}" for port in servers.ports],
                stream=f"room:bench-{size}",
                sockets=size,
                thread_id=thread_ids[size],
                token=token,
                rate=args.rate,
                seconds=args.seconds,
            )
            r = run_size(servers, job)
            print(
                f"{size:>8} {r['published']:>9} {r['deliveries'] / r['seconds']:>12.0f} "
                f"{r['deliveries'] / r['cpu_seconds']:>10.0f} "
                f"{r['p50_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['max_ms']:>8.1f} {r['lost']:>6} "
                f"{r['duplicated']:>5} {r['rss_per_socket_kib']:>10.1f} {r['cpu_seconds']:>12.1f} "
                f"{r['client_cpu_seconds']:>12.1f}",
                flush=True,
            )
            if r["failed_posts"]:
                print(f"         ({r['failed_posts']} posts failed)")
    finally:
        servers.stop()
        asyncio.run(drop_database(admin_url, name))


if __name__ == "__main__":
    main()
