"""Wire models of the notification center (HTTP and socket)."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.core.pagination import Page, cursor_query
from models.notifications.tables import Channel, NotificationType, PushPlatform

STREAM = "notifications"


class ActorOut(BaseModel):
    id: uuid.UUID
    name: str


class NotificationOut(BaseModel):
    id: int
    # The stream cursor of this notification's latest change (None: not in the inbox,
    # because the user turned in-app off for this type; only email/push carry it).
    cursor: int | None
    type: NotificationType
    text: str
    data: dict[str, Any]
    actor: ActorOut | None
    actor_count: int
    group_key: str | None
    created_at: datetime
    updated_at: datetime
    read: bool


class NotificationPage(Page[NotificationOut]):
    """One page of the inbox, newest change first."""


class NotificationEvent(BaseModel):
    """Server -> client `notification`: a new or coalesced (same `id`) notification."""

    stream: Literal["notifications"] = "notifications"
    cursor: int
    notification: NotificationOut


class UnreadEvent(BaseModel):
    """Server -> client `notification:unread`: the latest unread count (state, no replay)."""

    unread: int


class InboxQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = cursor_query()
    limit: int = Field(default=30, ge=1, le=100)
    unread_only: bool = False


class UnreadOut(BaseModel):
    unread: int
    # The stream head: a client that has it needs no replay.
    cursor: int


class MarkAllIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Only notifications up to this cursor (what the user saw); all when omitted.
    up_to: int | None = Field(default=None, ge=0)


class MarkedOut(BaseModel):
    marked: int
    unread: int


class PreferenceItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: NotificationType
    channel: Channel
    enabled: bool


class PreferencesOut(BaseModel):
    items: list[PreferenceItem]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[PreferenceItem] = Field(min_length=1, max_length=60)


class PushKeys(BaseModel):
    model_config = ConfigDict(extra="forbid")

    p256dh: str = Field(min_length=80, max_length=100, pattern=r"^[A-Za-z0-9_\-]+=*$")
    auth: str = Field(min_length=16, max_length=40, pattern=r"^[A-Za-z0-9_\-]+=*$")


class PushSubscriptionIn(BaseModel):
    """The browser's `PushSubscription.toJSON()`."""

    model_config = ConfigDict(extra="forbid")

    endpoint: str = Field(min_length=10, max_length=2000)
    keys: PushKeys
    expirationTime: int | None = None
    user_agent: str | None = Field(default=None, max_length=300)


class PushSubscriptionOut(BaseModel):
    id: int
    endpoint: str
    user_agent: str | None
    created_at: datetime


class PushDeviceIn(BaseModel):
    """A phone or tablet app's push token, sent at start-up and whenever the provider
    gives a new one (registering again refreshes it and its last_seen_at)."""

    model_config = ConfigDict(extra="forbid")

    platform: PushPlatform  # fcm (Android, Firebase) or apns (Apple, token-based)
    # FCM registration tokens; APNs device tokens are hex (checked for apns).
    token: str = Field(pattern=r"^[A-Za-z0-9_:\-]{20,4096}$")
    app_version: str | None = Field(default=None, max_length=64, pattern=r"^[\x21-\x7e]+$")
    # A BCP 47 tag (en, pt-BR): what language the app shows its notifications in.
    locale: str | None = Field(
        default=None, max_length=35, pattern=r"^[A-Za-z]{2,8}([_-][A-Za-z0-9]{1,8})*$"
    )

    @model_validator(mode="after")
    def _apns_hex(self) -> PushDeviceIn:
        if self.platform == PushPlatform.apns and not re.fullmatch(
            r"[0-9a-fA-F]{64,200}", self.token
        ):
            raise ValueError("an APNs device token is 64 or more hex digits")
        return self


class PushDeviceOut(BaseModel):
    id: int
    platform: PushPlatform
    app_version: str | None
    locale: str | None
    created_at: datetime
    last_seen_at: datetime
    last_success_at: datetime | None


class VapidKeyOut(BaseModel):
    public_key: str


class FollowsOut(BaseModel):
    """What new releases the user hears about (besides their favorites)."""

    titles: list[int]
    genres: list[int]
