"""Segment serving throughput: signed URLs vs a plain static file response, in one run.

    .venv/bin/python -m bench.media_serving [--duration 10] [--connections 16] [--rounds 2]

Transcodes a 12 s 720p clip (the real ladder code, 720p + 360p, 4 s segments) into a temporary
MEDIA_DIR, starts one `cinema` web process (the real app, middleware and all) with a Starlette
StaticFiles mount added over the same directory, and loads both routes with wrk
(`apt-get install wrk`), alternating, over the same segment list. Uses DATABASE_URL /
REDIS_URL, else the local PostgreSQL and Redis. Prints req/s, MiB/s and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.http_load import requests_per_s, serve, wrk
from models.core.settings import Settings
from models.media import signing
from models.media.ffmpeg import find_ffmpeg
from models.media.ladder import parse_ladder
from models.media.transcode import transcode

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
ASSET, REVISION = "1", "r1-bench"


def make_app() -> Any:
    """The app under test (uvicorn --factory): the real one plus a plain static mount."""
    from starlette.routing import Mount
    from starlette.staticfiles import StaticFiles

    from cinema.app import create_app

    settings = Settings()
    asgi = create_app(settings)
    http = asgi.other_asgi_app
    http.router.routes.append(
        Mount("/bench-static", app=StaticFiles(directory=settings.media_dir / "assets"))
    )
    return asgi


def _wrk(
    url: str, paths: list[str], duration: int, connections: int, tmp: Path, range_bytes: int
) -> tuple[float, float]:
    headers = f'{{Range="bytes=0-{range_bytes - 1}"}}' if range_bytes else "nil"
    out = wrk(url, paths, duration=duration, connections=connections, tmp=tmp, headers=headers)
    mb = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    assert mb, out
    mib = {"B": 1 / 2**20, "KB": 1 / 2**10, "MB": 1.0, "GB": 2**10}[mb.group(2)]
    return requests_per_s(out), float(mb.group(1)) * mib


def _prepare(root: Path, tmp: Path) -> list[str]:
    ff = find_ffmpeg()
    src = tmp / "src.mp4"
    subprocess.run(
        [ff, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=1280x720:rate=30:duration=12", "-f", "lavfi", "-i", "sine=duration=12",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-c:a", "aac", "-shortest",
         str(src)],
        check=True,
    )  # fmt: skip
    out = root / "assets" / ASSET / REVISION
    asyncio.run(
        transcode(ffmpeg=ff, source_path=src, work_dir=out,
                  ladder=parse_ladder("720:2800,360:800"), segment_s=4, preset="ultrafast")
    )  # fmt: skip
    return sorted(p.name for p in out.glob("chunk-*.m4s"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument(
        "--range", type=int, default=0, help="ask for the first N bytes (206): request-bound"
    )
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        media_dir = tmp / "media"
        names = _prepare(media_dir, tmp)
        sizes = [(media_dir / "assets" / ASSET / REVISION / n).stat().st_size for n in names]
        env = {
            **os.environ,
            "MEDIA_DIR": str(media_dir),
            "LOG_DIR": str(tmp / "logs"),
            "DATABASE_URL": os.environ.get("DATABASE_URL", LOCAL_PG),
            "REDIS_URL": os.environ.get("REDIS_URL", LOCAL_REDIS),
            "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_LEVEL": "WARNING",
        }
        settings = Settings(media_dir=media_dir)
        key = signing.media_key(settings.secret)
        token = signing.sign(
            key, prefix=f"{ASSET}/{REVISION}", user_id=uuid.uuid4(), expires=int(time.time()) + 3600
        )
        signed = [f"/media/{token}/{ASSET}/{REVISION}/{n}" for n in names]
        plain = [f"/bench-static/{ASSET}/{REVISION}/{n}" for n in names]
        server, url = serve("bench.media_serving:make_app", env)
        try:
            results: dict[str, list[tuple[float, float]]] = {"signed": [], "plain": []}
            for _ in range(args.rounds):
                for kind, paths in (("signed", signed), ("plain", plain)):
                    results[kind].append(
                        _wrk(url, paths, args.duration, args.connections, tmp, args.range)
                    )
        finally:
            server.terminate()
            server.wait()
    print(
        f"{len(names)} segments, {min(sizes)}..{max(sizes)} bytes; "
        f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} alternating rounds"
        + (f", Range: first {args.range} bytes (206)" if args.range else ", whole segments")
    )
    best = {k: max(v) for k, v in results.items()}
    for kind, runs in results.items():
        shown = ", ".join(f"{r:.0f} req/s {m:.0f} MiB/s" for r, m in runs)
        print(f"{kind:>6}: {shown}")
    ratio_rps = best["signed"][0] / best["plain"][0]
    ratio_mib = best["signed"][1] / best["plain"][1]
    print(f"best-of ratio signed/plain: {ratio_rps:.2f} (req/s), {ratio_mib:.2f} (MiB/s)")
    print(f"cores: {os.cpu_count()}, load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
