"""Digest periods, Message-IDs, unsubscribe tokens, and how a digest's items are grouped."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

Cadence = Literal["daily", "weekly"]
CADENCES: tuple[Cadence, ...] = ("daily", "weekly")

# Notifications older than this are not mailed: someone who turns the digest on after a year
# gets news, not an archive.
LOOKBACK = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class Period:
    """A digest period: the day (``2026-12-03``) or ISO week (``2026-W49``) whose digest is due
    from ``due_at``, the digest hour of its first day, in UTC."""

    cadence: Cadence
    key: str
    due_at: datetime


def due_period(cadence: Cadence, now: datetime, *, hour: int) -> Period:
    """The latest period of ``cadence`` whose digest is due at ``now``."""
    day = now.astimezone(UTC).date()
    if now < datetime.combine(day, time(hour), UTC):
        day -= timedelta(days=1)
    if cadence == "daily":
        return Period("daily", day.isoformat(), datetime.combine(day, time(hour), UTC))
    monday = day - timedelta(days=day.weekday())
    year, week, _ = monday.isocalendar()
    return Period("weekly", f"{year}-W{week:02d}", datetime.combine(monday, time(hour), UTC))


def digest_message_id(secret: str, *, user_id: int, period: str, domain: str) -> str:
    """The same Message-ID for every send of one user's digest for one period, so that a resend
    after a crash is recognised by mail clients as the same message."""
    tag = hmac.new(secret.encode(), f"digest:{user_id}:{period}".encode(), hashlib.sha256)
    return f"<digest.{period}.{user_id}.{tag.hexdigest()[:16]}@{domain}>"


def unsubscribe_token(secret: str, user_id: int) -> str:
    """A token that turns one user's digest off without signing in (RFC 8058 one-click)."""
    mac = hmac.new(secret.encode(), f"digest-unsubscribe:{user_id}".encode(), hashlib.sha256)
    return f"{user_id}.{mac.hexdigest()[:32]}"


def check_unsubscribe_token(secret: str, token: str) -> int | None:
    """The user id the token was made for, or None if it is not a token this server made."""
    user_part, _, _mac = token.partition(".")
    if not user_part.isdigit() or len(user_part) > 18:
        return None
    expected = unsubscribe_token(secret, int(user_part))
    return int(user_part) if hmac.compare_digest(expected, token) else None


@dataclass(frozen=True, slots=True)
class DigestItem:
    kind: str
    reason: str
    title: str
    excerpt: str
    url: str
    actor: str | None
    created_at: datetime
    country: str | None = None  # the country's name, for initiatives
    room: str | None = None  # the room's title, for threads and messages
    thread: str | None = None  # the thread's title, for messages


@dataclass(slots=True)
class DigestGroup:
    """Items under one heading: a country, or a room with its threads."""

    heading: str
    items: list[DigestItem] = field(default_factory=list)
    threads: dict[str, list[DigestItem]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EndingMeasure:
    title: str
    country: str
    ends_on: date
    url: str


def group_items(items: Iterable[DigestItem]) -> tuple[list[DigestGroup], list[DigestGroup]]:
    """Country groups (initiatives) and room groups (threads, with their messages under each
    thread), each in the order their first item happened; items oldest first."""
    countries: dict[str, DigestGroup] = {}
    rooms: dict[str, DigestGroup] = {}
    for item in sorted(items, key=lambda i: i.created_at):
        if item.kind == "initiative":
            heading = item.country or "Other"
            countries.setdefault(heading, DigestGroup(heading)).items.append(item)
        else:
            heading = item.room or "Discussions"
            group = rooms.setdefault(heading, DigestGroup(heading))
            group.threads.setdefault(item.thread or item.title, []).append(item)
    return list(countries.values()), list(rooms.values())


def digest_subject(cadence: Cadence, count: int, ending: Sequence[EndingMeasure]) -> str:
    what = f"{count} update{'s' if count != 1 else ''}"
    if ending:
        what += f", {len(ending)} measure{'s' if len(ending) != 1 else ''} ending soon"
    return f"Your GNRP Live {cadence} digest: {what}"
