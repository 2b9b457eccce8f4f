"""Use cases of media: attach a source, run the transcode, hand out signed playback URLs."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.tables import Episode, Season, Title, TitleKind
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import Conflict, InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.jobs import Job
from models.media import signing
from models.media.ffmpeg import FfmpegError, find_ffmpeg
from models.media.ladder import parse_ladder
from models.media.schemas import IngestEvent, MediaAssetOut, PlaybackOut, RenditionOut
from models.media.storage import MediaStore
from models.media.tables import MediaAsset, MediaStatus
from models.media.transcode import TranscodeResult, transcode

log = logging.getLogger("cinema.media")

LOCK_TTL_MS = 60_000
PROGRESS_EVERY_S = 1.0


@dataclass(frozen=True)
class Target:
    """A playable item: a film, or an episode of a series."""

    title: Title
    episode: Episode | None = None
    season: Season | None = None

    @property
    def title_id(self) -> int:
        return self.title.id

    @property
    def episode_id(self) -> int | None:
        return self.episode.id if self.episode else None

    @property
    def key(self) -> str:
        """A name for the item on disk (sources are saved before the asset row exists)."""
        return f"episode-{self.episode.id}" if self.episode else f"film-{self.title.id}"


class Busy(Exception):
    """Another transcode of the same asset holds the lock; try again shortly."""


class _Superseded(Exception):
    pass


def store(ctx: Context) -> MediaStore:
    return MediaStore(ctx.settings.media_dir)


@functools.lru_cache(maxsize=4)
def _key(secret: bytes) -> bytes:
    return signing.media_key(secret)


def media_key(ctx: Context) -> bytes:
    return _key(ctx.settings.secret)


async def access_target(
    session: AsyncSession, *, title_id: int | None = None, episode_id: int | None = None
) -> Target:
    """Load what is to be played; a series itself is not playable, its episodes are."""
    if episode_id is not None:
        row = (
            await session.execute(
                select(Episode, Season, Title)
                .join(Season, Episode.season_id == Season.id)
                .join(Title, Season.title_id == Title.id)
                .where(Episode.id == episode_id)
            )
        ).one_or_none()
        if row is None:
            raise NotFound("No such episode", code="episode_not_found")
        return Target(title=row[2], episode=row[0], season=row[1])
    title = await session.get(Title, title_id) if title_id is not None else None
    if title is None:
        raise NotFound("No such title", code="title_not_found")
    if title.kind == TitleKind.series:
        raise InvalidInput(
            "A series is played by episode: use its episodes' ids", code="series_needs_episode"
        )
    return Target(title=title)


async def _asset_of(
    session: AsyncSession, target: Target, *, lock: bool = False
) -> MediaAsset | None:
    q = select(MediaAsset).where(
        MediaAsset.episode_id == target.episode_id
        if target.episode is not None
        else MediaAsset.title_id == target.title_id
    )
    if lock:
        q = q.with_for_update()
    return (await session.execute(q)).scalar_one_or_none()


async def access_asset(session: AsyncSession, *, target: Target) -> MediaAsset:
    asset = await _asset_of(session, target)
    if asset is None:
        raise NotFound("This item has no video yet", code="no_media")
    return asset


def asset_out(asset: MediaAsset) -> MediaAssetOut:
    return MediaAssetOut(
        id=asset.id,
        title_id=asset.title_id,
        episode_id=asset.episode_id,
        status=asset.status,
        progress=asset.progress,
        error=asset.error,
        source_name=asset.source_name,
        source_size=asset.source_size,
        playable=asset.revision is not None,
        duration_ms=asset.duration_ms,
        width=asset.width,
        height=asset.height,
        renditions=[RenditionOut.model_validate(r) for r in asset.renditions],
        updated_at=asset.updated_at,
    )


def ingest_event(asset: MediaAsset) -> dict[str, Any]:
    return IngestEvent(
        asset_id=asset.id,
        title_id=asset.title_id,
        episode_id=asset.episode_id,
        status=asset.status,
        progress=asset.progress,
        error=asset.error,
    ).model_dump(mode="json")


def _queue(outbox: Outbox, asset: MediaAsset) -> None:
    asset.job_token = uuid.uuid4().hex
    asset.status = MediaStatus.queued
    asset.progress = 0.0
    asset.error = None
    # A deterministic job id: enqueueing the same run twice is one job.
    outbox.enqueue(
        Job.transcode_media,
        asset_id=asset.id,
        token=asset.job_token,
        _job_id=f"media:{asset.id}:{asset.job_token}",
    )
    if asset.uploaded_by is not None:
        outbox.emit("media:ingest", ingest_event(asset), room=user_room(asset.uploaded_by))


async def do_attach_source(
    session: AsyncSession,
    outbox: Outbox,
    *,
    target: Target,
    source_path: Path,
    source_name: str,
    source_size: int,
    user_id: uuid.UUID | None,
) -> MediaAsset:
    """Make `source_path` the item's source and queue its transcode.

    A transcode already running for the item is superseded: it notices at its next progress
    tick and stops, and the new one starts when the old one has let go of the asset.
    """
    values = {
        "title_id": None if target.episode else target.title_id,
        "episode_id": target.episode_id,
        "status": MediaStatus.queued,
        "source_path": str(source_path),
        "source_name": source_name[:300],
        "source_size": source_size,
        "uploaded_by": user_id,
        "job_token": "",
    }
    # Two first uploads at once must not both insert: the unique target makes one a no-op.
    await session.execute(insert(MediaAsset).values(**values).on_conflict_do_nothing())
    asset = await _asset_of(session, target, lock=True)
    assert asset is not None
    asset.source_path = str(source_path)
    asset.source_name = source_name[:300]
    asset.source_size = source_size
    asset.uploaded_by = user_id
    _queue(outbox, asset)
    await session.flush()
    await session.refresh(asset)  # server-side timestamps, readable after the commit
    return asset


async def do_retranscode(
    session: AsyncSession, outbox: Outbox, *, target: Target, user_id: uuid.UUID | None
) -> MediaAsset:
    """Run the ladder again from the kept source (new settings, a failed run, ...)."""
    asset = await _asset_of(session, target, lock=True)
    if asset is None:
        raise NotFound("This item has no source to transcode", code="no_media")
    if not await asyncio.to_thread(os.path.isfile, asset.source_path):
        raise Conflict("The source file is gone; upload it again", code="source_missing")
    asset.uploaded_by = user_id or asset.uploaded_by
    _queue(outbox, asset)
    await session.flush()
    await session.refresh(asset)  # server-side timestamps, readable after the commit
    return asset


def playback_for(
    ctx: Context, *, asset: MediaAsset, user_id: uuid.UUID, now: datetime
) -> PlaybackOut:
    if asset.revision is None:
        detail = f": the last transcode failed ({asset.error})" if asset.error else ""
        raise Conflict(f"The video is not ready yet{detail}", code="media_not_ready")
    expires = int(now.timestamp()) + ctx.settings.media_url_ttl_s
    prefix = f"{asset.id}/{asset.revision}"
    token = signing.sign(media_key(ctx), prefix=prefix, user_id=user_id, expires=expires)
    base = (ctx.settings.media_public_url or ctx.settings.public_url).rstrip("/")
    root = f"{base}/media/{token}/{prefix}/"
    return PlaybackOut(
        hls=root + "master.m3u8",
        dash=root + "manifest.mpd",
        expires_at=datetime.fromtimestamp(expires, UTC),
    )


async def access_playback(
    ctx: Context, session: AsyncSession, *, user_id: uuid.UUID, target: Target, now: datetime
) -> PlaybackOut:
    """Signed, short-lived URLs of the item's HLS master and DASH manifest."""
    asset = await access_asset(session, target=target)
    return playback_for(ctx, asset=asset, user_id=user_id, now=now)


