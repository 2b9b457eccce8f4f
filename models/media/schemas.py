"""Wire models for ingest, playback and viewing history (HTTP and socket alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from models.core.pagination import Page, cursor_query
from models.core.schema_rules import exactly_one_of
from models.core.text import UserLine
from models.media import languages
from models.media.tables import MediaStatus, TrackOrigin, TrackType

AudioKind = Literal["main", "description", "commentary"]
TextKind = Literal["subtitles", "captions", "forced"]
SegmentKind = Literal["intro", "recap", "credits"]


# A language tag as `languages.normalize` reads it (blank: none), said in the OpenAPI so that
# clients and generators send one; whether ISO 639 knows the language only the validator says.
_TAG = {
    "pattern": r"^\s*(?:[A-Za-z]{2,3}(?:[-_][A-Za-z]{4})?(?:[-_](?:[A-Za-z]{2}|[0-9]{3}))?)?\s*$"
}
LanguageTag = Annotated[str, Field(max_length=35, json_schema_extra=_TAG)]


def _language(value: str | None) -> str | None:
    try:
        return languages.normalize(value)
    except languages.UnknownLanguage as exc:
        raise ValueError(str(exc)) from None


class RenditionOut(BaseModel):
    name: str
    width: int
    height: int
    bandwidth: int  # peak bit/s over segments, audio included (HLS BANDWIDTH)
    average_bandwidth: int
    codecs: str


class TrackOut(BaseModel):
    """An audio or text track as editors see it."""

    id: int
    type: TrackType
    origin: TrackOrigin
    stream_index: int | None = Field(description="n of the source's 0:a:n / 0:s:n")
    language: str | None = Field(description="BCP 47, e.g. en, fr, pt-BR; null: unknown")
    label: str
    kind: str = Field(
        description="audio: main, description, commentary; text: subtitles, captions, forced"
    )
    default: bool
    hidden: bool = Field(description="a source track an editor removed")
    channels: int | None
    cues: int | None = Field(default=None, description="text tracks: how many cues")
    status: Literal["published", "pending", "failed", "hidden"] = Field(
        description="published: in the revision viewers get; pending: in the next one"
    )
    error: str | None


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
    tracks: list[TrackOut] = []
    thumbnails: bool = False
    tracks_pending: bool = Field(
        default=False, description="a track change is not in the published revision yet"
    )
    notes: list[str] = Field(default=[], description="what the last run left out, and why")
    updated_at: datetime


class RegisterSourceIn(BaseModel):
    """A file an operator put in the media imports directory (MEDIA_DIR/imports)."""

    model_config = ConfigDict(extra="forbid")
    path: str = Field(min_length=1, max_length=500, examples=["films/matrix.mkv"])


class UploadQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    filename: str = Field(default="source", min_length=1, max_length=200)


class EpisodeRef(BaseModel):
    episode_id: int
    season_number: int
    episode_number: int
    title: str


class TrackQuery(BaseModel):
    """What an uploaded track is: its language, label and kind."""

    model_config = ConfigDict(extra="forbid")
    language: LanguageTag | None = Field(default=None, examples=["fr", "pt-BR"])
    label: UserLine | None = Field(default=None, min_length=1, max_length=100)
    kind: str | None = Field(default=None, max_length=16)
    default: bool = False
    filename: str = Field(default="track", min_length=1, max_length=200)
    fit: bool = Field(
        default=False,
        description="audio: pad or cut a dub whose length differs from the video's",
    )

    _lang = field_validator("language")(_language)


class TrackPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    language: LanguageTag | None = None
    label: UserLine | None = Field(default=None, min_length=1, max_length=100)
    kind: str | None = Field(default=None, max_length=16)
    default: bool | None = None
    hidden: bool | None = Field(default=None, description="source tracks: hide or bring back")

    _lang = field_validator("language")(_language)


class AudioTrackOut(BaseModel):
    id: int
    language: str | None
    label: str
    kind: AudioKind
    default: bool
    channels: list[int] = Field(description="renditions: 2 (stereo), 6 (5.1)")
    hls_name: str = Field(description="NAME of its stereo EXT-X-MEDIA in the HLS master")
    dash_adaptation_set: int = Field(description="id of its stereo AdaptationSet in the MPD")


class TextTrackOut(BaseModel):
    id: int
    language: str | None
    label: str
    kind: TextKind
    default: bool
    vtt: str = Field(description="the whole track as WebVTT (signed URL)")
    hls_name: str
    dash_adaptation_set: int


class ThumbnailsOut(BaseModel):
    vtt: str = Field(description="WebVTT thumbnails track: cue text is sprite.jpg#xywh=x,y,w,h")
    interval_ms: int
    width: int
    height: int


class SegmentOut(BaseModel):
    kind: SegmentKind
    start_ms: int
    end_ms: int
    origin: Literal["chapter", "editor", "viewers"]


class StartTracks(BaseModel):
    """Which tracks the player starts with, from the viewer's preferences."""

    audio_track_id: int | None
    text_track_id: int | None = Field(description="null: subtitles off")


