"""Flags: members report messages; enough distinct reports hide a message until a moderator
reviews it; moderators resolve a message's flags by hiding it or dismissing them."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from server.db.models import Flag, Message, Room, Thread, User
from server.domain.errors import Conflict, NotFound, RateLimited, Unauthorized, invalid_field
from server.domain.events import format_time
from server.domain.permissions import Viewer, can_read_room
from server.domain.streams import room_stream
from server.services.audit import record_action
from server.services.context import Services
from server.services.moderation import require_moderator, set_hidden
from server.services.notifications import excerpt_follows_hiding
from server.services.views import message_view

FlagReason = Literal["spam", "off-topic", "inappropriate", "misinformation", "other"]
AUTO_HIDE_REASON = "flagged by several members; waiting for a moderator"


async def flag_message(
    services: Services, *, viewer: Viewer | None, message_id: int, reason: str, note: str
) -> dict[str, Any]:
    if viewer is None:
        raise Unauthorized("sign in to flag")
    note = note.strip()
    if reason == "other" and not note:
        raise invalid_field("note", "say what is wrong")
    window, limit = 3600, services.settings.flags_per_hour
    key = f"flags:{viewer.user_id}"
    wait = await services.limiter.retry_after(key, limit=limit, window=window)
    if wait:
        raise RateLimited("too many flags; try again later", retry_after=wait)
    try:
        async with services.write() as tx:
            found = (
                await tx.session.exec(
                    select(Message, Room, User)
                    .join(Thread, col(Message.thread_id) == col(Thread.id))
                    .join(Room, col(Thread.room_id) == col(Room.id))
                    .join(User, col(Message.author_id) == col(User.id))
                    .where(Message.id == message_id)
                )
            ).first()
            if found is None or not can_read_room(viewer, found[1].visibility):
                raise NotFound("no such message")
            message, room, author = found
            if message.author_id == viewer.user_id:
                raise invalid_field("message_id", "you cannot flag your own message")
            tx.session.add(
                Flag(
                    message_id=message_id,
                    user_id=viewer.user_id,
                    reason=reason,
                    note=note,
                    created_at=tx.now,
                )
            )
            await tx.session.flush()
            open_flags = (
                await tx.session.exec(
                    select(Flag.user_id).where(
                        Flag.message_id == message_id, col(Flag.resolved_at).is_(None)
                    )
                )
            ).all()
            hidden_now = False
            if len(set(open_flags)) >= services.settings.flags_to_hide and not message.hidden:
                message.hidden, message.hidden_reason = True, AUTO_HIDE_REASON
                tx.session.add(message)
                await excerpt_follows_hiding(tx, message=message)
                await record_action(
                    tx, actor=None, action="message.hide", target_type="message",
                    target_id=message_id, reason=AUTO_HIDE_REASON,
                )  # fmt: skip
                public = message_view(message, author, reveal=False)
                await tx.emit(room_stream(room.slug), "message.hidden", {"message": public})
                hidden_now = True
    except IntegrityError:
        raise Conflict("you flagged this message already") from None
    await services.limiter.hit(key, window=window)
    return {"message_id": message_id, "reason": reason, "hidden": hidden_now or message.hidden}


async def review_queue(services: Services, *, viewer: Viewer | None) -> list[dict[str, Any]]:
    """Open flags grouped by message, most flagged first."""
    require_moderator(viewer)
    async with services.read() as session:
        rows = (
            await session.exec(
                select(Flag, Message, User)
                .join(Message, col(Flag.message_id) == col(Message.id))
                .join(User, col(Message.author_id) == col(User.id))
                .where(col(Flag.resolved_at).is_(None))
                .order_by(col(Flag.id))
            )
        ).all()
    groups: dict[int, dict[str, Any]] = {}
    for flag, message, author in rows:
        assert message.id is not None
        group = groups.setdefault(
            message.id, {"message": message_view(message, author), "flags": []}
        )
        group["flags"].append(
            {"reason": flag.reason, "note": flag.note, "by": flag.user_id,
             "at": format_time(flag.created_at)}
        )  # fmt: skip
    return sorted(groups.values(), key=lambda g: -len(g["flags"]))


async def resolve_flags(
    services: Services, *, viewer: Viewer | None, message_id: int, action: str, reason: str
) -> dict[str, Any]:
    """``hide``: hide the message; ``dismiss``: keep it (restoring it if flags had hidden it)."""
    moderator = require_moderator(viewer)
    if action not in ("hide", "dismiss"):
        raise invalid_field("action", "must be hide or dismiss")
    async with services.read() as session:
        message = await session.get(Message, message_id)
        if message is None:
            raise NotFound("no such message")
        auto_hidden = message.hidden and message.hidden_reason == AUTO_HIDE_REASON
    if action == "hide":
        view = await set_hidden(
            services, viewer=moderator, message_id=message_id, hidden=True, reason=reason
        )
    elif auto_hidden:
        view = await set_hidden(
            services, viewer=moderator, message_id=message_id, hidden=False, reason=reason
        )
    else:
        view = None
    async with services.write() as tx:
        flags = (
            await tx.session.exec(
                select(Flag).where(Flag.message_id == message_id, col(Flag.resolved_at).is_(None))
            )
        ).all()
        if not flags:
            raise NotFound("no open flags on this message")
        for flag in flags:
            flag.resolved_at, flag.resolution = tx.now, action
            flag.resolved_by = moderator.user_id
            tx.session.add(flag)
        await record_action(
            tx, actor=moderator, action=f"flags.{action}", target_type="message",
            target_id=message_id, reason=reason.strip(), data={"flags": len(flags)},
        )  # fmt: skip
    return {"message_id": message_id, "resolution": action, "flags": len(flags), "message": view}


__all__ = ["FlagReason"]
