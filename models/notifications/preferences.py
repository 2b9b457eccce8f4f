"""What each user wants to hear about, and where: a channel per notification type, with
defaults for what they never chose."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.errors import InvalidInput
from models.notifications.schemas import PreferenceItem
from models.notifications.tables import Channel, NotificationPreference, NotificationType

# What a user gets when they never chose: in-app and push for everything, email for what
# is worth leaving the app for.
_EMAIL_DEFAULT = {
    NotificationType.new_release: True,
    NotificationType.comment_liked: True,
    NotificationType.friend_request: True,
    NotificationType.friend_accepted: False,
    NotificationType.party_invite: True,
    NotificationType.message_while_away: True,
}


def default_enabled(type_: NotificationType, channel: Channel) -> bool:
    if channel is Channel.email:
        return _EMAIL_DEFAULT.get(type_, False)
    return True


async def channels_for(
    session: AsyncSession, *, user_id: uuid.UUID, type_: NotificationType
) -> dict[Channel, bool]:
    rows = await session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.type == type_,
        )
    )
    chosen: dict[Channel, bool] = {channel: enabled for channel, enabled in rows}
    return {c: chosen.get(c, default_enabled(type_, c)) for c in Channel}


async def list_preferences(session: AsyncSession, *, user_id: uuid.UUID) -> list[PreferenceItem]:
    rows = await session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    chosen = {(p.type, p.channel): p.enabled for p in rows.scalars()}
    return [
        PreferenceItem(type=t, channel=c, enabled=chosen.get((t, c), default_enabled(t, c)))
        for t in NotificationType
        for c in Channel
    ]


async def do_set_preferences(
    session: AsyncSession, *, user_id: uuid.UUID, items: Sequence[PreferenceItem]
) -> list[PreferenceItem]:
    seen: set[tuple[NotificationType, Channel]] = set()
    for item in items:
        if (item.type, item.channel) in seen:
            raise InvalidInput(
                f"{item.type.value}/{item.channel.value} appears twice", code="duplicate_item"
            )
        seen.add((item.type, item.channel))
    stmt = pg_insert(NotificationPreference).values(
        [
            {"user_id": user_id, "type": i.type, "channel": i.channel, "enabled": i.enabled}
            for i in items
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "type", "channel"],
            set_={"enabled": stmt.excluded.enabled},
        )
    )
    return await list_preferences(session, user_id=user_id)
