"""Finding ffmpeg and probing a source with it (no ffprobe: the wheel's binary has none)."""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# Demuxers a source may use. Playlist-like formats (hls, concat, ...) are left out on purpose:
# an uploaded "video" that is really a playlist would make ffmpeg read local files or URLs.
SOURCE_FORMATS = "mov,matroska,avi,mpegts,flv,mpeg,asf,mxf,ogg,wav,mp3,aac"
# Only local files: a source never makes ffmpeg open a network connection.
SOURCE_PROTOCOLS = "file"


class FfmpegError(Exception):
    """ffmpeg refused or failed; `reason` is ffmpeg's own words, trimmed for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def find_ffmpeg(configured: str | None = None) -> str:
    """The configured binary, else the system one, else the imageio-ffmpeg wheel's."""
    for candidate in (configured, shutil.which("ffmpeg")):
        if candidate:
            return candidate
    try:
        import imageio_ffmpeg
    except ImportError:  # pragma: no cover - the wheel is a dependency
        raise FfmpegError("ffmpeg not found: install it or the imageio-ffmpeg wheel") from None
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class SourceInfo:
    duration_ms: int | None
    width: int
    height: int
    fps: float | None
    video_codec: str
    has_audio: bool
    audio_channels: int | None


_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.M)
_STREAM = re.compile(r"^\s*Stream #0:(\d+)\S*: (Video|Audio): (.*)$", re.M)
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})\b")
_FPS = re.compile(r", (\d+(?:\.\d+)?) (?:fps|tbr)\b")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "7.1": 8}


def parse_probe(stderr: str) -> SourceInfo:
    """Read what `ffmpeg -i FILE` prints about its input."""
    duration_ms: int | None = None
    if m := _DURATION.search(stderr):
        h, mi, s = m.groups()
        duration_ms = round((int(h) * 3600 + int(mi) * 60 + float(s)) * 1000)
    video: tuple[int, str, str] | None = None
    audio: str | None = None
    streams = list(_STREAM.finditer(stderr))
    for i, m in enumerate(streams):
        kind, desc = m.group(2), m.group(3)
        if kind == "Video" and video is None and "attached pic" not in desc:
            end = streams[i + 1].start() if i + 1 < len(streams) else len(stderr)
            video = (m.end(), desc, stderr[m.end() : end])
        elif kind == "Audio" and audio is None:
            audio = desc
    if video is None:
        raise FfmpegError("the source has no video stream")
    _, desc, tail = video
    size = _SIZE.search(desc)
    if size is None:
        raise FfmpegError("the source's video stream has no frame size")
    width, height = int(size.group(1)), int(size.group(2))
    rotation = _ROTATION.search(tail)
    # ffmpeg applies the display matrix when it decodes, so a portrait phone video that is
    # stored 1920x1080 with a 90 degree rotation comes out 1080x1920.
    if rotation and round(abs(float(rotation.group(1)))) % 180 == 90:
        width, height = height, width
    fps_m = _FPS.search(desc)
    channels: int | None = None
    if audio is not None:
        for name, count in _CHANNELS.items():
            if f", {name}," in audio or audio.endswith(f", {name}"):
                channels = count
                break
    return SourceInfo(
        duration_ms=duration_ms,
        width=width,
        height=height,
        fps=float(fps_m.group(1)) if fps_m else None,
        video_codec=desc.split(" ", 1)[0].rstrip(","),
        has_audio=audio is not None,
        audio_channels=channels,
    )


_ADDRESS = re.compile(r" @ 0x[0-9a-f]+\]")


def reason_from_stderr(stderr: str, *, source: Path | None = None, limit: int = 600) -> str:
    """The last meaningful lines ffmpeg wrote: that is where it says why it stopped.

    Server paths and pointer addresses are taken out: the reason is shown to editors.
    """
    if source is not None:
        stderr = stderr.replace(f"file:{source}", source.name).replace(str(source), source.name)
    stderr = _ADDRESS.sub("]", stderr)
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    skip = ("At least one output file", "Conversion failed!", "Exiting normally")
    useful = [ln for ln in lines if not ln.startswith(skip)]
    text = " | ".join(useful[-3:]) if useful else "ffmpeg failed without a message"
    return text[-limit:]


async def probe(ffmpeg: str, path: Path) -> SourceInfo:
    """Describe a source file; raises FfmpegError with ffmpeg's reason if it can't be read."""
    proc = await asyncio.create_subprocess_exec(
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-protocol_whitelist",
        SOURCE_PROTOCOLS,
        "-format_whitelist",
        SOURCE_FORMATS,
        "-i",
        f"file:{path}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    text = err.decode("utf-8", "replace")
    # With no output file ffmpeg always exits 1; only a missing input description is a failure.
    if "Input #0" not in text:
        raise FfmpegError(reason_from_stderr(text, source=path))
    return parse_probe(text)


def synthetic_clip_command(
    ffmpeg: str,
    dest: Path,
    *,
    seconds: float,
    size: str = "1280x720",
    rate: int = 24,
    tone_hz: int = 440,
    extra: tuple[str, ...] = (),
) -> list[str]:
    """ffmpeg's moving test pattern (a clock on it) with a tone, as an H.264/AAC file: the
    demo film's video and the tests' and benchmarks' sources."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency={tone_hz}:duration={seconds}",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-c:a",
        "aac",
        "-shortest",
        *extra,
        str(dest),
    ]
