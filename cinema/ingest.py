"""`cinema ingest-media TARGET FILE`: attach a local file as a source and wait for the job."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from cinema.context import build_context, close_context
from models.catalog.tables import Episode, Title, TitleKind
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import InvalidInput, NotFound
from models.core.events import Outbox
from models.core.settings import Settings
from models.media import publish, service
from models.media.storage import safe_name
from models.media.tables import MediaAsset, MediaStatus

HINT_AFTER_S = 15.0


async def resolve_target(session: AsyncSession, spec: str) -> service.Target:
    """`title:ID`, `episode:ID`, or a bare id that is exactly one film or episode."""
    kind, _, ident = spec.rpartition(":")
    if not ident.isdigit() or kind not in ("", "title", "episode"):
        raise InvalidInput(f"expected title:ID, episode:ID or ID, not {spec!r}")
    n = int(ident)
    if kind == "title":
        return await service.access_target(session, title_id=n)
    if kind == "episode":
        return await service.access_target(session, episode_id=n)
    film = (
        await session.execute(select(Title.id).where(Title.id == n, Title.kind == TitleKind.film))
    ).scalar_one_or_none()
    episode = (
        await session.execute(select(Episode.id).where(Episode.id == n))
    ).scalar_one_or_none()
    if film is not None and episode is not None:
        raise InvalidInput(f"{n} is both a film and an episode: say title:{n} or episode:{n}")
    if film is None and episode is None:
        raise NotFound(f"No film or episode with id {n}")
    return await service.access_target(session, title_id=film, episode_id=episode)


def _describe(asset: MediaAsset) -> str:
    parts = [
        f"{r['name']} {r['width']}x{r['height']} {r['bandwidth'] / 1e6:.2f} Mbit/s"
        for r in asset.renditions
    ]
    seconds = (asset.duration_ms or 0) / 1000
    return (
        f"ready: asset {asset.id}, revision {asset.revision}, {seconds:.1f} s, "
        f"renditions: {'; '.join(parts)}"
    )


async def ingest_media(settings: Settings, *, target: str, file: Path, inline: bool) -> int:
    """Returns the exit code: 0 ready, 1 failed or superseded."""
    ctx = await build_context(settings, pool_size=2, max_overflow=0)
    try:
        async with transaction(ctx.sessions) as session:
            where = await resolve_target(session, target)
        media = service.store(ctx)
        dest = media.new_source_path(where.key, file.name)
        size = await media.copy_in(file, dest)
        outbox = Outbox()
        try:
            async with transaction(ctx.sessions) as session:
                asset = await service.do_attach_source(
                    session,
                    outbox,
                    target=where,
                    source_path=dest,
                    source_name=safe_name(file.name),
                    source_size=size,
                    user_id=None,
                )
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        token = asset.job_token
        print(f"queued: asset {asset.id} from {file.name} ({size} bytes)", flush=True)
        if inline:
            outcome = await publish.run_transcode(ctx, asset_id=asset.id, token=token)
            print(outcome, flush=True)
        else:
            await ctx.flush(outbox)
        return await _wait(ctx, asset.id, token)
    finally:
        await close_context(ctx)


async def _wait(ctx: Context, asset_id: int, token: str) -> int:
    started = time.monotonic()
    hinted = False
    shown = -1.0
    while True:
        async with transaction(ctx.sessions) as session:
            asset = await session.get(MediaAsset, asset_id)
        assert asset is not None
        if asset.job_token != token:
            print("superseded: another ingest of this item started", file=sys.stderr)
            return 1
        if asset.status == MediaStatus.ready:
            print(_describe(asset), flush=True)
            return 0
        if asset.status == MediaStatus.failed:
            print(f"failed: {asset.error}", file=sys.stderr)
            return 1
        if asset.status == MediaStatus.processing and asset.progress - shown >= 0.1:
            shown = asset.progress
            print(f"processing: {asset.progress:.0%}", flush=True)
        if (
            asset.status == MediaStatus.queued
            and not hinted
            and time.monotonic() - started > HINT_AFTER_S
        ):
            hinted = True
            print("still queued: is a worker running (`cinema worker`)? Or use --inline.")
        await asyncio.sleep(0.5)
