"""Run the ladder: probe, encode with live progress (video, every audio stream, text
subtitles, seek-bar sprites, all in one ffmpeg run), and describe what was made."""

from __future__ import annotations

import asyncio
import contextlib
import math
import shutil
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path

from models.media import languages, subtitles
from models.media.ffmpeg import FfmpegError, SourceInfo, probe, reason_from_stderr
from models.media.ladder import (
    MAX_AUDIO_STREAMS,
    AudioOut,
    Rendition,
    Rung,
    ThumbnailPlan,
    build_audio_command,
    build_command,
    plan_audio,
    plan_renditions,
    plan_thumbnails,
    tile_command,
)
from models.media.packaging import (
    AudioKind,
    AudioTrack,
    Manifest,
    PackagingError,
    Stream,
    TextKind,
    TextTrack,
    Thumbnails,
    default_label,
    read_mpd,
    text_track,
    write_manifests,
)

ProgressCallback = Callable[[float], Awaitable[None]]
# Output shorter than this share of the declared duration means the source is cut short.
SHORT_FRACTION = 0.95


@dataclass(frozen=True)
class Encoded:
    """What one transcode made in its work directory (no manifests yet)."""

    source: SourceInfo
    renditions: list[Rendition]
    video: list[Stream]
    audio: dict[int, list[Stream]]  # source audio stream -> its renditions, stereo first
    subtitles: dict[int, str]  # source subtitle stream -> the WebVTT ffmpeg made of it
    thumbnails: Thumbnails | None
    duration_ms: int
    notes: list[str] = field(default_factory=list)  # what was left out, and why

    @property
    def tracks(self) -> list[Stream]:
        return [*self.video, *(s for streams in self.audio.values() for s in streams)]


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


def _notes_for(info: SourceInfo, audio: list[int], subs: list[int]) -> list[str]:
    notes = []
    if len(info.audio) > MAX_AUDIO_STREAMS:
        notes.append(
            f"the source has {len(info.audio)} audio streams: only the first "
            f"{MAX_AUDIO_STREAMS} are kept"
        )
    for s in info.subtitles:
        if not s.is_text:
            lang = languages.from_source(s.language)
            notes.append(
                f"subtitle stream {s.index} ({s.codec}{', ' + lang if lang else ''}) is a "
                "bitmap format (pictures of text) and was not converted: upload it as "
                "WebVTT or SRT"
            )
    return notes


def _glob(folder: Path, pattern: str) -> list[Path]:
    return sorted(folder.glob(pattern))


def _unlink(paths: list[Path]) -> None:
    for p in paths:
        p.unlink(missing_ok=True)


async def _thumbnails(
    ffmpeg: str, work_dir: Path, plan: ThumbnailPlan, duration_ms: int
) -> Thumbnails | None:
    singles = await asyncio.to_thread(_glob, work_dir, "thumb-*.jpg")
    if not singles:
        return None
    await run_ffmpeg(
        tile_command(ffmpeg=ffmpeg, out_dir=work_dir, plan=plan), duration_ms=None, on_progress=None
    )
    await asyncio.to_thread(_unlink, singles)
    sheets = await asyncio.to_thread(_glob, work_dir, "sprite-*.jpg")
    if not sheets:
        return None
    interval_ms = round(plan.interval_s * 1000)
    count = min(math.ceil(duration_ms / interval_ms), len(singles))
    sheets = sheets[: math.ceil(count / plan.per_sheet)]
    return Thumbnails(
        interval_ms=interval_ms,
        width=plan.width,
        height=plan.height,
        columns=plan.columns,
        rows=plan.rows,
        count=count,
        sheets=[s.name for s in sheets],
        sheet_bytes=max(s.stat().st_size for s in sheets),
    )


def _collect(
    work_dir: Path, n_video: int, audio: list[AudioOut], subs: list[tuple[int, Path]]
) -> tuple[list[Stream], dict[int, list[Stream]], dict[int, str]]:
    streams = read_mpd(work_dir)
    video = [s for s in streams if s.kind == "video"]
    if len(video) != n_video:
        raise PackagingError(f"expected {n_video} video renditions, ffmpeg made {len(video)}")
    by_rep = {s.name: s for s in streams}
    out_audio: dict[int, list[Stream]] = {}
    for k, a in enumerate(audio):
        stream = by_rep.get(str(n_video + k))
        if stream is None or stream.kind != "audio":
            raise PackagingError(f"audio stream {a.stream} was not encoded")
        out_audio.setdefault(a.stream, []).append(stream)
    texts: dict[int, str] = {}
    for index, path in subs:
        with contextlib.suppress(OSError):
            texts[index] = path.read_text("utf-8", "replace")
        path.unlink(missing_ok=True)
    return video, out_audio, texts


