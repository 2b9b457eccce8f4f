"""Computed collections ("Trending this week", "Top rated"): rebuilt on a schedule into the
catalog's collections, and the catalog cache invalidated only when a list really changed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.cache import invalidate_catalog
from models.catalog.tables import Collection, CollectionItem
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.streams import lock_stream

SIZE = 50
# Top rated ranks by a Bayesian average: a title needs this many votes before its own mean
# outweighs the catalog's, so one 10/10 vote does not top the list.
PRIOR_VOTES = 10
MIN_VOTES = 3


@dataclass(frozen=True)
class Computed:
    slug: str
    name: str
    description: str
    query: str


TRENDING = Computed(
    "trending-this-week",
    "Trending this week",
    "The most watched titles of the last seven days.",
    """
    SELECT t.id
    FROM titles t
    JOIN (
        SELECT title_id, count(DISTINCT user_id) AS viewers
        FROM viewing_progress
        WHERE updated_at >= :since
        GROUP BY title_id
    ) v ON v.title_id = t.id
    ORDER BY v.viewers DESC, t.popularity DESC, t.id
    LIMIT :size
    """,
)
TOP_RATED = Computed(
    "top-rated",
    "Top rated",
    "The best rated titles, weighing each rating by how many people gave one.",
    """
    WITH prior AS (
        SELECT coalesce(sum(rating_avg * rating_count) / nullif(sum(rating_count), 0), 0) AS mean
        FROM titles WHERE rating_count > 0
    )
    SELECT t.id
    FROM titles t, prior
    WHERE t.rating_count >= :min_votes
    ORDER BY (t.rating_avg * t.rating_count + prior.mean * :prior_votes)
             / (t.rating_count + :prior_votes) DESC,
             t.rating_count DESC, t.id
    LIMIT :size
    """,
)
COMPUTED = (TRENDING, TOP_RATED)


async def _refresh_one(session: AsyncSession, spec: Computed) -> bool:
    stmt = pg_insert(Collection).values(
        slug=spec.slug, name=spec.name, description=spec.description
    )
    collection_id = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["slug"],
                set_={"name": stmt.excluded.name, "description": stmt.excluded.description},
            ).returning(Collection.id)
        )
    ).scalar_one()
    wanted = list(
        (
            await session.execute(
                text(spec.query),
                {
                    "since": clock.now() - timedelta(days=7),
                    "size": SIZE,
                    "min_votes": MIN_VOTES,
                    "prior_votes": PRIOR_VOTES,
                },
            )
        ).scalars()
    )
    current = list(
        (
            await session.execute(
                select(CollectionItem.title_id)
                .where(CollectionItem.collection_id == collection_id)
                .order_by(CollectionItem.position)
            )
        ).scalars()
    )
    if current == wanted:
        return False
    await session.execute(
        delete(CollectionItem).where(CollectionItem.collection_id == collection_id)
    )
    if wanted:
        await session.execute(
            insert(CollectionItem),
            [
                {"collection_id": collection_id, "title_id": t, "position": i}
                for i, t in enumerate(wanted)
            ],
        )
    await session.execute(
        update(Collection).where(Collection.id == collection_id).values(updated_at=func.now())
    )
    return True


async def refresh_collections(ctx: Context) -> dict[str, int]:
    """Rebuild every computed collection; returns {slug: 1 if changed else 0}."""
    changed: dict[str, int] = {}
    async with transaction(ctx.sessions) as session:
        # Two overlapping runs would interleave delete/insert of the same items.
        await lock_stream(session, "refresh_collections")
        for spec in COMPUTED:
            changed[spec.slug] = int(await _refresh_one(session, spec))
    if any(changed.values()):
        await invalidate_catalog(ctx)
    return changed
