"""Stream names: ``room:<slug>``, ``country:<CC>``, ``initiatives`` and ``user:<id>``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

StreamKind = Literal["room", "country", "initiatives", "user"]

# Process-to-process signals (a revoked session, say). Not a stream any client may name.
CONTROL_STREAM = "control"

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")


@dataclass(frozen=True, slots=True)
class StreamName:
    kind: StreamKind
    key: str

    def __str__(self) -> str:
        return self.kind if self.kind == "initiatives" else f"{self.kind}:{self.key}"


def parse_stream(name: str) -> StreamName | None:
    """The parsed stream, or None for anything that is not a well-formed stream name."""
    if name == "initiatives":
        return StreamName("initiatives", "")
    kind, sep, key = name.partition(":")
    if not sep:
        return None
    if kind == "room" and SLUG_PATTERN.match(key):
        return StreamName("room", key)
    if kind == "country" and _COUNTRY.match(key):
        return StreamName("country", key)
    if kind == "user" and _USER_ID.match(key):
        return StreamName("user", key)
    return None


def room_stream(slug: str) -> str:
    return f"room:{slug}"


def country_stream(code: str) -> str:
    return f"country:{code}"


def user_stream(user_id: int) -> str:
    return f"user:{user_id}"
