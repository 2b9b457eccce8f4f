"""Notifications: a per-user stream with a gapless cursor, read state, preferences, devices."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PG_UUID
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base, Timestamped


class NotificationType(enum.StrEnum):
    new_release = "new_release"
    comment_liked = "comment_liked"
    friend_request = "friend_request"
    friend_accepted = "friend_accepted"
    party_invite = "party_invite"
    message_while_away = "message_while_away"


class Channel(enum.StrEnum):
    in_app = "in_app"
    email = "email"
    push = "push"


class NotificationStream(Base):
    """The head of one user's notification stream.

    Incrementing `last_seq` row-locks it until commit, so per user the cursor order is the
    commit order: a client that saw seq N can never later miss a smaller one."""

    __tablename__ = "notification_streams"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class Notification(Timestamped, Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("user_id", "seq", name="uq_notifications_user_seq"),
        UniqueConstraint("user_id", "dedupe_key", name="uq_notifications_user_dedupe"),
        # The inbox and the replay both walk one user's stream by seq.
        Index(
            "ix_notifications_user_unread",
            "user_id",
            postgresql_where=text("read_at IS NULL AND seq IS NOT NULL"),
        ),
        Index(
            "ix_notifications_user_group",
            "user_id",
            "group_key",
            postgresql_where=text("group_key IS NOT NULL"),
        ),
        Index(
            "ix_notifications_undelivered",
            "created_at",
            postgresql_where=text("delivered_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # The stream cursor, bumped on every change a client must see (creation, coalescing);
    # NULL when the user turned in-app off for this type (email/push only).
    seq: Mapped[int | None] = mapped_column(BigInteger)
    type: Mapped[NotificationType] = mapped_column(
        Enum(NotificationType, name="notification_type", native_enum=False, length=32)
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # The latest actor and every distinct actor of a coalesced group ("Ann and 49 others").
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_ids: Mapped[list[uuid.UUID]] = mapped_column(
        ARRAY(PG_UUID(as_uuid=True)), default=list, server_default=text("'{}'")
    )
    actor_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    # Notifications with one group key coalesce while `group_until` has not passed.
    group_key: Mapped[str | None] = mapped_column(String(200))
    group_until: Mapped[datetime | None]
    # Once-per-user idempotency ("new_release:<title_id>"): a second insert is a no-op.
    dedupe_key: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    read_at: Mapped[datetime | None]
    # Delivery bookkeeping: claimed before sending so a retried job never sends twice.
    delivered_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]
    pushed_at: Mapped[datetime | None]


class NotificationPreference(Base):
    """An explicit choice; absent rows fall back to the defaults in the service."""

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    type: Mapped[NotificationType] = mapped_column(
        Enum(NotificationType, name="notification_type", native_enum=False, length=32),
        primary_key=True,
    )
    channel: Mapped[Channel] = mapped_column(
        Enum(Channel, name="notification_channel", native_enum=False, length=16),
        primary_key=True,
    )
    enabled: Mapped[bool] = mapped_column(Boolean)


class PushSubscription(Timestamped, Base):
    """A browser's Web Push subscription (endpoint + its ECDH key and auth secret)."""

    __tablename__ = "push_subscriptions"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    endpoint: Mapped[str] = mapped_column(Text, unique=True)
    p256dh: Mapped[str] = mapped_column(String(200))
    auth: Mapped[str] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    last_success_at: Mapped[datetime | None]
    failure_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class TitleFollow(Timestamped, Base):
    """The user wants to hear when this title (a series: each new episode) comes out."""

    __tablename__ = "title_follows"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class GenreFollow(Timestamped, Base):
    """The user wants to hear of every new release in this genre."""

    __tablename__ = "genre_follows"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    genre_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PushPlatform(enum.StrEnum):
    fcm = "fcm"  # Android (and any app on Firebase Cloud Messaging)
    apns = "apns"  # iOS, iPadOS, tvOS, macOS apps


class PushDevice(Timestamped, Base):
    """A phone or tablet app's push token (FCM or APNs) beside the browsers' Web Push."""

    __tablename__ = "push_devices"
    __table_args__ = (UniqueConstraint("platform", "token", name="uq_push_devices_token"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[PushPlatform] = mapped_column(
        Enum(PushPlatform, name="push_platform", native_enum=False, length=8)
    )
    token: Mapped[str] = mapped_column(String(4096))
    app_version: Mapped[str | None] = mapped_column(String(64))
    locale: Mapped[str | None] = mapped_column(String(35))
    last_seen_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_success_at: Mapped[datetime | None]
    failure_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
