"""What every service is handed: the database, the clock, the hasher, limits, and publishers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.engine import SessionFactory
from server.domain.events import EventName
from server.services.events import append_event, append_events_to_streams
from server.services.passwords import PasswordHasher
from server.services.ratelimit import RateLimiter
from server.settings import Settings

Clock = Callable[[], datetime]
_BATCH = 1000  # streams per statement: 5 parameters each, well under 32,766
Outgoing = tuple[str, bytes]  # (stream, payload): what goes on the bus once committed
Publisher = Callable[[Sequence[Outgoing]], Awaitable[None]]


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class Services:
    settings: Settings
    engine: AsyncEngine
    sessions: SessionFactory
    read_sessions: SessionFactory
    hasher: PasswordHasher
    limiter: RateLimiter
    clock: Clock = system_clock
    # SQLite has one writer at a time: this process's writers queue here, in order, instead of
    # polling SQLite's busy handler (whose sleeps leave the lock idle while they wait).
    write_lock: asyncio.Lock | None = None
    # Called with what each committed transaction has to say; the app adds the bus here.
    publishers: list[Publisher] = field(default_factory=list)

    async def close(self) -> None:
        """Release the connections: the database pool, and Redis when the limiter uses it."""
        closing = getattr(self.limiter, "close", None)
        if closing is not None:
            await closing()
        await self.engine.dispose()

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A session for reading only: what is written through it is never committed."""
        async with self.read_sessions() as session:
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[Transaction]:
        """One transaction; its events are published once it has committed, never before."""
        async with self.write_lock or nullcontext(), self.sessions() as session, session.begin():
            tx = Transaction(session=session, now=self.clock())
            yield tx
        await self.publish(tx.outbox)

    async def publish(self, outgoing: Sequence[Outgoing]) -> None:
        """Hand committed events (or signals that are not persisted) to every publisher."""
        if outgoing:
            for publish in self.publishers:
                await publish(outgoing)


@dataclass(slots=True)
class Transaction:
    session: AsyncSession
    now: datetime
    outbox: list[Outgoing] = field(default_factory=list)

    async def emit(self, stream: str, name: EventName, data: dict[str, Any]) -> int:
        """Append an event to ``stream`` in this transaction and return its seq. The envelope is
        serialised here, once, and published as these bytes after commit."""
        envelope = await append_event(
            self.session, stream=stream, name=name, data=data, at=self.now
        )
        self.outbox.append((stream, orjson.dumps(envelope.model_dump())))
        return envelope.seq

    async def emit_to_each(self, events: list[tuple[str, EventName, dict[str, Any]]]) -> None:
        """Like ``emit`` for one event on each of many distinct streams, batched (in chunks that
        stay under the databases' limits on bound parameters)."""
        for start in range(0, len(events), _BATCH):
            chunk = events[start : start + _BATCH]
            for envelope in await append_events_to_streams(self.session, events=chunk, at=self.now):
                self.outbox.append((envelope.stream, orjson.dumps(envelope.model_dump())))

    def signal(self, stream: str, payload: dict[str, Any]) -> None:
        """Publish a signal that is not an event (a revoked session, say) once committed."""
        self.outbox.append((stream, orjson.dumps(payload)))
