"""Following rooms, countries and threads, at level ``live``, ``digest`` or ``mute``."""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, delete, select

from server.db.models import Room, Subscription, Thread
from server.domain.errors import NotFound
from server.domain.events import format_time
from server.domain.permissions import Viewer, can_read_room
from server.services.context import Services
from server.services.countries import countries
from server.services.streams import check_stream_readable
from server.services.threads import readable_thread

Level = Literal["live", "digest", "mute"]


async def followable(services: Services, *, viewer: Viewer, target: str) -> str:
    """The canonical target if the viewer may follow it: a room or country they can read, or a
    thread (``thread:<id>``) they can read. Anything else is NotFound."""
    if target.startswith("thread:"):
        key = target.removeprefix("thread:")
        if not key.isdigit():
            raise NotFound("no such thread")
        async with services.read() as session:
            thread, _room = await readable_thread(session, viewer=viewer, thread_id=int(key))
        return f"thread:{thread.id}"
    canonical = await check_stream_readable(services, viewer=viewer, stream=target)
    if not canonical.startswith(("room:", "country:")):
        raise NotFound("only rooms, countries and threads can be followed")
    return canonical


def subscription_view(subscription: Subscription) -> dict[str, Any]:
    return {
        "target": subscription.target,
        "level": subscription.level,
        "since": format_time(subscription.created_at),
    }


async def follow(
    services: Services, *, viewer: Viewer, target: str, level: Level
) -> dict[str, Any]:
    target = await followable(services, viewer=viewer, target=target)
    for _attempt in range(2):  # a concurrent first follow of the same target: update it instead
        try:
            async with services.write() as tx:
                existing = (
                    await tx.session.exec(
                        select(Subscription).where(
                            Subscription.user_id == viewer.user_id, Subscription.target == target
                        )
                    )
                ).first()
                subscription = existing or Subscription(
                    user_id=viewer.user_id, target=target, level=level, created_at=tx.now,
                    updated_at=tx.now,
                )  # fmt: skip
                subscription.level = level
                subscription.updated_at = tx.now
                tx.session.add(subscription)
            return subscription_view(subscription)
        except IntegrityError:
            continue
    raise NotFound("could not follow; try again")


async def unfollow(services: Services, *, viewer: Viewer, target: str) -> None:
    async with services.write() as tx:
        result = await tx.session.exec(
            delete(Subscription).where(
                col(Subscription.user_id) == viewer.user_id, col(Subscription.target) == target
            )
        )
        if result.rowcount == 0:
            raise NotFound("you do not follow this")


async def subscriptions_of(services: Services, *, viewer: Viewer) -> list[dict[str, Any]]:
    async with services.read() as session:
        rows = (
            await session.exec(
                select(Subscription)
                .where(Subscription.user_id == viewer.user_id)
                .order_by(col(Subscription.target))
            )
        ).all()
    return [subscription_view(row) for row in rows]


async def level_of(services: Services, *, viewer: Viewer, target: str) -> str | None:
    async with services.read() as session:
        return (
            await session.exec(
                select(Subscription.level).where(
                    Subscription.user_id == viewer.user_id, Subscription.target == target
                )
            )
        ).first()


async def named_subscriptions_of(services: Services, *, viewer: Viewer) -> list[dict[str, Any]]:
    """The viewer's follows, each with a name and a link, for the settings page. A room or
    thread the viewer can no longer read keeps its row but not its title."""
    rows = await subscriptions_of(services, viewer=viewer)
    keys = [row["target"].partition(":")[::2] for row in rows]
    thread_ids = [int(key) for kind, key in keys if kind == "thread" and key.isdigit()]
    slugs = [key for kind, key in keys if kind == "room"]
    named: dict[str, str] = {}
    async with services.read() as session:
        if thread_ids:
            found = await session.exec(
                select(Thread.id, Thread.title, Room.visibility)
                .join(Room, col(Room.id) == col(Thread.room_id))
                .where(col(Thread.id).in_(thread_ids))
            )
            for thread_id, title, visibility in found.all():
                if can_read_room(viewer, visibility):
                    named[f"thread:{thread_id}"] = title
        if slugs:
            found_rooms = await session.exec(
                select(Room.slug, Room.title, Room.visibility).where(col(Room.slug).in_(slugs))
            )
            for slug, title, visibility in found_rooms.all():
                if can_read_room(viewer, visibility):
                    named[f"room:{slug}"] = title
    known = countries()
    follows = []
    for row in rows:
        kind, _, key = row["target"].partition(":")
        if kind == "country":
            country = known.get(key)
            name, url = (country.name if country else key), f"/countries/{key}"
        elif kind == "room":
            name, url = named.get(row["target"], "A room you cannot read now"), f"/rooms/{key}"
        else:
            name, url = named.get(row["target"], "A thread you cannot read now"), f"/threads/{key}"
        follows.append({**row, "kind": kind, "name": name, "url": url})
    return follows