# --- the transcode job -------------------------------------------------------------------

_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end"
_RENEW = (
    "if redis.call('get', KEYS[1]) == ARGV[1] then "
    "return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
)


@contextlib.asynccontextmanager
async def _asset_lock(ctx: Context, asset_id: int, token: str) -> AsyncIterator[None]:
    """One transcode per asset at a time, across workers; a crashed holder expires."""
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
    if asset.uploaded_by is not None:
        await ctx.publisher.emit(
            "media:ingest", ingest_event(asset), room=user_room(asset.uploaded_by)
        )


async def _finish(ctx: Context, asset_id: int, token: str, **changes: Any) -> MediaAsset | None:
    """Apply the run's outcome if it is still the current run; None if it was superseded."""
    async with transaction(ctx.sessions) as session:
        asset = await session.get(MediaAsset, asset_id, with_for_update=True)
        if asset is None or asset.job_token != token:
            return None
        for k, v in changes.items():
            setattr(asset, k, v)
    return asset


def _renditions(result: TranscodeResult) -> list[dict[str, Any]]:
    audio = next((t for t in result.tracks if t.kind == "audio"), None)
    out = []
    for t in (t for t in result.tracks if t.kind == "video"):
        out.append(
            RenditionOut(
                name=f"{t.height}p",
                width=t.width or 0,
                height=t.height or 0,
                bandwidth=t.peak_bps + (audio.peak_bps if audio else 0),
                average_bandwidth=t.average_bps + (audio.average_bps if audio else 0),
                codecs=",".join(c for c in (t.codecs, audio.codecs if audio else "") if c),
            ).model_dump()
        )
    return sorted(out, key=lambda r: -int(r["height"]))


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
            result = await transcode(
                ffmpeg=find_ffmpeg(ctx.settings.ffmpeg_path),
                source_path=source,
                work_dir=media.work_dir(asset_id, revision),
                ladder=parse_ladder(ctx.settings.media_ladder),
                segment_s=ctx.settings.media_segment_s,
                preset=ctx.settings.media_x264_preset,
                on_progress=on_progress,
            )
        except _Superseded:
            media.discard(asset_id, revision)
            return "superseded"
        except FfmpegError as e:
            media.discard(asset_id, revision)
            failed = await _finish(ctx, asset_id, token, status=MediaStatus.failed, error=e.reason)
            if failed is not None:
                await _emit(ctx, failed)
            log.warning("transcode of asset %s failed: %s", asset_id, e.reason)
            return f"failed: {e.reason}"
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
            duration_ms=result.duration_ms,
            width=result.source.width,
            height=result.source.height,
            renditions=_renditions(result),
            ready_at=clock.now(),
        )
        if done is None:
            await asyncio.to_thread(media.drop_revision, asset_id, revision)
            return "superseded"
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


async def do_prune_orphans(ctx: Context, *, grace_s: int = 24 * 3600) -> list[Path]:
    """Delete files of media whose asset row went with its film or episode (FK cascade)."""
    async with transaction(ctx.sessions) as session:
        rows = (
            await session.execute(select(MediaAsset.id, MediaAsset.title_id, MediaAsset.episode_id))
        ).all()
    asset_ids = {r.id for r in rows}
    keys = {f"episode-{r.episode_id}" if r.episode_id else f"film-{r.title_id}" for r in rows}
    removed = await asyncio.to_thread(
        store(ctx).prune_orphans, asset_ids=asset_ids, item_keys=keys, grace_s=grace_s
    )
    for path in removed:
        log.info("pruned orphaned media %s", path)
    return removed
