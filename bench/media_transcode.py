"""Ladder transcoding speed relative to real time, for a 1-minute 1080p synthetic source.

    .venv/bin/python -m bench.media_transcode [--seconds 60] [--preset veryfast] [--ladder ...]

Makes the source with ffmpeg's lavfi (testsrc2 + sine, 1080p30, near-lossless so decoding it
is cheap), runs the same transcode() the job runs, and prints wall time and x real time.
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
from models.media.transcode import transcode


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--preset", default="veryfast")
    ap.add_argument("--ladder", default=DEFAULT_LADDER)
    ap.add_argument("--segment", type=int, default=4)
    args = ap.parse_args()
    ff = find_ffmpeg()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "src.mp4"
        t0 = time.perf_counter()
        subprocess.run(
            [
                ff,
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                f"testsrc2=size=1920x1080:rate=30:duration={args.seconds}",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency=440:duration={args.seconds}",
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-crf",
                "12",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
                str(src),
            ],
            check=True,
        )
        made = time.perf_counter() - t0
        cpu0 = os.times()
        t0 = time.perf_counter()
        result = asyncio.run(
            transcode(
                ffmpeg=ff,
                source_path=src,
                work_dir=Path(tmp) / "out",
                ladder=parse_ladder(args.ladder),
                segment_s=args.segment,
                preset=args.preset,
            )
        )
        wall = time.perf_counter() - t0
        cpu1 = os.times()
    cpu = (cpu1.children_user + cpu1.children_system) - (cpu0.children_user + cpu0.children_system)
    rungs = ", ".join(f"{r.width}x{r.height}@{r.video_kbps}k" for r in result.renditions)
    print(f"ffmpeg: {ff}")
    print(f"source: {args.seconds} s 1920x1080p30 + AAC (made in {made:.1f} s)")
    print(f"ladder: {rungs}; preset {args.preset}; {args.segment} s CMAF segments")
    print(f"transcode wall time: {wall:.1f} s  ->  {args.seconds / wall:.2f}x real time")
    print(
        f"ffmpeg CPU time: {cpu:.1f} s ({cpu / args.seconds:.2f} CPU-seconds per second of video)"
    )
    print(f"cores: {os.cpu_count()}, load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
