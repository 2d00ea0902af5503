"""Rules for initiatives (country measures): their fields, their timeline, who may edit them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal, get_args
from urllib.parse import urlsplit

from server.domain.errors import invalid_field
from server.domain.permissions import Viewer, role_at_least

Instrument = Literal["mandatory", "voluntary"]
Status = Literal["planned", "active", "extended", "ended"]
Phase = Literal["emergency", "recovery", "new-normal"]
Verification = Literal["unverified", "verified", "disputed"]
EntryKind = Literal["new", "update", "correction", "extension", "ended"]

INSTRUMENTS: tuple[str, ...] = get_args(Instrument)
STATUSES: tuple[str, ...] = get_args(Status)
PHASES: tuple[str, ...] = get_args(Phase)
VERIFICATIONS: tuple[str, ...] = get_args(Verification)
ENTRY_KINDS: tuple[str, ...] = get_args(EntryKind)
SUMMARY_MAX = 10_000
SOURCES_MAX = 20


@dataclass(frozen=True, slots=True)
class Dates:
    announced_on: date | None
    starts_on: date | None
    ends_on: date | None


def check_dates(dates: Dates) -> Dates:
    if dates.starts_on and dates.ends_on and dates.ends_on < dates.starts_on:
        raise invalid_field("ends_on", "must not be before starts_on")
    return dates


def check_sources(sources: list[str]) -> list[str]:
    """Source links: http(s) URLs with a host, at most 20, without repeats."""
    if len(sources) > SOURCES_MAX:
        raise invalid_field("sources", f"at most {SOURCES_MAX} links")
    checked: list[str] = []
    for source in sources:
        url = source.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 2000:
            raise invalid_field("sources", f"{source[:80]!r} is not an http(s) link")
        if url not in checked:
            checked.append(url)
    return checked


def check_summary(summary: str) -> str:
    summary = summary.strip()
    if not summary:
        raise invalid_field("summary", "must not be empty")
    if len(summary) > SUMMARY_MAX:
        raise invalid_field("summary", f"must be at most {SUMMARY_MAX:,} characters")
    return summary


def may_publish_for(viewer: Viewer | None, *, own_country: str | None, country: str) -> bool:
    """Moderators publish for any country; regulators for their own country only."""
    if role_at_least(viewer, "moderator"):
        return True
    return role_at_least(viewer, "regulator") and own_country == country


def may_edit(viewer: Viewer | None, *, created_by: int) -> bool:
    return viewer is not None and (
        viewer.user_id == created_by or role_at_least(viewer, "moderator")
    )
