"""Run the ladder: probe, encode with live progress, package, and publish atomically."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from models.media.ffmpeg import FfmpegError, SourceInfo, probe, reason_from_stderr
from models.media.ladder import Rendition, Rung, build_command, plan_renditions
from models.media.packaging import PackagingError, Track, write_hls

ProgressCallback = Callable[[float], Awaitable[None]]
# Output shorter than this share of the declared duration means the source is cut short.
SHORT_FRACTION = 0.95


@dataclass(frozen=True)
class TranscodeResult:
    source: SourceInfo
    renditions: list[Rendition]
    tracks: list[Track]
    duration_ms: int


async def _read_progress(
    stream: asyncio.StreamReader,
    duration_ms: int | None,
    on_progress: ProgressCallback | None,
) -> None:
    # `-progress pipe:1` writes key=value blocks, each closed by `progress=continue|end`.
    out_time_us = 0
    async for raw in stream:
        key, _, value = raw.decode("ascii", "replace").strip().partition("=")
        if key == "out_time_us" and value.lstrip("-").isdigit():
            out_time_us = max(0, int(value))
        elif key == "progress" and on_progress is not None and duration_ms:
            done = 1.0 if value == "end" else min(0.99, out_time_us / 1000 / duration_ms)
            await on_progress(done)


async def _read_tail(stream: asyncio.StreamReader, keep: int = 64 * 1024) -> str:
    buf = bytearray()
    while chunk := await stream.read(65536):
        buf += chunk
        del buf[:-keep]
    return buf.decode("utf-8", "replace")


async def run_ffmpeg(
    cmd: list[str],
    *,
    duration_ms: int | None,
    on_progress: ProgressCallback | None,
    source: Path | None = None,
) -> str:
    """Run ffmpeg to the end and return what it wrote to stderr (errors it lived through);
    on failure raise FfmpegError with its reason; kill it if cancelled."""
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    tail_task = asyncio.ensure_future(_read_tail(proc.stderr))
    try:
        await _read_progress(proc.stdout, duration_ms, on_progress)
        stderr = await tail_task
        code = await proc.wait()
    finally:
        # Cancelled (job timeout, worker shutdown) or a failing callback: no orphan ffmpeg.
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        tail_task.cancel()
    if code != 0:
        if not stderr.strip():
            raise FfmpegError(f"ffmpeg stopped with exit code {code}")
        raise FfmpegError(reason_from_stderr(stderr, source=source))
    return stderr


def _fresh_dir(path: Path) -> None:
    if path.exists():
        shutil.rmtree(path)
    path.mkdir(parents=True)


async def transcode(
    *,
    ffmpeg: str,
    source_path: Path,
    work_dir: Path,
    ladder: list[Rung],
    segment_s: int,
    preset: str,
    on_progress: ProgressCallback | None = None,
) -> TranscodeResult:
    """Encode `source_path` into `work_dir` (created fresh); the caller publishes it."""
    info = await probe(ffmpeg, source_path)
    renditions = plan_renditions(info, ladder)
    await asyncio.to_thread(_fresh_dir, work_dir)
    cmd = build_command(
        ffmpeg=ffmpeg,
        source_path=source_path,
        source=info,
        renditions=renditions,
        out_dir=work_dir,
        segment_s=segment_s,
        preset=preset,
    )
    stderr = await run_ffmpeg(
        cmd, duration_ms=info.duration_ms, on_progress=on_progress, source=source_path
    )
    try:
        tracks = await asyncio.to_thread(write_hls, work_dir)
    except PackagingError as e:
        raise FfmpegError(f"packaging failed: {e}") from e
    video = next(t for t in tracks if t.kind == "video")
    encoded_ms = round(video.duration_s * 1000)
    # ffmpeg exits 0 on a source cut short (an interrupted upload or copy): it encodes what
    # is there. Publishing that would be a film that stops early, so it is a failure.
    if info.duration_ms and encoded_ms < info.duration_ms * SHORT_FRACTION - 1000:
        said = f"; ffmpeg said: {reason_from_stderr(stderr, source=source_path)}" if stderr else ""
        raise FfmpegError(
            f"the source ends at {encoded_ms / 1000:.1f} s of its declared "
            f"{info.duration_ms / 1000:.1f} s: is the file complete?{said}"
        )
    return TranscodeResult(
        source=info, renditions=renditions, tracks=tracks, duration_ms=encoded_ms
    )
