"""Reads and writes through ``Services``: readers never hold up writers, and writers queue."""

from __future__ import annotations

import asyncio

from sqlmodel import func, select

from server.db.models import User
from server.services.context import Services
from tests.helpers import count, make_user


async def test_a_reader_holding_a_snapshot_does_not_hold_up_a_writer(services: Services) -> None:
    await make_user(services)
    async with services.read() as session:
        before = (await session.exec(select(func.count()).select_from(User))).one()
        # The read transaction is open; a write must still go through at once (on SQLite a
        # reader that took the write lock would make it wait out the 30 s busy timeout).
        await asyncio.wait_for(make_user(services), timeout=10)
        if services.engine.dialect.name == "sqlite":
            # One snapshot for the whole read: the row written meanwhile is not seen.
            again = (await session.exec(select(func.count()).select_from(User))).one()
            assert again == before
    assert await count(services, User) == before + 1


async def test_concurrent_writers_all_commit(services: Services) -> None:
    await asyncio.gather(*(make_user(services) for _ in range(20)))
    assert await count(services, User) == 20  # a fresh database has no accounts
