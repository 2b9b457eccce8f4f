"""Ordering for cursor streams whose cursor is a bigint identity id (DMs, party chat).

Identity values are handed out at insert but become visible at commit, so two concurrent
transactions can commit out of id order: a client that already saw id 11 would then never
be sent (or replayed) id 10. Taking this lock before the insert serializes the writers of one
stream, so within a stream id order is commit order. Held until the transaction ends."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_stream(session: AsyncSession, stream: str) -> None:
    """`await lock_stream(session, f"party_chat:{party_id}")` right before inserting."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(stream, 0))))
