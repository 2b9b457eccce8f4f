"""Parties, their membership history, invitations and chat (live playback state is in Redis)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base, Timestamped


class LeftReason(enum.StrEnum):
    left = "left"
    kicked = "kicked"
    expired = "expired"  # gone longer than the grace period
    ended = "ended"  # the party ended while the member was in it


class Party(Timestamped, Base):
    __tablename__ = "parties"
    __table_args__ = (
        CheckConstraint("(title_id IS NULL) <> (episode_id IS NULL)", name="exactly_one_media"),
        Index(
            "ix_parties_listed_live",
            "id",
            postgresql_where=text("listed_for_friends AND ended_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    created_by: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    title_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("titles.id", ondelete="CASCADE"), index=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    invite_code: Mapped[str] = mapped_column(String(16), unique=True)
    capacity: Mapped[int]
    ended_at: Mapped[datetime | None]
    ended_reason: Mapped[str | None] = mapped_column(String(32))
    # A room password for links shared widely (argon2 hash; the invited need none).
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # The host lets their friends see the party and join it (off by default).
    listed_for_friends: Mapped[bool] = mapped_column(default=False, server_default=text("false"))


class PartyMember(Base):
    """One row per stay: a member who leaves and comes back later gets a new row."""

    __tablename__ = "party_members"
    __table_args__ = (Index("ix_party_members_party_id_user_id", "party_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    joined_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    left_reason: Mapped[LeftReason | None] = mapped_column(
        Enum(LeftReason, name="party_left_reason", native_enum=False, length=16)
    )


class PartyInvite(Timestamped, Base):
    __tablename__ = "party_invites"
    __table_args__ = (UniqueConstraint("party_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    invited_by: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class PartyMessage(Timestamped, Base):
    """Party chat; the bigint id is the stream's cursor (INTERFACES.md)."""

    __tablename__ = "party_messages"
    __table_args__ = (
        Index("ix_party_messages_party_id_id", "party_id", "id"),
        Index("ix_party_messages_replay", "party_id", "media_kind", "media_id", "position_ms"),
        # Changed messages (edits, deletions, reactions) come again on the stream at `seq`.
        Index("ix_party_messages_party_seq", "party_id", "seq", postgresql_where="seq IS NOT NULL"),
        # A client retrying a send after a reconnect must not post twice.
        UniqueConstraint("party_id", "user_id", "client_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_id: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    seq: Mapped[int | None] = mapped_column(BigInteger)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    reply_to_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("party_messages.id", ondelete="SET NULL")
    )
    # Where in what was playing it was said, for watching the party again later.
    media_kind: Mapped[str | None] = mapped_column(String(8))
    media_id: Mapped[int | None] = mapped_column(BigInteger)
    position_ms: Mapped[int | None] = mapped_column(BigInteger)


class PartyReaction(Base):
    """A reaction to the picture (party:react), kept with where in the media it happened."""

    __tablename__ = "party_reactions"
    __table_args__ = (
        Index("ix_party_reactions_replay", "party_id", "media_kind", "media_id", "position_ms"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    party_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("parties.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    emoji: Mapped[str] = mapped_column(String(32))
    media_kind: Mapped[str] = mapped_column(String(8))
    media_id: Mapped[int] = mapped_column(BigInteger)
    position_ms: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class PartyMessageReaction(Base):
    __tablename__ = "party_message_reactions"

    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("party_messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    emoji: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
