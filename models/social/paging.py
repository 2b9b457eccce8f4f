"""Cursor helpers shared by the social lists (bigint keys, newest first)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor


def id_cursor(cursor: str | None, key: str = "id") -> int | None:
    if cursor is None:
        return None
    value = decode_cursor(cursor).get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidCursor()
    return value


def next_id_cursor(value: int | None, key: str = "id") -> str | None:
    return None if value is None else encode_cursor({key: value})


async def id_page(
    session: AsyncSession,
    query: Select[Any],
    column: InstrumentedAttribute[int],
    *,
    cursor: str | None,
    limit: int,
    ascending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of `query`'s entities keyed on the bigint `column` (newest first unless
    `ascending`), after `cursor`: the rows and the next page's cursor (None on the last)."""
    after = id_cursor(cursor)
    if after is not None:
        query = query.where(column > after if ascending else column < after)
    query = query.order_by(column if ascending else column.desc()).limit(limit + 1)
    rows = list((await session.scalars(query)).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, next_id_cursor(getattr(rows[-1], column.key) if more else None)
