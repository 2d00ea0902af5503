"""The event log: gap-free per-stream seqs under concurrency, written with the change itself."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from sqlmodel import col, select

from server.db.models import Event, Message
from server.domain.permissions import Viewer
from server.services import rooms, threads
from server.services.context import Services
from tests.helpers import count, make_user


async def _room_with_threads(services: Services, *, n_threads: int) -> tuple[Viewer, list[int]]:
    moderator = await make_user(services, role="moderator")
    viewer = Viewer(user_id=moderator.id, role="moderator")
    await rooms.create_room(
        services,
        viewer=viewer,
        slug="spectrum",
        title="Spectrum",
        description="",
        theme="spectrum",
        visibility="public",
    )
    ids = []
    for n in range(n_threads):
        thread, _ = await threads.create_thread(
            services,
            viewer=viewer,
            slug="spectrum",
            title=f"Writer {n}",
            body="start",
            kind="discussion",
            countries=[],
        )
        ids.append(thread["id"])
    return viewer, ids


async def _room_seqs(services: Services) -> list[int]:
    async with services.read() as session:
        rows = await session.exec(
            select(Event.seq).where(Event.stream == "room:spectrum").order_by(col(Event.seq))
        )
        return list(rows.all())


@pytest.mark.timeout(180)
async def test_two_concurrent_writers_add_400_consecutive_seqs(services: Services) -> None:
    """On both databases; on PostgreSQL the writers really overlap (two connections)."""
    viewer, thread_ids = await _room_with_threads(services, n_threads=2)
    before = await _room_seqs(services)
    assert before == list(range(1, len(before) + 1))

    async def writer(thread_id: int) -> list[int]:
        seqs = []
        for n in range(200):
            posted = await threads.post_message(
                services, viewer=viewer, thread_id=thread_id, body=f"m{n}", client_id=None
            )
            seqs.append(posted.seq)
        return seqs

    results = await asyncio.gather(*(writer(thread_id) for thread_id in thread_ids))
    after = await _room_seqs(services)
    added = after[len(before) :]
    assert len(added) == 400
    assert added == list(range(before[-1] + 1, before[-1] + 401))  # no gap, no duplicate
    assert sorted(results[0] + results[1]) == added
    for seqs in results:  # each writer saw its own commits in increasing seq order
        assert seqs == sorted(seqs)
    if services.engine.dialect.name == "postgresql":
        # The writers really overlapped: their seqs interleave. (SQLite hands its one write
        # lock to whichever connection polls first, so there one writer may run ahead.)
        assert max(results[0]) > min(results[1]) and max(results[1]) > min(results[0])

    # Every event names the message whose seq it carries: the log and the rows agree.
    async with services.read() as session:
        events = (
            await session.exec(
                select(Event).where(Event.stream == "room:spectrum", col(Event.seq) > before[-1])
            )
        ).all()
        messages = {m.id: m for m in (await session.exec(select(Message))).all()}
    for event in events:
        assert event.name == "message.created"
        assert messages[event.data["message"]["id"]].seq == event.seq


async def test_a_failed_write_leaves_no_event_and_no_gap(services: Services) -> None:
    viewer, (thread_id,) = await _room_with_threads(services, n_threads=1)
    before = await _room_seqs(services)
    events_before = await count(services, Event)
    with pytest.raises(RuntimeError):
        async with services.write() as tx:
            await tx.emit("room:spectrum", "message.created", {"message": {}})
            raise RuntimeError("crash after the event, before commit")
    assert await count(services, Event) == events_before
    posted = await threads.post_message(
        services, viewer=viewer, thread_id=thread_id, body="after", client_id=None
    )
    assert posted.seq == before[-1] + 1


async def test_events_are_published_only_after_commit(services: Services) -> None:
    viewer, (thread_id,) = await _room_with_threads(services, n_threads=1)
    published: list[tuple[str, int, bool]] = []

    async def publisher(outgoing: Sequence[tuple[str, bytes]]) -> None:
        # By the time a publisher runs, a fresh session must already see the rows.
        for stream, payload in outgoing:
            envelope = orjson.loads(payload)
            assert envelope["stream"] == stream and envelope["type"] == "event"
            async with services.read() as session:
                seen = await session.get(Event, (stream, envelope["seq"]))
            published.append((stream, envelope["seq"], seen is not None))

    services.publishers.append(publisher)
    posted = await threads.post_message(
        services, viewer=viewer, thread_id=thread_id, body="live", client_id=None
    )
    assert published == [("room:spectrum", posted.seq, True)]

    with pytest.raises(RuntimeError):
        async with services.write() as tx:
            await tx.emit("room:spectrum", "message.created", {"message": {}})
            raise RuntimeError("rolled back")
    assert len(published) == 1  # nothing published for a transaction that did not commit


# SQLite has one writer at a time by construction (BEGIN IMMEDIATE); the lock matters on PostgreSQL.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_second_writer_waits_for_the_first_to_commit(services: Services) -> None:
    """The head row lock: seq n+1 cannot be taken while seq n is uncommitted."""
    first_emitted = asyncio.Event()
    release_first = asyncio.Event()

    async def first() -> int:
        async with services.write() as tx:
            seq = await tx.emit("room:locks", "room.updated", {"room": {}})
            first_emitted.set()
            await release_first.wait()
        return seq

    async def second() -> int:
        await first_emitted.wait()
        async with services.write() as tx:
            return await tx.emit("room:locks", "room.updated", {"room": {}})

    first_task = asyncio.create_task(first())
    second_task = asyncio.create_task(second())
    await first_emitted.wait()
    done, _ = await asyncio.wait({second_task}, timeout=0.5)
    assert not done, "the second writer got a seq while the first held the head"
    release_first.set()
    assert (await first_task, await second_task) == (1, 2)


async def test_one_event_on_each_of_many_streams_continues_each_streams_seqs(
    services: Services,
) -> None:
    async with services.write() as tx:
        await tx.emit("user:1", "notification.created", {"n": 0})
    streams = [f"user:{n}" for n in range(1, 1502)]  # more than one batch of 1,000
    async with services.write() as tx:
        await tx.emit_to_each([(s, "notification.created", {"n": 1}) for s in streams])
        published = list(tx.outbox)
    async with services.read() as session:
        seqs = dict(
            (await session.exec(select(Event.stream, Event.seq).where(Event.seq == 2))).all()
        )
    assert seqs == {"user:1": 2}
    assert await count(services, Event) == 1502
    assert [orjson.loads(p)["seq"] for _s, p in published[:2]] == [2, 1]
    assert len(published) == 1501
    with pytest.raises(ValueError, match="one event per stream"):
        async with services.write() as tx:
            await tx.emit_to_each([("user:9", "notification.created", {})] * 2)
    assert await count(services, Event) == 1502
