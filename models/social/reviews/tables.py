"""Ratings with incremental aggregates, title likes, comments with one level of replies."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    SmallInteger,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base

SCORES = range(1, 11)


class Rating(Base):
    __tablename__ = "ratings"
    __table_args__ = (CheckConstraint("score BETWEEN 1 AND 10", name="score_range"),)

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    score: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


# A title's counters are split over this many rows, so raters of one hot title lock different
# rows; a reader sums them (at most SHARDS rows by primary key). Changing it needs a
# migration that redistributes the rows (see `shard_of`).
SHARDS = 16


def shard_of(user_id: uuid.UUID) -> int:
    """The counter row a user's rating and like are counted in: the same on every change, so a
    row always holds exactly its users' ratings and never goes below zero. In SQL:
    `get_byte(uuid_send(user_id), 15) % SHARDS` (the UUID's last byte)."""
    return user_id.bytes[15] % SHARDS


class TitleSocialStats(Base):
    """Per-title counters, one row per (title, shard), changed by deltas inside the writer's
    transaction (never a scan); a title's numbers are the sums over its rows.

    `version` grows with every change; the sum of a title's versions grows with every change
    any snapshot sees, so a cache never goes back to an older value.
    """

    __tablename__ = "title_social_stats"
    __table_args__ = (
        CheckConstraint("rating_count >= 0", name="rating_count_nonneg"),
        CheckConstraint("like_count >= 0", name="like_count_nonneg"),
        CheckConstraint(f"shard >= 0 AND shard < {SHARDS}", name="shard_range"),
    )

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    shard: Mapped[int] = mapped_column(SmallInteger, primary_key=True, server_default=text("0"))
    rating_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    rating_sum: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r1: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r2: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r3: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r4: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r5: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r6: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r7: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r8: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r9: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    r10: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    like_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))


class TitleLike(Base):
    __tablename__ = "title_likes"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Comment(Base):
    """Top-level comments have no parent; replies point at a top-level comment only."""

    __tablename__ = "comments"
    __table_args__ = (
        Index(
            "ix_comments_title_top", "title_id", "id", postgresql_where=text("parent_id IS NULL")
        ),
        Index("ix_comments_parent", "parent_id", "id"),
        CheckConstraint("char_length(body) BETWEEN 1 AND 10000", name="body_length"),
        CheckConstraint("like_count >= 0 AND reply_count >= 0", name="counts_nonneg"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    body: Mapped[str] = mapped_column(Text)
    spoiler: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    like_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    reply_count: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    deleted_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # Hidden by a moderator (models/moderation): shown as deleted until restored.
    hidden_at: Mapped[datetime | None]
    hidden_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @property
    def gone(self) -> bool:
        """Deleted by its author or an editor, or hidden by a moderator: no words, no name."""
        return self.deleted_at is not None or self.hidden_at is not None


class CommentLike(Base):
    __tablename__ = "comment_likes"

    comment_id: Mapped[int] = mapped_column(
        ForeignKey("comments.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
