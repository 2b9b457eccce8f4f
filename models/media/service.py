"""Use cases of media: attach a source, queue its transcode, sign playback grants.

The jobs that publish revisions are in models/media/publish.py; tracks, segments and
preferences have modules of their own, and models/media/playback.py puts the playback
answer together.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.tables import Episode, Season, Title, TitleKind
from models.core.context import Context
from models.core.errors import Conflict, InvalidInput, NotFound
from models.core.events import Outbox, staff_room
from models.core.jobs import Job
from models.core.pagination import Page, cursor_int, encode_cursor
from models.core.settings import Settings
from models.media import signing
from models.media.objects import ObjectStore, object_store
from models.media.schemas import IngestEvent, MediaAssetOut, RenditionOut, TrackOut
from models.media.storage import MediaStore
from models.media.tables import MediaAsset, MediaStatus

log = logging.getLogger("cinema.media")


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


def store(ctx: Context) -> MediaStore:
    return MediaStore(ctx.settings.media_dir, objects_of(ctx))


def objects_of(ctx: Context) -> ObjectStore | None:
    """The object store published media lives in (MEDIA_STORE=s3), else None (the disk)."""
    return objects_for(ctx.settings)


def objects_for(s: Settings) -> ObjectStore | None:
    if s.media_store != "s3" or not s.s3_bucket:
        return None
    return object_store(
        s.s3_bucket,
        s.s3_prefix,
        s.s3_endpoint_url,
        s.s3_region,
        s.s3_access_key_id,
        s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
    )


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


async def access_asset(session: AsyncSession, *, target: Target, lock: bool = False) -> MediaAsset:
    asset = await _asset_of(session, target, lock=lock)
    if asset is None:
        raise NotFound("This item has no video yet", code="no_media")
    return asset


def asset_out(asset: MediaAsset, tracks: Iterable[TrackOut] = ()) -> MediaAssetOut:
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
        tracks=list(tracks),
        thumbnails=bool((asset.tracks or {}).get("thumbnails")),
        tracks_pending=asset.tracks_version != asset.published_tracks_version,
        notes=list(asset.notes or []),
        updated_at=asset.updated_at,
    )


async def list_assets(
    session: AsyncSession, *, status: MediaStatus | None, cursor: str | None, limit: int
) -> Page[MediaAssetOut]:
    """Every media asset for the back office, newest first (by id: a page does not move
    while transcodes progress), with its transcode state."""
    q = select(MediaAsset)
    if status is not None:
        q = q.where(MediaAsset.status == status)
    if cursor is not None:
        q = q.where(MediaAsset.id < cursor_int(cursor, "id"))
    rows = list((await session.scalars(q.order_by(MediaAsset.id.desc()).limit(limit + 1))).all())
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[MediaAssetOut](
        items=[asset_out(a) for a in rows],
        next_cursor=encode_cursor({"id": rows[-1].id}) if more else None,
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


def queue_transcode(outbox: Outbox, asset: MediaAsset) -> None:
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
    outbox.emit("media:ingest", ingest_event(asset), room=staff_room())


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
    queue_transcode(outbox, asset)
    await session.flush()
    await session.refresh(asset)  # server-side timestamps, readable after the commit
    return asset


async def do_retranscode(
    session: AsyncSession,
    outbox: Outbox,
    *,
    media: MediaStore,
    target: Target,
    user_id: uuid.UUID | None,
) -> MediaAsset:
    """Run the ladder again from the kept source (new settings, a failed run, ...)."""
    asset = await _asset_of(session, target, lock=True)
    if asset is None:
        raise NotFound("This item has no source to transcode", code="no_media")
    # (Kept in the object store, it is fetched back here if this machine lost it.)
    if not await asyncio.to_thread(media.ensure_local, Path(asset.source_path)):
        raise Conflict("The source file is gone; upload it again", code="source_missing")
    asset.uploaded_by = user_id or asset.uploaded_by
    queue_transcode(outbox, asset)
    await session.flush()
    await session.refresh(asset)  # server-side timestamps, readable after the commit
    return asset


def sign_revision(
    ctx: Context, *, asset: MediaAsset, user_id: uuid.UUID, now: datetime
) -> tuple[str, datetime]:
    """The URL of the published revision's folder, signed for `user_id`, and its expiry.

    Every file of the revision (manifests, segments, subtitles, thumbnails) is under it.
    """
    if asset.revision is None:
        detail = f": the last transcode failed ({asset.error})" if asset.error else ""
        raise Conflict(f"The video is not ready yet{detail}", code="media_not_ready")
    expires = int(now.timestamp()) + ctx.settings.media_url_ttl_s
    prefix = f"{asset.id}/{asset.revision}"
    token = signing.sign(media_key(ctx), prefix=prefix, user_id=user_id, expires=expires)
    base = (ctx.settings.media_public_url or ctx.settings.public_url).rstrip("/")
    return f"{base}/media/{token}/{prefix}/", datetime.fromtimestamp(expires, UTC)
