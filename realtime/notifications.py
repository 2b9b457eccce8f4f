"""Notifications on sockets: the replayer of the `notifications` stream and the event docs."""

from __future__ import annotations

import uuid
from typing import Any

from models.core.context import Context
from models.notifications import service
from models.notifications.schemas import NotificationEvent, UnreadEvent
from realtime.registry import events
from realtime.resume import replayer

events.emits(
    service.EVENT,
    payload=NotificationEvent,
    doc="A new or coalesced notification (same id, newer cursor); stream `notifications`.",
)
events.emits(
    service.UNREAD_EVENT,
    payload=UnreadEvent,
    doc="The unread count changed (read on another device); no replay: the latest is true.",
)


@replayer("notifications")
async def replay_notifications(
    ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, /, *, stream: str
) -> list[dict[str, Any]]:
    async with ctx.sessions() as session:
        return await service.replay(session, user_id=user_id, cursor=cursor, limit=limit)
