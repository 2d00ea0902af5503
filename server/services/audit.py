"""The audit log: every moderator and admin action, written in the action's own transaction,
hash-chained (server/domain/audit.py), readable by moderators, verifiable end to end."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from server.db.models import AuditEntry
from server.domain.audit import GENESIS, entry_hash, hashed_fields
from server.domain.cursor import decode_cursor, encode_cursor
from server.domain.errors import Forbidden, invalid_field
from server.domain.events import format_time
from server.domain.permissions import Viewer, role_at_least
from server.services.context import Services, Transaction
from server.services.events import next_seq

AUDIT_CHAIN = "audit"  # its head row serialises writers, as a stream head does


async def record_action(
    tx: Transaction,
    *,
    actor: Viewer | None,  # None: the platform itself (flags that hid a message)
    action: str,
    target_type: str,
    target_id: str | int,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    seq = await next_seq(tx.session, stream=AUDIT_CHAIN)
    previous = (
        await tx.session.exec(select(AuditEntry.hash).where(AuditEntry.seq == seq - 1))
    ).first()
    prev_hash = previous or GENESIS
    entry = AuditEntry(
        seq=seq,
        prev_hash=prev_hash,
        hash="",
        actor_id=actor.user_id if actor else None,
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        reason=reason,
        data=dict(data or {}),
        created_at=tx.now,
    )
    entry.hash = entry_hash(prev_hash, _fields(entry))
    tx.session.add(entry)


def _fields(entry: AuditEntry) -> dict[str, Any]:
    return hashed_fields(
        seq=entry.seq,
        actor_id=entry.actor_id,
        action=entry.action,
        target_type=entry.target_type,
        target_id=entry.target_id,
        reason=entry.reason,
        data=entry.data,
        created_at=format_time(entry.created_at),
    )


@dataclass(frozen=True, slots=True)
class ChainReport:
    entries: int
    broken: AuditEntry | None
    why: str = ""


async def verify_chain(services: Services) -> ChainReport:
    """Walk the chain in order; the first entry that does not hold, and why."""
    prev_hash, expected_seq, checked = GENESIS, 1, 0
    async with services.read() as session:
        rows = await session.exec(select(AuditEntry).order_by(col(AuditEntry.seq)))
        for entry in rows:
            if entry.seq != expected_seq:
                return ChainReport(checked, entry, f"expected entry {expected_seq} of the chain")
            if entry.prev_hash != prev_hash:
                return ChainReport(checked, entry, "it does not follow the entry before it")
            if entry.hash != entry_hash(prev_hash, _fields(entry)):
                return ChainReport(checked, entry, "its contents do not match its hash")
            prev_hash, expected_seq, checked = entry.hash, expected_seq + 1, checked + 1
    return ChainReport(checked, None)


def audit_view(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "seq": entry.seq,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "target": f"{entry.target_type}:{entry.target_id}",
        "reason": entry.reason,
        "data": entry.data,
        "at": format_time(entry.created_at),
        "hash": entry.hash,
    }


async def read_audit(
    services: Services,
    *,
    viewer: Viewer | None,
    actor: int | None,
    target: str | None,
    action: str | None,
    cursor: str | None,
    limit: int,
) -> tuple[list[dict[str, Any]], str | None]:
    if not role_at_least(viewer, "moderator"):
        raise Forbidden("the audit log is for moderators")
    query = select(AuditEntry)
    if actor is not None:
        query = query.where(AuditEntry.actor_id == actor)
    if action:
        query = query.where(AuditEntry.action == action)
    if target:
        kind, _, key = target.partition(":")
        if not key:
            raise invalid_field("target", "is kind:id, as in room:spectrum or initiative:4")
        query = query.where(AuditEntry.target_type == kind, AuditEntry.target_id == key)
    if cursor:
        before = decode_cursor(services.settings.secret_key, cursor).get("before")
        if not isinstance(before, int):
            raise invalid_field("cursor", "is not a cursor this server issued")
        query = query.where(col(AuditEntry.seq) < before)
    async with services.read() as session:
        rows = (
            await session.exec(query.order_by(col(AuditEntry.seq).desc()).limit(limit + 1))
        ).all()
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(services.settings.secret_key, {"before": rows[-1].seq})
    return [audit_view(row) for row in rows], next_cursor
