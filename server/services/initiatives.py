"""Initiatives: publish (regulators for their country, moderators for any), edit with a timeline,
verify (moderators), read and filter."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlmodel import col, func, select

from server.db.models import Initiative, InitiativeEntry, Room, Thread, User
from server.db.search import matches
from server.domain.content import check_title
from server.domain.cursor import decode_cursor, encode_cursor
from server.domain.errors import Forbidden, NotFound, Unauthorized, invalid_field
from server.domain.events import format_time
from server.domain.initiatives import (
    Dates,
    check_dates,
    check_sources,
    check_summary,
    may_edit,
    may_publish_for,
)
from server.domain.markdown import render_markdown
from server.domain.permissions import Viewer, role_at_least
from server.domain.search import search_document, search_words
from server.domain.streams import country_stream, room_stream
from server.services.audit import record_action
from server.services.context import Services, Transaction
from server.services.countries import countries, known_country
from server.services.notifications import follow_on_post, notify_initiative
from server.services.views import author_view, thread_view

INITIATIVES_STREAM = "initiatives"


@dataclass(frozen=True, slots=True)
class InitiativeFields:
    """What a publisher writes. Choices (theme, status…) were checked by the request model."""

    country: str
    title: str
    summary: str
    theme: str
    stakeholder: str
    instrument: str
    status: str
    phase: str
    announced_on: date | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    sources: tuple[str, ...] = ()
    language: str = "en"


EDITABLE = (
    "title", "summary", "theme", "stakeholder", "instrument", "status", "phase",
    "announced_on", "starts_on", "ends_on", "sources", "language",
)  # fmt: skip


def initiative_view(initiative: Initiative) -> dict[str, Any]:
    country = countries().get(initiative.country)
    return {
        "id": initiative.id,
        "country": initiative.country,
        "country_name": country.name if country else initiative.country,
        "region": country.region if country else None,
        "title": initiative.title,
        "summary": initiative.summary,
        "summary_html": initiative.summary_html,
        "theme": initiative.theme,
        "stakeholder": initiative.stakeholder,
        "instrument": initiative.instrument,
        "status": initiative.status,
        "phase": initiative.phase,
        "announced_on": _day(initiative.announced_on),
        "starts_on": _day(initiative.starts_on),
        "ends_on": _day(initiative.ends_on),
        "sources": list(initiative.sources),
        "language": initiative.language,
        "verification": {
            "state": initiative.verification,
            "by": initiative.verified_by,
            "at": format_time(initiative.verified_at) if initiative.verified_at else None,
            "note": initiative.verification_note,
        },
        "thread_id": initiative.thread_id,
        "created_by": initiative.created_by,
        "created_at": format_time(initiative.created_at),
        "updated_at": format_time(initiative.updated_at),
    }


def entry_view(entry: InitiativeEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "kind": entry.kind,
        "note": entry.note,
        "effective_on": _day(entry.effective_on),
        "replaced": entry.replaced,
        "created_by": entry.created_by,
        "created_at": format_time(entry.created_at),
    }


def _day(value: date | None) -> str | None:
    return value.isoformat() if value else None


def checked_fields(values: InitiativeFields) -> InitiativeFields:
    country = known_country(values.country)
    check_dates(Dates(values.announced_on, values.starts_on, values.ends_on))
    return InitiativeFields(
        **{
            **{f.name: getattr(values, f.name) for f in fields(values)},
            "country": country.code,
            "title": check_title(values.title),
            "summary": check_summary(values.summary),
            "sources": tuple(check_sources(list(values.sources))),
        }
    )


async def create_initiative(
    services: Services, *, viewer: Viewer | None, values: InitiativeFields
) -> dict[str, Any]:
    if viewer is None:
        raise Unauthorized("sign in to publish a measure")
    values = checked_fields(values)
    async with services.write() as tx:
        author = await tx.session.get(User, viewer.user_id)
        assert author is not None
        if not may_publish_for(viewer, own_country=author.country, country=values.country):
            raise Forbidden("regulators publish measures of their own country; moderators any")
        return await insert_initiative(tx, author=author, values=values)


async def insert_initiative(
    tx: Transaction, *, author: User, values: InitiativeFields
) -> dict[str, Any]:
    """Write a checked initiative, its first timeline entry, its discussion thread and events."""
    assert author.id is not None
    initiative = Initiative(
        **{f.name: getattr(values, f.name) for f in fields(values) if f.name != "sources"},
        sources=list(values.sources),
        summary_html=render_markdown(values.summary),
        search_text=search_document(values.title, values.summary),
        created_by=author.id,
        created_at=tx.now,
        updated_at=tx.now,
    )
    tx.session.add(initiative)
    await tx.session.flush()
    assert initiative.id is not None
    tx.session.add(
        InitiativeEntry(
            initiative_id=initiative.id,
            kind="new",
            note="",
            effective_on=values.announced_on or values.starts_on,
            created_by=author.id,
            created_at=tx.now,
        )
    )
    initiative.thread_id = await _open_discussion(tx, initiative, author)
    tx.session.add(initiative)
    view = initiative_view(initiative)
    await _emit(
        tx,
        initiative,
        "initiative.created",
        {"initiative": view},
        actor_id=author.id,
        reason="created",
    )
    return view


async def _open_discussion(tx: Transaction, initiative: Initiative, author: User) -> int:
    """The initiative's discussion thread, in the public room of its theme."""
    room = (
        await tx.session.exec(select(Room).where(Room.slug == f"{initiative.theme}-measures"))
    ).first()
    if room is None or room.id is None:
        raise NotFound(f"the room of theme {initiative.theme} is missing; run `gnrp migrate`")
    assert author.id is not None
    thread = Thread(
        room_id=room.id,
        title=initiative.title,
        kind="discussion",
        countries=[initiative.country],
        created_by=author.id,
        created_at=tx.now,
        last_activity_at=tx.now,
        message_count=0,
    )
    tx.session.add(thread)
    await tx.session.flush()
    assert thread.id is not None
    # As for any thread one starts: its author hears of the replies.
    await follow_on_post(tx, user_id=author.id, thread_id=thread.id)
    data = {"thread": thread_view(thread, room), "initiative_id": initiative.id}
    await tx.emit(room_stream(room.slug), "thread.created", data)
    await tx.emit(country_stream(initiative.country), "thread.created", data)
    return thread.id


