"""Audio and text tracks of an item: the rows editors change, and how a source fills them.

A change here never touches files: it bumps the asset's `tracks_version` and queues the
compose job, which writes a new revision from these rows next to the current video
(models/media/compose.py). Until then viewers keep the published revision.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.errors import Conflict, InvalidInput, NotFound
from models.core.events import Outbox
from models.core.jobs import Job
from models.media import languages, subtitles
from models.media.ffmpeg import FfmpegError, SourceInfo, probe
from models.media.ladder import MAX_AUDIO_STREAMS
from models.media.packaging import (
    AudioKind,
    Manifest,
    TextKind,
    adaptation_set_id,
    audio_renditions,
    default_label,
    text_renditions,
)
from models.media.schemas import TrackOut
from models.media.tables import MediaAsset, MediaTrack, TrackOrigin, TrackType

AUDIO_KINDS: tuple[AudioKind, ...] = ("main", "description", "commentary")
TEXT_KINDS: tuple[TextKind, ...] = ("subtitles", "captions", "forced")
MAX_TRACKS = 60  # per item, audio and text together
MAX_SUBTITLE_BYTES = 5 * 1024 * 1024
# A dub this close to the video's length is taken as aligned (and padded or cut to it).
DUB_SLACK_MS = 2_000
DUB_SLACK_SHARE = 0.02


async def list_tracks(session: AsyncSession, *, asset_id: int) -> list[MediaTrack]:
    """Audio first, then text; each in the order they were made (source streams first)."""
    rows = (
        await session.execute(
            select(MediaTrack)
            .where(MediaTrack.asset_id == asset_id)
            .order_by(MediaTrack.type, MediaTrack.origin, MediaTrack.stream_index, MediaTrack.id)
        )
    ).scalars()
    return sorted(rows, key=lambda r: (r.type != TrackType.audio, r.origin != "source", r.id))


def published_ids(asset: MediaAsset) -> set[int]:
    summary = asset.tracks or {}
    return {int(t["id"]) for key in ("audio", "text") for t in summary.get(key, [])}


def track_out(row: MediaTrack, published: set[int]) -> TrackOut:
    if row.hidden:
        status = "hidden"
    elif row.error:
        status = "failed"
    elif row.id in published:
        status = "published"
    else:
        status = "pending"
    cues = row.vtt.count(" --> ") if row.vtt is not None else None
    return TrackOut(
        id=row.id,
        type=row.type,
        origin=row.origin,
        stream_index=row.stream_index,
        language=row.language,
        label=row.label,
        kind=row.kind,
        default=row.is_default,
        hidden=row.hidden,
        channels=row.channels,
        cues=cues,
        status=status,
        error=row.error,
    )


def summary(m: Manifest) -> dict[str, Any]:
    """What a revision has, as the playback answer tells players (stored on the asset)."""
    names = {(t.id, s.name): name for t, s, name, _ in audio_renditions(m)}
    text_names = {t.id: name for t, name in text_renditions(m)}
    out: dict[str, Any] = {
        "audio": [
            {
                "id": t.id,
                "language": t.language,
                "label": t.label,
                "kind": t.kind,
                "default": t.default,
                "channels": [s.channels or 2 for s in t.streams],
                "hls_name": names[(t.id, t.streams[0].name)],
                "dash_adaptation_set": adaptation_set_id(t.id),
            }
            for t in m.audio
        ],
        "text": [
            {
                "id": t.id,
                "language": t.language,
                "label": t.label,
                "kind": t.kind,
                "default": t.default,
                "file": t.vtt,
                "hls_name": text_names[t.id],
                "dash_adaptation_set": adaptation_set_id(t.id),
            }
            for t in m.text
        ],
        "thumbnails": None,
    }
    if m.thumbnails is not None:
        out["thumbnails"] = {
            "file": "thumbnails.vtt",
            "interval_ms": m.thumbnails.interval_ms,
            "width": m.thumbnails.width,
            "height": m.thumbnails.height,
        }
    return out


# --- what a source brings ------------------------------------------------------------------


def _title(tag: str | None) -> str | None:
    """A source's title tag as a label: one clean line, or nothing."""
    text = " ".join("".join(c if c.isprintable() else " " for c in tag or "").split())
    return text[:100] or None


def _audio_kind(description: bool, commentary: bool) -> AudioKind:
    return "description" if description else "commentary" if commentary else "main"


