"""Private messages: one conversation per pair, per-member read state and unread counters."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
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


class Conversation(Timestamped, Base):
    __tablename__ = "dm_conversations"
    __table_args__ = (
        # The pair is stored ordered so one pair has exactly one conversation.
        CheckConstraint("user_low < user_high", name="ordered_pair"),
        UniqueConstraint("user_low", "user_high", name="uq_dm_conversations_pair"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_low: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_high: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    last_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_message_at: Mapped[datetime | None]


class ConversationMember(Base):
    """Each side's read position and unread counter, kept incrementally."""

    __tablename__ = "dm_members"
    __table_args__ = (Index("ix_dm_members_user_last", "user_id", "last_message_id"),)

    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("dm_conversations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    peer_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_read_message_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    unread_count: Mapped[int] = mapped_column(server_default=text("0"))
    # Copied from the conversation so "my conversations, latest first" is one index scan.
    last_message_id: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class DirectMessage(Base):
    """The "dm" stream's cursor is `seq` once a message changed (an edit, a deletion, a
    reaction: it then takes a new number from the id sequence, so the change comes after
    everything before it), else its id. (sender, client_msg_id) makes sends idempotent."""

    __tablename__ = "dm_messages"
    __table_args__ = (
        UniqueConstraint("sender_id", "client_msg_id", name="uq_dm_messages_sender_client_msg"),
        Index("ix_dm_messages_conversation_id", "conversation_id", "id"),
        # The "dm" stream of a user is what they received plus what they sent (other devices).
        Index("ix_dm_messages_recipient_id", "recipient_id", "id"),
        Index("ix_dm_messages_sender_id", "sender_id", "id"),
        Index(
            "ix_dm_messages_recipient_seq",
            "recipient_id",
            "seq",
            postgresql_where="seq IS NOT NULL",
        ),
        Index("ix_dm_messages_sender_seq", "sender_id", "seq", postgresql_where="seq IS NOT NULL"),
        # Deleted for everyone: the text is gone.
        CheckConstraint(
            "deleted_at IS NOT NULL OR char_length(text) BETWEEN 1 AND 4000", name="text_length"
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("dm_conversations.id", ondelete="CASCADE")
    )
    sender_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    client_msg_id: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Hidden by a moderator (models/moderation): left out of both sides' history until restored.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    seq: Mapped[int | None] = mapped_column(BigInteger)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    reply_to_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("dm_messages.id", ondelete="SET NULL")
    )


class DirectMessageReaction(Base):
    """One emoji of one user on one message."""

    __tablename__ = "dm_reactions"

    message_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("dm_messages.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    emoji: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