async def _emit(
    tx: Transaction,
    initiative: Initiative,
    name: str,
    data: dict[str, Any],
    *,
    actor_id: int,
    reason: str | None,
) -> None:
    """The events of a change to an initiative and, when ``reason`` is given, its notifications
    to the country's followers."""
    await tx.emit(country_stream(initiative.country), name, data)  # type: ignore[arg-type]
    await tx.emit(INITIATIVES_STREAM, name, data)  # type: ignore[arg-type]
    if reason is not None:
        actor = await tx.session.get(User, actor_id)
        await notify_initiative(tx, initiative=initiative, reason=reason, actor=actor)


async def update_initiative(
    services: Services,
    *,
    viewer: Viewer | None,
    initiative_id: int,
    changes: dict[str, Any],
    kind: str,
    note: str,
) -> dict[str, Any]:
    """An edit, kept as a timeline entry of kind ``update`` or ``correction`` with the values it
    replaced."""
    if kind not in ("update", "correction"):
        raise invalid_field("kind", "an edit is an update or a correction")
    async with services.write() as tx:
        initiative = await _editable(tx, viewer, initiative_id)
        assert viewer is not None
        current = InitiativeFields(
            **{f.name: getattr(initiative, f.name) for f in fields(InitiativeFields)}
        )
        merged = {f.name: getattr(current, f.name) for f in fields(current)} | changes
        merged["sources"] = tuple(merged["sources"])
        checked = checked_fields(InitiativeFields(**merged))
        replaced = {}
        for name in EDITABLE:
            old, new = getattr(initiative, name), getattr(checked, name)
            new = list(new) if name == "sources" else new
            if old != new:
                replaced[name] = old.isoformat() if isinstance(old, date) else old
                setattr(initiative, name, new)
        if not replaced:
            return initiative_view(initiative)
        if "summary" in replaced:
            initiative.summary_html = render_markdown(initiative.summary)
        initiative.updated_at = tx.now
        tx.session.add(
            InitiativeEntry(
                initiative_id=initiative_id,
                kind=kind,
                note=note.strip(),
                replaced=replaced,
                created_by=viewer.user_id,
                created_at=tx.now,
            )
        )
        await _reindex(tx, initiative)
        view = initiative_view(initiative)
        await _emit(
            tx,
            initiative,
            "initiative.updated",
            {"initiative": view},
            actor_id=viewer.user_id,
            reason="updated",
        )
    return view


