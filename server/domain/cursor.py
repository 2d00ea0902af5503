"""Opaque pagination cursors: signed so that a tampered cursor is refused, not trusted."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import orjson

from server.domain.errors import invalid_field

_MAC_BYTES = 16


def encode_cursor(secret: str, position: dict[str, Any]) -> str:
    payload = orjson.dumps(position, option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + payload).rstrip(b"=").decode()


def decode_cursor(secret: str, cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except ValueError:
        raise invalid_field("cursor", "is not a cursor this server issued") from None
    mac, payload = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    expected = hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if len(mac) != _MAC_BYTES or not hmac.compare_digest(mac, expected):
        raise invalid_field("cursor", "is not a cursor this server issued")
    position = orjson.loads(payload)
    if not isinstance(position, dict):
        raise invalid_field("cursor", "is not a cursor this server issued")
    return position
