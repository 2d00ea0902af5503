"""Checks for live actions that store nothing (typing)."""

from __future__ import annotations

from sqlmodel import select

from server.db.models import Room, Thread
from server.domain.errors import NotFound, Unauthorized
from server.domain.permissions import Viewer, can_post_in_room, can_read_room
from server.domain.streams import room_stream
from server.services.context import Services


async def typing_stream(services: Services, *, viewer: Viewer | None, thread_id: int) -> str:
    """The room stream to tell that ``viewer`` is typing in the thread, if they may post there."""
    async with services.read() as session:
        found = (
            await session.exec(select(Thread, Room).join(Room).where(Thread.id == thread_id))
        ).first()
    if found is None or not can_read_room(viewer, found[1].visibility):
        raise NotFound("no such thread")
    if viewer is None:
        raise Unauthorized("sign in to type")
    if not can_post_in_room(viewer, found[1].visibility):
        raise NotFound("no such thread")
    return room_stream(found[1].slug)