async def sync_source_tracks(
    session: AsyncSession,
    *,
    asset: MediaAsset,
    info: SourceInfo,
    texts: dict[int, str],
    source_path: str,
    duration_ms: int,
) -> list[str]:
    """Make the source's streams the item's source tracks, keeping what editors changed
    while the source is the same file; returns notes on streams that could not be used."""
    notes: list[str] = []
    rows = {
        (r.type, r.stream_index): r
        for r in (
            await session.execute(
                select(MediaTrack).where(
                    MediaTrack.asset_id == asset.id, MediaTrack.origin == TrackOrigin.source
                )
            )
        ).scalars()
    }
    keep: set[int] = set()
    for a in info.audio[:MAX_AUDIO_STREAMS]:
        lang = languages.from_source(a.language)
        kind = _audio_kind(a.description, a.commentary)
        row = rows.get((TrackType.audio, a.index))
        fresh = row is None or row.source_path != source_path
        if row is None:
            row = MediaTrack(
                asset_id=asset.id,
                type=TrackType.audio,
                origin=TrackOrigin.source,
                stream_index=a.index,
            )
            session.add(row)
        if fresh:
            row.source_path = source_path
            row.language = lang
            row.label = _title(a.title) or default_label(lang, kind)
            row.kind = kind
            row.is_default = a.default
            row.hidden = False
        row.channels = a.channels
        row.error = None
        await session.flush()
        keep.add(row.id)
    for s in info.subtitles:
        if not s.is_text:
            continue  # the transcode's notes say why
        try:
            cues = subtitles.parse(texts.get(s.index, ""), duration_ms=duration_ms)
        except subtitles.SubtitleError as exc:
            notes.append(f"subtitle stream {s.index} ({s.codec}) could not be read: {exc}")
            continue
        lang = languages.from_source(s.language)
        tkind: TextKind = (
            "forced" if s.forced else "captions" if s.hearing_impaired else "subtitles"
        )
        row = rows.get((TrackType.text, s.index))
        fresh = row is None or row.source_path != source_path
        if row is None:
            row = MediaTrack(
                asset_id=asset.id,
                type=TrackType.text,
                origin=TrackOrigin.source,
                stream_index=s.index,
            )
            session.add(row)
        if fresh:
            row.source_path = source_path
            row.language = lang
            row.label = _title(s.title) or default_label(lang, tkind)
            row.kind = tkind
            row.is_default = False
            row.hidden = False
        row.vtt = subtitles.to_webvtt(cues)
        row.error = None
        await session.flush()
        keep.add(row.id)
    stale = [r.id for r in rows.values() if r.id not in keep]
    if stale:
        await session.execute(delete(MediaTrack).where(MediaTrack.id.in_(stale)))
    await _ensure_default_audio(session, asset_id=asset.id)
    return notes


async def _ensure_default_audio(session: AsyncSession, *, asset_id: int) -> None:
    """Exactly one audio track is the default when there is any: the first shown one."""
    shown = [
        r
        for r in await list_tracks(session, asset_id=asset_id)
        if r.type == TrackType.audio and not r.hidden and not r.error
    ]
    if not shown or sum(r.is_default for r in shown) == 1:
        return
    first_default = next((r for r in shown if r.is_default), shown[0])
    for r in shown:
        r.is_default = r is first_default


# --- what editors do -----------------------------------------------------------------------


def _changed(asset: MediaAsset, outbox: Outbox) -> None:
    """A track changed: the published revision is behind until the compose job runs.

    A run composes whatever the version is by then, so several queued runs cost one
    compose and no-ops (arq job ids are left random: ids live outside our key prefix)."""
    asset.tracks_version += 1
    outbox.enqueue(Job.compose_media, asset_id=asset.id)


def check_kind(track_type: TrackType, kind: str | None) -> str:
    allowed: tuple[str, ...] = AUDIO_KINDS if track_type == TrackType.audio else TEXT_KINDS
    if kind is None:
        return allowed[0]
    if kind not in allowed:
        raise InvalidInput(
            f"kind {kind!r}: {track_type.value} tracks are {', '.join(allowed)}",
            code="invalid_track_kind",
        )
    return kind


async def _count(session: AsyncSession, asset_id: int) -> int:
    return len(
        (await session.execute(select(MediaTrack.id).where(MediaTrack.asset_id == asset_id))).all()
    )


async def _clear_default(session: AsyncSession, *, asset_id: int, track_type: TrackType) -> None:
    await session.execute(
        update(MediaTrack)
        .where(MediaTrack.asset_id == asset_id, MediaTrack.type == track_type)
        .values(is_default=False)
    )


async def check_dub(ffmpeg: str, path: Path, *, video_ms: int | None, fit: bool) -> int | None:
    """An uploaded dub must be audio, about as long as the video (unless `fit`: then it is
    padded with silence or cut); returns its channel count."""
    try:
        info = await probe(ffmpeg, path, require_video=False)
    except FfmpegError as exc:
        raise InvalidInput(f"Not an audio file: {exc.reason}", code="invalid_audio") from exc
    if not info.audio:
        raise InvalidInput("The file has no audio stream", code="no_audio")
    if video_ms and info.duration_ms and not fit:
        off = abs(info.duration_ms - video_ms)
        if off > max(DUB_SLACK_MS, video_ms * DUB_SLACK_SHARE):
            raise InvalidInput(
                f"The audio is {info.duration_ms / 1000:.1f} s long and the video "
                f"{video_ms / 1000:.1f} s: upload audio aligned to the video, or add fit=true "
                "to pad it with silence or cut it",
                code="audio_length_mismatch",
            )
    return info.audio[0].channels


