"""Digest benchmark: 10,000 users' daily digests rendered and sent to a local SMTP sink.

    python bench/digests.py [--users 10000] [--max-notifications 20] [--concurrency 8]
                            [--sample 50] [--database-url URL] [--explain]

Fills a fresh database (a temporary SQLite file, or with ``--database-url`` a PostgreSQL database
that it creates and drops: ``postgresql+asyncpg://postgres@127.0.0.1:5432/<new name>``) with
bulk inserts: ``--users`` users on the daily digest, each with 1 to ``--max-notifications``
notifications not yet mailed (user i has 1 + i mod max: as many users of each size), of mixed
kinds (measures with their country, replies, mentions, new threads, pinned answers in a few real
rooms and threads), plus a few read or too old ones that must not be mailed; 1-3 country follows
each, and measures ending within 14 days in those countries for the "ending soon" section.

Then, with a fixed clock (``services.clock``) after the day's digest hour:

1. ``plan_digests`` (the cron) finds the due digests; they must be exactly the users filled.
2. A sequential sample (``--sample`` extra users with 1 notification and as many with the
   maximum): ``deliver_digest`` one at a time, uncontended.
3. The timed run: ``deliver_digest`` for all ``--users`` users, ``--concurrency`` at a time,
   through ``SmtpMailer`` (aiosmtplib, a connection per message) to an aiosmtpd sink running in
   a thread of this process. Digests/s = users / wall time.

Every SQL statement that reaches a cursor is counted (a ``before_cursor_execute`` listener)
and attributed to the digest being delivered (a context variable follows each delivery into
SQLAlchemy's greenlet), so queries per digest are known for every digest, by notification count
(queries: statements other than BEGIN/COMMIT, which SQLite's engine sends and asyncpg does not).
The stages (claim, load, render, send, mark) are timed by wrapping, in this process only, the
functions ``deliver_digest`` calls. Checked at the end: the sink got exactly one message per user,
whose subject counts that user's notifications; every digest row is ``sent``; no notification that
should be mailed is left out. Exits 1 if a check fails or if a digest with more notifications takes
more queries than a digest with one. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import psutil
from aiosmtpd.controller import Controller
from sqlalchemy import event, func, insert, select
from sqlalchemy.engine import make_url

import server.services.digests as digest_service
import workers.digests as digest_worker
from server.app import build_services
from server.db.migrate import upgrade
from server.db.models import Digest, Initiative, Notification, Room, Subscription, Thread, User
from server.domain.digest import LOOKBACK, due_period
from server.domain.notifications import excerpt
from server.services.context import Services
from server.services.countries import countries
from server.settings import Settings
from workers.mail import SmtpMailer

NOW = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)  # the fixed clock: after the 07:00 digest hour
CHUNK = 5000
KINDS = ("initiative",) * 8 + ("reply",) * 5 + ("mention",) * 3 + ("thread",) * 3
KINDS += ("answer_pinned",)
REASONS = ("created", "updated", "verified")
ROOMS = (
    ("spectrum-watch", "Spectrum watch", "spectrum", "public"),
    ("relief-desk", "Relief desk", "relief", "members"),
    ("broadband-lab", "Broadband lab", "broadband", "public"),
    ("resilience", "Network resilience", "resilience", "members"),
)
THREADS_PER_ROOM = 6
FOLLOWED = ("KE", "NG", "BR", "IN", "ID", "PH", "MX", "ZA", "DE", "FR", "US", "JP")
WORDS = (
    "operators", "regulator", "spectrum", "licence", "relief", "affordability", "tariff",
    "outage", "coverage", "rural", "subscribers", "emergency", "extension", "consultation",
    "zero-rating", "data", "bundle", "tower", "backhaul", "fibre", "roaming", "waiver",
    "deadline", "measure", "ministry", "report", "filing", "capacity", "traffic",
)  # fmt: skip


# --------------------------------------------------------------------------- measuring


@dataclass
class Record:
    """One delivery: what it returned, how long it took, its statements and its stages."""

    user_id: int
    notifications: int
    outcome: str = ""
    seconds: float = 0.0
    queries: Counter[str] = field(default_factory=Counter)
    stages: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    statements: list[tuple[str, Any]] | None = None  # kept for --explain

    @property
    def query_count(self) -> int:
        """Statements other than transaction control (SQLite's ``BEGIN IMMEDIATE`` goes through
        a cursor, asyncpg's ``BEGIN`` does not: left out, the two engines compare)."""
        return sum(n for verb, n in self.queries.items() if verb not in TRANSACTION_CONTROL)


TRANSACTION_CONTROL = frozenset({"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"})
CURRENT: contextvars.ContextVar[Record | None] = contextvars.ContextVar("digest", default=None)
STRAY: Counter[str] = Counter()  # statements outside any delivery (plan, checks)


def count_statements(services: Services) -> None:
    @event.listens_for(services.engine.sync_engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_rest: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        record = CURRENT.get()
        if record is None:
            STRAY[verb] += 1
            return
        record.queries[verb] += 1
        if record.statements is not None:
            record.statements.append((statement, parameters))


def time_stage(owner: Any, name: str, stage: str) -> None:
    """Wrap ``owner.name`` so that its time is added to the current delivery's ``stage``."""
    original = getattr(owner, name)

    def add(started: float) -> None:
        record = CURRENT.get()
        if record is not None:
            record.stages[stage] += time.perf_counter() - started

    if asyncio.iscoroutinefunction(original):

        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await original(*args, **kwargs)
            finally:
                add(started)

        setattr(owner, name, timed_async)
    else:

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                add(started)

        setattr(owner, name, timed)


STAGES = ("claim", "load", "render", "send", "mark")
time_stage(digest_service, "claim_digest", "claim")
time_stage(digest_service, "digest_content", "load")
time_stage(digest_worker, "compose_digest", "render")
time_stage(digest_service, "mark_sent", "mark")


class TimedMailer:
    def __init__(self, mailer: SmtpMailer) -> None:
        self.mailer = mailer

    async def send(self, message: EmailMessage) -> None:
        started = time.perf_counter()
        try:
            await self.mailer.send(message)
        finally:
            record = CURRENT.get()
            if record is not None:
                record.stages["send"] += time.perf_counter() - started


# --------------------------------------------------------------------------- the SMTP sink


class Sink:
    """aiosmtpd handler: counts messages per recipient and keeps each one's subject."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.recipients: Counter[str] = Counter()
        self.subjects: dict[str, str] = {}
        self.messages = 0
        self.bytes = 0
        self.with_ending = 0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or envelope.content
        headers = BytesHeaderParser(policy=default_policy).parsebytes(data)
        with self.lock:
            self.messages += 1
            self.bytes += len(data)
            self.with_ending += b"Measures ending in the next 14 days" in data
            for rcpt in envelope.rcpt_tos:
                self.recipients[rcpt] += 1
                self.subjects[rcpt] = str(headers["Subject"])
        return "250 Message accepted for delivery"


def thread_cpu() -> dict[int, float]:
    """CPU seconds of each thread of this process, by native thread id."""
    return {t.id: t.user_time + t.system_time for t in psutil.Process().threads()}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --------------------------------------------------------------------------- the database


@dataclass
class Fresh:
    url: str
    label: str
    cleanup: Callable[[], Awaitable[None]]


async def fresh_database(url: str | None, folder: str) -> Fresh:
    if url is None:
        path = Path(folder) / "digests.db"
        return Fresh(f"sqlite+aiosqlite:///{path}", "SQLite (temporary file)", _nothing)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and Path(parsed.database).exists():  # noqa: ASYNC240 - once, at start
            raise SystemExit(f"{parsed.database} exists: give a file that does not")
        return Fresh(url, f"SQLite ({parsed.database})", _nothing)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--database-url: sqlite+aiosqlite:///… or postgresql+asyncpg://…/<name>")
    name = parsed.database or f"gnrp_digests_bench_{uuid.uuid4().hex[:8]}"
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise SystemExit(f"database name {name!r}: use a-z, 0-9 and _")
    admin = parsed.set(drivername="postgresql", database="postgres")
    admin_url = admin.render_as_string(hide_password=False)
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')  # fails if it exists: never reused
    finally:
        await connection.close()

    async def drop() -> None:
        connection = await asyncpg.connect(admin_url)
        try:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await connection.close()

    target = parsed.set(drivername="postgresql+asyncpg", database=name)
    server = urlsplit(admin_url).hostname
    return Fresh(target.render_as_string(hide_password=False), f"PostgreSQL ({server})", drop)


async def _nothing() -> None:
    return None


def sentence(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()


@dataclass
class Filled:
    timed: list[tuple[int, str, int]]  # (user id, email, notifications to mail), the timed run
    sample: list[tuple[int, str, int]]  # a warm-up, then the sample: 1 and max notifications
    carried: int  # notifications to mail, all users
    noise: int  # read or too old: never mailed
    ending: int  # measures ending within 14 days in followed countries
    follows: int


async def fill(services: Services, *, users: int, most: int, sample: int, seed: int) -> Filled:
    rng = random.Random(seed)
    codes = sorted(countries())
    engine = services.engine
    today = NOW.date()

    async def bulk(table: Any, rows: Sequence[dict[str, Any]]) -> None:
        for start in range(0, len(rows), CHUNK):
            async with engine.begin() as connection:
                await connection.execute(insert(table), list(rows[start : start + CHUNK]))

    # Users: the timed ones (1 + i mod max notifications), then the sample (1, max, 1, max …).
    sizes = [1 + i % most for i in range(users)]
    sizes += [most] + [1 if i % 2 == 0 else most for i in range(2 * sample)]  # warm-up first
    await bulk(
        User.__table__,
        [
            {
                "email": f"reader{i}@bench.example", "password_hash": "x",
                "display_name": f"Reader {i}", "handle": f"reader{i}", "organization": "",
                "stakeholder": "other", "country": rng.choice(FOLLOWED), "role": "member",
                "expert": False, "digest": "daily", "language": "en", "disabled": False,
                "created_at": NOW - timedelta(days=60),
            }
            for i in range(len(sizes))
        ],
    )  # fmt: skip
    async with engine.connect() as connection:
        people = (await connection.execute(select(User.id, User.email).order_by(User.id))).all()
    ids = [row[0] for row in people]
    author = ids[0]

    await bulk(
        Room.__table__,
        [
            {"slug": slug, "title": title, "description": "", "theme": theme,
             "visibility": visibility, "archived": False, "created_by": author,
             "created_at": NOW - timedelta(days=90)}
            for slug, title, theme, visibility in ROOMS
        ],
    )  # fmt: skip
    async with engine.connect() as connection:
        rooms = [r[0] for r in (await connection.execute(select(Room.id).order_by(Room.id))).all()]
    await bulk(
        Thread.__table__,
        [
            {"room_id": room, "title": f"{sentence(rng, 5)} ({room}.{n})", "kind": "discussion",
             "countries": [], "created_by": author, "created_at": NOW - timedelta(days=20),
             "last_activity_at": NOW - timedelta(hours=1), "message_count": 0}
            for room in rooms
            for n in range(THREADS_PER_ROOM)
        ],
    )  # fmt: skip
    async with engine.connect() as connection:
        threads = (await connection.execute(select(Thread.id, Thread.room_id, Thread.title))).all()

    # Measures: 400, half in the followed countries; about one in ten ends within 14 days
    # (already announced, so that the cron's "ending soon" pass writes nothing).
    measures = []
    for n in range(400):
        country = rng.choice(FOLLOWED) if n % 2 == 0 else rng.choice(codes)
        ending = n % 10 == 0
        ends_on = today + timedelta(days=rng.randint(1, 14) if ending else rng.randint(30, 400))
        title = f"{sentence(rng, 6)} ({n})"
        measures.append(
            {
                "country": country, "title": title, "summary": sentence(rng, 40),
                "summary_html": "<p>…</p>", "theme": "relief", "stakeholder": "regulator",
                "instrument": "mandatory", "status": "active", "phase": "emergency",
                "announced_on": today - timedelta(days=30), "starts_on": today - timedelta(days=30),
                "ends_on": ends_on, "sources": [], "language": "en", "verification": "verified",
                "verification_note": "", "search_text": title,
                "ending_notified_on": ends_on if ending else None, "created_by": author,
                "created_at": NOW - timedelta(days=30), "updated_at": NOW - timedelta(days=1),
            }
        )  # fmt: skip
    await bulk(Initiative.__table__, measures)
    async with engine.connect() as connection:
        initiatives = (
            await connection.execute(select(Initiative.id, Initiative.country, Initiative.title))
        ).all()

    follows: list[dict[str, Any]] = []
    for user_id in ids:
        follows += [
            {"user_id": user_id, "target": f"country:{code}",
             "level": rng.choice(("live", "digest")),
             "created_at": NOW - timedelta(days=40), "updated_at": NOW - timedelta(days=40)}
            for code in sorted(rng.sample(FOLLOWED, rng.randint(1, 3)))
        ]  # fmt: skip
    await bulk(Subscription.__table__, follows)

    rows: list[dict[str, Any]] = []
    carried = noise = 0

    def notification(user_id: int, created_at: datetime, read: bool) -> dict[str, Any]:
        kind = rng.choice(KINDS)
        base = {
            "user_id": user_id, "kind": kind, "reason": "", "in_app": rng.random() < 0.8,
            "actor_id": None, "room_id": None, "thread_id": None, "message_id": None,
            "initiative_id": None, "country": None,
            "excerpt": excerpt(sentence(rng, rng.randint(8, 40))),
            "created_at": created_at, "digest_id": None,
            "read_at": created_at + timedelta(minutes=5) if read else None,
        }  # fmt: skip
        if kind == "initiative":
            initiative_id, country, title = rng.choice(initiatives)
            base |= {"reason": rng.choice(REASONS), "initiative_id": initiative_id,
                     "country": country, "title": title,
                     "url": f"/initiatives/{initiative_id}"}  # fmt: skip
        else:
            thread_id, room_id, title = rng.choice(threads)
            message_id = rng.randint(1, 10**6)
            base |= {"actor_id": rng.choice(ids), "room_id": room_id, "thread_id": thread_id,
                     "message_id": message_id, "title": title,
                     "url": f"/threads/{thread_id}#m{message_id}"}  # fmt: skip
        return base

    async def flush() -> None:
        nonlocal rows
        if rows:
            async with engine.begin() as connection:
                await connection.execute(insert(Notification.__table__), rows)
            rows = []

    for user_id, size in zip(ids, sizes, strict=True):
        for _ in range(size):
            rows.append(
                notification(user_id, NOW - timedelta(seconds=rng.randint(60, 86_000)), False)
            )
        carried += size
        for n in range(user_id % 3):  # noise: read yesterday, or too old to mail
            old = NOW - (timedelta(hours=3) if n == 0 else LOOKBACK + timedelta(days=2))
            rows.append(notification(user_id, old, n == 0))
            noise += 1
        if len(rows) >= CHUNK:
            await flush()
    await flush()

    if services.engine.dialect.name == "postgresql":
        async with engine.connect() as connection:
            connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await connection.exec_driver_sql("ANALYZE")

    people_sized = [
        (user_id, email, size) for (user_id, email), size in zip(people, sizes, strict=True)
    ]
    ending = sum(1 for m in measures if m["ending_notified_on"] and m["country"] in FOLLOWED)
    return Filled(
        timed=people_sized[:users],
        sample=people_sized[users:],
        carried=carried,
        noise=noise,
        ending=ending,
        follows=len(follows),
    )


# --------------------------------------------------------------------------- delivering


class CollectingQueue:
    def __init__(self) -> None:
        self.jobs: list[tuple[int, str]] = []

    async def enqueue_digest(self, user_id: int, period: str) -> bool:
        self.jobs.append((user_id, period))
        return True


async def deliver_one(
    services: Services, mailer: TimedMailer, who: tuple[int, str, int], period: str, keep: bool
) -> Record:
    user_id, _email, size = who
    record = Record(user_id, size, statements=[] if keep else None)
    token = CURRENT.set(record)
    started = time.perf_counter()
    try:
        record.outcome = await digest_worker.deliver_digest(
            services, mailer, user_id=user_id, period=period, attempt=1
        )
    finally:
        record.seconds = time.perf_counter() - started
        CURRENT.reset(token)
    return record


async def deliver_all(
    services: Services,
    mailer: TimedMailer,
    people: Sequence[tuple[int, str, int]],
    period: str,
    concurrency: int,
) -> list[Record]:
    queue: asyncio.Queue[tuple[int, str, int]] = asyncio.Queue()
    for who in people:
        queue.put_nowait(who)
    records: list[Record] = []

    async def worker() -> None:
        while True:
            try:
                who = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            records.append(await deliver_one(services, mailer, who, period, keep=False))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return records


async def explain(services: Services, record: Record) -> None:
    """The plan of each statement of one digest, with the parameters it ran with."""
    sqlite = services.engine.dialect.name == "sqlite"
    print(f"\n# query plans of one digest ({record.notifications} notifications)")
    for statement, parameters in record.statements or []:
        if not statement.lstrip().upper().startswith(("SELECT", "UPDATE")):
            continue
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN "
        async with services.engine.connect() as connection:
            rows = (await connection.exec_driver_sql(prefix + statement, parameters)).all()
        print("--", " ".join(statement.split())[:160])
        for row in rows:
            print("  ", row[-1])


# --------------------------------------------------------------------------- figures


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def ms(seconds: float) -> str:
    return f"{1000 * seconds:.1f}"


def by_size_table(
    records: Sequence[Record], title: str, sizes: Sequence[int] | None = None
) -> None:
    groups: dict[int, list[Record]] = defaultdict(list)
    for record in records:
        groups[record.notifications].append(record)
    print(f"\n# {title}")
    head = f"{'notif.':>6} {'digests':>7} {'queries':>9} {'p50 ms':>7} {'p95 ms':>7}"
    print(head + "".join(f" {stage + ' ms':>9}" for stage in STAGES))
    for size in sizes or sorted(groups):
        group = groups.get(size)
        if not group:
            continue
        counts = [r.query_count for r in group]
        low, high = min(counts), max(counts)
        queries = f"{low}" if low == high else f"{low}-{high}"
        seconds = [r.seconds for r in group]
        stages = "".join(
            f" {ms(statistics.median(r.stages[stage] for r in group)):>9}" for stage in STAGES
        )
        print(
            f"{size:>6} {len(group):>7} {queries:>9} {ms(statistics.median(seconds)):>7} "
            f"{ms(quantile(seconds, 0.95)):>7}{stages}"
        )


def grows(records: Sequence[Record]) -> str | None:
    """Why the query count grows with the notification count, or None if it does not."""
    groups: dict[int, list[int]] = defaultdict(list)
    for record in records:
        groups[record.notifications].append(record.query_count)
    smallest = min(groups)
    base = max(groups[smallest])
    worse = {size: max(counts) for size, counts in groups.items() if max(counts) > base}
    if worse:
        size = max(worse)
        return (
            f"a digest of {size} notifications took {worse[size]} queries, "
            f"one of {smallest} at most {base}"
        )
    return None


# --------------------------------------------------------------------------- main


async def run(args: argparse.Namespace) -> int:
    problems: list[str] = []
    with tempfile.TemporaryDirectory() as folder:
        fresh = await fresh_database(args.database_url, folder)
        try:
            return await measure(args, fresh, problems)
        finally:
            await fresh.cleanup()


async def measure(args: argparse.Namespace, fresh: Fresh, problems: list[str]) -> int:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink_running = True
    settings = Settings(
        database_url=fresh.url,
        smtp_url=f"smtp://127.0.0.1:{controller.port}",
        base_url="https://gnrp.example",
        mail_from="GNRP Live <digests@gnrp.example>",
        password_memory_kib=1024,
    )
    period = due_period("daily", NOW, hour=settings.digest_hour).key
    started = time.perf_counter()
    await upgrade(fresh.url)
    services = build_services(settings)
    services.clock = lambda: NOW
    try:
        filled = await fill(
            services,
            users=args.users,
            most=args.max_notifications,
            sample=args.sample,
            seed=args.seed,
        )
        setup = time.perf_counter() - started
        count_statements(services)
        print(
            f"# digests: {fresh.label}, {args.users} users (+{2 * args.sample + 1} sampled), "
            f"{filled.carried} notifications to mail (1-{args.max_notifications} each) "
            f"+ {filled.noise} read or too old, {filled.follows} country follows, "
            f"{filled.ending} measures ending within 14 days; period {period}; "
            f"setup {setup:.1f} s"
        )

        # 1. The cron.
        queue = CollectingQueue()
        before = sum(STRAY.values())
        started = time.perf_counter()
        planned = await digest_worker.plan_digests({"services": services, "queue": queue})
        plan_seconds = time.perf_counter() - started
        plan_queries = sum(STRAY.values()) - before
        expected = {who[0] for who in filled.timed + filled.sample}
        if {user for user, _ in queue.jobs} != expected or len(queue.jobs) != len(expected):
            problems.append(f"plan_digests queued {len(queue.jobs)} jobs, expected {len(expected)}")
        if any(p != period for _, p in queue.jobs):
            problems.append("plan_digests queued another period")
        print(
            f"plan_digests: {planned['due']} due, {planned['queued']} queued, "
            f"{planned['ending']} announced, {plan_seconds:.2f} s, {plan_queries} queries"
        )

        # 2. The sequential sample: one digest at a time, nothing else running.
        mailer = TimedMailer(SmtpMailer(settings.smtp_url or ""))
        sampled = [
            await deliver_one(services, mailer, who, period, keep=args.explain)
            for who in filled.sample
        ]
        warm_up, sampled = sampled[:1], sampled[1:]  # the first compiles templates and queries
        by_size_table(sampled, "sequential sample: one digest at a time")
        verbs = Counter[str]()
        for record in sampled:
            verbs += record.queries
        per = ", ".join(f"{verb} {n / len(sampled):g}" for verb, n in sorted(verbs.items()))
        print(f"statements per digest: {per}")

        # 3. The timed run.
        load_before = os.getloadavg()[0]
        cpu_before = time.process_time()
        threads_before = thread_cpu()
        started = time.perf_counter()
        records = await deliver_all(services, mailer, filled.timed, period, args.concurrency)
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        threads = {tid: t - threads_before.get(tid, 0.0) for tid, t in thread_cpu().items()}
        main_cpu = threads.get(threading.main_thread().native_id, 0.0)
        sink_cpu = threads.get(controller._thread.native_id or 0, 0.0)  # type: ignore[union-attr]
        seconds = [r.seconds for r in records]
        sqlite = services.engine.dialect.name == "sqlite"
        others = "other threads (aiosqlite's)" if sqlite else "other threads"
        print(
            f"\n# timed run: {len(records)} digests, concurrency {args.concurrency}: "
            f"{wall:.1f} s, {len(records) / wall:.1f} digests/s rendered and sent; "
            f"per digest p50 {ms(statistics.median(seconds))} ms, "
            f"p95 {ms(quantile(seconds, 0.95))} ms, max {ms(max(seconds))} ms; "
            f"{sum(r.query_count for r in records) / len(records):.2f} queries per digest"
        )
        print(
            f"this process: {cpu:.1f} CPU-s ({len(records) / cpu:.1f} digests per CPU-s): "
            f"event loop {main_cpu:.1f}, SMTP sink thread {sink_cpu:.1f}, "
            f"{others} {cpu - main_cpu - sink_cpu:.1f}; "
            f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after "
            f"({os.cpu_count()} cores)"
        )
        middle = sorted({1, args.max_notifications // 2, args.max_notifications})
        by_size_table(records, "timed run by notification count", middle)
        print(
            "stage p95 ms: "
            + ", ".join(
                f"{st} {ms(quantile([r.stages[st] for r in records], 0.95))}" for st in STAGES
            )
        )
        everything = warm_up + sampled + records
        if args.explain:
            await explain(services, max(sampled, key=lambda r: r.notifications))

        # Checks.
        outcomes = Counter(r.outcome for r in everything)
        if outcomes != Counter({"sent": len(everything)}):
            problems.append(f"deliver_digest returned {dict(outcomes)}")
        people = filled.timed + filled.sample
        controller.stop()  # every message has been accepted once send() returned
        sink_running = False
        if sink.messages != len(people):
            problems.append(f"the sink got {sink.messages} messages for {len(people)} users")
        extra = [e for e, n in sink.recipients.items() if n != 1]
        missing = [e for _, e, _ in people if e not in sink.recipients]
        if extra or missing:
            problems.append(f"{len(extra)} got more than one message, {len(missing)} none")
        wrong = [
            e
            for _, e, size in people
            if not re.search(rf": {size} updates?\b", sink.subjects.get(e, ""))
        ]
        if wrong:
            problems.append(f"{len(wrong)} subjects do not count their notifications: {wrong[:3]}")
        async with services.read() as session:
            statuses = dict(
                (
                    await session.exec(select(Digest.status, func.count()).group_by(Digest.status))
                ).all()  # type: ignore[call-overload]
            )
            left = (
                await session.exec(
                    select(func.count()).where(  # type: ignore[call-overload]
                        Notification.digest_id.is_(None),  # type: ignore[union-attr]
                        Notification.read_at.is_(None),  # type: ignore[union-attr]
                        Notification.created_at >= NOW - LOOKBACK,
                    )
                )
            ).one()[0]
        if statuses != {"sent": len(people)}:
            problems.append(f"digest rows by status: {statuses}")
        if left:
            problems.append(f"{left} notifications to mail were not attached to a digest")
        print(
            f"\nsink: {sink.messages} messages to {len(sink.recipients)} recipients, "
            f"{sink.bytes / max(1, sink.messages) / 1024:.1f} KiB each on average, "
            f"{sink.with_ending} with measures ending soon; digest rows: {statuses}"
        )
        growth = grows(everything)
        if growth:
            problems.append(f"queries grow with notifications: {growth}")
        else:
            counts = Counter(r.query_count for r in everything)
            print(
                f"queries per digest do not grow with notifications: {dict(counts)} "
                f"(1 to {args.max_notifications} notifications)"
            )
    finally:
        if sink_running:
            controller.stop()
        await services.close()
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--max-notifications", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--sample", type=int, default=50, help="sequential sample: users of 1 and of max"
    )
    parser.add_argument(
        "--database-url",
        help="postgresql+asyncpg://postgres@127.0.0.1:5432/<new name> (created and dropped), "
        "or sqlite+aiosqlite:///<new file>; default a temporary SQLite file",
    )
    parser.add_argument("--explain", action="store_true", help="print one digest's query plans")
    parser.add_argument("--seed", type=int, default=3)
    args = parser.parse_args()
    if args.users < 1 or args.max_notifications < 2 or args.sample < 1 or args.concurrency < 1:
        parser.error("--users, --sample, --concurrency >= 1; --max-notifications >= 2")
    return asyncio.run(run(args))


if __name__ == "__main__":
    raise SystemExit(main())
