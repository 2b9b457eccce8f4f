"""Cursor helpers shared by the social lists (bigint keys, newest first)."""

from __future__ import annotations

from models.core.errors import InvalidInput
from models.core.pagination import decode_cursor, encode_cursor


def id_cursor(cursor: str | None, key: str = "id") -> int | None:
    if cursor is None:
        return None
    value = decode_cursor(cursor).get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidInput("Malformed cursor", code="invalid_cursor")
    return value


def next_id_cursor(value: int | None, key: str = "id") -> str | None:
    return None if value is None else encode_cursor({key: value})
