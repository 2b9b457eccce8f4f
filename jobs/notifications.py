"""Notification delivery jobs and the scheduled jobs: each idempotent, logged, retried.

Transient failures (SMTP, PostgreSQL or Redis connection trouble) raise arq's `Retry` with an
exponential backoff; the worker's `max_tries` bounds the attempts."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq import Retry
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError

from jobs.registry import JobContext, app, cron, job
from models.notifications import delivery, maintenance, service

log = logging.getLogger("cinema.jobs.notifications")
T = TypeVar("T")

TRANSIENT: tuple[type[BaseException], ...] = (
    delivery.TransientDeliveryError,
    OperationalError,
    DBAPIError,
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    TimeoutError,
)
MAX_BACKOFF_S = 300


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


def _done(name: str, **counts: Any) -> None:
    log.info(
        "%s: %s",
        name,
        ", ".join(f"{k}={v}" for k, v in counts.items()),
        extra={"event": "job_result", "job": name, **counts},
    )


@job
async def dispatch_notifications(
    ctx: JobContext, *, notification_ids: list[int], live: bool = False
) -> dict[str, Any]:
    """Push to users who are not connected and schedule the (deferred) emails."""
    report = await retrying(
        ctx,
        "dispatch_notifications",
        lambda: delivery.dispatch(app(ctx), notification_ids=notification_ids, live=live),
    )
    _done(
        "dispatch_notifications",
        notifications=report.notifications,
        live=report.live,
        pushed=report.pushed,
        push_pruned=report.push_pruned,
        emails_scheduled=report.emails_scheduled,
        failed=len(report.failed),
    )
    if report.failed:
        # Those rows stay undelivered; the retry picks up exactly them.
        attempt = int(ctx.get("job_try", 1))
        raise Retry(defer=backoff_s(attempt))
    return {"notifications": report.notifications, "pushed": report.pushed}


@job
async def email_notifications(ctx: JobContext, *, notification_ids: list[int]) -> dict[str, int]:
    """Mail the notifications still unread (one email per notification or group)."""
    report = await retrying(
        ctx,
        "email_notifications",
        lambda: delivery.send_emails(app(ctx), notification_ids=notification_ids),
    )
    _done("email_notifications", sent=report.sent, skipped=report.skipped)
    return {"sent": report.sent, "skipped": report.skipped}


async def redeliver_notifications(ctx: JobContext) -> int:
    """Safety net: re-dispatch notifications whose dispatch job never ran (lost enqueue)."""
    ids = await retrying(
        ctx,
        "redeliver_notifications",
        lambda: delivery.stale_undelivered(app(ctx), older_than_s=60, limit=5000),
    )
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await app(ctx).jobs.enqueue(
            "dispatch_notifications",
            notification_ids=chunk,
            live=True,
            _job_id=service.job_id(app(ctx), "notify-redispatch", chunk[0], chunk[-1]),
        )
    _done("redeliver_notifications", redispatched=len(ids))
    return len(ids)


async def cleanup(ctx: JobContext) -> dict[str, int]:
    """Expired tokens, dead session index entries, stale socket bookkeeping, old read
    notifications, and other aggregates' leftovers."""
    counts = await retrying(ctx, "cleanup", lambda: maintenance.cleanup(app(ctx)))
    _done("cleanup", **counts)
    return counts


cron(redeliver_notifications, second={0}, minute=set(range(60)))
cron(cleanup, hour={3}, minute={17}, second={0})
