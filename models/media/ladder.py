"""The adaptive ladder: which renditions a source gets, and the one ffmpeg command for them."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from models.media.ffmpeg import SOURCE_FORMATS, SOURCE_PROTOCOLS, SourceInfo

# height:video kbit/s, highest first; a deployment can set its own (settings.media_ladder).
DEFAULT_LADDER = "1080:5000,720:2800,360:800"
AUDIO_KBPS = 128
MAX_FPS = 60.0


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
) -> list[str]:
    """One decode, N scaled encodes with keyframes on the same instants, CMAF segments.

    Keyframes are forced every `segment_s` seconds of presentation time and scene-cut
    keyframes are off, so every rendition's segment boundaries fall on the same frames
    and a player can switch between them at any segment.
    """
    fps = output_fps(source)
    n = len(renditions)
    split = f"[0:v:0]{'fps=' + str(MAX_FPS) + ',' if source.fps and source.fps > MAX_FPS else ''}"
    split += f"split={n}" + "".join(f"[s{i}]" for i in range(n))
    scales = [
        f"[s{i}]scale=w={r.width}:h={r.height}:flags=bicubic,setsar=1,format=yuv420p[v{i}]"
        for i, r in enumerate(renditions)
    ]
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
    if source.has_audio:
        cmd += ["-map", "0:a:0"]
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
    if source.has_audio:
        cmd += ["-c:a", "aac", "-b:a", f"{AUDIO_KBPS}k", "-ac", "2", "-ar", "48000"]
    sets = "id=0,streams=v" + (" id=1,streams=a" if source.has_audio else "")
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
    return cmd
