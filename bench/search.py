"""Search benchmark: 50,000 initiatives, 1,000 mixed queries (filters and full text), on SQLite
and on PostgreSQL, through the same service the API uses (a page of 50 and the total count).

    python bench/search.py [--rows 50000] [--queries 1000] [--engines sqlite,postgresql]

PostgreSQL: GNRP_BENCH_POSTGRES_URL (an admin URL; default the local ``postgres`` database).
Prints p50 and p95 per engine. Not part of the test run.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import random
import re
import statistics
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import asyncpg
from sqlalchemy import insert

from server.app import build_services
from server.db.migrate import upgrade
from server.db.models import Initiative, User
from server.domain.content import THEMES
from server.domain.countries import REGIONS
from server.domain.initiatives import STATUSES, VERIFICATIONS
from server.domain.search import search_document
from server.services.countries import countries
from server.services.initiatives import InitiativeFilters, list_initiatives
from server.settings import Settings

SAMPLE = Path(__file__).resolve().parent.parent / "server" / "data" / "initiatives-sample.csv"


def corpus() -> tuple[list[dict[str, str]], list[str]]:
    rows = list(csv.DictReader(SAMPLE.open(encoding="utf-8")))
    words = sorted({w for row in rows for w in re.findall(r"[a-z]{4,}", row["summary"].lower())})
    return rows, words


async def fill(database_url: str, count: int, seed: int) -> None:
    await upgrade(database_url)
    services = build_services(Settings(database_url=database_url, password_memory_kib=1024))
    random.seed(seed)
    rows, _ = corpus()
    codes = list(countries())
    now = datetime.now(UTC)
    async with services.write() as tx:
        user = User(email="bench@example.org", password_hash="x", display_name="Bench",
                    handle="bench", role="moderator", created_at=now)  # fmt: skip
        tx.session.add(user)
        await tx.session.flush()
        author = user.id
    batch = []
    for n in range(count):
        base = rows[n % len(rows)]
        announced = date(2020, 1, 1) + timedelta(days=random.randrange(0, 900))
        title = f"{base['title']} ({n})"
        batch.append(
            {
                "country": random.choice(codes), "title": title, "summary": base["summary"],
                "summary_html": f"<p>{base['summary']}</p>", "theme": random.choice(THEMES),
                "stakeholder": base["stakeholder"], "instrument": base["instrument"],
                "status": random.choice(STATUSES), "phase": base["phase"],
                "announced_on": announced, "sources": base["sources"].split(),
                "language": "en", "verification": random.choice(VERIFICATIONS),
                "search_text": search_document(title, base["summary"]),
                "created_by": author, "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        if len(batch) == 2000 or n == count - 1:
            async with services.write() as tx:
                await tx.session.exec(insert(Initiative), params=batch)  # type: ignore[call-overload]
            batch = []
    if services.engine.dialect.name == "postgresql":
        async with services.engine.begin() as connection:
            await connection.exec_driver_sql("ANALYZE initiatives")
    await services.close()


def queries(n: int, seed: int) -> list[InitiativeFilters]:
    random.seed(seed)
    _, words = corpus()
    codes = list(countries())
    mixed = []
    for _ in range(n):
        choice: dict[str, str | None] = {}
        if random.random() < 0.6:
            choice["q"] = " ".join(random.sample(words, random.choice((1, 1, 2))))
        if random.random() < 0.3:
            choice["country"] = random.choice(codes)
        elif random.random() < 0.3:
            choice["region"] = random.choice(REGIONS)
        if random.random() < 0.4:
            choice["theme"] = random.choice(THEMES)
        if random.random() < 0.2:
            choice["status"] = random.choice(STATUSES)
        if random.random() < 0.2:
            choice["verification"] = random.choice(VERIFICATIONS)
        mixed.append(InitiativeFilters(**choice))
    return mixed


async def measure(database_url: str, mixed: list[InitiativeFilters]) -> list[float]:
    services = build_services(Settings(database_url=database_url, password_memory_kib=1024))
    timings = []
    for filters in mixed[:20]:  # warm the caches and the connection pool
        await list_initiatives(services, filters=filters, cursor=None, limit=50)
    for filters in mixed:
        started = time.perf_counter()
        await list_initiatives(services, filters=filters, cursor=None, limit=50)
        timings.append(time.perf_counter() - started)
    await services.close()
    return timings


async def postgres_database(admin_url: str) -> tuple[str, str]:
    name = f"gnrp_search_bench_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'CREATE DATABASE "{name}"')
    await connection.close()
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return name, f"{base}/{name}"


async def drop(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await connection.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    admin_url = os.environ.get(
        "GNRP_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
    )
    mixed = queries(args.queries, seed=7)
    print(f"# search: {args.rows} initiatives, {len(mixed)} mixed queries (page of 50 + count)")
    print(f"{'engine':<11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'fill s':>8}")
    for engine in args.engines.split(","):
        with tempfile.TemporaryDirectory() as folder:
            name = None
            if engine == "sqlite":
                url = f"sqlite+aiosqlite:///{folder}/search.db"
            else:
                name, url = await postgres_database(admin_url)
            try:
                started = time.perf_counter()
                await fill(url, args.rows, seed=11)
                filled = time.perf_counter() - started
                timings = sorted(await measure(url, mixed))
            finally:
                if name:
                    await drop(admin_url, name)
        p95 = timings[int(len(timings) * 0.95) - 1]
        print(
            f"{engine:<11} {1000 * statistics.median(timings):>8.1f} {1000 * p95:>8.1f} "
            f"{1000 * timings[-1]:>8.1f} {filled:>8.1f}",
            flush=True,
        )


if __name__ == "__main__":
    asyncio.run(main())
