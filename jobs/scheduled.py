"""Scheduled jobs (arq cron): idempotent, logged, retried with backoff on transient errors."""

from __future__ import annotations

from jobs.backoff import CRON_TRIES, done, retrying
from jobs.registry import JobContext, app, cron
from models.scheduled import cleanup as housekeeping
from models.scheduled import collections


async def cleanup(ctx: JobContext) -> dict[str, int]:
    """Expired tokens, dead session index entries, stale socket bookkeeping, old read
    notifications and ended-party leftovers."""
    counts = await retrying(ctx, "cleanup", lambda: housekeeping.cleanup(app(ctx)))
    done("cleanup", **counts)
    return counts


async def refresh_computed_collections(ctx: JobContext) -> dict[str, int]:
    """Rebuild "Trending this week" and "Top rated"; invalidate cached catalog pages."""
    changed = await retrying(
        ctx, "refresh_computed_collections", lambda: collections.refresh_collections(app(ctx))
    )
    done("refresh_computed_collections", **changed)
    return changed


cron(cleanup, hour={3}, minute={17}, max_tries=CRON_TRIES)
cron(refresh_computed_collections, minute={5, 35}, max_tries=CRON_TRIES)
