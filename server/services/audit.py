"""The audit log: every moderator and admin action, written in the action's own transaction."""

from __future__ import annotations

from typing import Any

from server.db.models import AuditEntry
from server.domain.permissions import Viewer
from server.services.context import Transaction


def record_action(
    tx: Transaction,
    *,
    actor: Viewer,
    action: str,
    target_type: str,
    target_id: str | int,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    tx.session.add(
        AuditEntry(
            actor_id=actor.user_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            reason=reason,
            data=dict(data or {}),
            created_at=tx.now,
        )
    )
