"""What metrics and traces cost an HTTP request: the real app three ways, loaded with wrk.

    .venv/bin/python -m bench.observability [--duration 10] [--connections 32] [--rounds 2]

- memory:       metrics kept in the process's memory (no metrics directory: a process that
                `cinema serve` did not start, or METRICS_ENABLED=false);
- multiprocess: metrics written to files in a metrics directory (what `cinema serve` does);
- traced:       the same, and every request traced and exported by OTLP/HTTP to a local sink
                that answers 200 (OTEL_EXPORTER_OTLP_ENDPOINT set, every trace sampled).
Each serves GET /healthz (the middleware alone) and GET /api/v1/titles (the cached first page:
Redis, and SQL on the first request only), one uvicorn process each, the same options, in
alternating rounds. Uses DATABASE_URL (a migrated database; its catalog may be empty) and
REDIS_URL (default the local one). Prints req/s per configuration and path, and the ratios to
`memory`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.http_load import requests_per_s, serve, wrk

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
PATHS = {"healthz": "/healthz", "titles": "/api/v1/titles"}


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        _Sink.received += len(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not os.environ.get("DATABASE_URL"):
        raise SystemExit("set DATABASE_URL to a migrated database (`cinema migrate`)")
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        base = {
            **os.environ,
            "REDIS_URL": os.environ.get("REDIS_URL", LOCAL_REDIS),
            "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_DIR": str(tmp / "logs"),
            "LOG_LEVEL": "WARNING",
        }
        base.pop("PROMETHEUS_MULTIPROC_DIR", None)
        base.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
        configs = {
            "memory": base,
            "multiprocess": {**base, "PROMETHEUS_MULTIPROC_DIR": str(tmp / "m1")},
            "traced": {
                **base,
                "PROMETHEUS_MULTIPROC_DIR": str(tmp / "m2"),
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{sink.server_address[1]}",
            },
        }
        servers: dict[str, tuple[Any, str]] = {}
        results: dict[tuple[str, str], list[float]] = {}
        try:
            for name, env in configs.items():
                if "PROMETHEUS_MULTIPROC_DIR" in env:
                    Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir()
                servers[name] = serve("cinema.app:asgi_factory", env)
            for _ in range(args.rounds):
                for name, (_, url) in servers.items():
                    for label, path in PATHS.items():
                        report = wrk(
                            url,
                            [path],
                            duration=args.duration,
                            connections=args.connections,
                            tmp=tmp,
                        )
                        results.setdefault((name, label), []).append(requests_per_s(report))
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait()
            sink.shutdown()
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, {args.rounds} alternating rounds")
    for (name, label), runs in results.items():
        print(f"{name:>12} {label:>8}: " + ", ".join(f"{r:.0f} req/s" for r in runs))
    for label in PATHS:
        floor = max(results[("memory", label)])
        ratios = ", ".join(
            f"{name} {max(results[(name, label)]) / floor:.2f}"
            for name in configs
            if name != "memory"
        )
        print(f"{label}: best of each / memory: {ratios}")
    print(f"OTLP bytes received by the sink: {_Sink.received}")
    print(f"cores: {os.cpu_count()}, load average at end: {os.getloadavg()}")


if __name__ == "__main__":
    main()
