"""Recommendations: "more like this", "because you watched X", and a personal home row.

All read `title_similarity` (rebuilt hourly by `compute_similar_titles`). A user's signals
are their ratings (7 or more), likes, favorites and viewings, the latest weighing most
(half-life about HALF_LIFE_DAYS). Nothing the user finished, hid ("not interested"),
rated, liked, favorited or started is recommended to them again; a new user, whose titles
have no neighbours yet or who rated only a few at sign-up, gets the most popular titles of
the genres they liked, then the most popular ones. The rows surface titles only, never other
users, so nothing reaches a user through someone they blocked. What may be shown at all is
the catalog's `visible_titles()`, as for every catalog read.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from sqlalchemy import ColumnElement, delete, exists, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.browse import ITEM_COLUMNS, genres_json, item_dict, visible_titles
from models.catalog.tables import Genre, Title, TitleGenre
from models.core.errors import NotFound
from models.media.tables import ViewingProgress
from models.recommendations.tables import HiddenTitle, TitleSimilarity

SEEDS = 50
HALF_LIFE_DAYS = 42
TASTE_GENRES = 3

# A user's signals: one row per title, the strongest, with when it last happened.
_MINE = """
    SELECT title_id, max(w) AS w, max(at) AS at FROM (
        SELECT title_id, (score - 5) / 5.0 AS w, updated_at AS at
        FROM ratings WHERE user_id = :user AND score >= 7
        UNION ALL SELECT title_id, 1.0, created_at FROM title_likes WHERE user_id = :user
        UNION ALL SELECT title_id, 1.0, created_at FROM favorites WHERE user_id = :user
        UNION ALL SELECT title_id, CASE WHEN completed THEN 0.8 ELSE 0.3 END, updated_at
        FROM viewing_progress WHERE user_id = :user AND (completed OR position_ms > 0)
    ) AS p GROUP BY title_id
"""
# Everything the user has met: never recommended to them.
_SEEN = """
    SELECT title_id FROM ratings WHERE user_id = :user
    UNION SELECT title_id FROM title_likes WHERE user_id = :user
    UNION SELECT title_id FROM favorites WHERE user_id = :user
    UNION SELECT title_id FROM viewing_progress WHERE user_id = :user
    UNION SELECT title_id FROM recommendation_hidden WHERE user_id = :user
