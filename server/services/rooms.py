"""Rooms: create and edit (moderators), list and read (by visibility)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from server.db.models import Room
from server.domain.content import check_slug, check_title
from server.domain.errors import Conflict, Forbidden, NotFound
from server.domain.permissions import Viewer, can_manage_rooms, can_read_room, readable_visibilities
from server.domain.streams import room_stream
from server.services.audit import record_action
from server.services.context import Services
from server.services.events import stream_head
from server.services.views import room_view


@dataclass(frozen=True, slots=True)
class RoomChanges:
    title: str | None = None
    description: str | None = None
    theme: str | None = None
    visibility: str | None = None
    archived: bool | None = None


async def load_room(services: Services, *, viewer: Viewer | None, slug: str) -> Room:
    """The room, if the viewer may read it; otherwise NotFound, exactly as for a missing room."""
    async with services.read() as session:
        room = (await session.exec(select(Room).where(Room.slug == slug))).first()
    if room is None or not can_read_room(viewer, room.visibility):
        raise NotFound("no such room")
    return room


async def list_rooms(services: Services, *, viewer: Viewer | None) -> list[tuple[Room, int]]:
    """Rooms the viewer may read, each with its stream head read before the rooms."""
    async with services.read() as session:
        rooms = (
            await session.exec(
                select(Room)
                .where(col(Room.visibility).in_(readable_visibilities(viewer)))
                .order_by(col(Room.archived), col(Room.title))
            )
        ).all()
        heads = [await stream_head(session, stream=room_stream(room.slug)) for room in rooms]
    return list(zip(rooms, heads, strict=True))


async def create_room(
    services: Services,
    *,
    viewer: Viewer | None,
    slug: str,
    title: str,
    description: str,
    theme: str,
    visibility: str,
) -> Room:
    if not can_manage_rooms(viewer):
        raise Forbidden("only moderators create rooms")
    assert viewer is not None
    slug = check_slug(slug)
    title = check_title(title, limit=120)
    try:
        async with services.write() as tx:
            room = Room(
                slug=slug,
                title=title,
                description=description.strip(),
                theme=theme,
                visibility=visibility,
                created_by=viewer.user_id,
                created_at=tx.now,
            )
            tx.session.add(room)
            await tx.session.flush()
            await record_action(
                tx, actor=viewer, action="room.create", target_type="room", target_id=slug
            )
            await tx.emit(room_stream(slug), "room.updated", {"room": room_view(room)})
    except IntegrityError:
        raise Conflict("a room with this slug exists", fields={"slug": "taken"}) from None
    return room


async def update_room(
    services: Services, *, viewer: Viewer | None, slug: str, changes: RoomChanges
) -> Room:
    async with services.write() as tx:
        room = (await tx.session.exec(select(Room).where(Room.slug == slug))).first()
        if room is None or not can_read_room(viewer, room.visibility):
            raise NotFound("no such room")
        if not can_manage_rooms(viewer):
            raise Forbidden("only moderators edit rooms")
        assert viewer is not None
        before = room_view(room)
        if changes.title is not None:
            room.title = check_title(changes.title, limit=120)
        if changes.description is not None:
            room.description = changes.description.strip()
        if changes.theme is not None:
            room.theme = changes.theme
        if changes.visibility is not None:
            room.visibility = changes.visibility
        if changes.archived is not None:
            room.archived = changes.archived
        tx.session.add(room)
        after = room_view(room)
        changed = {key: after[key] for key in after if after[key] != before[key]}
        if changed:
            await record_action(
                tx,
                actor=viewer,
                action="room.update",
                target_type="room",
                target_id=slug,
                data={"changed": changed},
            )
            await tx.emit(room_stream(slug), "room.updated", {"room": after})
    return room
