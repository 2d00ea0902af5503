"""The events a stream carries, and the envelope that goes over Redis and WebSockets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

EventName = Literal[
    "thread.created",
    "message.created",
    "message.edited",
    "message.hidden",
    "message.restored",
    "thread.answer_pinned",
    "thread.answer_unpinned",
    "initiative.created",
    "initiative.updated",
    "initiative.verification",
    "notification.created",
    "room.updated",
]


class Envelope(BaseModel):
    """``{"type": "event", "stream", "seq", "name", "data", "at"}`` exactly as SPEC section 3."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["event"] = "event"
    stream: str
    seq: int
    name: EventName
    data: dict[str, Any]
    at: str


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z``: the one time format of the API and the events."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
