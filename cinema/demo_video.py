"""A playable demo film for `make run`: ffmpeg's test pattern with a tone, put through the
real ingest (source kept, ladder transcode queued for the worker), so a fresh checkout can
stream with HLS/DASH and hold a watch party without bringing a video file."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sqlalchemy import select

from cinema.context import build_context, close_context
from models.catalog.tables import Title, TitleKind
from models.core.db import transaction
from models.core.events import Outbox
from models.core.settings import Settings
from models.media import service
from models.media.ffmpeg import find_ffmpeg, synthetic_clip_command
from models.media.tables import MediaAsset

DEMO_FILM = "Spirited Away"


async def make_clip(ffmpeg: str, dest: Path, *, seconds: int, size: str = "1280x720") -> None:
    """An H.264/AAC clip with a running clock on it, so players and parties show progress."""
    proc = await asyncio.create_subprocess_exec(
        *synthetic_clip_command(ffmpeg, dest, seconds=seconds, size=size, tone_hz=330),
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"ffmpeg could not make the demo clip: {err.decode()[-500:]}")


async def queue_demo_video(
    settings: Settings, *, seconds: int = 30, film_name: str = DEMO_FILM
) -> str:
    """Give the demo film a source and queue its transcode, once; says what it did."""
    ctx = await build_context(settings, pool_size=1, max_overflow=0)
    try:
        async with transaction(ctx.sessions) as session:
            film = await session.scalar(
                select(Title.id).where(Title.title == film_name, Title.kind == TitleKind.film)
            )
            if film is None:
                return f"no demo film {film_name!r}: run `cinema seed` first"
            if await session.scalar(select(MediaAsset.id).where(MediaAsset.title_id == film)):
                return f"{film_name} (title {film}) already has a video"
            target = await service.access_target(session, title_id=film)
        media = service.store(ctx)
        with tempfile.TemporaryDirectory() as tmp:
            clip = Path(tmp) / "demo.mp4"
            await make_clip(find_ffmpeg(settings.ffmpeg_path), clip, seconds=seconds)
            dest = media.new_source_path(target.key, clip.name)
            size = await media.copy_in(clip, dest)
        outbox = Outbox()
        try:
            async with transaction(ctx.sessions) as session:
                await service.do_attach_source(
                    session,
                    outbox,
                    target=target,
                    source_path=dest,
                    source_name="demo.mp4",
                    source_size=size,
                    user_id=None,
                )
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        await ctx.flush(outbox)
        return (
            f"{film_name} (title {film}) gets a {seconds} s demo video; the worker is "
            f"transcoding it now, then GET /api/v1/titles/{film}/playback streams it"
        )
    finally:
        await close_context(ctx)
