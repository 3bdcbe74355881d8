"""Opaque keyset cursors: base64url of a compact JSON array, signed so clients cannot forge them.

A cursor carries the sort key it was made for, so a cursor from one ordering cannot be replayed
against another.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


class InvalidCursor(ValueError):
    """The cursor is malformed, forged, or belongs to another ordering."""


def _sign(secret: bytes, payload: bytes) -> bytes:
    return hmac.new(secret, payload, hashlib.sha256).digest()[:8]


def encode_cursor(secret: bytes, sort: str, values: list[Any]) -> str:
    payload = json.dumps([sort, *values], separators=(",", ":"), default=str).encode()
    raw = _sign(secret, payload) + payload
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(secret: bytes, sort: str, cursor: str) -> list[Any]:
    if len(cursor) > 512:
        raise InvalidCursor("cursor too long")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor is not base64url") from exc
    mac, payload = raw[:8], raw[8:]
    if len(mac) != 8 or not hmac.compare_digest(mac, _sign(secret, payload)):
        raise InvalidCursor("cursor signature mismatch")
    try:
        decoded = json.loads(payload)
    except ValueError as exc:
        raise InvalidCursor("cursor payload is not JSON") from exc
    if not isinstance(decoded, list) or not decoded or decoded[0] != sort:
        raise InvalidCursor("cursor belongs to another sort order")
    return decoded[1:]


def decode_keyset(
    secret: bytes, sort: str, cursor: str, id_type: Callable[[Any], T]
) -> tuple[datetime, T]:
    """Decode a `[timestamp, id]` keyset cursor; anything malformed is an InvalidCursor."""
    try:
        ts, ident = decode_cursor(secret, sort, cursor)
        return datetime.fromisoformat(ts), id_type(ident)
    except InvalidCursor:
        raise
    except (ValueError, TypeError) as exc:
        raise InvalidCursor("cursor does not hold a timestamp and an id") from exc
