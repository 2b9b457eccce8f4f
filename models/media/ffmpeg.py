"""Finding ffmpeg and probing a source with it (no ffprobe: the wheel's binary has none)."""

from __future__ import annotations

import asyncio
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

# Demuxers a source may use. Playlist-like formats (hls, concat, ...) are left out on purpose:
# an uploaded "video" that is really a playlist would make ffmpeg read local files or URLs.
# Raw audio ones too (flac, ac3, eac3, dts, w64): how dubs are delivered.
SOURCE_FORMATS = "mov,matroska,avi,mpegts,flv,mpeg,asf,mxf,ogg,wav,mp3,aac,flac,ac3,eac3,dts,w64"
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
class AudioStream:
    """The n-th audio stream of a source (`0:a:n`), as its tags describe it."""

    index: int
    codec: str
    channels: int | None
    language: str | None  # the raw tag (ISO 639-2 mostly); normalized by languages.py
    title: str | None
    default: bool = False
    description: bool = False  # "visual impaired": audio description
    commentary: bool = False


@dataclass(frozen=True)
class SubtitleStream:
    """The n-th subtitle stream of a source (`0:s:n`)."""

    index: int
    codec: str
    language: str | None
    title: str | None
    default: bool = False
    forced: bool = False
    hearing_impaired: bool = False

    @property
    def is_text(self) -> bool:
        return self.codec in TEXT_SUBTITLE_CODECS


@dataclass(frozen=True)
class Chapter:
    start_ms: int
    end_ms: int
    title: str | None


@dataclass(frozen=True)
class SourceInfo:
    duration_ms: int | None
    width: int
    height: int
    fps: float | None
    video_codec: str
    audio: tuple[AudioStream, ...] = ()
    subtitles: tuple[SubtitleStream, ...] = ()
    chapters: tuple[Chapter, ...] = ()

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    @property
    def audio_channels(self) -> int | None:
        return self.audio[0].channels if self.audio else None


# Subtitle codecs ffmpeg turns into WebVTT; the rest (PGS, VobSub, DVB) are pictures of text,
# which only OCR could read.
TEXT_SUBTITLE_CODECS = frozenset(
    "subrip srt ass ssa webvtt mov_text text microdvd subviewer subviewer1 jacosub sami "
    "realtext stl pjs vplayer mpl2".split()
)

_DURATION = re.compile(r"^\s*Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)", re.M)
_STREAM = re.compile(
    r"^\s*Stream #0:(\d+)(?:\[0x[0-9a-f]+\])?(?:\(([^)]*)\))?: "
    r"(Video|Audio|Subtitle|Data|Attachment): (.*)$",
    re.M,
)
_CHAPTER = re.compile(r"^\s*Chapter #0:\d+: start (-?\d+(?:\.\d+)?), end (-?\d+(?:\.\d+)?)", re.M)
_BLOCK_END = re.compile(r"^\s*(?:Stream|Chapter) #|^\S", re.M)
_TITLE = re.compile(r"^\s{4,}title\s*: (.*)$", re.M)
_SIZE = re.compile(r", (\d{1,5})x(\d{1,5})\b")
_FPS = re.compile(r", (\d+(?:\.\d+)?) (?:fps|tbr)\b")
_ROTATION = re.compile(r"rotation of (-?\d+(?:\.\d+)?) degrees")
_CHANNELS = {
    "mono": 1, "stereo": 2, "2.1": 3, "3.0": 3, "quad": 4, "4.0": 4, "5.0": 5, "5.1": 6,
    "6.0": 6, "hexagonal": 6, "6.1": 7, "7.0": 7, "7.1": 8, "octagonal": 8,
}  # fmt: skip
_LAYOUT = re.compile(r", ([a-z0-9.]+)(?:\([a-z-]+\))?(?=,|$| \()")
_N_CHANNELS = re.compile(r", (\d{1,2}) channels\b")


def _blocks(stderr: str, pattern: re.Pattern[str]) -> list[tuple[re.Match[str], str]]:
    """Each match of `pattern` with the indented lines under it (its Metadata, Side data)."""
    out = []
    for m in pattern.finditer(stderr):
        end = _BLOCK_END.search(stderr, m.end() + 1)
        out.append((m, stderr[m.end() : end.start() if end else len(stderr)]))
    return out


def _title(block: str) -> str | None:
    m = _TITLE.search(block)
    return m.group(1).strip()[:200] or None if m else None


def _dispositions(desc: str) -> set[str]:
    # ffmpeg closes a stream's line with its dispositions: "... (default) (forced)".
    return set(re.findall(r"\(([a-z ]+)\)(?=\s*(?:\(|$))", desc))


def _channels(desc: str) -> int | None:
    for layout in _LAYOUT.finditer(desc):
        if layout.group(1) in _CHANNELS:
            return _CHANNELS[layout.group(1)]
    n = _N_CHANNELS.search(desc)
    return int(n.group(1)) if n else None


def _language(tag: str | None) -> str | None:
    return tag if tag and tag.lower() not in ("und", "unk", "") else None


def parse_probe(stderr: str, *, require_video: bool = True) -> SourceInfo:
    """Read what `ffmpeg -i FILE` prints about its input (an audio-only file, such as a
    dub, with require_video=False: its frame size is then 0x0)."""
    duration_ms: int | None = None
    if m := _DURATION.search(stderr):
        h, mi, s = m.groups()
        duration_ms = round((int(h) * 3600 + int(mi) * 60 + float(s)) * 1000)
    video: tuple[str, str] | None = None
    audio: list[AudioStream] = []
    subtitles: list[SubtitleStream] = []
    for m, block in _blocks(stderr, _STREAM):
        lang, kind, desc = m.group(2), m.group(3), m.group(4)
        flags = _dispositions(desc)
        codec = desc.split(" ", 1)[0].rstrip(",")
        if kind == "Video" and video is None and "attached pic" not in flags:
            video = (desc, block)
        elif kind == "Audio":
            audio.append(
                AudioStream(
                    index=len(audio),
                    codec=codec,
                    channels=_channels(desc),
                    language=_language(lang),
                    title=_title(block),
                    default="default" in flags,
                    description="visual impaired" in flags or "descriptions" in flags,
                    commentary="comment" in flags,
                )
            )
        elif kind == "Subtitle":
            subtitles.append(
                SubtitleStream(
                    index=len(subtitles),
                    codec=codec,
                    language=_language(lang),
                    title=_title(block),
                    default="default" in flags,
                    forced="forced" in flags,
                    hearing_impaired="hearing impaired" in flags or "captions" in flags,
                )
            )
    if video is None and not require_video:
        video = ("none, 0x0", "")
    if video is None:
        raise FfmpegError("the source has no video stream")
    desc, tail = video
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
    chapters = [
        Chapter(
            start_ms=max(0, round(float(m.group(1)) * 1000)),
            end_ms=max(0, round(float(m.group(2)) * 1000)),
            title=_title(block),
        )
        for m, block in _blocks(stderr, _CHAPTER)
    ]
    return SourceInfo(
        duration_ms=duration_ms,
        width=width,
        height=height,
        fps=float(fps_m.group(1)) if fps_m else None,
        video_codec=desc.split(" ", 1)[0].rstrip(","),
        audio=tuple(audio),
        subtitles=tuple(subtitles),
        chapters=tuple(c for c in chapters if c.end_ms > c.start_ms),
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


async def probe(ffmpeg: str, path: Path, *, require_video: bool = True) -> SourceInfo:
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
    return parse_probe(text, require_video=require_video)


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
