"""Catalog jobs: search documents of many titles, refreshed after a big rename."""

from __future__ import annotations

import logging

from jobs.registry import JobContext, app, job
from models.catalog.cache import invalidate_catalog
from models.catalog.search import refresh_titles_in_batches

log = logging.getLogger("cinema.jobs.catalog")


@job
async def refresh_title_search(ctx: JobContext, *, title_ids: list[int]) -> int:
    """Recompute these titles' search documents (a renamed genre, tag, category or person
    that many titles carry), then let cached search pages go."""
    cinema = app(ctx)
    await refresh_titles_in_batches(cinema.sessions, title_ids)
    await invalidate_catalog(cinema)
    log.info("refreshed the search documents of %d titles", len(title_ids))
    return len(title_ids)
