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
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
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
    # Tracks: every change editors make bumps tracks_version; a revision records the version
    # it was made from, so a job knows whether the published one is behind.
    tracks_version: Mapped[int] = mapped_column(server_default=text("0"))
    published_tracks_version: Mapped[int] = mapped_column(server_default=text("0"))
    # What the published revision has: {"audio": [...], "text": [...], "thumbnails": {...}}.
    tracks: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    # What the last run left out and why (bitmap subtitles, too many audio streams).
    notes: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))


class TrackType(enum.StrEnum):
    audio = "audio"
    text = "text"


class TrackOrigin(enum.StrEnum):
    source = "source"  # a stream of the source video
    upload = "upload"  # a dub or a subtitle file an editor added


class MediaTrack(Timestamped, Base):
    """An audio or text track of an item, as editors see and change it.

    Source tracks are made from the probe of each transcode (`stream_index` is n in
    `0:a:n` / `0:s:n`) and keep an editor's changes while the source stays the same; an
    editor hides them rather than deleting them. Uploaded dubs keep their file (`file_path`);
    every text track keeps its cues as checked WebVTT (`vtt`). What plays is the published
    revision, written from these rows by the next transcode or compose run.
    """

    __tablename__ = "media_tracks"
    __table_args__ = (
        Index(
            "uq_media_tracks_source_stream",
            "asset_id",
            "type",
            "stream_index",
            unique=True,
            postgresql_where=text("origin = 'source'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), index=True
    )
    type: Mapped[TrackType] = mapped_column(
        Enum(TrackType, name="media_track_type", native_enum=False, length=8)
    )
    origin: Mapped[TrackOrigin] = mapped_column(
        Enum(TrackOrigin, name="media_track_origin", native_enum=False, length=8)
    )
    stream_index: Mapped[int | None]
    source_path: Mapped[str | None] = mapped_column(String(1000))  # the source it is a stream of
    file_path: Mapped[str | None] = mapped_column(String(1000))  # an uploaded dub
    language: Mapped[str | None] = mapped_column(String(35))
    label: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(
        String(16)
    )  # main|description|commentary, subtitles|captions|forced
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))
    hidden: Mapped[bool] = mapped_column(server_default=text("false"))
    channels: Mapped[int | None]
    vtt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class MediaSegment(Base):
    """An intro, recap or credits span of an item (one of each at most)."""

    __tablename__ = "media_segments"
    __table_args__ = (CheckConstraint("start_ms >= 0 AND end_ms > start_ms", name="span"),)

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # intro|recap|credits
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    origin: Mapped[str] = mapped_column(String(16))  # chapter|editor|viewers
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SegmentSuggestion(Timestamped, Base):
    """A segment proposed from how viewers watch, waiting for an editor (or dismissed)."""

    __tablename__ = "media_segment_suggestions"
    __table_args__ = (
        Index(
            "uq_media_segment_suggestions_pending",
            "asset_id",
            "kind",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        CheckConstraint("start_ms >= 0 AND end_ms > start_ms", name="span"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    asset_id: Mapped[int] = mapped_column(
        ForeignKey("media_assets.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    start_ms: Mapped[int] = mapped_column(BigInteger)
    end_ms: Mapped[int] = mapped_column(BigInteger)
    viewers: Mapped[int]
    status: Mapped[str] = mapped_column(String(16))  # pending|confirmed|dismissed
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class SkipEvent(Base):
    """A viewer jumped forward (seen between two heartbeats): the raw material of intro
    suggestions. Kept SKIP_RETENTION_DAYS."""

    __tablename__ = "media_skip_events"
    __table_args__ = (Index("ix_media_skip_events_asset_at", "asset_id", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("media_assets.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    from_ms: Mapped[int] = mapped_column(BigInteger)
    to_ms: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class PlaybackPreferences(Base):
    """A viewer's languages: which audio and subtitles to start with, everywhere."""

    __tablename__ = "playback_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    audio_languages: Mapped[list[str]] = mapped_column(
        ARRAY(String(35)), server_default=text("'{}'")
    )
    subtitle_languages: Mapped[list[str]] = mapped_column(
        ARRAY(String(35)), server_default=text("'{}'")
    )
    subtitles: Mapped[str] = mapped_column(String(8), server_default=text("'auto'"))
    audio_description: Mapped[bool] = mapped_column(server_default=text("false"))
    captions: Mapped[bool] = mapped_column(server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TitleTrackChoice(Base):
    """What a viewer chose for one title (a film, or every episode of a series)."""

    __tablename__ = "title_track_choices"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    audio_language: Mapped[str | None] = mapped_column(String(35))
    audio_kind: Mapped[str | None] = mapped_column(String(16))
    subtitle_language: Mapped[str | None] = mapped_column(String(35))
    subtitle_kind: Mapped[str | None] = mapped_column(String(16))
    subtitles_off: Mapped[bool] = mapped_column(server_default=text("false"))
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
