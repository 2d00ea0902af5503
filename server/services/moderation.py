"""Moderators' actions on messages: pin the expert answer of a thread, hide and restore.
Each writes an audit entry and an event in the same transaction."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from server.db.models import Message, Room, Thread, User
from server.domain.errors import Forbidden, NotFound, invalid_field
from server.domain.permissions import Viewer, can_moderate, can_read_room
from server.domain.streams import room_stream
from server.services.audit import record_action
from server.services.context import Services, Transaction
from server.services.notifications import excerpt_follows_hiding, notify_answer_pinned
from server.services.threads import readable_thread
from server.services.views import message_view, thread_view

REASON_MAX = 500


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise invalid_field("reason", "say why")
    if len(reason) > REASON_MAX:
        raise invalid_field("reason", f"must be at most {REASON_MAX} characters")
    return reason


def require_moderator(viewer: Viewer | None) -> Viewer:
    if viewer is None or not can_moderate(viewer):
        raise Forbidden("only moderators do this")
    return viewer


async def pin_answer(
    services: Services, *, viewer: Viewer | None, thread_id: int, message_id: int
) -> dict[str, Any]:
    """Pin ``message_id`` as the thread's answer; pinning another replaces it."""
    async with services.write() as tx:
        thread, room = await readable_thread(tx.session, viewer=viewer, thread_id=thread_id)
        moderator = require_moderator(viewer)
        found = (
            await tx.session.exec(
                select(Message, User)
                .join(User, col(Message.author_id) == col(User.id))
                .where(Message.id == message_id)
            )
        ).first()
        if found is None or found[0].thread_id != thread_id:
            raise invalid_field("message_id", "is not a message of this thread")
        message, author = found
        if message.hidden:
            raise invalid_field("message_id", "is hidden; restore it first")
        replaced = thread.pinned_message_id
        thread.pinned_message_id = message_id
        tx.session.add(thread)
        view = thread_view(thread, room)
        await record_action(
            tx, actor=moderator, action="answer.pin", target_type="thread", target_id=thread_id,
            data={"message_id": message_id, "replaced": replaced},
        )  # fmt: skip
        await tx.emit(
            room_stream(room.slug),
            "thread.answer_pinned",
            {"thread": view, "message": message_view(message, author)},
        )
        if replaced != message_id:
            await notify_answer_pinned(
                tx, thread=thread, room=room, message=message, author=author,
                moderator_id=moderator.user_id,
            )  # fmt: skip
    return {"thread": view, "message": message_view(message, author)}


async def unpin_answer(services: Services, *, viewer: Viewer | None, thread_id: int) -> None:
    async with services.write() as tx:
        thread, room = await readable_thread(tx.session, viewer=viewer, thread_id=thread_id)
        moderator = require_moderator(viewer)
        if thread.pinned_message_id is None:
            raise NotFound("this thread has no pinned answer")
        await _unpin(tx, moderator, thread, room)


async def _unpin(tx: Transaction, moderator: Viewer, thread: Thread, room: Room) -> None:
    unpinned = thread.pinned_message_id
    thread.pinned_message_id = None
    tx.session.add(thread)
    await record_action(
        tx, actor=moderator, action="answer.unpin", target_type="thread", target_id=str(thread.id),
        data={"message_id": unpinned},
    )  # fmt: skip
    await tx.emit(
        room_stream(room.slug), "thread.answer_unpinned", {"thread": thread_view(thread, room)}
    )


async def set_hidden(
    services: Services, *, viewer: Viewer | None, message_id: int, hidden: bool, reason: str
) -> dict[str, Any]:
    """Hide a message (others see a placeholder) or restore it, with the moderator's reason."""
    reason = _reason(reason)
    async with services.write() as tx:
        found = (
            await tx.session.exec(
                select(Message, Thread, Room, User)
                .join(Thread, col(Message.thread_id) == col(Thread.id))
                .join(Room, col(Thread.room_id) == col(Room.id))
                .join(User, col(Message.author_id) == col(User.id))
                .where(Message.id == message_id)
            )
        ).first()
        if found is None or not can_read_room(viewer, found[2].visibility):
            raise NotFound("no such message")
        moderator = require_moderator(viewer)
        message, thread, room, author = found
        if message.hidden == hidden:
            return message_view(message, author)
        message.hidden = hidden
        message.hidden_reason = reason if hidden else None
        message.hidden_by = moderator.user_id if hidden else None
        tx.session.add(message)
        await excerpt_follows_hiding(tx, message=message)
        if hidden and thread.pinned_message_id == message_id:
            await _unpin(tx, moderator, thread, room)  # only a visible message is an answer
        await record_action(
            tx, actor=moderator, action="message.hide" if hidden else "message.restore",
            target_type="message", target_id=message_id, reason=reason,
        )  # fmt: skip
        # The event is public: it carries the placeholder, never the hidden body.
        public = message_view(message, author, reveal=False)
        name = "message.hidden" if hidden else "message.restored"
        await tx.emit(room_stream(room.slug), name, {"message": public})  # type: ignore[arg-type]
    return message_view(message, author)
