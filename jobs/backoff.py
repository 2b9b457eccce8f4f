"""Retries with exponential backoff for jobs, and one log line per job result.

Transient failures (SMTP, PostgreSQL or Redis connection trouble) raise arq's `Retry`; the
worker's `max_tries` (or the cron's) bounds the attempts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

from jobs.registry import JobContext
from models.core.errors import TransientDeliveryError

log = logging.getLogger("cinema.jobs")
T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (
    TransientDeliveryError,
    OperationalError,
    DBAPIError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    TimeoutError,
)
MAX_BACKOFF_S = 300
CRON_TRIES = 4


def backoff_s(attempt: int) -> int:
    """2, 4, 8, ... seconds, at most five minutes."""
    return int(min(MAX_BACKOFF_S, 2**attempt))


async def retrying(ctx: JobContext, name: str, work: Callable[[], Awaitable[T]]) -> T:
    try:
        return await work()
    except TRANSIENT as exc:
        attempt = int(ctx.get("job_try", 1))
        defer = backoff_s(attempt)
        log.warning(
            "%s failed (try %d), retrying in %d s: %s",
            name,
            attempt,
            defer,
            exc,
            extra={"event": "job_retry", "job": name, "try": attempt, "defer_s": defer},
        )
        raise Retry(defer=defer) from exc


def done(name: str, **counts: Any) -> None:
    log.info(
        "%s: %s",
        name,
        ", ".join(f"{k}={v}" for k, v in counts.items()),
        extra={"event": "job_result", "job": name, **counts},
    )
