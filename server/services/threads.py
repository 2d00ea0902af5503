"""Threads and their messages: start a thread, post, edit with history, read snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Message, MessageRevision, Room, Thread, User
from server.domain.content import check_body, check_countries, check_title
from server.domain.cursor import decode_cursor, encode_cursor
from server.domain.errors import Forbidden, NotFound, RateLimited, Unauthorized, invalid_field
from server.domain.events import format_time
from server.domain.markdown import render_markdown
from server.domain.permissions import (
    Viewer,
    can_edit_message,
    can_post_in_room,
    can_read_room,
    may_see_hidden,
    readable_visibilities,
)
from server.domain.streams import country_stream, room_stream
from server.services.context import Services, Transaction
from server.services.events import stream_head
from server.services.notifications import (
    notify_mentions_added,
    notify_new_message,
    notify_new_thread,
)
from server.services.rooms import load_room
from server.services.views import message_view, thread_view


@dataclass(frozen=True, slots=True)
class Posted:
    message: dict[str, Any]
    seq: int
    created: bool  # False when the client_id had been posted before


@dataclass(frozen=True, slots=True)
class ThreadPage:
    room: Room
    head: int
    threads: list[dict[str, Any]]
    cursor: str | None


async def list_threads(
    services: Services, *, viewer: Viewer | None, slug: str, cursor: str | None, limit: int
) -> ThreadPage:
    room = await load_room(services, viewer=viewer, slug=slug)
    query = select(Thread).where(Thread.room_id == room.id)
    if cursor:
        position = decode_cursor(services.settings.secret_key, cursor)
        try:
            last_at = datetime.fromisoformat(position["at"])
            last_id = int(position["id"])
        except (KeyError, TypeError, ValueError):
            raise invalid_field("cursor", "is not a cursor this server issued") from None
        query = query.where(
            or_(
                col(Thread.last_activity_at) < last_at,
                and_(col(Thread.last_activity_at) == last_at, col(Thread.id) < last_id),
            )
        )
    async with services.read() as session:
        head = await stream_head(session, stream=room_stream(room.slug))
        threads = (
            await session.exec(
                query.order_by(col(Thread.last_activity_at).desc(), col(Thread.id).desc()).limit(
                    limit + 1
                )
            )
        ).all()
    next_cursor = None
    if len(threads) > limit:
        threads = threads[:limit]
        last = threads[-1]
        next_cursor = encode_cursor(
            services.settings.secret_key,
            {"at": last.last_activity_at.isoformat(), "id": last.id},
        )
    return ThreadPage(room, head, [thread_view(t, room) for t in threads], next_cursor)


async def create_thread(
    services: Services,
    *,
    viewer: Viewer | None,
    slug: str,
    title: str,
    body: str,
    kind: str,
    countries: list[str],
) -> tuple[dict[str, Any], Posted]:
    title = check_title(title)
    body = check_body(body)
    countries = check_countries(countries)
    limit_key = await _within_limit(
        services, viewer, "threads", services.settings.threads_per_hour, 3600
    )
    async with services.write() as tx:
        room = (await tx.session.exec(select(Room).where(Room.slug == slug))).first()
        author = await _poster(tx.session, viewer=viewer, room=room)
        assert room is not None and room.id is not None and author.id is not None
        thread = Thread(
            room_id=room.id,
            title=title,
            kind=kind,
            countries=countries,
            created_by=author.id,
            created_at=tx.now,
            last_activity_at=tx.now,
            message_count=1,
        )
        tx.session.add(thread)
        await tx.session.flush()
        assert thread.id is not None
        message = await _add_message(
            tx, thread_id=thread.id, author=author, body=body, client_id=None
        )
        view = thread_view(thread, room)
        data = {"thread": view, "message": message_view(message, author)}
        message.seq = await tx.emit(room_stream(room.slug), "thread.created", data)
        if room.visibility == "public":
            for code in countries:
                await tx.emit(country_stream(code), "thread.created", data)
        await notify_new_thread(tx, thread=thread, room=room, message=message, author=author)
    await _count(services, limit_key, 3600)
    return view, Posted(message_view(message, author), message.seq, created=True)


async def load_thread(
    services: Services, *, viewer: Viewer | None, thread_id: int, cursor: str | None, limit: int
) -> dict[str, Any]:
    """The thread snapshot: thread, room, messages (oldest first), pinned answer, and ``head``."""
    after = 0
    if cursor:
        position = decode_cursor(services.settings.secret_key, cursor)
        after = position.get("after", 0) if isinstance(position.get("after"), int) else 0
    async with services.read() as session:
        thread, room = await readable_thread(session, viewer=viewer, thread_id=thread_id)
        # The head is read before the messages, so that following with since=head misses nothing.
        head = await stream_head(session, stream=room_stream(room.slug))
        rows = (
            await session.exec(
                select(Message, User)
                .join(User, col(Message.author_id) == col(User.id))
                .where(Message.thread_id == thread_id, col(Message.id) > after)
                .order_by(col(Message.id))
                .limit(limit + 1)
            )
        ).all()
        pinned = None
        if thread.pinned_message_id is not None:
            pinned_row = (
                await session.exec(
                    select(Message, User)
                    .join(User, col(Message.author_id) == col(User.id))
                    .where(Message.id == thread.pinned_message_id)
                )
            ).first()
            pinned = _shown(viewer, *pinned_row) if pinned_row else None
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(services.settings.secret_key, {"after": rows[-1][0].id})
    return {
        "thread": thread_view(thread, room),
        "room": {
            "slug": room.slug,
            "title": room.title,
            "visibility": room.visibility,
            "archived": room.archived,
        },
        "messages": [_shown(viewer, message, author) for message, author in rows],
        "pinned": pinned,
        "head": head,
        "cursor": next_cursor,
    }


async def post_message(
    services: Services, *, viewer: Viewer | None, thread_id: int, body: str, client_id: str | None
) -> Posted:
    body = check_body(body)
    if client_id is not None and not 1 <= len(client_id) <= 64:
        raise invalid_field("client_id", "must be 1 to 64 characters")
    if viewer is not None and client_id is not None:
        earlier = await _posted_before(services, author_id=viewer.user_id, client_id=client_id)
        if earlier is not None:
            return earlier  # a repeat stores nothing, and counts against no limit
    limit_key = await _within_limit(
        services, viewer, "messages", services.settings.messages_per_minute, 60
    )
    try:
        async with services.write() as tx:
            thread, room = await readable_thread(tx.session, viewer=viewer, thread_id=thread_id)
            author = await _poster(tx.session, viewer=viewer, room=room)
            assert thread.id is not None
            message = await _add_message(
                tx, thread_id=thread.id, author=author, body=body, client_id=client_id
            )
            thread.last_activity_at = tx.now
            thread.message_count += 1
            tx.session.add(thread)
            message.seq = await tx.emit(
                room_stream(room.slug),
                "message.created",
                {"message": message_view(message, author)},
            )
            tx.session.add(message)
            await notify_new_message(tx, thread=thread, room=room, message=message, author=author)
    except IntegrityError:
        # The same client_id was posted concurrently, and the other request won: answer with it.
        assert viewer is not None and client_id is not None
        earlier = await _posted_before(services, author_id=viewer.user_id, client_id=client_id)
        if earlier is None:
            raise
        return earlier
    await _count(services, limit_key, 60)
    return Posted(message_view(message, author), message.seq, created=True)


async def edit_message(
    services: Services, *, viewer: Viewer | None, message_id: int, body: str
) -> dict[str, Any]:
    body = check_body(body)
    async with services.write() as tx:
        found = (
            await tx.session.exec(
                select(Message, Thread, Room)
                .join(Thread, col(Message.thread_id) == col(Thread.id))
                .join(Room, col(Thread.room_id) == col(Room.id))
                .where(Message.id == message_id)
            )
        ).first()
        if found is None or not can_read_room(viewer, found[2].visibility):
            raise NotFound("no such message")
        message, thread, room = found
        if viewer is None:
            raise Unauthorized("sign in to edit")
        if not can_edit_message(viewer, message.author_id):
            raise Forbidden("only the author edits a message")
        author = await tx.session.get(User, message.author_id)
        assert author is not None
        if body == message.body:
            return message_view(message, author)
        tx.session.add(
            MessageRevision(
                message_id=message_id,
                body=message.body,
                html=message.html,
                written_at=message.edited_at or message.created_at,
                replaced_at=tx.now,
                replaced_by=viewer.user_id,
            )
        )
        before = message.body
        message.body = body
        message.html = render_markdown(body)
        message.edited_at = tx.now
        tx.session.add(message)
        view = message_view(message, author)
        await tx.emit(room_stream(room.slug), "message.edited", {"message": view})
        await notify_mentions_added(
            tx, thread=thread, room=room, message=message, author=author, before=before
        )
    return view


async def message_history(
    services: Services, *, viewer: Viewer | None, message_id: int
) -> list[dict[str, Any]]:
    """Every earlier body of a message, oldest first, for whoever can read the message."""
    async with services.read() as session:
        found = (
            await session.exec(
                select(Message, Room)
                .join(Thread, col(Message.thread_id) == col(Thread.id))
                .join(Room, col(Thread.room_id) == col(Room.id))
                .where(Message.id == message_id)
            )
        ).first()
        if found is None or not can_read_room(viewer, found[1].visibility):
            raise NotFound("no such message")
        message = found[0]
        if message.hidden and not may_see_hidden(viewer, message.author_id):
            return []  # the earlier bodies of a hidden message are hidden too
        revisions = (
            await session.exec(
                select(MessageRevision)
                .where(MessageRevision.message_id == message_id)
                .order_by(col(MessageRevision.id))
            )
        ).all()
    return [
        {
            "body": revision.body,
            "html": revision.html,
            "written_at": format_time(revision.written_at),
            "replaced_at": format_time(revision.replaced_at),
        }
        for revision in revisions
    ]


async def _within_limit(
    services: Services, viewer: Viewer | None, action: str, limit: int, window: int
) -> str | None:
    """Refuse before anything is written when the user is over the limit for ``action``."""
    if viewer is None:
        return None  # refused later for not being signed in
    key = f"{action}:{viewer.user_id}"
    wait = await services.limiter.retry_after(key, limit=limit, window=window)
    if wait:
        raise RateLimited(f"too many {action}; try again in {wait} s", retry_after=wait)
    return key


async def _count(services: Services, key: str | None, window: int) -> None:
    if key is not None:
        await services.limiter.hit(key, window=window)


def _shown(viewer: Viewer | None, message: Message, author: User) -> dict[str, Any]:
    return message_view(message, author, reveal=may_see_hidden(viewer, message.author_id))


async def readable_thread(
    session: AsyncSession, *, viewer: Viewer | None, thread_id: int
) -> tuple[Thread, Room]:
    """The thread and its room, if the viewer may read them; NotFound otherwise."""
    found = (
        await session.exec(select(Thread, Room).join(Room).where(Thread.id == thread_id))
    ).first()
    if found is None or not can_read_room(viewer, found[1].visibility):
        raise NotFound("no such thread")
    return found


async def _poster(session: AsyncSession, *, viewer: Viewer | None, room: Room | None) -> User:
    """The author posting in ``room``, after checking that they may."""
    if room is None or not can_read_room(viewer, room.visibility):
        raise NotFound("no such room")
    if viewer is None:
        raise Unauthorized("sign in to post")
    if not can_post_in_room(viewer, room.visibility):
        raise NotFound("no such room")
    if room.archived:
        raise Forbidden("this room is archived")
    author = await session.get(User, viewer.user_id)
    if author is None or author.disabled:
        raise Unauthorized("sign in to post")
    return author


async def _add_message(
    tx: Transaction, *, thread_id: int, author: User, body: str, client_id: str | None
) -> Message:
    assert author.id is not None
    message = Message(
        thread_id=thread_id,
        author_id=author.id,
        body=body,
        html=render_markdown(body),
        client_id=client_id,
        seq=0,  # set to its event's seq once that is appended
        created_at=tx.now,
    )
    tx.session.add(message)
    await tx.session.flush()
    return message


async def _posted_before(services: Services, *, author_id: int, client_id: str) -> Posted | None:
    async with services.read() as session:
        message = (
            await session.exec(
                select(Message).where(
                    Message.author_id == author_id, Message.client_id == client_id
                )
            )
        ).first()
        if message is None:
            return None
        author = await session.get(User, author_id)
    assert author is not None
    return Posted(message_view(message, author), message.seq, created=False)


async def recent_threads(
    services: Services, *, viewer: Viewer | None, limit: int = 10
) -> list[dict[str, Any]]:
    """The most recently active threads in rooms the viewer may read (the home page's news)."""
    async with services.read() as session:
        rows = (
            await session.exec(
                select(Thread, Room)
                .join(Room)
                .where(col(Room.visibility).in_(readable_visibilities(viewer)))
                .order_by(col(Thread.last_activity_at).desc())
                .limit(limit)
            )
        ).all()
    return [{**thread_view(thread, room), "room_title": room.title} for thread, room in rows]
