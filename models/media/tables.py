"""Media assets (a film's or an episode's source and renditions) and viewing progress."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

# The tables our foreign keys point at must be in the metadata wherever this module is used.
from models.accounts import tables as _accounts  # noqa: F401
from models.catalog import tables as _catalog  # noqa: F401
from models.core.db import Base, Timestamped


class MediaStatus(enum.StrEnum):
    queued = "queued"  # a source is set and a transcode is waiting for a worker
    processing = "processing"
    ready = "ready"
    failed = "failed"


class MediaAsset(Timestamped, Base):
    """One playable item: exactly one of a film title or an episode.

    `status` is about the latest transcode; `revision` names the published renditions and
    only changes when a transcode succeeds, so a failed re-run never breaks playback.
    """

    __tablename__ = "media_assets"
    __table_args__ = (
        CheckConstraint("(title_id IS NULL) <> (episode_id IS NULL)", name="one_target"),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title_id: Mapped[int | None] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), unique=True
    )
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), unique=True
    )
    status: Mapped[MediaStatus] = mapped_column(
        Enum(MediaStatus, name="media_status", native_enum=False, length=16)
    )
    source_path: Mapped[str] = mapped_column(String(1000))
    source_name: Mapped[str] = mapped_column(String(300))
    source_size: Mapped[int] = mapped_column(BigInteger)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    # The run that should happen: a job whose token is no longer this one was superseded.
    job_token: Mapped[str] = mapped_column(String(32))
    progress: Mapped[float] = mapped_column(Float, server_default=text("0"))
    error: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[str | None] = mapped_column(String(64))
    duration_ms: Mapped[int | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    renditions: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb")
    )
    ready_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class ViewingProgress(Base):
    """Where a user is in a film or an episode; one row per (user, film) or (user, episode).

    `title_id` is the film, or the series an episode belongs to, so per-title questions
    (continue watching, resume a series) need no join through seasons.
    """

    __tablename__ = "viewing_progress"
    __table_args__ = (
        Index(
            "uq_viewing_progress_user_film",
            "user_id",
            "title_id",
            unique=True,
            postgresql_where=text("episode_id IS NULL"),
        ),
        Index(
            "uq_viewing_progress_user_episode",
            "user_id",
            "episode_id",
            unique=True,
            postgresql_where=text("episode_id IS NOT NULL"),
        ),
        Index("ix_viewing_progress_user_recent", "user_id", "updated_at"),
        CheckConstraint("position_ms >= 0", name="position_nonnegative"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    episode_id: Mapped[int | None] = mapped_column(
        ForeignKey("episodes.id", ondelete="CASCADE"), index=True
    )
    position_ms: Mapped[int] = mapped_column(BigInteger)
    duration_ms: Mapped[int | None] = mapped_column(BigInteger)
    completed: Mapped[bool]
    watched_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    version: Mapped[int]
