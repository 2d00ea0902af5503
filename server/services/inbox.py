"""The notifications a user reads: listed newest first with the unread count, opened, marked
read. Only in-app ones, and only from rooms the user can still read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, func, update
from sqlmodel import and_, col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from server.db.models import Notification, Room, User
from server.domain.cursor import decode_cursor, encode_cursor
from server.domain.errors import NotFound, invalid_field
from server.domain.events import format_time
from server.domain.permissions import ROLES, Viewer
from server.services.context import Services
from server.services.views import author_view

MAX_MARK_IDS = 500
_REGULATOR_ROLES = ROLES[ROLES.index("regulator") :]


def notification_view(row: Notification, actor: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "reason": row.reason or None,
        "title": row.title,
        "excerpt": row.excerpt,
        "url": row.url,
        "actor": actor,
        "country": row.country,
        "thread_id": row.thread_id,
        "message_id": row.message_id,
        "initiative_id": row.initiative_id,
        "created_at": format_time(row.created_at),
        "read": row.read_at is not None,
    }


def _shown_in_app() -> ColumnElement[bool]:
    """In the app, readable now: a notice from a room the user can no longer read drops out.
    Needs ``notifications`` outer-joined to ``rooms`` and joined to the recipient in ``users``."""
    return and_(
        col(Notification.in_app),
        or_(
            col(Notification.room_id).is_(None),
            col(Room.visibility) == "public",
            col(Room.visibility) == "members",
            and_(col(Room.visibility) == "regulators", col(User.role).in_(_REGULATOR_ROLES)),
        ),
    )


async def unread_counts(session: AsyncSession, *, user_ids: Sequence[int]) -> dict[int, int]:
    rows = (
        await session.exec(
            select(Notification.user_id, func.count())
            .select_from(Notification)
            .join(User, col(User.id) == col(Notification.user_id))
            .outerjoin(Room, col(Room.id) == col(Notification.room_id))
            .where(
                col(Notification.user_id).in_(user_ids),
                col(Notification.read_at).is_(None),
                _shown_in_app(),
            )
            .group_by(col(Notification.user_id))
        )
    ).all()
    return {user_id: count for user_id, count in rows}


async def unread_count(services: Services, *, viewer: Viewer) -> int:
    async with services.read() as session:
        counts = await unread_counts(session, user_ids=[viewer.user_id])
    return counts.get(viewer.user_id, 0)


async def list_notifications(
    services: Services, *, viewer: Viewer, cursor: str | None, limit: int, unread_only: bool
) -> dict[str, Any]:
    """The viewer's in-app notifications, newest first, with the unread count."""
    query = (
        select(Notification, User)
        .join(User, col(User.id) == col(Notification.user_id))
        .outerjoin(Room, col(Room.id) == col(Notification.room_id))
        .where(col(Notification.user_id) == viewer.user_id, _shown_in_app())
    )
    if unread_only:
        query = query.where(col(Notification.read_at).is_(None))
    if cursor:
        before = decode_cursor(services.settings.secret_key, cursor).get("before")
        if not isinstance(before, int):
            raise invalid_field("cursor", "is not a cursor this server issued")
        query = query.where(col(Notification.id) < before)
    async with services.read() as session:
        rows = (
            await session.exec(query.order_by(col(Notification.id).desc()).limit(limit + 1))
        ).all()
        actor_ids = {n.actor_id for n, _ in rows if n.actor_id is not None}
        actors = {
            user.id: author_view(user)
            for user in (await session.exec(select(User).where(col(User.id).in_(actor_ids)))).all()
        }
        counts = await unread_counts(session, user_ids=[viewer.user_id])
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(services.settings.secret_key, {"before": rows[-1][0].id})
    return {
        "notifications": [
            notification_view(n, actors.get(n.actor_id) if n.actor_id else None) for n, _ in rows
        ],
        "unread": counts.get(viewer.user_id, 0),
        "cursor": next_cursor,
    }


async def open_notification(services: Services, *, viewer: Viewer, notification_id: int) -> str:
    """Mark one of the viewer's in-app notifications read and return where it points. Someone
    else's is not found, and stays unread."""
    async with services.write() as tx:
        row = await tx.session.get(Notification, notification_id)
        if row is None or row.user_id != viewer.user_id or not row.in_app:
            raise NotFound("no such notification")
        if row.read_at is None:
            row.read_at = tx.now
            tx.session.add(row)
        return row.url


async def mark_read(services: Services, *, viewer: Viewer, ids: list[int] | None) -> dict[str, int]:
    """Mark the viewer's in-app notifications read: those of ``ids`` (others' ids are ignored,
    as if they did not exist), or all of them when ``ids`` is None. Digest-only ones are never
    shown in the app, so they stay for the digest."""
    if ids is not None and len(ids) > MAX_MARK_IDS:
        raise invalid_field("ids", f"at most {MAX_MARK_IDS} at a time")
    async with services.write() as tx:
        statement = (
            update(Notification)
            .where(
                col(Notification.user_id) == viewer.user_id,
                col(Notification.in_app),
                col(Notification.read_at).is_(None),
            )
            .values(read_at=tx.now)
        )
        if ids is not None:
            statement = statement.where(col(Notification.id).in_(ids))
        result = await tx.session.exec(statement)
        counts = await unread_counts(tx.session, user_ids=[viewer.user_id])
    return {"marked": result.rowcount, "unread": counts.get(viewer.user_id, 0)}
