"""The adaptive ladder: which renditions a source gets, and the one ffmpeg command for them."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from models.media.ffmpeg import SOURCE_FORMATS, SOURCE_PROTOCOLS, SourceInfo

# height:video kbit/s, highest first; a deployment can set its own (settings.media_ladder).
DEFAULT_LADDER = "1080:5000,720:2800,360:800"
AUDIO_KBPS = 128  # AAC-LC stereo
SURROUND_KBPS = 384  # AAC-LC 5.1
MAX_FPS = 60.0
# Past this many audio streams a source is more likely broken than multilingual; the rest
# are left out (and the asset says so).
MAX_AUDIO_STREAMS = 16
THUMB_WIDTH = 160
THUMB_GRID = (10, 10)  # columns x rows per sprite sheet
THUMB_PATTERN = "thumb-%05d.jpg"
SPRITE_PATTERN = "sprite-%04d.jpg"


@dataclass(frozen=True)
class AudioOut:
    """One audio rendition to encode: stream `0:a:<stream>` with `channels` (2 or 6)."""

    stream: int
    channels: int


@dataclass(frozen=True)
class ThumbnailPlan:
    interval_s: float
    width: int
    height: int
    columns: int
    rows: int

    @property
    def per_sheet(self) -> int:
        return self.columns * self.rows


@dataclass(frozen=True)
class Rung:
    height: int
    video_kbps: int


@dataclass(frozen=True)
class Rendition:
    name: str
    width: int
    height: int
    video_kbps: int


def parse_ladder(spec: str) -> list[Rung]:
    """`"1080:5000,720:2800"` -> rungs, highest first; raises ValueError on nonsense."""
    rungs: list[Rung] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        height_s, sep, kbps_s = part.partition(":")
        if not sep:
            raise ValueError(f"ladder rung {part!r} is not HEIGHT:KBPS")
        height, kbps = int(height_s), int(kbps_s)
        if not (32 <= height <= 4320) or not (50 <= kbps <= 100_000):
            raise ValueError(f"ladder rung {part!r} is out of range")
        rungs.append(Rung(height=height - height % 2, video_kbps=kbps))
    if not rungs:
        raise ValueError("the ladder is empty")
    return sorted(set(rungs), key=lambda r: r.height, reverse=True)


def _even(x: float) -> int:
    return max(2, round(x / 2) * 2)


def plan_renditions(source: SourceInfo, ladder: list[Rung]) -> list[Rendition]:
    """Every rung at or below the source's height (never upscale); at least one rendition."""
    fitting = [r for r in ladder if r.height <= source.height]
    if not fitting:
        # A source smaller than the lowest rung keeps its own size, at a bitrate scaled by
        # pixel count from that rung.
        low = ladder[-1]
        scale = (source.height / low.height) ** 2
        fitting = [
            Rung(
                height=_even(source.height),
                video_kbps=max(100, int(low.video_kbps * scale)),
            )
        ]
    out: list[Rendition] = []
    for rung in fitting:
        width = _even(source.width * rung.height / source.height)
        out.append(Rendition(f"{rung.height}p", width, rung.height, rung.video_kbps))
    return out


def plan_audio(streams: list[tuple[int, int | None]]) -> list[AudioOut]:
    """(stream index, channels) -> a stereo rendition each, and a 5.1 one where the stream
    has at least six channels (downmixing 5.1 to stereo is ffmpeg's standard matrix)."""
    out: list[AudioOut] = []
    for index, channels in streams:
        out.append(AudioOut(index, 2))
        if (channels or 0) >= 6:
            out.append(AudioOut(index, 6))
    return out


def plan_thumbnails(source: SourceInfo, interval_s: float) -> ThumbnailPlan | None:
    """Sprite sheets of THUMB_WIDTH-wide frames every `interval_s` (0: none)."""
    if interval_s <= 0:
        return None
    width = min(THUMB_WIDTH, _even(source.width))
    height = _even(width * source.height / source.width)
    return ThumbnailPlan(interval_s, width, height, *THUMB_GRID)


def output_fps(source: SourceInfo) -> float | None:
    if source.fps is None or source.fps <= 0:
        return None
    return min(source.fps, MAX_FPS)


