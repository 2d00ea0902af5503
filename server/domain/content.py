"""Rules for rooms, threads and messages."""

from __future__ import annotations

from typing import Literal, get_args

from server.domain.errors import invalid_field
from server.domain.streams import SLUG_PATTERN

Theme = Literal[
    "resilience",
    "spectrum",
    "broadband",
    "consumer",
    "affordability",
    "relief",
    "emergency",
    "other",
]
ThreadKind = Literal["discussion", "question"]

THEMES: tuple[str, ...] = get_args(Theme)
THREAD_KINDS: tuple[str, ...] = get_args(ThreadKind)
MESSAGE_MAX = 10_000


def check_body(body: str, *, field: str = "body") -> str:
    """A message body: 1 to 10,000 characters once surrounding blanks are dropped."""
    stripped = body.strip()
    if not stripped:
        raise invalid_field(field, "must not be empty")
    if len(stripped) > MESSAGE_MAX:
        raise invalid_field(field, f"must be at most {MESSAGE_MAX:,} characters")
    return stripped


def check_title(title: str, *, limit: int = 200) -> str:
    title = " ".join(title.split())
    if not title:
        raise invalid_field("title", "must not be empty")
    if len(title) > limit:
        raise invalid_field("title", f"must be at most {limit} characters")
    return title


def check_slug(slug: str) -> str:
    if not SLUG_PATTERN.match(slug):
        raise invalid_field("slug", "must be lower-case letters, digits and '-', at most 64")
    return slug


def check_countries(codes: list[str]) -> list[str]:
    normalised: list[str] = []
    for code in codes:
        upper = code.strip().upper()
        if len(upper) != 2 or not upper.isascii() or not upper.isalpha():
            raise invalid_field("countries", f"{code!r} is not an ISO 3166-1 alpha-2 code")
        if upper not in normalised:
            normalised.append(upper)
    if len(normalised) > 20:
        raise invalid_field("countries", "at most 20 countries")
    return normalised
