"""Notifications on sockets: the server events (the stream replays via realtime/streams.py)."""

from __future__ import annotations

from models.notifications import service
from models.notifications.schemas import NotificationEvent, UnreadEvent
from realtime.registry import events

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
