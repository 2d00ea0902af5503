"""Fan-out benchmark: GNRP Live, and Django Channels doing the same job, on one machine.

    python bench/fanout.py [--target gnrp,channels] [--sizes 1000,5000] [--rate 50]
                           [--seconds 10] [--rounds 2]

Each target runs as 2 uvicorn processes sharing one Redis (GNRP Live also on PostgreSQL, where it
stores every message and its event). For each room size N, a separate client process opens N
sockets (picows, spread over 127.0.0.2-127.0.0.51, alternating between the two processes) and
joins one room, then ``--rate`` messages a second are published over HTTP for ``--seconds``
seconds, each carrying its number and send time. Targets alternate (A B A B ...) for
``--rounds`` rounds so that drift of the machine hits both. Printed per target and size:
deliveries/s, deliveries per server CPU-second, publish->deliver p50/p99/max, lost and duplicated
messages (per socket, by number), server RSS per socket; then the GNRP/Channels ratios.
``bench/RESULTS.md`` is rewritten with the table of the run.

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
import re
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
    """One target's server processes."""

    command: list[str]  # "{port}" is replaced by each process's port
    env: dict[str, str]
    ready_path: str
    ports: list[int] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int) -> None:
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [part.replace("{port}", str(port)) for part in self.command],
                env={**os.environ, **self.env},
                cwd=ROOT,
            )
            self.ports.append(port)
            self.processes.append(process)
        deadline = time.monotonic() + 60
        for port in self.ports:
            while True:
                try:
                    url = f"http://127.0.0.1:{port}{self.ready_path}"
                    if httpx.get(url, timeout=1).status_code < 500:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError("servers did not start")
                time.sleep(0.1)

    def rss(self) -> int:
        return sum(psutil.Process(p.pid).memory_info().rss for p in self.processes)

    def wait_idle(self, *, limit: float = 120.0) -> None:
        """Until the processes use under 5% of a core (a backlog from the last run is done)."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = self.cpu_seconds()
            time.sleep(0.5)
            if self.cpu_seconds() - before < 0.025:
                return

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


async def make_rooms(database_url: str, sizes: list[int]) -> tuple[str, dict[int, int]]:
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
        await services.close()


# --------------------------------------------------------------------------- client process


@dataclass
class Job:
    ws_urls: list[str]
    subscribe: dict[str, Any] | None  # the frame that joins the room (Channels joins on connect)
    publish_urls: list[str]
    publish_headers: dict[str, str]
    sockets: int
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


def body_of(message: dict[str, Any]) -> str | None:
    """The published text, from a GNRP Live event or a Channels message."""
    data = message.get("data")
    if isinstance(data, dict):
        return str(data.get("message", {}).get("body", "")) or None
    body = message.get("body")
    return str(body) if body else None


async def run_client(job: Job, pipe: Pipe) -> dict[str, Any]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    latencies: list[float] = []
    listeners: list[Any] = []
    subscribed = asyncio.Event()
    subscribed_count = 0

    class Reader(WSListener):  # type: ignore[misc]
        def __init__(self) -> None:
            self.numbers: list[int] = []

        def on_ws_connected(self, transport: WSTransport) -> None:
            if job.subscribe is not None:
                transport.send(WSMsgType.TEXT, orjson.dumps(job.subscribe))

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            nonlocal subscribed_count
            if frame.msg_type != WSMsgType.TEXT:
                return
            now = time.time()
            message = orjson.loads(frame.get_payload_as_bytes())
            kind = message.get("type")
            if kind == "event":
                body = body_of(message)
                if body and body.startswith("bench "):
                    _, number, sent = body.split(" ")
                    self.numbers.append(int(number))
                    latencies.append(now - float(sent))
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
    async with asyncio.timeout(180):
        await subscribed.wait()
    pipe.send("subscribed")
    pipe.recv()  # the parent has measured idle memory

    published: list[int] = []
    failed_posts = 0
    async with httpx.AsyncClient(headers=job.publish_headers, timeout=60) as http:
        interval = 1 / job.rate
        count = int(job.rate * job.seconds)
        started = time.perf_counter()
        pending: set[asyncio.Task[None]] = set()

        async def post(n: int) -> None:
            nonlocal failed_posts
            url = job.publish_urls[n % len(job.publish_urls)]
            try:
                response = await http.post(url, json={"body": f"bench {n} {time.time():.6f}"})
                response.raise_for_status()
            except httpx.HTTPError:
                failed_posts += 1
                return
            published.append(n)

        for n in range(count):
            await asyncio.sleep(max(0.0, started + n * interval - time.perf_counter()))
            task = asyncio.create_task(post(n))
            pending.add(task)
            task.add_done_callback(pending.discard)
        await asyncio.gather(*pending)
        publish_seconds = time.perf_counter() - started

    expected = set(published)
    deadline = time.monotonic() + 30
    last_progress, last_total = time.monotonic(), -1
    while time.monotonic() < deadline:
        if all(expected <= set(listener.numbers) for listener in listeners):
            break
        total = sum(len(listener.numbers) for listener in listeners)
        if total != last_total:
            last_progress, last_total = time.monotonic(), total
        elif time.monotonic() - last_progress > 5:
            break  # nothing arrived for 5 s: what is missing is lost
        await asyncio.sleep(0.1)
    finished = time.perf_counter() - started
    lost = sum(len(expected - set(listener.numbers)) for listener in listeners)
    duplicated = sum(len(listener.numbers) - len(set(listener.numbers)) for listener in listeners)
    deliveries = sum(len(listener.numbers) for listener in listeners)
    latencies.sort()
    step = max(1, len(latencies) // 20000)  # a sample is enough for percentiles
    return {
        "published": len(published),
        "failed_posts": failed_posts,
        "publish_seconds": publish_seconds,
        "deliveries": deliveries,
        "seconds": finished,
        "lost": lost,
        "duplicated": duplicated,
        "latencies": latencies[::step] + ([latencies[-1]] if latencies else []),
    }


# --------------------------------------------------------------------------- driver


@dataclass
class Target:
    name: str
    servers: Servers
    job_for: Any  # (size) -> Job

    def rss(self) -> int:
        return self.servers.rss()


def run_once(target: Target, job: Job) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    rss_before = target.rss()
    client = context.Process(target=client_main, args=(job, child))
    client.start()
    if not parent.poll(240):
        raise TimeoutError("sockets did not subscribe")
    assert parent.recv() == "subscribed"
    time.sleep(1.0)  # let allocations settle
    rss_idle = target.rss()
    cpu_before = target.servers.cpu_seconds()
    parent.send("go")
    if not parent.poll(600):
        raise TimeoutError("the client did not finish")
    result: dict[str, Any] = parent.recv()
    client.join()
    result["cpu_seconds"] = target.servers.cpu_seconds() - cpu_before
    result["rss_per_socket_kib"] = (rss_idle - rss_before) / job.sockets / 1024
    return result


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = sorted(x for run in runs for x in run["latencies"])
    deliveries = sum(run["deliveries"] for run in runs)

    def percentile(p: float) -> float:
        if not latencies:
            return float("nan")
        return 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * p))]

    return {
        "published": sum(run["published"] for run in runs),
        "failed_posts": sum(run["failed_posts"] for run in runs),
        "deliveries_per_s": deliveries / sum(run["seconds"] for run in runs),
        "per_cpu_s": deliveries / max(1e-9, sum(run["cpu_seconds"] for run in runs)),
        "p50_ms": percentile(0.50),
        "p99_ms": percentile(0.99),
        "max_ms": 1000 * latencies[-1] if latencies else float("nan"),
        "lost": sum(run["lost"] for run in runs),
        "duplicated": sum(run["duplicated"] for run in runs),
        "rss_per_socket_kib": statistics.mean(run["rss_per_socket_kib"] for run in runs),
    }


COLUMNS = (
    ("target", "{:<9}"), ("members", "{:>7}"), ("published", "{:>9}"),
    ("deliveries/s", "{:>12.0f}"), ("per CPU-s", "{:>9.0f}"), ("p50 ms", "{:>8.1f}"),
    ("p99 ms", "{:>8.1f}"), ("max ms", "{:>8.1f}"), ("lost", "{:>7}"), ("dup", "{:>5}"),
    ("KiB/socket", "{:>10.1f}"),
)  # fmt: skip


def parse_rates(text: str, sizes: list[int]) -> dict[int, float]:
    if ":" not in text:
        return dict.fromkeys(sizes, float(text))
    rates = {int(size): float(rate) for size, rate in (p.split(":") for p in text.split(","))}
    missing = set(sizes) - set(rates)
    if missing:
        raise SystemExit(f"--rate names no rate for {sorted(missing)}")
    return rates


def _title(title: str, fmt: str) -> str:
    """A column title as wide as its values, aligned as they are."""
    spec = fmt[2:-1]  # "{:>12.0f}" -> ">12.0f"
    align, width = spec[0], int(re.match(r"\d+", spec[1:]).group())  # type: ignore[union-attr]
    return f"{title:{align}{width}}"


def row(name: str, size: int, r: dict[str, Any]) -> list[str]:
    values = (
        name, size, r["published"], r["deliveries_per_s"], r["per_cpu_s"], r["p50_ms"],
        r["p99_ms"], r["max_ms"], r["lost"], r["duplicated"], r["rss_per_socket_kib"],
    )  # fmt: skip
    return [fmt.format(value) for (_, fmt), value in zip(COLUMNS, values, strict=True)]


def gnrp_target(redis_url: str, database_url: str, token: str, threads: dict[int, int]) -> Target:
    servers = Servers(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", "{port}",
         "--no-migrate"],
        {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"gnrp-bench-{uuid.uuid4().hex[:6]}:",
            "BASE_URL": SITE,
            "ALLOWED_HOSTS": "*",
            "SECRET_KEY": "bench",
            "LOG_LEVEL": "WARNING",
            "MESSAGES_PER_MINUTE": "1000000",  # the publisher is one account
        },
        "/readyz",
    )  # fmt: skip

    def job_for(size: int) -> Job:
        return Job(
            ws_urls=[f"ws://127.0.0.1:{port}/ws" for port in servers.ports],
            subscribe={"op": "subscribe", "stream": f"room:bench-{size}"},
            publish_urls=[
                f"http://127.0.0.1:{port}/api/threads/{threads[size]}/messages"
                for port in servers.ports
            ],
            publish_headers={"Authorization": f"Bearer {token}"},
            sockets=size,
            rate=0,
            seconds=0,
        )

    return Target("gnrp", servers, job_for)


def channels_target(redis_url: str) -> Target:
    servers = Servers(
        [sys.executable, "-m", "uvicorn", "bench.peers.channels_room.asgi:application",
         "--host", "127.0.0.1", "--port", "{port}", "--ws-per-message-deflate", "false",
         "--log-level", "warning", "--no-access-log"],
        {
            "DJANGO_SETTINGS_MODULE": "bench.peers.channels_room.settings",
            "REDIS_URL": redis_url,
            "REDIS_PREFIX": f"channels-bench-{uuid.uuid4().hex[:6]}:",
        },
        "/",
    )  # fmt: skip

    def job_for(size: int) -> Job:
        return Job(
            ws_urls=[f"ws://127.0.0.1:{port}/ws/bench-{size}" for port in servers.ports],
            subscribe=None,
            publish_urls=[
                f"http://127.0.0.1:{port}/rooms/bench-{size}/publish" for port in servers.ports
            ],
            publish_headers={},
            sockets=size,
            rate=0,
            seconds=0,
        )

    return Target("channels", servers, job_for)


def write_results(lines: list[str], command: str, machine: str) -> None:
    text = [
        "# Fan-out results",
        "",
        "Regenerated by `bench/fanout.py` at the end of each run; see `bench/README.md` for",
        "what the columns mean and what bounds them.",
        "",
        f"- command: `{command}`",
        f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        f"- machine: {machine}",
        "",
        *lines,
        "",
    ]
    (ROOT / "bench" / "RESULTS.md").write_text("\n".join(text))


def main() -> None:
    # A `timeout` or Ctrl-C still stops the servers and drops the database (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--target", default="gnrp,channels")
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument(
        "--rate",
        default="50",
        help="messages a second, for every size (50) or per size (1000:50,5000:10)",
    )
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rates = parse_rates(args.rate, sizes)
    names = [name.strip() for name in args.target.split(",")]

    admin_url = os.environ.get(
        "GNRP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    redis_url = os.environ.get("GNRP_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    database_name, database_url = asyncio.run(prepare_database(admin_url))
    targets: list[Target] = []
    machine = (
        f"{os.cpu_count()} cores, {psutil.virtual_memory().total / 2**30:.0f} GiB, "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    print(
        f"# fanout: {machine}; {args.processes} processes per target, "
        f"{', '.join(f'{rates[n]:g} msg/s to {n}' for n in sizes)}, {args.seconds:g} s a run, "
        f"{args.rounds} rounds"
    )
    try:
        if "gnrp" in names:
            token, threads = asyncio.run(make_rooms(database_url, sizes))
            targets.append(gnrp_target(redis_url, database_url, token, threads))
        if "channels" in names:
            targets.append(channels_target(redis_url))
        for target in targets:
            target.servers.start(args.processes)
        print(" ".join(_title(title, fmt) for title, fmt in COLUMNS), flush=True)
        table = ["| " + " | ".join(title for title, _ in COLUMNS) + " |",
                 "|" + "---|" * len(COLUMNS)]  # fmt: skip
        results: dict[tuple[str, int], dict[str, Any]] = {}
        for size in sizes:
            runs: dict[str, list[dict[str, Any]]] = {t.name: [] for t in targets}
            for _ in range(args.rounds):
                for target in targets:  # A B A B: drift of the machine hits both
                    job = target.job_for(size)
                    job.rate, job.seconds = rates[size], args.seconds
                    for other in targets:
                        other.servers.wait_idle()  # a backlog left by the last run is not ours
                    runs[target.name].append(run_once(target, job))
            for target in targets:
                combined = combine(runs[target.name])
                results[(target.name, size)] = combined
                cells = row(target.name, size, combined)
                print(" ".join(cells), flush=True)
                table.append("| " + " | ".join(cell.strip() for cell in cells) + " |")
        ratios = []
        if {"gnrp", "channels"} <= set(names):
            for size in sizes:
                g, c = results[("gnrp", size)], results[("channels", size)]
                line = (
                    f"{size} members: p99 Channels/GNRP {c['p99_ms'] / g['p99_ms']:.1f}x, "
                    f"deliveries per CPU-s GNRP/Channels {g['per_cpu_s'] / c['per_cpu_s']:.1f}x, "
                    f"memory per socket GNRP/Channels "
                    f"{g['rss_per_socket_kib'] / c['rss_per_socket_kib']:.2f}"
                )
                ratios.append(f"- {line}")
                print(line)
        command = "python bench/fanout.py " + " ".join(sys.argv[1:])
        write_results([*table, "", *ratios], command.strip(), machine)
    finally:
        for target in targets:
            target.servers.stop()
        asyncio.run(drop_database(admin_url, database_name))


if __name__ == "__main__":
    main()
