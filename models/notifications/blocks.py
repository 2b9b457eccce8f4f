"""Whom a recipient still hears of (`policy.notifies_of`), decided when a notification is
made and again whenever it is read, rendered or delivered."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.notifications.tables import Notification, NotificationType
from models.social import policy
from models.social.friends.tables import Block
from models.social.policy import Relation

Pair = tuple[uuid.UUID, uuid.UUID]


async def blocks_between(session: AsyncSession, pairs: set[Pair]) -> set[Pair]:
    """The blocks, as (blocker, blocked), standing between any of these (recipient, actor)
    pairs, in one query (a superset is fine: callers look up exact pairs)."""
    if not pairs:
        return set()
    recipients = {r for r, _ in pairs}
    actors = {a for _, a in pairs}
    rows = await session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(
                and_(Block.blocker_id.in_(recipients), Block.blocked_id.in_(actors)),
                and_(Block.blocker_id.in_(actors), Block.blocked_id.in_(recipients)),
            )
        )
    )
    return {(blocker, blocked) for blocker, blocked in rows}


def heard(
    type_: NotificationType, recipient: uuid.UUID, actor: uuid.UUID, blocks: set[Pair]
) -> bool:
    rel = Relation(
        blocks_other=(recipient, actor) in blocks, blocked_by_other=(actor, recipient) in blocks
    )
    return policy.notifies_of(type_, rel)


def _blocked(blocker: Any, blocked: Any) -> ColumnElement[bool]:
    return (
        exists()
        .where(Block.blocker_id == blocker, Block.blocked_id == blocked)
        .correlate_except(Block)
    )


def shown_clause() -> ColumnElement[bool]:
    """policy.notifies_of as SQL over a notification row: shown when it has no actor or some
    actor its recipient still hears of. Inside the page query, so pages stay full."""
    actor = func.unnest(Notification.actor_ids).table_valued("id").render_derived(name="a")
    heard = (
        select(1)
        .select_from(actor)
        .where(
            ~_blocked(Notification.user_id, actor.c.id),
            or_(
                Notification.type.in_(sorted(policy.NOTIFIES_DESPITE_BEING_BLOCKED)),
                ~_blocked(actor.c.id, Notification.user_id),
            ),
        )
        .exists()
    )
    return or_(func.cardinality(Notification.actor_ids) == 0, heard)
