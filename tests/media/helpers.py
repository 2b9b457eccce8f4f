"""Catalog rows, synthetic videos and waiting for transcodes, for the media tests."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import httpx

from models.catalog.tables import Episode, Season, Title, TitleKind
from models.core.context import Context
from models.core.db import transaction
from models.media.ffmpeg import find_ffmpeg, synthetic_clip_command
from tests.factories import make_title

FF = find_ffmpeg()


def make_video(path: Path, *, seconds: float = 2, size: str = "1280x720", rate: int = 24) -> Path:
    """A few seconds of ffmpeg's test pattern with a tone: a real H.264/AAC file."""
    subprocess.run(
        synthetic_clip_command(FF, path, seconds=seconds, size=size, rate=rate),
        check=True,
    )
    return path


async def make_film(ctx: Context, *, name: str = "Test Film", runtime_minutes: int = 100) -> int:
    return (await make_title(ctx, name, runtime_minutes=runtime_minutes)).id


async def make_series(
    ctx: Context, *, episodes_per_season: tuple[int, ...] = (2, 2), runtime_minutes: int = 40
) -> tuple[int, list[list[int]]]:
    """A series; returns (title id, episode ids per season in order)."""
    async with transaction(ctx.sessions) as session:
        title = Title(kind=TitleKind.series, title="Test Series")
        session.add(title)
        await session.flush()
        seasons: list[list[int]] = []
        # Seasons inserted out of order on purpose: order comes from numbers, not ids.
        for number, count in reversed(list(enumerate(episodes_per_season, start=1))):
            season = Season(title_id=title.id, number=number)
            session.add(season)
            await session.flush()
            eps = [
                Episode(
                    season_id=season.id,
                    number=n,
                    title=f"S{number}E{n}",
                    runtime_minutes=runtime_minutes,
                )
                for n in range(count, 0, -1)
            ]
            session.add_all(eps)
            await session.flush()
            seasons.insert(0, sorted((e.id for e in eps), key=lambda i: -i))
        return title.id, seasons


async def wait_media(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], timeout: float = 60
) -> dict[str, Any]:
    """Poll GET {path} until the latest transcode is ready or failed."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        if body["status"] in ("ready", "failed"):
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"transcode still {body['status']} after {timeout}s: {body}")
        await asyncio.sleep(0.1)