async def add_entry(
    services: Services,
    *,
    viewer: Viewer | None,
    initiative_id: int,
    kind: str,
    note: str,
    effective_on: date | None,
) -> dict[str, Any]:
    """A timeline entry. ``extension`` extends the measure (to ``effective_on``, if given);
    ``ended`` ends it."""
    if kind not in ("update", "correction", "extension", "ended"):
        raise invalid_field("kind", "must be update, correction, extension or ended")
    note = note.strip()
    if not note and kind in ("update", "correction"):
        raise invalid_field("note", "say what changed")
    async with services.write() as tx:
        initiative = await _editable(tx, viewer, initiative_id)
        assert viewer is not None
        replaced: dict[str, Any] = {}
        if kind == "extension":
            replaced = {"status": initiative.status, "ends_on": _day(initiative.ends_on)}
            initiative.status = "extended"
            if effective_on is not None:
                check_dates(Dates(None, initiative.starts_on, effective_on))
                initiative.ends_on = effective_on
        elif kind == "ended":
            replaced = {"status": initiative.status, "ends_on": _day(initiative.ends_on)}
            initiative.status = "ended"
            initiative.ends_on = effective_on or initiative.ends_on or tx.now.date()
        initiative.updated_at = tx.now
        tx.session.add(initiative)
        entry = InitiativeEntry(
            initiative_id=initiative_id,
            kind=kind,
            note=note,
            effective_on=effective_on,
            replaced=replaced,
            created_by=viewer.user_id,
            created_at=tx.now,
        )
        tx.session.add(entry)
        await tx.session.flush()
        await _reindex(tx, initiative)
        view = initiative_view(initiative)
        await _emit(
            tx,
            initiative,
            "initiative.updated",
            {"initiative": view, "entry": entry_view(entry)},
            actor_id=viewer.user_id,
            reason="updated",
        )
    return {"initiative": view, "entry": entry_view(entry)}


async def set_verification(
    services: Services, *, viewer: Viewer | None, initiative_id: int, state: str, note: str
) -> dict[str, Any]:
    if not role_at_least(viewer, "moderator"):
        raise Forbidden("only moderators verify measures")
    assert viewer is not None
    async with services.write() as tx:
        initiative = await tx.session.get(Initiative, initiative_id)
        if initiative is None:
            raise NotFound("no such initiative")
        before = initiative.verification
        initiative.verification = state
        initiative.verified_by = viewer.user_id
        initiative.verified_at = tx.now
        initiative.verification_note = note.strip()[:1000]
        initiative.updated_at = tx.now
        tx.session.add(initiative)
        await record_action(
            tx,
            actor=viewer,
            action="initiative.verification",
            target_type="initiative",
            target_id=initiative_id,
            reason=initiative.verification_note,
            data={"from": before, "to": state},
        )
        view = initiative_view(initiative)
        changed = state != before and state in ("verified", "disputed")
        await _emit(
            tx,
            initiative,
            "initiative.verification",
            {"initiative": view},
            actor_id=viewer.user_id,
            reason=state if changed else None,
        )
    return view


async def _reindex(tx: Transaction, initiative: Initiative) -> None:
    """Recompute the search text from the title, summary and every timeline note."""
    notes = (
        await tx.session.exec(
            select(InitiativeEntry.note).where(InitiativeEntry.initiative_id == initiative.id)
        )
    ).all()
    initiative.search_text = search_document(initiative.title, initiative.summary, *notes)
    tx.session.add(initiative)


async def _editable(tx: Transaction, viewer: Viewer | None, initiative_id: int) -> Initiative:
    initiative = await tx.session.get(Initiative, initiative_id)
    if initiative is None:
        raise NotFound("no such initiative")
    if viewer is None:
        raise Unauthorized("sign in to edit")
    if not may_edit(viewer, created_by=initiative.created_by):
        raise Forbidden("only its publisher or a moderator edits a measure")
    return initiative


async def load_initiative(services: Services, *, initiative_id: int) -> dict[str, Any]:
    async with services.read() as session:
        initiative = await session.get(Initiative, initiative_id)
        if initiative is None:
            raise NotFound("no such initiative")
        entries = (
            await session.exec(
                select(InitiativeEntry)
                .where(InitiativeEntry.initiative_id == initiative_id)
                .order_by(col(InitiativeEntry.id))
            )
        ).all()
        publisher = await session.get(User, initiative.created_by)
    return {
        **initiative_view(initiative),
        "publisher": author_view(publisher) if publisher else None,
        "timeline": [entry_view(entry) for entry in entries],
    }


