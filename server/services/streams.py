"""Who may read a stream, and catch-up reads of its events."""

from __future__ import annotations

from sqlmodel import select

from server.db.models import Room
from server.domain.errors import NotFound
from server.domain.events import Envelope
from server.domain.permissions import Viewer, can_read_room
from server.domain.streams import parse_stream
from server.services.context import Services
from server.services.events import events_after, stream_head


async def check_stream_readable(services: Services, *, viewer: Viewer | None, stream: str) -> str:
    """The canonical stream name if the viewer may read it; NotFound for anything else, so that
    a stream one may not read looks exactly like one that does not exist."""
    parsed = parse_stream(stream)
    if parsed is None:
        raise NotFound("no such stream")
    if parsed.kind == "room":
        async with services.read() as session:
            room = (await session.exec(select(Room).where(Room.slug == parsed.key))).first()
        if room is None or not can_read_room(viewer, room.visibility):
            raise NotFound("no such stream")
    elif parsed.kind == "user" and (viewer is None or str(viewer.user_id) != parsed.key):
        raise NotFound("no such stream")
    return str(parsed)


async def read_stream(
    services: Services, *, viewer: Viewer | None, stream: str, after: int, limit: int
) -> tuple[int, list[Envelope]]:
    """The stream's head and its events after ``after`` (oldest first, at most ``limit``)."""
    stream = await check_stream_readable(services, viewer=viewer, stream=stream)
    async with services.read() as session:
        head = await stream_head(session, stream=stream)
        events = await events_after(session, stream=stream, after=after, limit=limit)
    return head, events
