"""Scheduled jobs (arq cron): idempotent, logged, retried with backoff on transient errors."""

from __future__ import annotations

from jobs.backoff import CRON_TRIES, done, retrying
from jobs.registry import JobContext, app, cron
from models.core import clock
from models.core.jobs import Job
from models.recommendations.similarity import compute_similar_titles as _similar
from models.scheduled import cleanup as housekeeping
from models.scheduled import collections, ratings, releases


async def cleanup(ctx: JobContext) -> dict[str, int]:
    """Expired tokens, dead session index entries, stale socket bookkeeping, old read
    notifications and ended-party leftovers."""
    counts = await retrying(ctx, Job.cleanup, lambda: housekeeping.cleanup(app(ctx)))
    done(Job.cleanup, **counts)
    return counts


async def refresh_computed_collections(ctx: JobContext) -> dict[str, int]:
    """Rebuild "Trending this week" and "Top rated"; invalidate cached catalog pages."""
    changed = await retrying(
        ctx, Job.refresh_computed_collections, lambda: collections.refresh_collections(app(ctx))
    )
    done(Job.refresh_computed_collections, **changed)
    return changed


cron(cleanup, hour={3}, minute={17}, max_tries=CRON_TRIES)
cron(refresh_computed_collections, minute={5, 35}, max_tries=CRON_TRIES)


async def notify_new_releases(ctx: JobContext) -> dict[str, int]:
    """Today's releases to the users who favorited or follow the title or its genres."""
    counts = await retrying(
        ctx,
        Job.notify_new_releases,
        lambda: releases.notify_new_releases(app(ctx), day=clock.now().date()),
    )
    done(Job.notify_new_releases, **counts)
    return counts


async def reconcile_ratings(ctx: JobContext) -> dict[str, int]:
    """Recount rating aggregates from the ratings and repair any drift."""
    counts = await retrying(ctx, Job.reconcile_ratings, lambda: ratings.reconcile_ratings(app(ctx)))
    done(Job.reconcile_ratings, **counts)
    return counts


# Hourly: a title added later in the day still goes out the same day; once per user anyway.
cron(notify_new_releases, minute={7}, max_tries=CRON_TRIES)
cron(reconcile_ratings, hour={4}, minute={23}, max_tries=CRON_TRIES)


async def compute_similar_titles(ctx: JobContext) -> dict[str, float]:
    """Rebuild title-to-title similarity (more like this, personal rows): hourly, so a
    rating, like or viewing counts within the hour."""
    report = await retrying(ctx, Job.compute_similar_titles, lambda: _similar(app(ctx).engine))
    counts = {"titles": report.titles, "pairs": report.pairs, "seconds": report.seconds}
    done(Job.compute_similar_titles, **counts)
    return counts


cron(compute_similar_titles, minute={41}, max_tries=CRON_TRIES, timeout=1800)