@dataclass(frozen=True, slots=True)
class InitiativeFilters:
    country: str | None = None
    region: str | None = None
    theme: str | None = None
    stakeholder: str | None = None
    status: str | None = None
    verification: str | None = None
    q: str | None = None


def _filtered(services: Services, filters: InitiativeFilters) -> Any:
    """The query of the initiatives ``filters`` select, or None when the search has no words."""
    query = select(Initiative)
    if filters.country:
        query = query.where(Initiative.country == known_country(filters.country).code)
    if filters.region:
        codes = [c.code for c in countries().values() if c.region == filters.region]
        query = query.where(col(Initiative.country).in_(codes))
    for name in ("theme", "stakeholder", "status", "verification"):
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(Initiative, name) == value)
    if filters.q is not None:
        words = search_words(filters.q)
        if not words:
            return None  # nothing searchable in the query: nothing matches it
        query = query.where(matches(services.engine.dialect.name, words))
    return query


async def list_initiatives(
    services: Services, *, filters: InitiativeFilters, cursor: str | None, limit: int
) -> tuple[list[dict[str, Any]], str | None, int]:
    """Newest first; the page, the next cursor, and how many match in all."""
    query = _filtered(services, filters)
    if query is None:
        return [], None, 0
    total_query = select(func.count()).select_from(query.subquery())
    if cursor:
        position = decode_cursor(services.settings.secret_key, cursor)
        before = position.get("before")
        if not isinstance(before, int):
            raise invalid_field("cursor", "is not a cursor this server issued")
        query = query.where(col(Initiative.id) < before)
    async with services.read() as session:
        total = int((await session.exec(total_query)).one())
        rows = (
            await session.exec(query.order_by(col(Initiative.id).desc()).limit(limit + 1))
        ).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(services.settings.secret_key, {"before": rows[-1].id})
    return [initiative_view(row) for row in rows], next_cursor, total


EXPORT_LIMIT = 50_000


async def export_initiatives(
    services: Services, *, filters: InitiativeFilters
) -> list[dict[str, Any]]:
    """Every initiative the filters select (up to 50,000), oldest first, for the CSV export."""
    query = _filtered(services, filters)
    if query is None:
        return []
    async with services.read() as session:
        rows = (await session.exec(query.order_by(col(Initiative.id)).limit(EXPORT_LIMIT))).all()
    return [initiative_view(row) for row in rows]


async def latest_of_country(
    services: Services, *, country: str, limit: int = 50
) -> list[dict[str, Any]]:
    """A country's most recently changed initiatives, for its feeds."""
    code = known_country(country).code
    async with services.read() as session:
        rows = (
            await session.exec(
                select(Initiative)
                .where(Initiative.country == code)
                .order_by(col(Initiative.updated_at).desc(), col(Initiative.id).desc())
                .limit(limit)
            )
        ).all()
    return [initiative_view(row) for row in rows]


async def country_counts(services: Services) -> dict[str, int]:
    async with services.read() as session:
        rows = (
            await session.exec(
                select(Initiative.country, func.count()).group_by(col(Initiative.country))
            )
        ).all()
    return {country: int(n) for country, n in rows}


async def initiative_stats(
    services: Services, *, filters: InitiativeFilters
) -> dict[str, dict[str, int]]:
    """How many initiatives the filters select, by ITU-D region and by month announced (or
    started, for those with no announcement date; undated ones are left out of the months)."""
    query = _filtered(services, filters)
    if query is None:
        return {"regions": {}, "months": {}}
    rows = query.subquery()
    async with services.read() as session:
        by_country = (
            await session.exec(select(rows.c.country, func.count()).group_by(rows.c.country))
        ).all()
        dates = (await session.exec(select(rows.c.announced_on, rows.c.starts_on))).all()
    regions: dict[str, int] = {}
    for country, n in by_country:
        region = countries()[country].region if country in countries() else "other"
        regions[region] = regions.get(region, 0) + int(n)
    months: dict[str, int] = {}
    for announced_on, starts_on in dates:
        moment = announced_on or starts_on
        if moment is None:
            continue  # undated measures have no place on a time axis
        key = str(moment)[:7]
        months[key] = months.get(key, 0) + 1
    return {"regions": regions, "months": dict(sorted(months.items()))}
