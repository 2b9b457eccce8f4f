"""The arq worker: settings built from our Settings, job start/end/failure logged."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from arq.worker import Worker

import jobs.tasks  # noqa: F401  (registers every job)
from cinema.context import build_context, close_context, require_urls
from jobs.queue import arq_redis, dump_job, load_job, redis_settings
from jobs.registry import cron_jobs, functions
from models.core.redis import WORKER_FAILOVER_RETRIES, Keys, parse_sentinel_url
from models.core.settings import Settings

log = logging.getLogger("cinema.jobs")


def _redis_option(redis_url: str, queue_name: str) -> dict[str, Any]:
    """Through Sentinel, the worker gets our client (it rides out a failover: arq's worker loop
    stops at the first Redis error); else arq connects itself."""
    if parse_sentinel_url(redis_url) is not None:
        return {"redis_pool": arq_redis(redis_url, queue_name, retries=WORKER_FAILOVER_RETRIES)}
    return {"redis_settings": redis_settings(redis_url)}


def create_worker(settings: Settings, **overrides: Any) -> Worker:
    _, redis_url = require_urls(settings)

    async def startup(ctx: dict[str, Any]) -> None:
        ctx["app"] = await build_context(settings, pool_size=5, max_overflow=5)

    async def shutdown(ctx: dict[str, Any]) -> None:
        if "app" in ctx:
            await close_context(ctx["app"])

    async def job_start(ctx: dict[str, Any]) -> None:
        ctx["_started"] = time.perf_counter()
        log.info(
            "job start",
            extra={"event": "job_start", "job_id": ctx.get("job_id"), "try": ctx.get("job_try")},
        )

    async def job_end(ctx: dict[str, Any]) -> None:
        took = (time.perf_counter() - ctx.pop("_started", time.perf_counter())) * 1000
        log.info(
            "job end",
            extra={
                "event": "job_end",
                "job_id": ctx.get("job_id"),
                "try": ctx.get("job_try"),
                "duration_ms": round(took, 1),
            },
        )

    options: dict[str, Any] = {
        "functions": list(functions),
        # arq's job ids (and so cron de-duplication) share one namespace per Redis: prefix them,
        # or two deployments (or test runs) on one Redis would skip each other's cron runs.
        "cron_jobs": [
            dataclasses.replace(c, name=f"{settings.redis_prefix}:{c.name}") for c in cron_jobs
        ],
        **_redis_option(redis_url, Keys(settings.redis_prefix).arq_queue),
        # JSON both ways, never arq's default pickle: see jobs/queue.py.
        "job_serializer": dump_job,
        "job_deserializer": load_job,
        "queue_name": Keys(settings.redis_prefix).arq_queue,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "on_job_start": job_start,
        "on_job_end": job_end,
        "max_jobs": 20,
        "job_timeout": 3600,
        "max_tries": 5,
        "keep_result": 3600,
        "handle_signals": True,
    }
    options.update(overrides)
    return Worker(**options)
