"""Wire models for ingest, playback and viewing history (HTTP and socket alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.core.pagination import Page, cursor_query
from models.media.tables import MediaStatus


class RenditionOut(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int  # peak bit/s over segments, audio included (HLS BANDWIDTH)
    average_bandwidth: int
    codecs: str


class MediaAssetOut(BaseModel):
    id: int
    title_id: int | None
    episode_id: int | None
    status: MediaStatus
    progress: float
    error: str | None
    source_name: str
    source_size: int
    playable: bool
    duration_ms: int | None
    width: int | None
    height: int | None
    renditions: list[RenditionOut]
    updated_at: datetime


class RegisterSourceIn(BaseModel):
    """A file an operator put in the media imports directory (MEDIA_DIR/imports)."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=500, examples=["films/matrix.mkv"])


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(default="source", min_length=1, max_length=200)


class PlaybackOut(BaseModel):
    hls: str = Field(description="Absolute URL of the HLS master playlist (signed)")
    dash: str = Field(description="Absolute URL of the DASH manifest (signed)")
    expires_at: datetime


class ProgressIn(BaseModel):
    """A player heartbeat: where the viewer is in a film (title_id) or an episode."""

    model_config = ConfigDict(extra="forbid")
    title_id: int | None = Field(default=None, ge=1)
    episode_id: int | None = Field(default=None, ge=1)
    position_ms: int = Field(ge=0, le=100 * 3600 * 1000)
    duration_ms: int | None = Field(default=None, gt=0, le=100 * 3600 * 1000)

    @model_validator(mode="after")
    def _one_target(self) -> Self:
        if (self.title_id is None) == (self.episode_id is None):
            raise ValueError("give exactly one of title_id (a film) or episode_id")
        return self


class HistoryEntryOut(BaseModel):
    id: int
    title_id: int
    episode_id: int | None
    title: str
    season_number: int | None = None
    episode_number: int | None = None
    position_ms: int
    duration_ms: int | None
    completed: bool = Field(description="this viewing reached 90 %")
    watched: bool = Field(description="reached 90 % at least once")
    watched_at: datetime | None
    resume_position_ms: int
    updated_at: datetime
    version: int


class HistoryPage(Page[HistoryEntryOut]):
    """A page of history entries (the one list envelope)."""


class HistoryQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cursor: str | None = cursor_query()
    limit: int = Field(default=20, ge=1, le=100)


class ContinueItemOut(BaseModel):
    reason: Literal["resume", "next_episode"]
    title_id: int
    title: str
    episode_id: int | None
    season_number: int | None
    episode_number: int | None
    position_ms: int
    duration_ms: int | None
    updated_at: datetime


class ContinueOut(BaseModel):
    items: list[ContinueItemOut]


class ResumeOut(BaseModel):
    """What to play for a title and where to start."""

    title_id: int
    episode_id: int | None
    position_ms: int


class EpisodeRef(BaseModel):
    episode_id: int
    season_number: int
    episode_number: int
    title: str


class NextEpisodeOut(BaseModel):
    next: EpisodeRef | None


class IngestEvent(BaseModel):
    """`media:ingest`, to the uploader's sockets: a transcode's state as it changes."""

    type: Literal["media:ingest"] = "media:ingest"
    asset_id: int
    title_id: int | None
    episode_id: int | None
    status: MediaStatus
    progress: float
    error: str | None = None


class ProgressEvent(BaseModel):
    """`history:progress`, to the viewer's other devices after each heartbeat."""

    type: Literal["history:progress"] = "history:progress"
    entry: HistoryEntryOut
