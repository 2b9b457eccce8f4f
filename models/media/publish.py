"""Publishing revisions: the transcode job (a new source: everything encoded again) and the
compose job (tracks changed: a new revision next to the same video, nothing re-encoded).

Both run under the asset's lock, write into a work directory renamed into place when
complete, and switch `asset.revision` in one transaction, so viewers see the old revision or
the new one, never half of one; URLs signed for the old one keep working until the grant
expires (the old directory is pruned only after that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.events import Outbox, staff_room
from models.media import segments, subtitles, tracks
from models.media.ffmpeg import FfmpegError, find_ffmpeg
from models.media.ladder import parse_ladder
from models.media.packaging import (
    AudioTrack,
    Manifest,
    PackagingError,
    Stream,
    TextTrack,
    Thumbnails,
    read_manifest,
    text_track,
    write_manifests,
)
from models.media.schemas import RenditionOut
from models.media.service import ingest_event, queue_transcode, store
from models.media.tables import MediaAsset, MediaStatus, MediaTrack, TrackOrigin, TrackType
from models.media.transcode import encode_audio, transcode

log = logging.getLogger("cinema.media")

LOCK_TTL_MS = 60_000
PROGRESS_EVERY_S = 1.0
COMPOSE_ROUNDS = 5


class Busy(Exception):
    """Another run of the same asset holds the lock; try again shortly."""


class _Superseded(Exception):
    pass


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


@contextlib.asynccontextmanager
async def _asset_lock(ctx: Context, asset_id: int, token: str) -> AsyncIterator[None]:
    """One run per asset at a time, across workers; a crashed holder expires."""
    key = ctx.keys("media", "transcode-lock", asset_id)
    if not await ctx.redis.set(key, token, nx=True, px=LOCK_TTL_MS):
        raise Busy(f"asset {asset_id} is being transcoded")

    async def renew() -> None:
        while True:
            await asyncio.sleep(LOCK_TTL_MS / 3000)
            await ctx.redis.eval(_RENEW, 1, key, token, LOCK_TTL_MS)

    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        await ctx.redis.eval(_RELEASE, 1, key, token)


async def _emit(ctx: Context, asset: MediaAsset) -> None:
    await ctx.publisher.emit("media:ingest", ingest_event(asset), room=staff_room())


async def _finish(ctx: Context, asset_id: int, token: str, **changes: Any) -> MediaAsset | None:
    """Apply the run's outcome if it is still the current run; None if it was superseded."""
    async with transaction(ctx.sessions) as session:
        asset = await session.get(MediaAsset, asset_id, with_for_update=True)
        if asset is None or asset.job_token != token:
            return None
        for k, v in changes.items():
            setattr(asset, k, v)
    return asset


def _renditions(m: Manifest) -> list[dict[str, Any]]:
    """The ladder as editors see it: each video with the heaviest audio rendition."""
    audio = [s for t in m.audio for s in t.streams]
    peak = max((s.peak_bps for s in audio), default=0)
    avg = max((s.average_bps for s in audio), default=0)
    codecs = sorted({s.codecs for s in audio if s.codecs})
    out = [
        RenditionOut(
            name=f"{v.height}p",
            width=v.width or 0,
            height=v.height or 0,
            bandwidth=v.peak_bps + peak,
            average_bandwidth=v.average_bps + avg,
            codecs=",".join([v.codecs, *codecs]),
        ).model_dump()
        for v in m.video
    ]
    return sorted(out, key=lambda r: -int(r["height"]))


def _link(src_dir: Path, dst_dir: Path, names: list[str]) -> None:
    """Bring files of the previous revision into the new one: a hard link, else a copy."""
    for name in names:
        try:
            os.link(src_dir / name, dst_dir / name)
        except FileExistsError:
            pass
        except OSError:
            shutil.copyfile(src_dir / name, dst_dir / name)


