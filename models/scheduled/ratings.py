"""Reconciliation of rating aggregates: title_social_stats and titles.rating_avg/count are
kept by deltas in each rating's transaction; this recounts them from the ratings themselves
and repairs any drift (a bug, a manual edit, a restored backup).

Per batch of titles it first locks their stats rows, as a rating write does before it
commits, so a rating landing meanwhile is either counted here or applied on top afterwards,
never lost."""

from __future__ import annotations

import logging

from sqlalchemy import text

from models.core.context import Context
from models.core.db import transaction
from models.social.reviews.service import refresh_summaries

log = logging.getLogger("cinema.reconcile")
BATCH = 1000
_HIST = ", ".join(f"count(*) FILTER (WHERE r.score = {s}) AS r{s}" for s in range(1, 11))
_HIST_COLS = ", ".join(f"r{s}" for s in range(1, 11))


async def _batch(ctx: Context, title_ids: list[int]) -> tuple[list[int], list[int]]:
    """Returns (titles whose stats were repaired, titles whose catalog summary was)."""
    async with transaction(ctx.sessions) as session:
        await session.execute(
            text(
                "SELECT title_id FROM title_social_stats WHERE title_id = ANY(:ids)"
                " ORDER BY title_id FOR UPDATE"
            ),
            {"ids": title_ids},
        )
        truth = f"""
            WITH ids AS (SELECT unnest(CAST(:ids AS bigint[])) AS title_id),
            t AS (
                SELECT ids.title_id, count(r.score) AS rating_count,
                       coalesce(sum(r.score), 0) AS rating_sum,
                       {_HIST}
                FROM ids LEFT JOIN ratings r ON r.title_id = ids.title_id
                GROUP BY ids.title_id
            )
        """
        stats = await session.execute(
            text(
                truth
                + f"""
                INSERT INTO title_social_stats AS s
                    (title_id, rating_count, rating_sum, {_HIST_COLS}, like_count, version)
                SELECT t.title_id, t.rating_count, t.rating_sum, {_HIST_COLS}, 0, 1
                FROM t
                WHERE t.rating_count > 0
                   OR EXISTS (SELECT 1 FROM title_social_stats x WHERE x.title_id = t.title_id)
                ON CONFLICT (title_id) DO UPDATE SET
                    rating_count = excluded.rating_count, rating_sum = excluded.rating_sum,
                    {", ".join(f"r{s} = excluded.r{s}" for s in range(1, 11))},
                    version = s.version + 1
                WHERE s.rating_count <> excluded.rating_count
                   OR s.rating_sum <> excluded.rating_sum
                   OR {" OR ".join(f"s.r{s} <> excluded.r{s}" for s in range(1, 11))}
                RETURNING s.title_id
                """
            ),
            {"ids": title_ids},
        )
        fixed_stats = [r[0] for r in stats]
        summary = await session.execute(
            text(
                """
                UPDATE titles SET
                    rating_count = s.rating_count,
                    rating_avg = CASE WHEN s.rating_count > 0
                        THEN s.rating_sum::float / s.rating_count ELSE 0 END
                FROM title_social_stats s
                WHERE s.title_id = titles.id AND titles.id = ANY(:ids)
                  AND (titles.rating_count <> s.rating_count
                       OR abs(titles.rating_avg - CASE WHEN s.rating_count > 0
                            THEN s.rating_sum::float / s.rating_count ELSE 0 END) > 1e-6)
                RETURNING titles.id
                """
            ),
            {"ids": title_ids},
        )
        fixed_titles = [r[0] for r in summary]
    return fixed_stats, fixed_titles


async def reconcile_ratings(ctx: Context) -> dict[str, int]:
    async with ctx.sessions() as session:
        ids = list(
            (
                await session.execute(
                    text(
                        "SELECT title_id FROM title_social_stats UNION"
                        " SELECT DISTINCT title_id FROM ratings ORDER BY 1"
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
