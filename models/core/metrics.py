"""Prometheus metrics of every process: web processes and the worker write their samples to
files in one directory (prometheus_client's multiprocess mode), and one scrape of any web
process's /metrics sums them.

`use_directory` must run before the first sample is taken: `cinema serve` and `cinema worker`
call it at start (uvicorn's worker processes inherit the environment variable it sets). A
process that never calls it (the test suite, a script) keeps its samples in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

CONTENT_TYPE = CONTENT_TYPE_LATEST
_ENV = "PROMETHEUS_MULTIPROC_DIR"
_PID_FILE = re.compile(r"_(\d+)\.db$")

_FAST = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_JOBS = (0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600)

# --- HTTP -------------------------------------------------------------------------------
http_requests = Counter(
    "cinema_http_requests",
    "HTTP requests answered, by route template (unmatched: no route), method and status",
    ["route", "method", "status"],
)
http_duration = Histogram(
    "cinema_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template and method",
    ["route", "method"],
    buckets=_FAST,
)

# --- PostgreSQL writes ------------------------------------------------------------------
write_batches = Counter(
    "cinema_write_batches",
    "Group-committed write batches (models/core/batching.py, Batcher), by kind",
    ["kind"],
)
write_batch_items = Counter(
    "cinema_write_batch_items",
    "Requests those batches carried (divided by the batches: requests per statement)",
    ["kind"],
)

# --- Redis -----------------------------------------------------------------------------
redis_shared_pipelines = Counter(
    "cinema_redis_shared_pipelines",
    "Round trips of the shared pipelines (models/core/redis.py, Coalescer), by pipeline",
    ["pipeline"],
)
redis_shared_calls = Counter(
    "cinema_redis_shared_pipeline_calls",
    "Callers those round trips carried (divided by the round trips: callers per trip)",
    ["pipeline"],
)

# --- Sockets ----------------------------------------------------------------------------
socket_connections = Gauge(
    "cinema_socket_connections",
    "Authenticated Socket.IO connections open now",
    multiprocess_mode="livesum",
)
socket_connects = Counter(
    "cinema_socket_connects",
    "Socket.IO connection attempts, by outcome (ok or the refusal's code)",
    ["outcome"],
)
socket_events = Counter(
    "cinema_socket_events",
    "Client socket events handled, by name and outcome (ok or the error code of the ack)",
    ["event", "outcome"],
)
socket_ack_seconds = Histogram(
    "cinema_socket_ack_seconds",
    "Time from a client event's arrival to its ack, by event name",
    ["event"],
    buckets=_FAST,
)
socket_fanout = Histogram(
    "cinema_socket_fanout_sockets",
    "Local sockets one emit was written to (each process counts its own)",
    ["source"],
    buckets=(0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000),
)
pubsub_lag = Histogram(
    "cinema_redis_pubsub_lag_seconds",
    "Time from a process publishing an emit to another process reading it from Redis "
    "(wall clocks of two hosts: their skew adds in)",
    ["kind"],
    buckets=_FAST,
)

# --- Watch parties ----------------------------------------------------------------------
party_commands = Histogram(
    "cinema_party_command_seconds",
    "Time to decide and store one party command (retries on a lost race included)",
    ["command", "outcome"],
    buckets=_FAST,
)

# --- Cache ------------------------------------------------------------------------------
cache_requests = Counter(
    "cinema_cache_requests",
    "Catalog cache reads by kind and result (hit or miss); hit ratio = hit / (hit + miss)",
    ["kind", "result"],
)

# --- Jobs -------------------------------------------------------------------------------
jobs_enqueued = Counter("cinema_jobs_enqueued", "Jobs put on the queue, by function", ["function"])
job_runs = Counter(
    "cinema_job_runs",
    "Job runs finished, by function and outcome (ok, failed, retry, cancelled)",
    ["function", "outcome"],
)
job_duration = Histogram(
    "cinema_job_duration_seconds", "Job run time, by function", ["function"], buckets=_JOBS
)
jobs_running = Gauge(
    "cinema_jobs_running", "Jobs running now", ["function"], multiprocess_mode="livesum"
)

# --- Database, notifications ------------------------------------------------------------
db_connections_in_use = Gauge(
    "cinema_db_connections_in_use",
    "PostgreSQL connections checked out of the pools now",
    multiprocess_mode="livesum",
)
db_connections_open = Gauge(
    "cinema_db_connections_open",
    "PostgreSQL connections the pools hold now (in use or idle)",
    multiprocess_mode="livesum",
)
notification_deliveries = Counter(
    "cinema_notification_deliveries",
    "Notification deliveries by channel (push: Web Push, mobile_push: FCM, APNs; email)"
    " and outcome",
    ["channel", "outcome"],
)

_UNLABELED = [socket_connections, db_connections_in_use, db_connections_open]


def use_directory(path: Path) -> None:
    """From now on this process (and the processes it starts) writes samples under `path`,
    where a scrape sums them. The files of processes no longer running are removed first
    (a restart starts the totals again, which Prometheus reads as a counter reset; while the
    service runs, a replaced uvicorn worker's totals stay: see `forget_dead`)."""
    path.mkdir(parents=True, exist_ok=True)
    os.environ[_ENV] = str(path.resolve())
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    # Metrics without labels made their one value at import: make it again, in a file.
    for metric in _UNLABELED:
        metric._metric_init()
    forget_dead(path, everything=True)


def directory() -> Path | None:
    where = os.environ.get(_ENV)
    return Path(where) if where else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def forget_dead(path: Path, *, everything: bool = False) -> None:
    """Drop the live gauges (connections, running jobs, pool use) of processes that died, or
    `everything` they wrote (at start-up: else the directory grows with every restart)."""
    for file in path.glob("*.db" if everything else "gauge_live*.db"):
        match = _PID_FILE.search(file.name)
        if match and not _alive(int(match[1])):
            with contextlib.suppress(FileNotFoundError):
                file.unlink()


@contextlib.contextmanager
def timed(histogram: Histogram, *labels: str) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.labels(*labels).observe(time.perf_counter() - started)


class _Snapshot(Collector):
    """Values read from PostgreSQL and Redis at scrape time (one process's view is
    everyone's): queue depth, transcodes in progress, Redis round trip."""

    def __init__(self, families: list[GaugeMetricFamily]) -> None:
        self.families = families

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self.families


async def _snapshot(ctx: Any) -> list[GaugeMetricFamily]:
    from sqlalchemy import text

    families: list[GaugeMetricFamily] = []
    redis_up = GaugeMetricFamily("cinema_redis_up", "1 if Redis answered PING at this scrape")
    redis_rtt = GaugeMetricFamily("cinema_redis_ping_seconds", "Redis PING round trip")
    depth = GaugeMetricFamily(
        "cinema_job_queue_depth", "Jobs waiting on the queue (deferred ones included)"
    )
    try:
        started = time.perf_counter()
        await asyncio.wait_for(ctx.redis.ping(), timeout=2)
        redis_rtt.add_metric([], time.perf_counter() - started)
        depth.add_metric([], await ctx.redis.zcard(ctx.keys.arq_queue))
        redis_up.add_metric([], 1)
        families += [redis_rtt, depth]
    except Exception:  # a scrape reports Redis down instead of failing
        redis_up.add_metric([], 0)
    families.append(redis_up)
    progress = GaugeMetricFamily(
        "cinema_transcode_progress_ratio",
        "Progress (0-1) of each media asset transcoding now",
        labels=["asset"],
    )
    db_up = GaugeMetricFamily("cinema_database_up", "1 if PostgreSQL answered at this scrape")
    try:
        async with ctx.engine.connect() as conn:
            rows = await asyncio.wait_for(
                conn.execute(
                    text(
                        "SELECT id, progress FROM media_assets WHERE status = 'processing' "
                        "ORDER BY id LIMIT 100"
                    )
                ),
                timeout=2,
            )
            for asset_id, fraction in rows:
                progress.add_metric([str(asset_id)], float(fraction or 0))
        families.append(progress)
        db_up.add_metric([], 1)
    except Exception:
        db_up.add_metric([], 0)
    families.append(db_up)
    return families


async def exposition(ctx: Any) -> bytes:
    """The text a scrape gets: every process's samples, then the scrape-time snapshot."""
    registry: CollectorRegistry
    where = directory()
    if where is not None:
        forget_dead(where)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=str(where))  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_Everything())
    registry.register(_Snapshot(await _snapshot(ctx)))
    return generate_latest(registry)


class _Everything(Collector):
    """The default registry's metrics, for a process without a metrics directory."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def serve_worker(host: str, port: int) -> None:
    """A worker on a host of its own: its metrics (those of every process writing to its
    metrics directory) on http://host:port/metrics, from a background thread."""
    from prometheus_client import start_http_server

    registry = CollectorRegistry()
    where = directory()
    if where is not None:
        multiprocess.MultiProcessCollector(registry, path=str(where))  # type: ignore[no-untyped-call]
    else:
        registry.register(_Everything())
    start_http_server(port, addr=host, registry=registry)
