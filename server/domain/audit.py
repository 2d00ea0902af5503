"""The audit chain: each entry's hash covers its fields and the hash of the entry before it, so
changing, removing or reordering any entry breaks every hash after it."""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

GENESIS = "0" * 64


def entry_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    canonical = orjson.dumps(fields, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(prev_hash.encode() + b"\n" + canonical).hexdigest()


def hashed_fields(
    *,
    seq: int,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    reason: str,
    data: dict[str, Any],
    created_at: str,
) -> dict[str, Any]:
    """What the hash covers (``created_at`` in the API's time format)."""
    return {
        "seq": seq,
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "reason": reason,
        "data": data,
        "created_at": created_at,
    }