def _fresh(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


async def assemble(
    ctx: Context,
    *,
    rows: list[MediaTrack],
    source_path: str,
    work_dir: Path,
    duration_ms: int,
    video: list[Stream],
    thumbnails: Thumbnails | None,
    encoded_audio: dict[int, list[Stream]],
    base: Manifest | None = None,
    base_dir: Path | None = None,
) -> tuple[Manifest, dict[int, str | None]]:
    """Write a revision's manifests from the track rows into `work_dir`, where the video
    (and thumbnails) already are. Audio comes from this run's encode (`encoded_audio`, by
    source stream), else from the base revision, else it is encoded now (a dub, or a
    source stream brought back); text is written from its rows' cues, or linked from the
    base revision when unchanged. Returns the manifest and each track's error (None: ok).
    """
    errors: dict[int, str | None] = {}
    ffmpeg = find_ffmpeg(ctx.settings.ffmpeg_path)
    base_audio = {t.id: t for t in base.audio} if base else {}
    base_text = {t.id: t for t in base.text} if base else {}
    audio: list[AudioTrack] = []
    for row in (r for r in rows if r.type == TrackType.audio and not r.hidden):
        layouts = [2, 6] if (row.channels or 0) >= 6 else [2]
        streams: list[Stream] | None = None
        if row.origin == TrackOrigin.source and row.stream_index in encoded_audio:
            streams = encoded_audio[row.stream_index]
        elif row.id in base_audio and base_dir is not None:
            streams = base_audio[row.id].streams
            await asyncio.to_thread(
                _link, base_dir, work_dir, [f for s in streams for f in s.files()]
            )
        else:
            path = Path(row.file_path or source_path)
            if not await asyncio.to_thread(store(ctx).ensure_local, path):
                errors[row.id] = "the file of this track is gone: upload it again"
                continue
            try:
                streams = await encode_audio(
                    ffmpeg=ffmpeg,
                    path=path,
                    stream=row.stream_index or 0,
                    channels=layouts,
                    duration_ms=duration_ms,
                    out_dir=work_dir,
                    prefix=f"a{row.id}",
                    segment_s=ctx.settings.media_segment_s,
                )
            except FfmpegError as exc:
                errors[row.id] = exc.reason
                continue
        errors[row.id] = None
        audio.append(
            AudioTrack(
                id=row.id,
                language=row.language,
                label=row.label,
                kind=row.kind,
                default=row.is_default,
                streams=streams,
            )
        )
    if audio and not any(t.default for t in audio):
        audio[0] = audio[0].model_copy(update={"default": True})
    text: list[TextTrack] = []
    files: dict[str, str] = {}
    for row in (r for r in rows if r.type == TrackType.text and not r.hidden and r.vtt):
        try:
            cues = subtitles.parse(row.vtt or "", duration_ms=duration_ms)
        except subtitles.SubtitleError as exc:
            # Cues past the end of a new, shorter cut of the film.
            errors[row.id] = f"does not fit this video: {exc}"
            continue
        track, track_files = text_track(
            id=row.id,
            language=row.language,
            label=row.label,
            kind=row.kind,  # type: ignore[arg-type]
            default=row.is_default,
            cues=cues,
            video=video[0],
        )
        old = base_text.get(row.id)
        if old is not None and old.sha256 == track.sha256 and base_dir is not None:
            await asyncio.to_thread(_link, base_dir, work_dir, old.files())
        else:
            files.update(track_files)
        errors[row.id] = None
        text.append(track)

    def _write() -> Manifest:
        for name, body in files.items():
            (work_dir / name).write_text(body)
        m = Manifest(
            duration_ms=duration_ms,
            video=video,
            audio=audio,
            text=text,
            thumbnails=thumbnails,
        )
        write_manifests(work_dir, m)
        return m

    return await asyncio.to_thread(_write), errors


async def _record_errors(session: Any, errors: dict[int, str | None]) -> None:
    for track_id, error in errors.items():
        await session.execute(
            update(MediaTrack).where(MediaTrack.id == track_id).values(error=error)
        )


async def _hidden_source_audio(ctx: Context, asset_id: int, source_path: str) -> set[int]:
    async with transaction(ctx.sessions) as session:
        rows = await session.execute(
            select(MediaTrack.stream_index).where(
                MediaTrack.asset_id == asset_id,
                MediaTrack.type == TrackType.audio,
                MediaTrack.origin == TrackOrigin.source,
                MediaTrack.source_path == source_path,
                MediaTrack.hidden.is_(True),
            )
        )
        return {int(i) for i in rows.scalars() if i is not None}


# --- the transcode job -------------------------------------------------------------------


async def run_transcode(ctx: Context, *, asset_id: int, token: str) -> str:
    """The job: encode the asset's source into a new revision and publish it.

    Safe to run again and to run late: a run whose token is no longer the asset's is
    skipped (or stops at its next progress tick), output is written to a work directory
    and renamed into place only when complete, and the previous revision keeps playing
    until the new one is published.
    """
    async with transaction(ctx.sessions) as session:
        asset = await session.get(MediaAsset, asset_id)
        if asset is None or asset.job_token != token:
            return "superseded"
        if asset.status == MediaStatus.ready and (asset.revision or "").endswith(token[:8]):
            return f"ready: asset {asset_id} revision {asset.revision} (already done)"
    outcome = await _transcode_locked(ctx, asset_id=asset_id, token=token)
    if outcome.startswith("ready"):
        # Track changes made while this ran: a compose brings the new revision up to date.
        await run_compose(ctx, asset_id=asset_id)
    return outcome


async def _transcode_locked(ctx: Context, *, asset_id: int, token: str) -> str:
    media = store(ctx)
    revision = f"r{int(time.time())}-{token[:8]}"
    async with _asset_lock(ctx, asset_id, token):
        started = await _finish(
            ctx, asset_id, token, status=MediaStatus.processing, progress=0.0, error=None
        )
        if started is None:
            return "superseded"
        await _emit(ctx, started)
        source = Path(started.source_path)
        # On a machine that never had it (or lost its disk), from the object store.
        await asyncio.to_thread(media.ensure_local, source)
        hidden = await _hidden_source_audio(ctx, asset_id, str(source))
        work = media.work_dir(asset_id, revision)
        last = 0.0

        async def on_progress(fraction: float) -> None:
            nonlocal last
            if fraction < 1.0 and time.monotonic() - last < PROGRESS_EVERY_S:
                return
            last = time.monotonic()
            async with transaction(ctx.sessions) as s:
                moved = await s.execute(
                    update(MediaAsset)
                    .where(MediaAsset.id == asset_id, MediaAsset.job_token == token)
                    .values(progress=round(min(fraction, 0.99), 4))
                    .returning(MediaAsset)
                )
                current = moved.scalar_one_or_none()
            if current is None:
                raise _Superseded
            await _emit(ctx, current)

        try:
            enc = await transcode(
                ffmpeg=find_ffmpeg(ctx.settings.ffmpeg_path),
                source_path=source,
                work_dir=work,
                ladder=parse_ladder(ctx.settings.media_ladder),
                segment_s=ctx.settings.media_segment_s,
                preset=ctx.settings.media_x264_preset,
                thumbnail_interval_s=ctx.settings.media_thumbnail_interval_s,
                skip_audio=hidden,
                on_progress=on_progress,
            )
            async with transaction(ctx.sessions) as session:
                asset = await session.get(MediaAsset, asset_id, with_for_update=True)
                if asset is None or asset.job_token != token:
                    raise _Superseded
                notes = enc.notes + await tracks.sync_source_tracks(
                    session,
                    asset=asset,
                    info=enc.source,
                    texts=enc.subtitles,
                    source_path=str(source),
                    duration_ms=enc.duration_ms,
                )
                await segments.sync_chapters(
                    session,
                    asset_id=asset_id,
                    chapters=enc.source.chapters,
                    duration_ms=enc.duration_ms,
                )
                rows = await tracks.list_tracks(session, asset_id=asset_id)
                version = asset.tracks_version
            manifest, errors = await assemble(
                ctx,
                rows=rows,
                source_path=str(source),
                work_dir=work,
                duration_ms=enc.duration_ms,
                video=enc.video,
                thumbnails=enc.thumbnails,
                encoded_audio=enc.audio,
            )
        except _Superseded:
            media.discard(asset_id, revision)
            return "superseded"
        except (FfmpegError, PackagingError) as e:
            reason = e.reason if isinstance(e, FfmpegError) else f"packaging failed: {e}"
            media.discard(asset_id, revision)
            failed = await _finish(ctx, asset_id, token, status=MediaStatus.failed, error=reason)
            if failed is not None:
                await _emit(ctx, failed)
            log.warning("transcode of asset %s failed: %s", asset_id, reason)
            return f"failed: {reason}"
        except BaseException:
            # Cancelled (job timeout, shutdown) or a bug: leave no half output, say so.
            media.discard(asset_id, revision)
            with contextlib.suppress(Exception):
                failed = await _finish(
                    ctx,
                    asset_id,
                    token,
                    status=MediaStatus.failed,
                    error="the transcode was interrupted; run it again",
                )
                if failed is not None:
                    await _emit(ctx, failed)
            raise
        await asyncio.to_thread(media.publish, asset_id, revision)
        done = await _finish(
            ctx,
            asset_id,
            token,
            status=MediaStatus.ready,
            progress=1.0,
            error=None,
            revision=revision,
            duration_ms=enc.duration_ms,
            width=enc.source.width,
            height=enc.source.height,
            renditions=_renditions(manifest),
            tracks=tracks.summary(manifest),
            published_tracks_version=version,
            notes=notes,
            ready_at=clock.now(),
        )
        if done is None:
            await asyncio.to_thread(media.drop_revision, asset_id, revision)
            return "superseded"
        async with transaction(ctx.sessions) as session:
            await _record_errors(session, errors)
        await asyncio.to_thread(
            media.prune,
            asset_id,
            current_revision=revision,
            current_source=source,
            grace_s=ctx.settings.media_url_ttl_s,
        )
    await _emit(ctx, done)
    names = ", ".join(r["name"] for r in done.renditions)
    return f"ready: asset {asset_id} revision {revision} ({names})"


# --- the compose job -----------------------------------------------------------------------


async def run_compose(ctx: Context, *, asset_id: int) -> str:
    """The job after a track change: publish a revision with the tracks as they are now,
    reusing the published revision's video, thumbnails and unchanged tracks.

    Whoever holds the asset's lock looks again after letting go (the transcode job calls
    this at its end, and this loops), so a change made while another run held the lock is
    never left behind: a run that finds the lock taken can simply stop.
    """
    outcome = "up to date"
    for _ in range(COMPOSE_ROUNDS):
        async with transaction(ctx.sessions) as session:
            asset = await session.get(MediaAsset, asset_id)
            if asset is None:
                return "gone"
            if asset.revision is None:
                return "nothing published yet: the transcode takes the tracks as they are"
            if asset.tracks_version == asset.published_tracks_version:
                return outcome
        token = uuid.uuid4().hex
        try:
            async with _asset_lock(ctx, asset_id, token):
                outcome = await _compose_locked(ctx, asset_id=asset_id, token=token)
        except Busy:
            return "busy: the run holding the asset takes the change when it ends"
    return outcome


async def _compose_locked(ctx: Context, *, asset_id: int, token: str) -> str:
    media = store(ctx)
    async with transaction(ctx.sessions) as session:
        asset = await session.get(MediaAsset, asset_id)
        if asset is None or asset.revision is None:
            return "nothing to compose"
        base_revision = asset.revision
        version = asset.tracks_version
        source_path = asset.source_path
        rows = await tracks.list_tracks(session, asset_id=asset_id)
    base_dir = media.revision_dir(asset_id, base_revision)
    try:
        base = await asyncio.to_thread(read_manifest, base_dir)
    except PackagingError:
        # A revision from before tracks existed has no tracks.json: only a transcode can
        # make one with them (from the kept source).
        outbox = Outbox()
        async with transaction(ctx.sessions) as session:
            asset = await session.get(MediaAsset, asset_id, with_for_update=True)
            if asset is None or asset.revision != base_revision:
                return "superseded"
            queue_transcode(outbox, asset)
        await ctx.flush(outbox)
        return f"revision {base_revision} predates tracks: transcoding again"
    revision = f"r{int(time.time())}-{token[:8]}"
    work = media.work_dir(asset_id, revision)
    try:
        await asyncio.to_thread(_fresh, work)
        kept = [f for s in base.video for f in s.files()]
        if base.thumbnails is not None:
            kept += base.thumbnails.sheets
        await asyncio.to_thread(_link, base_dir, work, kept)
        manifest, errors = await assemble(
            ctx,
            rows=rows,
            source_path=source_path,
            work_dir=work,
            duration_ms=base.duration_ms,
            video=base.video,
            thumbnails=base.thumbnails,
            encoded_audio={},
            base=base,
            base_dir=base_dir,
        )
    except (FfmpegError, PackagingError, OSError) as e:
        media.discard(asset_id, revision)
        log.warning("compose of asset %s failed: %s", asset_id, e)
        return f"failed: {e}"
    except BaseException:
        media.discard(asset_id, revision)
        raise
    await asyncio.to_thread(media.publish, asset_id, revision)
    async with transaction(ctx.sessions) as session:
        asset = await session.get(MediaAsset, asset_id, with_for_update=True)
        if asset is None or asset.revision != base_revision:
            # A transcode published meanwhile (its lock had expired): it wins.
            await asyncio.to_thread(media.drop_revision, asset_id, revision)
            return "superseded"
        asset.revision = revision
        asset.renditions = _renditions(manifest)
        asset.tracks = tracks.summary(manifest)
        asset.published_tracks_version = version
        await _record_errors(session, errors)
    await asyncio.to_thread(
        media.prune,
        asset_id,
        current_revision=revision,
        current_source=Path(source_path),
        grace_s=ctx.settings.media_url_ttl_s,
    )
    await asyncio.to_thread(
        media.prune_track_files, asset_id, keep={r.file_path for r in rows if r.file_path}
    )
    await _emit(ctx, asset)
    return f"composed: asset {asset_id} revision {revision}"


async def do_prune_orphans(ctx: Context, *, grace_s: int = 24 * 3600) -> list[Path]:
    """Delete files of media whose asset row went with its film or episode (FK cascade),
    and uploaded dubs no track uses any more."""
    async with transaction(ctx.sessions) as session:
        rows = (
            await session.execute(select(MediaAsset.id, MediaAsset.title_id, MediaAsset.episode_id))
        ).all()
        dubs = (
            await session.execute(
                select(MediaTrack.asset_id, MediaTrack.file_path).where(
                    MediaTrack.file_path.is_not(None)
                )
            )
        ).all()
    asset_ids = {r.id for r in rows}
    keys = {f"episode-{r.episode_id}" if r.episode_id else f"film-{r.title_id}" for r in rows}
    media = store(ctx)
    removed = await asyncio.to_thread(
        media.prune_orphans, asset_ids=asset_ids, item_keys=keys, grace_s=grace_s
    )
    keep: dict[int, set[str]] = {}
    for d in dubs:
        keep.setdefault(d.asset_id, set()).add(str(d.file_path))
    folders = await asyncio.to_thread(
        lambda: [p.name for p in media.tracks.iterdir()] if media.tracks.is_dir() else []
    )
    for name in folders:
        if name.isdigit() and int(name) in asset_ids:
            await asyncio.to_thread(
                media.prune_track_files, int(name), keep=keep.get(int(name), set()), grace_s=grace_s
            )
    for path in removed:
        log.info("pruned orphaned media %s", path)
    return removed
