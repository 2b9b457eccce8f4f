"""Ladder transcoding speed, and what audio tracks, subtitles and thumbnails add to it.

    .venv/bin/python -m bench.media_transcode [--seconds 60] [--preset veryfast] [--ladder ...]
                                              [--thumbnail-interval 10] [--only base]

Makes 1080p30 sources with ffmpeg's lavfi (testsrc2, near-lossless so decoding them is cheap)
and runs the same transcode() the job runs, three times in one run:

  base      one stereo AAC stream, no subtitles, no thumbnails (the job before tracks)
  tracks    the same video with English stereo + French 5.1 audio and an SRT subtitle stream:
            three AAC renditions (stereo, stereo, 5.1) and a WebVTT extraction
  all       tracks + seek-bar thumbnails every --thumbnail-interval seconds (sprite sheets)

For each: wall time, x real time, and ffmpeg's CPU seconds per second of video (children's
user + system time, so it holds on a busy machine better than wall time does), plus this
process's own CPU for packaging. The differences are the extra cost of tracks and thumbnails.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import tempfile
import time
from pathlib import Path

from models.media.ffmpeg import find_ffmpeg
from models.media.ladder import DEFAULT_LADDER, parse_ladder
from models.media.transcode import source_manifest, transcode

SRT = "".join(
    f"{i + 1}\n00:00:{i % 60:02d},000 --> 00:00:{i % 60:02d},800\nLine {i + 1}\n\n"
    for i in range(59)
)


def _make_source(ff: str, dest: Path, seconds: int, *, tracks: bool) -> None:
    cmd = [ff, "-hide_banner", "-loglevel", "error", "-y",
           "-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
           "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]  # fmt: skip
    maps = ["-map", "0:v", "-map", "1:a"]
    if tracks:
        srt = dest.with_suffix(".srt")
        srt.write_text(SRT)
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=660:duration={seconds}", "-i", str(srt)]
        maps += ["-map", "2:a", "-map", "3:s"]
    cmd += maps
    cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "12", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-metadata:s:a:0", "language=eng"]  # fmt: skip
    if tracks:
        cmd += ["-ac:a:1", "6", "-metadata:s:a:1", "language=fre", "-c:s", "srt",
                "-metadata:s:s:0", "language=eng"]  # fmt: skip
    subprocess.run([*cmd, "-shortest", str(dest)], check=True)


def _run(
    ff: str, src: Path, out: Path, args: argparse.Namespace, thumbs: float
) -> dict[str, float]:
    cpu0, self0 = os.times(), time.process_time()
    t0 = time.perf_counter()

    async def go() -> None:
        enc = await transcode(
            ffmpeg=ff,
            source_path=src,
            work_dir=out,
            ladder=parse_ladder(args.ladder),
            segment_s=args.segment,
            preset=args.preset,
            thumbnail_interval_s=thumbs,
        )
        await asyncio.to_thread(source_manifest, out, enc)

    asyncio.run(go())
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    ffmpeg_cpu = (cpu1.children_user + cpu1.children_system) - (
        cpu0.children_user + cpu0.children_system
    )
    return {"wall": wall, "ffmpeg_cpu": ffmpeg_cpu, "self_cpu": time.process_time() - self0}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--ladder", default=DEFAULT_LADDER)
    ap.add_argument("--segment", type=int, default=4)
    ap.add_argument("--thumbnail-interval", type=float, default=10)
    ap.add_argument("--only", choices=["base", "tracks", "all"], action="append")
    args = ap.parse_args()
    ff = find_ffmpeg()
    runs = args.only or ["base", "tracks", "all"]
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        base_src, tracks_src = Path(tmp) / "base.mkv", Path(tmp) / "tracks.mkv"
        t0 = time.perf_counter()
        _make_source(ff, base_src, args.seconds, tracks=False)
        _make_source(ff, tracks_src, args.seconds, tracks=True)
        made = time.perf_counter() - t0
        for name in runs:
            src = base_src if name == "base" else tracks_src
            thumbs = args.thumbnail_interval if name == "all" else 0
            results[name] = _run(ff, src, Path(tmp) / f"out-{name}", args, thumbs)
    print(f"ffmpeg: {ff}")
    print(f"sources: {args.seconds} s 1920x1080p30 (made in {made:.1f} s)")
    print(f"ladder {args.ladder}; preset {args.preset}; {args.segment} s CMAF segments")
    print(
        f"{'run':8} {'wall s':>8} {'x real':>8} {'ffmpeg CPU s':>13} {'CPU s/s':>8} {'py CPU s':>9}"
    )
    for name, r in results.items():
        print(
            f"{name:8} {r['wall']:8.1f} {args.seconds / r['wall']:8.2f} {r['ffmpeg_cpu']:13.1f} "
            f"{r['ffmpeg_cpu'] / args.seconds:8.3f} {r['self_cpu']:9.2f}"
        )
    if "base" in results:
        base = results["base"]["ffmpeg_cpu"]
        for name in ("tracks", "all"):
            if name in results:
                extra = results[name]["ffmpeg_cpu"] - base
                print(
                    f"extra CPU of {name}: {extra:+.1f} s ({extra / args.seconds:+.3f} CPU-s per "
                    f"second of video, {100 * extra / base:+.1f} % of base)"
                )
    print(f"cores: {os.cpu_count()}, load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
