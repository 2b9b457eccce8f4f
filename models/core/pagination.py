"""Opaque cursors and the one list envelope every API list uses."""

from __future__ import annotations

import base64
import json
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

from models.core.errors import InvalidInput, NotFound, check_storable

T = TypeVar("T")


# A cursor is base64url text: what else a client sends is 422 before any list reads it.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]+$"


def cursor_query(max_length: int = 200) -> Any:
    """The `cursor` query parameter of a list, documented as what it is."""
    return Field(
        default=None,
        min_length=1,
        max_length=max_length,
        pattern=CURSOR_PATTERN,
        description=(
            "`next_cursor` of the page before (opaque base64url). One that names no page of "
            "this list (made up, or from another sort or query) is 404 `invalid_cursor`."
        ),
    )


class InvalidCursor(NotFound):
    """A well-formed cursor that names no page of this list: the page it asks for does not
    exist (404), as the query string is part of what a GET names."""

    def __init__(self) -> None:
        super().__init__(
            "This cursor names no page of this list; start again without one",
            code="invalid_cursor",
        )


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
        raise InvalidCursor() from exc
    if not isinstance(value, dict):
        raise InvalidCursor()
    try:
        # Opaque but not signed: a forged one may carry numbers past bigint or NULs.
        check_storable(value, "cursor")
    except InvalidInput as exc:
        raise InvalidCursor() from exc
    return value


def cursor_int(cursor: str, key: str, default: int = 0) -> int:
    """A non-negative integer field of a cursor (an id, an offset)."""
    value = decode_cursor(cursor).get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidCursor()
    return value
