"""Checks for live actions that store nothing (typing)."""

from __future__ import annotations

from server.domain.errors import NotFound, Unauthorized
from server.domain.permissions import Viewer, can_post_in_room
from server.domain.streams import room_stream
from server.services.context import Services
from server.services.threads import readable_thread


async def typing_stream(services: Services, *, viewer: Viewer | None, thread_id: int) -> str:
    """The room stream to tell that ``viewer`` is typing in the thread, if they may post there."""
    async with services.read() as session:
        _thread, room = await readable_thread(session, viewer=viewer, thread_id=thread_id)
    if viewer is None:
        raise Unauthorized("sign in to type")
    if not can_post_in_room(viewer, room.visibility):
        raise NotFound("no such thread")
    return room_stream(room.slug)
