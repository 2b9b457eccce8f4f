"""Opaque cursors and the one list envelope every API list uses."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from models.core.errors import InvalidInput, check_storable

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("Malformed cursor", code="invalid_cursor") from exc
    if not isinstance(value, dict):
        raise InvalidInput("Malformed cursor", code="invalid_cursor")
    try:
        # Opaque but not signed: a forged one may carry numbers past bigint or NULs.
        check_storable(value, "cursor")
    except InvalidInput as exc:
        raise InvalidInput("Malformed cursor", code="invalid_cursor") from exc
    return value


def cursor_int(cursor: str, key: str, default: int = 0) -> int:
    """A non-negative integer field of a cursor (an id, an offset)."""
    value = decode_cursor(cursor).get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput("Malformed cursor", code="invalid_cursor")
    return value