def build_command(
    *,
    ffmpeg: str,
    source_path: Path,
    source: SourceInfo,
    renditions: list[Rendition],
    out_dir: Path,
    segment_s: int = 4,
    preset: str = "veryfast",
    audio: list[AudioOut] | None = None,
    subtitles: Sequence[tuple[int, Path]] = (),
    thumbnails: ThumbnailPlan | None = None,
) -> list[str]:
    """One decode, N scaled encodes with keyframes on the same instants, CMAF segments;
    in the same run, every audio rendition, the text subtitle streams as WebVTT files and
    the seek-bar sprite sheets.

    Keyframes are forced every `segment_s` seconds of presentation time and scene-cut
    keyframes are off, so every rendition's segment boundaries fall on the same frames
    and a player can switch between them at any segment. The DASH representation ids are
    the videos (0..n-1) and then `audio` in order.
    """
    if audio is None:
        audio = plan_audio([(a.index, a.channels) for a in source.audio[:MAX_AUDIO_STREAMS]])
    fps = output_fps(source)
    n = len(renditions)
    branches = n + (1 if thumbnails else 0)
    split = f"[0:v:0]{'fps=' + str(MAX_FPS) + ',' if source.fps and source.fps > MAX_FPS else ''}"
    split += f"split={branches}" + "".join(f"[s{i}]" for i in range(branches))
    scales = [
        f"[s{i}]scale=w={r.width}:h={r.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]"
        for i, r in enumerate(renditions)
    ]
    if thumbnails:
        t = thumbnails
        # One small JPEG per interval, tiled into sheets afterwards (tile_command): a tile
        # filter here would hold ffmpeg's first progress report until its first sheet.
        scales.append(
            f"[s{n}]fps=1/{t.interval_s:g},scale=w={t.width}:h={t.height}:flags=bicubic,"
            f"setsar=1[th]"
        )
    cmd = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-protocol_whitelist",
        SOURCE_PROTOCOLS,
        "-format_whitelist",
        SOURCE_FORMATS,
        "-i",
        f"file:{source_path}",
        "-filter_complex",
        ";".join([split, *scales]),
    ]
    for i in range(n):
        cmd += ["-map", f"[v{i}]"]
    for a in audio:
        cmd += ["-map", f"0:a:{a.stream}"]
    cmd += [
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-c:v",
        "libx264",
        "-preset",
        preset,
        "-sc_threshold",
        "0",
        "-force_key_frames",
        f"expr:gte(t,n_forced*{segment_s})",
    ]
    if fps is not None:
        # A GOP never longer than a segment, the same on every rendition.
        cmd += ["-g", str(max(1, math.ceil(fps * segment_s)))]
    for i, r in enumerate(renditions):
        cmd += [
            f"-b:v:{i}",
            f"{r.video_kbps}k",
            f"-maxrate:v:{i}",
            f"{int(r.video_kbps * 1.07)}k",
            f"-bufsize:v:{i}",
            f"{int(r.video_kbps * 1.5)}k",
            f"-profile:v:{i}",
            "high" if r.height >= 720 else "main",
        ]
    if audio:
        cmd += ["-c:a", "aac", "-ar", "48000"]
    for k, a in enumerate(audio):
        kbps = SURROUND_KBPS if a.channels == 6 else AUDIO_KBPS
        cmd += [f"-ac:a:{k}", str(a.channels), f"-b:a:{k}", f"{kbps}k"]
    sets = "id=0,streams=v" + (" id=1,streams=a" if audio else "")
    cmd += [
        "-max_muxing_queue_size",
        "4096",
        "-f",
        "dash",
        "-seg_duration",
        str(segment_s),
        "-use_template",
        "1",
        "-use_timeline",
        "1",
        "-adaptation_sets",
        sets,
        # CMAF: fMP4 segments with the cmfc brand, shared by the DASH and HLS manifests.
        "-format_options",
        "movflags=+cmaf",
        "-init_seg_name",
        "init-$RepresentationID$.m4s",
        "-media_seg_name",
        "chunk-$RepresentationID$-$Number%05d$.m4s",
        str(out_dir / "manifest.mpd"),
    ]
    if thumbnails:
        cmd += [
            "-map",
            "[th]",
            "-map_metadata",
            "-1",
            "-c:v",
            "mjpeg",
            "-q:v",
            "2",
            "-f",
            "image2",
            "-start_number",
            "1",
            str(out_dir / THUMB_PATTERN),
        ]
    for index, dest in subtitles:
        cmd += ["-map", f"0:s:{index}", "-map_metadata", "-1", "-c:s", "webvtt"]
        cmd += ["-f", "webvtt", f"file:{dest}"]
    return cmd


def tile_command(*, ffmpeg: str, out_dir: Path, plan: ThumbnailPlan) -> list[str]:
    """Tile the thumbnails the transcode wrote into sprite sheets (the last one padded)."""
    return [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-f",
        "image2",
        "-framerate",
        "1",
        "-start_number",
        "1",
        "-i",
        str(out_dir / THUMB_PATTERN),
        "-vf",
        f"tile={plan.columns}x{plan.rows}",
        "-c:v",
        "mjpeg",
        "-q:v",
        "5",
        "-f",
        "image2",
        "-start_number",
        "1",
        str(out_dir / SPRITE_PATTERN),
    ]


def build_audio_command(
    *,
    ffmpeg: str,
    source_path: Path,
    stream: int,
    channels: list[int],
    duration_ms: int,
    out_dir: Path,
    prefix: str,
    segment_s: int = 4,
) -> list[str]:
    """Encode one audio stream of a file (a dub, or a source stream brought back) as CMAF
    renditions aligned to a video that is `duration_ms` long: padded with silence when
    shorter, cut when longer. Files are named `<prefix>-<rep>-…` (rep = index in channels).
    """
    cmd = [
        ffmpeg,
        "-hide_banner",
        "-nostdin",
        "-y",
        "-loglevel",
        "error",
        "-nostats",
        "-progress",
        "pipe:1",
        "-protocol_whitelist",
        SOURCE_PROTOCOLS,
        "-format_whitelist",
        SOURCE_FORMATS,
        "-i",
        f"file:{source_path}",
    ]
    for _ in channels:
        cmd += ["-map", f"0:a:{stream}"]
    seconds = f"{duration_ms / 1000:.3f}"
    cmd += ["-map_metadata", "-1", "-map_chapters", "-1", "-vn", "-sn", "-dn"]
    cmd += ["-af", f"apad=whole_dur={seconds}", "-t", seconds, "-c:a", "aac", "-ar", "48000"]
    for k, ch in enumerate(channels):
        kbps = SURROUND_KBPS if ch == 6 else AUDIO_KBPS
        cmd += [f"-ac:a:{k}", str(ch), f"-b:a:{k}", f"{kbps}k"]
    cmd += [
        "-f",
        "dash",
        "-seg_duration",
        str(segment_s),
        "-use_template",
        "1",
        "-use_timeline",
        "1",
        "-format_options",
        "movflags=+cmaf",
        "-init_seg_name",
        f"{prefix}-$RepresentationID$-init.m4s",
        "-media_seg_name",
        f"{prefix}-$RepresentationID$-$Number%05d$.m4s",
        str(out_dir / f"{prefix}.mpd"),
    ]
    return cmd
