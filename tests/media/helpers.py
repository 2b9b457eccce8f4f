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


def make_source(
    path: Path,
    *,
    seconds: float = 3,
    size: str = "320x180",
    audio: tuple[tuple[str | None, int], ...] = (("eng", 2), ("fre", 6)),
    subtitles: tuple[tuple[str, str], ...] = (),
    pgs: str | None = None,
    chapters: tuple[tuple[int, int, str], ...] = (),
) -> Path:
    """A small Matroska file with the given audio streams (language tag, channels), SRT
    subtitle streams (language, text), a PGS (bitmap) subtitle stream in language `pgs`, and
    named chapters (start ms, end ms, title): what a studio master looks like, tiny."""
    work = path.parent
    cmd = [FF, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
           f"testsrc2=size={size}:rate=25:duration={seconds}"]  # fmt: skip
    for i, _ in enumerate(audio):
        cmd += ["-f", "lavfi", "-i", f"sine=frequency={300 + 110 * i}:duration={seconds}"]
    for i, (_, text) in enumerate(subtitles):
        srt = work / f"{path.stem}-sub{i}.srt"
        srt.write_text(text)
        cmd += ["-i", str(srt)]
    if pgs:
        sup = work / f"{path.stem}.sup"
        sup.write_bytes(_pgs_stream())
        cmd += ["-i", str(sup)]
    if chapters:
        meta = work / f"{path.stem}-chapters.txt"
        blocks = [
            f"[CHAPTER]\nTIMEBASE=1/1000\nSTART={s}\nEND={e}\ntitle={t}\n" for s, e, t in chapters
        ]
        meta.write_text(";FFMETADATA1\n" + "".join(blocks))
        cmd += ["-i", str(meta)]
    n_inputs = 1 + len(audio) + len(subtitles) + (1 if pgs else 0)
    cmd += ["-map", "0:v"]
    for i in range(len(audio)):
        cmd += ["-map", f"{1 + i}:a"]
    for i in range(len(subtitles) + (1 if pgs else 0)):
        cmd += ["-map", f"{1 + len(audio) + i}:s"]
    if chapters:
        cmd += ["-map_chapters", str(n_inputs)]
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac"]
    for i, (lang, channels) in enumerate(audio):
        cmd += [f"-ac:a:{i}", str(channels)]
        if lang:
            cmd += [f"-metadata:s:a:{i}", f"language={lang}"]
    cmd += ["-c:s", "copy"] if pgs and not subtitles else []
    for i, (lang, _) in enumerate(subtitles):
        cmd += [f"-c:s:{i}", "srt", f"-metadata:s:s:{i}", f"language={lang}"]
    if pgs:
        j = len(subtitles)
        cmd += [f"-c:s:{j}", "copy", f"-metadata:s:s:{j}", f"language={pgs}"]
    subprocess.run([*cmd, str(path)], check=True)
    return path


def _pgs_stream() -> bytes:
    """Two empty PGS display sets: enough for ffmpeg to see a hdmv_pgs_subtitle stream."""
    import struct

    def seg(pts: int, kind: int, data: bytes) -> bytes:
        return b"PG" + struct.pack(">IIBH", pts, 0, kind, len(data)) + data

    out = b""
    for i, pts in enumerate((90_000, 180_000)):
        pcs = struct.pack(">HHBHBBBB", 320, 180, 0x10, i, 0x80, 0, 0, 0)
        out += seg(pts, 0x16, pcs) + seg(pts, 0x80, b"")
    return out


def make_audio(path: Path, *, seconds: float, channels: int = 2, hz: int = 523) -> Path:
    """An audio-only file (a dub), in the codec its extension implies (AAC otherwise)."""
    codec = {"flac": "flac", "ac3": "ac3", "eac3": "eac3", "wav": "pcm_s16le"}.get(
        path.suffix[1:], "aac"
    )
    subprocess.run(
        [FF, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency={hz}:duration={seconds}", "-ac", str(channels), "-c:a", codec,
         str(path)],
        check=True,
    )  # fmt: skip
    return path


async def wait_tracks(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], timeout: float = 60
) -> dict[str, Any]:
    """Poll GET {path} until every track change is published (or failed)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        settled = all(t["status"] != "pending" for t in body["tracks"])
        if body["status"] in ("ready", "failed") and not body["tracks_pending"] and settled:
            return body
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"tracks still pending after {timeout}s: {body}")
        await asyncio.sleep(0.1)
