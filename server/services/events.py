"""The event log: append under the stream head's row lock, read back for catch-up and replay."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert as sa_insert
from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Event, StreamHead
from server.domain.events import Envelope, EventName, format_time


async def append_event(
    session: AsyncSession, *, stream: str, name: EventName, data: dict[str, Any], at: datetime
) -> Envelope:
    """Give the event the stream's next seq and write it, inside the caller's transaction.

    The ``UPDATE ... RETURNING`` takes the head row's lock until commit, so concurrent writers to
    one stream queue up behind each other and seqs come out gap-free in commit order. Writers to
    other streams are not held up.
    """
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.exec(insert(StreamHead).values(stream=stream, seq=0).on_conflict_do_nothing())
    result = await session.exec(
        update(StreamHead)
        .where(col(StreamHead.stream) == stream)
        .values(seq=col(StreamHead.seq) + 1)
        .returning(col(StreamHead.seq))
    )
    seq = int(result.scalar_one())
    session.add(Event(stream=stream, seq=seq, name=name, data=data, created_at=at))
    await session.flush()
    return Envelope(stream=stream, seq=seq, name=name, data=data, at=format_time(at))


async def append_events_to_streams(
    session: AsyncSession, *, events: list[tuple[str, EventName, dict[str, Any]]], at: datetime
) -> list[Envelope]:
    """One event on each of many distinct streams (a notification to each of a thousand
    followers, say) in a fixed number of statements. The head rows are locked in stream order,
    so two such writers never deadlock on each other."""
    if not events:
        return []
    streams = [stream for stream, _name, _data in events]
    if len(set(streams)) != len(streams):
        raise ValueError("one event per stream")
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # executemany: compiled once, however many rows (a VALUES list compiles each row).
    heads = [{"stream": stream, "seq": 0} for stream in streams]
    await session.exec(insert(StreamHead).on_conflict_do_nothing(), params=heads)
    await session.exec(
        select(StreamHead.stream)
        .where(col(StreamHead.stream).in_(streams))
        .order_by(col(StreamHead.stream))
        .with_for_update()
    )
    result = await session.exec(
        update(StreamHead)
        .where(col(StreamHead.stream).in_(streams))
        .values(seq=col(StreamHead.seq) + 1)
        .returning(col(StreamHead.stream), col(StreamHead.seq))
    )
    seqs = {stream: int(seq) for stream, seq in result.all()}
    rows = [
        {"stream": stream, "seq": seqs[stream], "name": name, "data": data, "created_at": at}
        for stream, name, data in events
    ]
    await session.exec(sa_insert(Event), params=rows)
    return [
        Envelope(stream=stream, seq=seqs[stream], name=name, data=data, at=format_time(at))
        for stream, name, data in events
    ]


async def next_seq(session: AsyncSession, *, stream: str) -> int:
    """Take the next seq of ``stream``, holding its head row's lock until the transaction ends."""
    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    await session.exec(insert(StreamHead).values(stream=stream, seq=0).on_conflict_do_nothing())
    result = await session.exec(
        update(StreamHead)
        .where(col(StreamHead.stream) == stream)
        .values(seq=col(StreamHead.seq) + 1)
        .returning(col(StreamHead.seq))
    )
    return int(result.scalar_one())


async def stream_head(session: AsyncSession, *, stream: str) -> int:
    """The last seq of ``stream`` (0 for a stream with no events yet)."""
    result = await session.exec(select(StreamHead.seq).where(StreamHead.stream == stream))
    seq = result.one_or_none()
    return int(seq) if seq is not None else 0


async def events_after(
    session: AsyncSession, *, stream: str, after: int, limit: int
) -> list[Envelope]:
    """Events of ``stream`` with ``seq > after``, oldest first, at most ``limit``."""
    result = await session.exec(
        select(Event)
        .where(Event.stream == stream, col(Event.seq) > after)
        .order_by(col(Event.seq))
        .limit(limit)
    )
    return [
        Envelope(
            stream=row.stream,
            seq=row.seq,
            name=row.name,
            data=row.data,
            at=format_time(row.created_at),
        )
        for row in result.all()
    ]