"""

_FOR_YOU = text(
    f"""
    WITH mine AS (
        SELECT title_id, w * power(0.5, extract(epoch FROM now() - at) / 86400
                                        / {HALF_LIFE_DAYS}) AS w
        FROM ({_MINE}) AS m ORDER BY at DESC LIMIT {SEEDS}
    )
    SELECT s.similar_id AS id, sum(m.w * s.score) AS score,
           (array_agg(s.title_id ORDER BY m.w * s.score DESC))[1] AS because
    FROM mine m JOIN title_similarity s ON s.title_id = m.title_id
    WHERE s.similar_id NOT IN ({_SEEN})
    GROUP BY s.similar_id
    ORDER BY score DESC, id
    LIMIT :limit
    """
)

# Popular in the genres the user liked most (a new user: from what they rated at sign-up).
_TASTE = text(
    f"""
    WITH taste AS (
        SELECT tg.genre_id, sum(m.w) AS w FROM ({_MINE}) AS m
        JOIN title_genres tg ON tg.title_id = m.title_id
        GROUP BY tg.genre_id ORDER BY w DESC, tg.genre_id LIMIT {TASTE_GENRES}
    )
    SELECT p.id, taste.genre_id, taste.w FROM taste CROSS JOIN LATERAL (
        SELECT t.id, t.popularity FROM titles t
        WHERE EXISTS (SELECT 1 FROM title_genres x
                      WHERE x.title_id = t.id AND x.genre_id = taste.genre_id)
          AND t.id NOT IN ({_SEEN})
        ORDER BY t.popularity DESC, t.id DESC LIMIT :limit
    ) AS p
    ORDER BY taste.w DESC, p.popularity DESC
    """
)

_POPULAR = text(
    f"""
    SELECT t.id FROM titles t WHERE t.id NOT IN ({_SEEN})
    ORDER BY t.popularity DESC, t.id DESC LIMIT :limit
    """
)

_BECAUSE = text(
    f"""
    WITH seeds AS (
        SELECT m.title_id, m.at FROM ({_MINE}) AS m
        WHERE EXISTS (SELECT 1 FROM title_similarity s WHERE s.title_id = m.title_id)
        ORDER BY m.w >= 0.8 DESC, m.at DESC LIMIT :rows
    )
    SELECT seeds.title_id AS seed, x.similar_id AS id FROM seeds CROSS JOIN LATERAL (
        SELECT s.similar_id, s.rank FROM title_similarity s
        WHERE s.title_id = seeds.title_id AND s.similar_id NOT IN ({_SEEN})
        ORDER BY s.rank LIMIT :limit
    ) AS x
    ORDER BY seeds.at DESC, x.rank
    """
)


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def _items(
    session: AsyncSession, ids: list[int], max_age: int | None
) -> dict[int, dict[str, Any]]:
    """The list items of these titles that may be shown (one query)."""
    if not ids:
        return {}
    rows = await session.execute(
        select(*ITEM_COLUMNS, genres_json(Title.id).label("genres")).where(
            Title.id.in_(ids), *visible_titles(max_age)
        )
    )
    return {r["id"]: item_dict(r, _json(r["genres"])) for r in rows.mappings()}


def _not_for(user_id: uuid.UUID | None) -> list[ColumnElement[bool]]:
    """Titles a signed-in user finished or hid are never suggested to them."""
    if user_id is None:
        return []
    return [
        ~exists().where(
            ViewingProgress.user_id == user_id,
            ViewingProgress.title_id == Title.id,
            ViewingProgress.completed.is_(True),
        ),
        ~exists().where(HiddenTitle.user_id == user_id, HiddenTitle.title_id == Title.id),
    ]


async def access_title(session: AsyncSession, *, title_id: int, max_age: int | None) -> None:
    found = await session.scalar(
        select(Title.id).where(Title.id == title_id, *visible_titles(max_age))
    )
    if found is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")


async def more_like_this(
    session: AsyncSession,
    *,
    title_id: int,
    user_id: uuid.UUID | None,
    limit: int,
    max_age: int | None = None,
) -> dict[str, Any]:
    """The title's neighbours, best first: one range read of the similarity index. A title
    the job has not seen yet (just added) gets the most popular titles of its genres."""
    await access_title(session, title_id=title_id, max_age=max_age)
    columns = (*ITEM_COLUMNS, genres_json(Title.id).label("genres"))
    where = [Title.id != title_id, *visible_titles(max_age), *_not_for(user_id)]
    rows = list(
        (
            await session.execute(
                select(*columns)
                .join(TitleSimilarity, TitleSimilarity.similar_id == Title.id)
                .where(TitleSimilarity.title_id == title_id, *where)
                .order_by(TitleSimilarity.rank)
                .limit(limit)
            )
        ).mappings()
    )
    if not rows:
        its_genres = select(TitleGenre.genre_id).where(TitleGenre.title_id == title_id)
        rows = list(
            (
                await session.execute(
                    select(*columns)
                    .where(
                        exists().where(
                            TitleGenre.title_id == Title.id, TitleGenre.genre_id.in_(its_genres)
                        ),
                        *where,
                    )
                    .order_by(Title.popularity.desc(), Title.id.desc())
                    .limit(limit)
                )
            ).mappings()
        )
    return {"items": [item_dict(r, _json(r["genres"])) for r in rows], "next_cursor": None}


async def for_you(
    session: AsyncSession, *, user_id: uuid.UUID, limit: int, max_age: int | None = None
) -> dict[str, Any]:
    """The home row: titles like the user's, then popular in their genres, then popular."""
    params = {"user": user_id, "limit": limit}
    picked: dict[int, dict[str, Any]] = {}
    for r in await session.execute(_FOR_YOU, params):
        picked[r.id] = {"score": float(r.score), "kind": "similar", "because": r.because}
    if len(picked) < limit:
        for r in await session.execute(_TASTE, params):
            if r.id not in picked:
                picked[r.id] = {"score": 0.0, "kind": "taste", "genre": r.genre_id}
    if len(picked) < limit:
        for (tid,) in await session.execute(_POPULAR, params):
            picked.setdefault(tid, {"score": 0.0, "kind": "popular"})
    order = list(picked)[: limit * 2]
    refs = {p["because"] for p in picked.values() if p.get("because")}
    items = await _items(session, order + [r for r in refs if r not in picked], max_age)
    genre_ids = {p["genre"] for p in picked.values() if p.get("genre")}
    genres = {
        g.id: {"id": g.id, "slug": g.slug, "name": g.name}
        for g in (await session.scalars(select(Genre).where(Genre.id.in_(genre_ids)))).all()
    }
    out = []
    for tid in order:
        if tid not in items:
            continue
        p = picked[tid]
        because = items.get(p.get("because") or 0)
        reason: dict[str, Any] = {"kind": p["kind"], "because": None, "genre": None}
        if p["kind"] == "similar" and because is not None:
            reason["because"] = {"id": because["id"], "title": because["title"]}
        if p["kind"] == "taste":
            reason["genre"] = genres.get(p["genre"])
        out.append({"title": items[tid], "score": round(p["score"], 4), "reason": reason})
        if len(out) == limit:
            break
    return {"items": out, "next_cursor": None}


async def because_you_watched(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    rows: int,
    limit: int,
    max_age: int | None = None,
) -> dict[str, Any]:
    """One row per recent title of the user's (watched first), each with its neighbours
    the user has not met."""
    found = list(await session.execute(_BECAUSE, {"user": user_id, "rows": rows, "limit": limit}))
    seeds = list(dict.fromkeys(r.seed for r in found))
    items = await _items(session, seeds + [r.id for r in found], max_age)
    out = []
    for seed in seeds:
        if seed not in items:
            continue
        row = [items[r.id] for r in found if r.seed == seed and r.id in items]
        if row:
            out.append({"because": {"id": seed, "title": items[seed]["title"]}, "items": row})
    return {"rows": out}


async def do_hide(session: AsyncSession, *, user_id: uuid.UUID, title_id: int) -> None:
    """Never recommend this title to this user (idempotent)."""
    exists_ = await session.scalar(select(Title.id).where(Title.id == title_id))
    if exists_ is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")
    await session.execute(
        insert(HiddenTitle).values(user_id=user_id, title_id=title_id).on_conflict_do_nothing()
    )


async def do_unhide(session: AsyncSession, *, user_id: uuid.UUID, title_id: int) -> None:
    await session.execute(
        delete(HiddenTitle).where(HiddenTitle.user_id == user_id, HiddenTitle.title_id == title_id)
    )


async def list_hidden(session: AsyncSession, *, user_id: uuid.UUID) -> dict[str, Any]:
    rows = await session.execute(
        select(Title.id, Title.title)
        .join(HiddenTitle, HiddenTitle.title_id == Title.id)
        .where(HiddenTitle.user_id == user_id)
        .order_by(HiddenTitle.created_at.desc(), Title.id)
        .limit(1000)
    )
    return {"items": [{"id": i, "title": t} for i, t in rows], "next_cursor": None}
