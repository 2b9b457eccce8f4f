"""One lock per pair of users, so what is decided about the pair holds until commit."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Serialize, until this transaction ends, every change of the pair's friendship or
    block (both directions) and every notification one of them causes the other: a block
    waits for a notification being made, and one made after the block sees it."""
    low, high = sorted((str(a), str(b)))
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 5))"), {"k": f"friend:{low}:{high}"}
    )
