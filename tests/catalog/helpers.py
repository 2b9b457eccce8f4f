"""Catalog test helpers: editors through the real API, and SQL statement counting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from models.core.context import Context
from models.core.db import plain_statement_observers
from tests.factories import Account, make_account


def tag() -> str:
    """A unique lowercase word, so each test's titles can be told apart from others'."""
    return "t" + uuid.uuid4().hex[:10]


async def editor(ctx: Context, client: httpx.AsyncClient) -> Account:
    return await make_account(ctx, client, role="editor")


async def post(client: httpx.AsyncClient, who: Account, path: str, body: Any) -> Any:
    r = await client.post(f"/api/v1{path}", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return r.json()


async def ensure_terms(client: httpx.AsyncClient, who: Account, field: str, *names: str) -> None:
    for name in names:
        r = await client.post(f"/api/v1/{field}", json={"name": name}, headers=who.headers)
        assert r.status_code in (201, 409), r.text


class QueryCounter:
    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def count(self) -> int:
        return len(self.statements)


@contextmanager
def count_queries(engine: AsyncEngine) -> Iterator[QueryCounter]:
    """Statements the calling task sends through `engine`, plain ones (models.core.db) included
    (the engine is shared with the in-process worker and background loops, whose statements
    are not the test's)."""
    counter = QueryCounter()
    task = asyncio.current_task()

    def on_execute(*args: Any) -> None:
        if asyncio.current_task() is task:
            counter.statements.append(str(args[2]))

    def on_plain(sql: str) -> None:  # models.core.db.PlainStatement, past SQLAlchemy
        if asyncio.current_task() is task:
            counter.statements.append(sql)

    event.listen(engine.sync_engine, "before_cursor_execute", on_execute)
    plain_statement_observers.append(on_plain)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", on_execute)
        plain_statement_observers.remove(on_plain)
