"""Reconciliation of rating aggregates: title_social_stats (a title's counters, split over
shard rows) and titles.rating_avg/count are kept by deltas in each rating's transaction and
a roll-up after it; this recounts them from the ratings and likes themselves and repairs any
drift (a bug, a manual edit, a restored backup).

Per batch of titles it first locks the counters table against writes, so a rating's
transaction either committed before the recount (and is counted) or applies its delta on
top afterwards, never lost. The lock lasts one batch (milliseconds); rating writes wait
that long, at the hour the job runs."""

from __future__ import annotations

import logging

from sqlalchemy import text

from models.core.context import Context
from models.core.db import transaction
from models.social.reviews.service import refresh_summaries
from models.social.reviews.tables import SHARDS

log = logging.getLogger("cinema.reconcile")
BATCH = 1000
_HIST_COLS = [f"r{s}" for s in range(1, 11)]
_COUNTERS = ["rating_count", "rating_sum", *_HIST_COLS, "like_count"]
_HIST = ", ".join(f"count(*) FILTER (WHERE score = {s}) AS r{s}" for s in range(1, 11))
_SHARD = f"get_byte(uuid_send(user_id), 15) % {SHARDS}"
_CHANGED = " OR ".join(f"s.{c} <> excluded.{c}" for c in _COUNTERS)

_RECOUNT = f"""
    WITH r AS (
        SELECT title_id, {_SHARD} AS shard, count(*) AS rating_count,
               sum(score) AS rating_sum, {_HIST}
        FROM ratings WHERE title_id = ANY(:ids) GROUP BY 1, 2
    ), l AS (
        SELECT title_id, {_SHARD} AS shard, count(*) AS like_count
        FROM title_likes WHERE title_id = ANY(:ids) GROUP BY 1, 2
    ), k AS (
        SELECT title_id, shard FROM r UNION SELECT title_id, shard FROM l
        UNION SELECT title_id, shard FROM title_social_stats WHERE title_id = ANY(:ids)
    )
    INSERT INTO title_social_stats AS s (title_id, shard, {", ".join(_COUNTERS)}, version)
    SELECT k.title_id, k.shard,
           {", ".join(f"coalesce(r.{c}, 0)" for c in _COUNTERS[:-1])},
           coalesce(l.like_count, 0), 1
    FROM k LEFT JOIN r USING (title_id, shard) LEFT JOIN l USING (title_id, shard)
    ON CONFLICT (title_id, shard) DO UPDATE SET
        {", ".join(f"{c} = excluded.{c}" for c in _COUNTERS)}, version = s.version + 1
    WHERE {_CHANGED}
    RETURNING s.title_id
"""

_AVG = "CASE WHEN v.rating_count > 0 THEN v.rating_sum::float / v.rating_count ELSE 0 END"
_SUMMARY = f"""
    UPDATE titles SET rating_count = v.rating_count, rating_avg = {_AVG},
                      rating_version = greatest(titles.rating_version, v.version)
    FROM (
        SELECT title_id, sum(rating_count) AS rating_count, sum(rating_sum) AS rating_sum,
               sum(version) AS version
        FROM title_social_stats WHERE title_id = ANY(:ids) GROUP BY title_id
    ) v
    WHERE v.title_id = titles.id
      AND (titles.rating_count <> v.rating_count OR abs(titles.rating_avg - {_AVG}) > 1e-6)
    RETURNING titles.id
"""


async def _batch(ctx: Context, title_ids: list[int]) -> tuple[list[int], list[int]]:
    """Returns (titles whose stats were repaired, titles whose catalog summary was)."""
    async with transaction(ctx.sessions) as session:
        # Writers wait (they hold ROW EXCLUSIVE until commit); readers do not.
        await session.execute(text("LOCK TABLE title_social_stats IN SHARE ROW EXCLUSIVE MODE"))
        stats = await session.execute(text(_RECOUNT), {"ids": title_ids})
        fixed_stats = sorted({r[0] for r in stats})
        summary = await session.execute(text(_SUMMARY), {"ids": title_ids})
        fixed_titles = [r[0] for r in summary]
    return fixed_stats, fixed_titles


async def reconcile_ratings(ctx: Context) -> dict[str, int]:
    async with ctx.sessions() as session:
        ids = list(
            (
                await session.execute(
                    text(
                        "SELECT title_id FROM title_social_stats UNION"
                        " SELECT title_id FROM ratings UNION SELECT title_id FROM title_likes"
                        " ORDER BY 1"
                    )
                )
            ).scalars()
        )
    fixed_stats: list[int] = []
    fixed_titles: list[int] = []
    for start in range(0, len(ids), BATCH):
        stats, titles = await _batch(ctx, ids[start : start + BATCH])
        fixed_stats += stats
        fixed_titles += titles
    # A repaired stats row has a new version: its summary replaces the cached one.
    await refresh_summaries(ctx, sorted(set(fixed_stats) | set(fixed_titles)))
    if fixed_stats or fixed_titles:
        log.warning(
            "rating aggregates drifted: repaired %d stats rows, %d title summaries",
            len(fixed_stats),
            len(fixed_titles),
        )
    return {"titles": len(ids), "stats_fixed": len(fixed_stats), "titles_fixed": len(fixed_titles)}
