"""Calling the notification services the way other aggregates do: in a transaction, with
the outbox flushed after the commit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

from models.accounts.tables import User
from models.core.context import Context
from models.core.db import transaction
from models.core.events import Outbox
from models.notifications import service
from models.notifications.tables import Notification


async def notify(ctx: Context, **kwargs: Any) -> Notification | None:
    outbox = Outbox()
    async with transaction(ctx.sessions) as session:
        found = await service.do_notify(ctx, session, outbox, **kwargs)
    await ctx.flush(outbox)
    return found


async def notify_many(ctx: Context, user_ids: list[uuid.UUID], **kwargs: Any) -> list[int]:
    outbox = Outbox()
    async with transaction(ctx.sessions) as session:
        ids = await service.do_notify_many(ctx, session, outbox, user_ids=user_ids, **kwargs)
    await ctx.flush(outbox)
    return ids


async def eventually(check: Callable[[], Any], timeout: float = 10, every: float = 0.05) -> Any:
    """Poll until `check()` returns something truthy (sync or async)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(every)


async def make_actors(ctx: Context, count: int) -> list[User]:
    """Users who only act (like, invite) and never log in: no password hashing, so fifty
    of them cost one insert."""
    users = []
    for _ in range(count):
        tag = uuid.uuid4().hex[:10]
        users.append(
            User(email=f"a{tag}@example.com", username=f"a{tag}", password_hash="!unusable")
        )
    async with transaction(ctx.sessions) as session:
        session.add_all(users)
    return users
