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
        # Empty once deleted for everyone, or when a title card or an image came alone (that
        # a message has something is the input's rule: an image goes with its sender's erasure).
        CheckConstraint("char_length(text) <= 4000", name="text_length"),
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
    # A title shared as a card. No foreign key: a title deleted from the catalog leaves a card
    # that says so, rather than a message that silently lost what it was about.
    title_id: Mapped[int | None] = mapped_column(BigInteger)
    # An image: one message each; deleting the message deletes the attachment (and its files).
    attachment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("dm_attachments.id", ondelete="SET NULL"), unique=True
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


class DirectMessageAttachment(Base):
    """An image uploaded for a message: re-encoded, kept in the MediaStore (local disk or the
    object store) under attachments/<id hex>/. Unused by any message, it is the uploader's
    alone, and it is pruned after a day."""

    __tablename__ = "dm_attachments"
    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="image_type"
        ),
        Index("ix_dm_attachments_owner_created", "owner_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    thumb_width: Mapped[int]
    thumb_height: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class AttachmentPurge(Base):
    """An image whose row went (its account erased, or unused past its grace) and whose files
    are still to be removed: written in the transaction that deleted the row, removed only once
    the files are gone, so a crash between the two leaves work for the next run, not a leak.
    `store` names the MediaStore the files are in (models/media/storage.py, `location`)."""

    __tablename__ = "dm_attachment_purges"
    __table_args__ = (Index("ix_dm_attachment_purges_store_queued", "store", "queued_at"),)

    attachment_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    store: Mapped[str] = mapped_column(String(500))
    queued_at: Mapped[datetime] = mapped_column(server_default=func.now())
