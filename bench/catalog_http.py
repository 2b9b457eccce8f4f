"""Cached first catalog page vs a bare Starlette JSON endpoint, and the uncached page.

    .venv/bin/python -m bench.catalog_http [--duration 10] [--connections 32] [--rounds 2]

Starts the real app (`cinema.app`, every middleware) and a bare Starlette app that answers
the same page body with `JSONResponse`, both with the same uvicorn options (one process, no
access log), and loads them with wrk (`apt-get install wrk`) in alternating rounds:
- bare:     GET /bare on the bare app;
- cached:   GET /api/v1/titles (the first page, served from Redis after the first request);
- healthz:  GET /healthz on the real app (its cheapest route: what the middleware costs);
- uncached: GET /api/v1/titles?year_from=..&year_to=.. over thousands of distinct filters, so
            nearly every request misses the cache and runs the SQL.
Each run also reports the server process's CPU time per request (from /proc): on a shared
machine req/s follow the other processes' load, CPU per request much less.
Uses DATABASE_URL (the 100k catalog: `cinema generate-catalog --titles 100000`) and REDIS_URL.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from bench.http_load import cpu_seconds, requests_done, requests_per_s, serve, wrk

LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def bare_app() -> Any:
    """uvicorn --factory target: one route answering the page body with JSONResponse."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    page = json.loads(Path(os.environ["BENCH_PAGE"]).read_text())

    async def bare(request: Any) -> JSONResponse:
        return JSONResponse(page)

    return Starlette(routes=[Route("/bare", bare)])


def _wrk(
    server: Any, url: str, paths: list[str], duration: int, connections: int, tmp: Path
) -> tuple[float, float]:
    """(requests/s, server CPU microseconds per request)."""
    cpu0 = cpu_seconds(server.pid)
    report = wrk(url, paths, duration=duration, connections=connections, tmp=tmp)
    cpu = cpu_seconds(server.pid) - cpu0
    return requests_per_s(report), cpu * 1e6 / max(1, requests_done(report))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to the database with the 100k catalog")
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        env = {
            **os.environ,
            "REDIS_URL": os.environ.get("REDIS_URL", LOCAL_REDIS),
            "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_DIR": str(tmp / "logs"),
            "LOG_LEVEL": "WARNING",
            "BENCH_PAGE": str(tmp / "page.json"),
        }
        app, app_url = serve("cinema.app:asgi_factory", env)
        bare = None
        try:
            with urllib.request.urlopen(app_url + "/api/v1/titles") as r:
                body = r.read()
            (tmp / "page.json").write_bytes(body)
            bare, bare_url = serve("bench.catalog_http:bare_app", env)
            uncached = [
                f"/api/v1/titles?year_from={y}&year_to={y + span}"
                for span in range(1, 60)
                for y in range(1925, 2026)
            ]
            results: dict[str, list[tuple[float, float]]] = {
                "bare": [],
                "cached": [],
                "healthz": [],
                "uncached": [],
            }
            for _ in range(args.rounds):
                results["bare"].append(
                    _wrk(bare, bare_url, ["/bare"], args.duration, args.connections, tmp)
                )
                results["cached"].append(
                    _wrk(app, app_url, ["/api/v1/titles"], args.duration, args.connections, tmp)
                )
                results["healthz"].append(
                    _wrk(app, app_url, ["/healthz"], args.duration, args.connections, tmp)
                )
            results["uncached"].append(
                _wrk(app, app_url, uncached, args.duration, args.connections, tmp)
            )
            with urllib.request.urlopen(app_url + "/api/v1/titles?year_from=1925&year_to=1926"):
                pass
        finally:
            app.terminate()
            app.wait()
            if bare is not None:
                bare.terminate()
                bare.wait()
    print(
        f"first page: {len(body)} bytes, 20 titles; wrk -t1 -c{args.connections} "
        f"-d{args.duration}s; bare/cached alternating, {args.rounds} rounds"
    )
    for kind, runs in results.items():
        print(f"{kind:>8}: " + ", ".join(f"{r:.0f} req/s ({c:.0f} us CPU/req)" for r, c in runs))
    best = {k: max(r for r, _ in v) for k, v in results.items()}
    cpu = {k: min(c for _, c in v) for k, v in results.items()}
    print(
        f"server CPU per request (least of each): bare {cpu['bare']:.0f} us, cached"
        f" {cpu['cached']:.0f} us, healthz {cpu['healthz']:.0f} us; bare / cached"
        f" {cpu['bare'] / cpu['cached']:.2f}"
    )
    print(f"cached / bare (best of each): {best['cached'] / best['bare']:.2f}")
    print(f"app's /healthz / bare (the app's own floor): {best['healthz'] / best['bare']:.2f}")
    print(f"uncached / cached: {best['uncached'] / best['cached']:.3f}")
    print(f"cores: {os.cpu_count()}, load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
