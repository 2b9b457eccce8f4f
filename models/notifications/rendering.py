"""A notification as its recipient reads it: the text, the actor named, the count."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.notifications.blocks import blocks_between, heard
from models.notifications.schemas import ActorOut, NotificationOut
from models.notifications.tables import Notification, NotificationType


def _display(user: User | None) -> str:
    if user is None:
        return "Someone"
    return user.display_name or user.username


def render_text(type_: NotificationType, data: dict[str, Any], actor: str, count: int) -> str:
    who = actor if count <= 1 else f"{actor} and {count - 1} other{'s' if count > 2 else ''}"
    title = str(data.get("title") or data.get("title_name") or "a title")
    match type_:
        case NotificationType.new_release:
            if "episode" in data:
                return f"New episode of {title}: S{data.get('season')}E{data.get('episode')}"
            return f"New release: {title}"
        case NotificationType.comment_liked:
            return f"{who} liked your comment"
        case NotificationType.friend_request:
            return f"{who} sent you a friend request"
        case NotificationType.friend_accepted:
            return f"{who} accepted your friend request"
        case NotificationType.party_invite:
            return f"{who} invited you to a watch party" + (
                f" for {title}" if "title" in data else ""
            )
        case NotificationType.message_while_away:
            return f"{who} sent you {'messages' if count > 1 else 'a message'}"
    return f"{who}: {type_.value}"  # pragma: no cover - every type is matched above


def to_out(n: Notification, actor: User | None, count: int) -> NotificationOut:
    """`actor` and `count` (of actors) as the recipient may see them (see `outs_for`)."""
    return NotificationOut(
        id=n.id,
        cursor=n.seq,
        type=n.type,
        text=render_text(n.type, n.data, _display(actor), max(1, count)),
        data=n.data,
        actor=ActorOut(id=actor.id, name=_display(actor)) if actor is not None else None,
        actor_count=count,
        group_key=n.group_key,
        created_at=n.created_at,
        updated_at=n.updated_at,
        read=n.read_at is not None,
    )


async def outs_for(session: AsyncSession, rows: Sequence[Notification]) -> list[NotificationOut]:
    """Render notifications as their recipients may see them now, in two queries whatever
    the count: actors a recipient no longer hears of (policy.notifies_of) are neither counted
    nor named, and a notification left with none is left out."""
    blocks = await blocks_between(session, {(n.user_id, a) for n in rows for a in n.actor_ids})
    shown: list[tuple[Notification, uuid.UUID | None, int]] = []
    for n in rows:
        heard_of = [a for a in n.actor_ids if heard(n.type, n.user_id, a, blocks)]
        if len(heard_of) == len(n.actor_ids):
            shown.append((n, n.actor_id, n.actor_count))
        elif heard_of:  # the latest actor still heard of is named
            shown.append((n, heard_of[-1], n.actor_count - (len(n.actor_ids) - len(heard_of))))
    actor_ids = {actor for _, actor, _ in shown if actor is not None}
    actors: dict[uuid.UUID, User] = {}
    if actor_ids:
        found = await session.execute(select(User).where(User.id.in_(actor_ids)))
        actors = {u.id: u for u in found.scalars()}
    return [to_out(n, actors.get(actor) if actor else None, count) for n, actor, count in shown]
