"""Facts about two users that every social aggregate decides by: friends, blocks, the pair
lock. Friends, lists, messages, reviews, parties and notifications read them here, so no
aggregate's service imports another's for them."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import and_, exists, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.core.errors import NotFound
from models.social import policy
from models.social.friends.tables import Block, Friendship
from models.social.policy import Relation


async def relation(
    session: AsyncSession, *, actor_id: uuid.UUID | None, other_id: uuid.UUID
) -> Relation:
    if actor_id is None:
        return policy.NOBODY
    if actor_id == other_id:
        return policy.SELF
    return (await relations(session, actor_id=actor_id, other_ids=[other_id]))[other_id]


async def relations(
    session: AsyncSession, *, actor_id: uuid.UUID | None, other_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Relation]:
    """The actor's relation to each user, in two queries whatever the count."""
    ids = set(other_ids)
    if actor_id is None:
        return {i: policy.NOBODY for i in ids}
    others = ids - {actor_id}
    friends: set[uuid.UUID] = set()
    blocked_by: set[uuid.UUID] = set()
    blocks: set[uuid.UUID] = set()
    if others:
        friends = set(
            (
                await session.scalars(
                    select(Friendship.friend_id).where(
                        Friendship.user_id == actor_id, Friendship.friend_id.in_(others)
                    )
                )
            ).all()
        )
        rows = await session.execute(
            select(Block.blocker_id, Block.blocked_id).where(
                or_(
                    and_(Block.blocker_id.in_(others), Block.blocked_id == actor_id),
                    and_(Block.blocker_id == actor_id, Block.blocked_id.in_(others)),
                )
            )
        )
        for blocker, blocked in rows:
            if blocked == actor_id:
                blocked_by.add(blocker)
            else:
                blocks.add(blocked)
    out = {
        i: Relation(
            friends=i in friends, blocked_by_other=i in blocked_by, blocks_other=i in blocks
        )
        for i in others
    }
    if actor_id in ids:
        out[actor_id] = policy.SELF
    return out


async def friend_ids(session: AsyncSession, *, user_id: uuid.UUID) -> list[uuid.UUID]:
    return list(
        (
            await session.scalars(select(Friendship.friend_id).where(Friendship.user_id == user_id))
        ).all()
    )


async def are_friends(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    return bool(
        await session.scalar(
            select(exists().where(Friendship.user_id == a, Friendship.friend_id == b))
        )
    )


async def access_user(session: AsyncSession, *, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise NotFound("No such user", code="user_not_found")
    return user


async def lock_pair(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Serialize, until this transaction ends, every change of the pair's friendship or
    block (both directions) and every notification one of them causes the other: a block
    waits for a notification being made, and one made after the block sees it."""
    low, high = sorted((str(a), str(b)))
    await session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 5))"), {"k": f"friend:{low}:{high}"}
    )