async def transcode(
    *,
    ffmpeg: str,
    source_path: Path,
    work_dir: Path,
    ladder: list[Rung],
    segment_s: int,
    preset: str,
    thumbnail_interval_s: float = 0,
    skip_audio: Collection[int] = (),
    on_progress: ProgressCallback | None = None,
) -> Encoded:
    """Encode `source_path` into `work_dir` (created fresh); the caller writes manifests.

    Every audio stream (up to MAX_AUDIO_STREAMS) but those in `skip_audio` is encoded, every
    text subtitle stream is extracted as WebVTT.
    """
    info = await probe(ffmpeg, source_path)
    renditions = plan_renditions(info, ladder)
    wanted = [a.index for a in info.audio[:MAX_AUDIO_STREAMS] if a.index not in skip_audio]
    audio = plan_audio([(i, info.audio[i].channels) for i in wanted])
    text_streams = [s.index for s in info.subtitles if s.is_text]
    subs = [(i, work_dir / f"source-subtitle-{i}.vtt") for i in text_streams]
    thumbs = plan_thumbnails(info, thumbnail_interval_s)
    await asyncio.to_thread(_fresh_dir, work_dir)
    cmd = build_command(
        ffmpeg=ffmpeg,
        source_path=source_path,
        source=info,
        renditions=renditions,
        out_dir=work_dir,
        segment_s=segment_s,
        preset=preset,
        audio=audio,
        subtitles=subs,
        thumbnails=thumbs,
    )
    stderr = await run_ffmpeg(
        cmd, duration_ms=info.duration_ms, on_progress=on_progress, source=source_path
    )
    try:
        video, audio_out, texts = await asyncio.to_thread(
            _collect, work_dir, len(renditions), audio, subs
        )
    except PackagingError as e:
        raise FfmpegError(f"packaging failed: {e}") from e
    encoded_ms = round(video[0].duration_s * 1000)
    # ffmpeg exits 0 on a source cut short (an interrupted upload or copy): it encodes what
    # is there. Publishing that would be a film that stops early, so it is a failure.
    if info.duration_ms and encoded_ms < info.duration_ms * SHORT_FRACTION - 1000:
        said = f"; ffmpeg said: {reason_from_stderr(stderr, source=source_path)}" if stderr else ""
        raise FfmpegError(
            f"the source ends at {encoded_ms / 1000:.1f} s of its declared "
            f"{info.duration_ms / 1000:.1f} s: is the file complete?{said}"
        )
    thumbnails = await _thumbnails(ffmpeg, work_dir, thumbs, encoded_ms) if thumbs else None
    return Encoded(
        source=info,
        renditions=renditions,
        video=video,
        audio=audio_out,
        subtitles=texts,
        thumbnails=thumbnails,
        duration_ms=encoded_ms,
        notes=_notes_for(info, wanted, text_streams),
    )


async def encode_audio(
    *,
    ffmpeg: str,
    path: Path,
    stream: int,
    channels: list[int],
    duration_ms: int,
    out_dir: Path,
    prefix: str,
    segment_s: int,
) -> list[Stream]:
    """Encode one audio stream of `path` next to a revision's video (see
    build_audio_command); returns its renditions, named `<prefix>-<n>`."""
    scratch = out_dir / f".{prefix}"
    await asyncio.to_thread(_fresh_dir, scratch)
    try:
        cmd = build_audio_command(
            ffmpeg=ffmpeg,
            source_path=path,
            stream=stream,
            channels=channels,
            duration_ms=duration_ms,
            out_dir=scratch,
            prefix=prefix,
            segment_s=segment_s,
        )
        await run_ffmpeg(cmd, duration_ms=duration_ms, on_progress=None, source=path)
        try:
            streams = await asyncio.to_thread(read_mpd, scratch, f"{prefix}.mpd")
        except PackagingError as e:
            raise FfmpegError(f"packaging failed: {e}") from e

        def _move() -> list[Stream]:
            out = []
            for s in streams:
                for f in s.files():
                    (scratch / f).replace(out_dir / f)
                out.append(s.model_copy(update={"name": f"{prefix}-{s.name}"}))
            return out

        return await asyncio.to_thread(_move)
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


def source_manifest(work_dir: Path, enc: Encoded) -> Manifest:
    """Manifests for an encode as the source's own tags describe it (track ids are the
    stream numbers + 1, text after audio), written into `work_dir`: what the tests and the
    benchmark publish; the service writes its own from the tracks editors may have changed."""
    audio = []
    for index, streams in enc.audio.items():
        a = enc.source.audio[index]
        lang = languages.from_source(a.language)
        kind: AudioKind = (
            "description" if a.description else "commentary" if a.commentary else "main"
        )
        audio.append(
            AudioTrack(
                id=index + 1,
                language=lang,
                label=a.title or default_label(lang, kind),
                kind=kind,
                default=a.default,
                streams=streams,
            )
        )
    text: list[TextTrack] = []
    files: dict[str, str] = {}
    for index, vtt in enc.subtitles.items():
        s = enc.source.subtitles[index]
        lang = languages.from_source(s.language)
        tkind: TextKind = (
            "forced" if s.forced else "captions" if s.hearing_impaired else "subtitles"
        )
        try:
            cues = subtitles.parse(vtt, duration_ms=enc.duration_ms)
        except subtitles.SubtitleError:
            continue
        track, track_files = text_track(
            id=len(enc.source.audio) + index + 1,  # ids are unique across audio and text
            language=lang,
            label=s.title or default_label(lang, tkind),
            kind=tkind,
            default=False,
            cues=cues,
            video=enc.video[0],
        )
        text.append(track)
        files.update(track_files)
    for name, body in files.items():
        (work_dir / name).write_text(body)
    m = Manifest(
        duration_ms=enc.duration_ms,
        video=enc.video,
        audio=audio,
        text=text,
        thumbnails=enc.thumbnails,
    )
    write_manifests(work_dir, m)
    return m