def check_subtitle(data: bytes, *, duration_ms: int | None, language: str | None) -> str:
    """An uploaded SRT or WebVTT as checked WebVTT; 422 naming the line that is wrong."""
    if len(data) > MAX_SUBTITLE_BYTES:
        raise InvalidInput(
            f"A subtitle file is at most {MAX_SUBTITLE_BYTES} bytes", code="subtitles_too_large"
        )
    try:
        cues = subtitles.load(data, duration_ms=duration_ms, language=language)
    except subtitles.SubtitleError as exc:
        raise InvalidInput(f"Bad subtitle file: {exc}", code="invalid_subtitles") from exc
    return subtitles.to_webvtt(cues)


async def do_add_track(
    session: AsyncSession,
    outbox: Outbox,
    *,
    asset: MediaAsset,
    track_type: TrackType,
    language: str | None,
    label: str | None,
    kind: str | None,
    default: bool,
    vtt: str | None = None,
    file_path: Path | None = None,
    channels: int | None = None,
    user_id: uuid.UUID | None,
) -> MediaTrack:
    """Add an uploaded dub (`file_path`, already checked) or subtitle (`vtt`, checked)."""
    checked_kind = check_kind(track_type, kind)
    if await _count(session, asset.id) >= MAX_TRACKS:
        raise Conflict(f"An item has at most {MAX_TRACKS} tracks", code="too_many_tracks")
    if default:
        await _clear_default(session, asset_id=asset.id, track_type=track_type)
    row = MediaTrack(
        asset_id=asset.id,
        type=track_type,
        origin=TrackOrigin.upload,
        stream_index=0 if track_type == TrackType.audio else None,
        file_path=str(file_path) if file_path else None,
        language=language,
        label=(label or default_label(language, checked_kind))[:100],
        kind=checked_kind,
        is_default=default,
        hidden=False,
        channels=channels,
        vtt=vtt,
        uploaded_by=user_id,
    )
    session.add(row)
    await session.flush()
    if track_type == TrackType.audio:
        await _ensure_default_audio(session, asset_id=asset.id)
    _changed(asset, outbox)
    await session.flush()
    await session.refresh(row)
    return row


async def access_track(session: AsyncSession, *, asset: MediaAsset, track_id: int) -> MediaTrack:
    row = await session.get(MediaTrack, track_id, with_for_update=True)
    if row is None or row.asset_id != asset.id:
        raise NotFound("No such track", code="track_not_found")
    return row


async def do_replace_subtitle(
    session: AsyncSession, outbox: Outbox, *, asset: MediaAsset, track_id: int, vtt: str
) -> MediaTrack:
    row = await access_track(session, asset=asset, track_id=track_id)
    if row.type != TrackType.text:
        raise InvalidInput("Only a text track takes a subtitle file", code="not_a_text_track")
    row.vtt = vtt
    row.error = None
    _changed(asset, outbox)
    await session.flush()
    await session.refresh(row)
    return row


async def do_update_track(
    session: AsyncSession,
    outbox: Outbox,
    *,
    asset: MediaAsset,
    track_id: int,
    changes: dict[str, Any],
) -> MediaTrack:
    """Language, label, kind, default; hidden for source tracks."""
    row = await access_track(session, asset=asset, track_id=track_id)
    if "kind" in changes:
        row.kind = check_kind(row.type, changes["kind"])
    if "language" in changes:
        row.language = changes["language"]
    if changes.get("label"):
        row.label = changes["label"]
    if "hidden" in changes and changes["hidden"] is not None:
        if row.origin != TrackOrigin.source:
            raise InvalidInput("Uploaded tracks are removed, not hidden", code="not_a_source_track")
        row.hidden = bool(changes["hidden"])
    if changes.get("default") is not None:
        if changes["default"]:
            await _clear_default(session, asset_id=asset.id, track_type=row.type)
        row.is_default = bool(changes["default"])
    await session.flush()
    if row.type == TrackType.audio:
        await _ensure_default_audio(session, asset_id=asset.id)
    _changed(asset, outbox)
    await session.flush()
    await session.refresh(row)
    return row


async def do_remove_track(
    session: AsyncSession, outbox: Outbox, *, asset: MediaAsset, track_id: int
) -> None:
    """A source track is hidden (its stream stays in the source); an upload is deleted.

    The file of a removed dub goes at the next prune, after revisions that use it."""
    row = await access_track(session, asset=asset, track_id=track_id)
    if row.origin == TrackOrigin.source:
        row.hidden = True
    else:
        await session.delete(row)
    await session.flush()
    await _ensure_default_audio(session, asset_id=asset.id)
    _changed(asset, outbox)
