"""Notification delivery jobs: dispatch (live, push, email scheduling), email, and the
sweeper that re-dispatches what a lost job left undelivered. Each is idempotent."""

from __future__ import annotations

import uuid
from typing import Any

from arq import Retry

from jobs.backoff import CRON_TRIES, backoff_s, done, retrying
from jobs.registry import JobContext, app, cron, job
from models.core.jobs import Job
from models.notifications import delivery, service


@job
async def push_unread_badge(ctx: JobContext, *, user_id: str) -> dict[str, int]:
    """The unread count changed with no new notification: the apps' icon badges follow."""
    sent = await delivery.push_unread_badge(app(ctx), user_id=uuid.UUID(user_id))
    return {"sent": sent}


@job
async def dispatch_notifications(
    ctx: JobContext, *, notification_ids: list[int], live: bool = False
) -> dict[str, Any]:
    """Push to users who are not connected and schedule the (deferred) emails."""
    report = await retrying(
        ctx,
        Job.dispatch_notifications,
        lambda: delivery.dispatch(app(ctx), notification_ids=notification_ids, live=live),
    )
    done(
        Job.dispatch_notifications,
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
        Job.email_notifications,
        lambda: delivery.send_emails(app(ctx), notification_ids=notification_ids),
    )
    done(Job.email_notifications, sent=report.sent, skipped=report.skipped)
    return {"sent": report.sent, "skipped": report.skipped}


@job
async def fan_out_notification(
    ctx: JobContext,
    *,
    user_ids: list[str],
    type: str,
    data: dict[str, Any],
    dedupe_key: str,
) -> int:
    """One notification to many users (connected ones first), once per user and key."""
    created = await retrying(
        ctx,
        Job.fan_out_notification,
        lambda: service.do_fan_out(
            app(ctx),
            user_ids=[uuid.UUID(u) for u in user_ids],
            type=type,
            data=data,
            dedupe_key=dedupe_key,
        ),
    )
    done(Job.fan_out_notification, users=len(user_ids), created=created, key=dedupe_key)
    return created


async def redeliver_notifications(ctx: JobContext) -> int:
    """Safety net: re-dispatch notifications whose dispatch job never ran (lost enqueue)."""
    ids = await retrying(
        ctx,
        Job.redeliver_notifications,
        lambda: delivery.stale_undelivered(app(ctx), older_than_s=60, limit=5000),
    )
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        await app(ctx).jobs.enqueue(
            Job.dispatch_notifications,
            notification_ids=chunk,
            live=True,
            _job_id=service.job_id(app(ctx), "notify-redispatch", chunk[0], chunk[-1]),
        )
    done(Job.redeliver_notifications, redispatched=len(ids))
    return len(ids)


cron(redeliver_notifications, second={0}, max_tries=CRON_TRIES)