class PlaybackOut(BaseModel):
    hls: str = Field(description="Absolute URL of the HLS master playlist (signed)")
    dash: str = Field(description="Absolute URL of the DASH manifest (signed)")
    expires_at: datetime
    duration_ms: int | None = None
    audio: list[AudioTrackOut] = []
    text: list[TextTrackOut] = []
    thumbnails: ThumbnailsOut | None = None
    segments: list[SegmentOut] = []
    start: StartTracks = StartTracks(audio_track_id=None, text_track_id=None)
    watched_at_ms: int | None = Field(
        default=None, description="from here it counts as watched: the credits, else 90 %"
    )
    next_episode: EpisodeRef | None = Field(
        default=None, description="offer it from the credits (or watched_at_ms) on"
    )


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start_ms: int = Field(ge=0, le=100 * 3600 * 1000)
    end_ms: int = Field(gt=0, le=100 * 3600 * 1000)

    @model_validator(mode="after")
    def _span(self) -> Self:
        if self.end_ms <= self.start_ms:
            raise ValueError("end_ms must be after start_ms")
        return self


class SuggestionOut(BaseModel):
    id: int
    kind: SegmentKind
    start_ms: int
    end_ms: int
    viewers: int = Field(description="different viewers whose behaviour suggests it")
    status: Literal["pending", "confirmed", "dismissed"]
    created_at: datetime


class SegmentsOut(BaseModel):
    segments: list[SegmentOut]
    suggestions: list[SuggestionOut]


class ConfirmIn(BaseModel):
    """Confirm a suggestion as it is, or with the editor's corrections."""

    model_config = ConfigDict(extra="forbid")
    kind: SegmentKind | None = None
    start_ms: int | None = Field(default=None, ge=0, le=100 * 3600 * 1000)
    end_ms: int | None = Field(default=None, gt=0, le=100 * 3600 * 1000)


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    audio_languages: list[LanguageTag] = Field(default=[], max_length=10, examples=[["fr", "en"]])
    subtitle_languages: list[LanguageTag] = Field(default=[], max_length=10)
    subtitles: Literal["auto", "always", "off"] = Field(
        default="auto",
        description="auto: subtitles when the audio is in none of my audio languages "
        "(forced ones otherwise); always; off (forced ones still show)",
    )
    audio_description: bool = False
    captions: bool = Field(default=False, description="prefer captions (SDH) to subtitles")

    @field_validator("audio_languages", "subtitle_languages")
    @classmethod
    def _langs(cls, value: list[str]) -> list[str]:
        out: list[str] = []
        for v in value:
            tag = _language(v)
            if tag and tag not in out:
                out.append(tag)
        return out


class PreferencesOut(PreferencesIn):
    pass


class TitleChoiceIn(BaseModel):
    """What the viewer picked in the player for this title (a series: every episode)."""

    model_config = ConfigDict(extra="forbid")
    audio_language: LanguageTag | None = None
    audio_kind: AudioKind | None = None
    subtitle_language: LanguageTag | None = None
    subtitle_kind: TextKind | None = None
    subtitles_off: bool = False

    _langs = field_validator("audio_language", "subtitle_language")(_language)


class TitleChoiceOut(TitleChoiceIn):
    title_id: int


class ProgressIn(BaseModel):
    """A player heartbeat: where the viewer is in a film (title_id) or an episode."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=exactly_one_of("title_id", "episode_id")
    )
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
    completed: bool = Field(description="this viewing reached the credits (else 90 %)")
    watched: bool = Field(description="reached the credits (else 90 %) at least once")
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


class NextEpisodeOut(BaseModel):
    next: EpisodeRef | None


class IngestEvent(BaseModel):
    """`media:ingest`, to every editor's and admin's sockets: a transcode's state as it changes."""

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


class StreamOut(BaseModel):
    """One screen playing on my account."""

    id: str = Field(description="the screen's id (its session); DELETE /me/streams/{id} stops it")
    device_name: str
    title_id: int
    episode_id: int | None
    title: str = Field(description="what it plays, e.g. 'Dark: S1E3'")
    since: datetime = Field(description="when it started playing this")
    last_seen: datetime
    current: bool = Field(description="this is the screen asking")


class StreamStoppedEvent(BaseModel):
    """To a screen's sockets when its owner stopped it from another device."""

    stream_id: str
    reason: str = "stopped_remotely"


class PlaybackQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_name: UserLine | None = Field(
        default=None,
        max_length=64,
        description="what this screen is called in the list of screens playing (default: "
        "the session's device)",
    )


class AssetsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: MediaStatus | None = None
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)
