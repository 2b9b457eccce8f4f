"""Read side of the catalog: filters, sorts, keyset cursors, search ranking and facets.

Every read costs a fixed number of SQL statements whatever the page length: one for the page
(plus one to parse a search query) and one per kind of related row (genres of the page's
titles, credits of a title, ...), never one per item.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Numeric,
    Select,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    tuple_,
    union,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import maturity, schemas
from models.catalog.search import ParsedQuery, parse_query
from models.catalog.tables import (
    Category,
    Credit,
    Episode,
    Genre,
    Season,
    Tag,
    Title,
    TitleCategory,
    TitleCountry,
    TitleGenre,
    TitleTag,
)
from models.core.errors import InvalidInput
from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor

# Search ranks the titles whose normalized title starts with the query, and the most
# popular of the other matches (enough for 15 pages of 20).
PREFIX_CANDIDATES = 50
SEARCH_CANDIDATES = 300

ITEM_COLUMNS = (
    Title.id,
    Title.kind,
    Title.title,
    Title.original_title,
    Title.year,
    Title.release_date,
    Title.runtime_minutes,
    Title.age_rating,
    Title.poster_url,
    Title.popularity,
    Title.rating_avg,
    Title.rating_count,
)


def _simple(value: str) -> ColumnElement[Any]:
    return func.to_tsquery(literal_column("'simple'::regconfig"), value)


def visible_titles(max_age: int | None = None) -> list[ColumnElement[bool]]:
    """What every catalog read may show (lists, search, facets, recommendations, collections,
    filmographies): for a child (family controls), titles whose age rating is known and at
    most their limit (`min_age` is NULL when the rating says no age: not shown)."""
    if max_age is None:
        return []
    return [Title.min_age <= max_age]


async def check_media_for(
    session: AsyncSession, *, max_age: int | None, title_id: int | None, episode_id: int | None
) -> None:
    """By id (playback, a party), a title or episode above a child's limit is refused: 403
    `maturity_restricted`. A missing one passes: its own lookup answers 404."""
    if max_age is None:
        return
    if title_id is not None:
        q = select(Title.min_age).where(Title.id == title_id)
    else:
        q = (
            select(Title.min_age)
            .join(Season, Season.title_id == Title.id)
            .join(Episode, Episode.season_id == Season.id)
            .where(Episode.id == episode_id)
        )
    found = (await session.execute(q)).first()
    if found is not None:
        maturity.check_allowed(found[0], max_age)


def filters(
    q: schemas.TitleQuery | schemas.FacetQuery, max_age: int | None = None
) -> list[ColumnElement[bool]]:
    """The WHERE clauses of a browse query; each is served by an index."""
    out: list[ColumnElement[bool]] = visible_titles(max_age)
    if q.kind is not None:
        out.append(Title.kind == q.kind)
    for slug in q.genre:
        out.append(
            exists().where(
                TitleGenre.title_id == Title.id,
                TitleGenre.genre_id == select(Genre.id).where(Genre.slug == slug).scalar_subquery(),
            )
        )
    for slug in q.tag:
        out.append(
            exists().where(
                TitleTag.title_id == Title.id,
                TitleTag.tag_id == select(Tag.id).where(Tag.slug == slug).scalar_subquery(),
            )
        )
    for slug in q.category:
        out.append(
            exists().where(
                TitleCategory.title_id == Title.id,
                TitleCategory.category_id
                == select(Category.id).where(Category.slug == slug).scalar_subquery(),
            )
        )
    for code in q.country:
        out.append(
            exists().where(
                TitleCountry.title_id == Title.id, TitleCountry.country_code == code.upper()
            )
        )
    if q.person is not None:
        out.append(Title.id.in_(select(Credit.title_id).where(Credit.person_id == q.person)))
    if q.year_from is not None:
        out.append(Title.year >= q.year_from)
    if q.year_to is not None:
        out.append(Title.year <= q.year_to)
    if q.rating_from is not None:
        out.append(Title.rating_avg >= q.rating_from)
    if q.rating_to is not None:
        out.append(Title.rating_avg <= q.rating_to)
    if q.age_rating:
        out.append(Title.age_rating.in_(q.age_rating))
    return out


def _match(pq: ParsedQuery) -> ColumnElement[bool]:
    prefix = Title.search_title.startswith(pq.normalized, autoescape=True)
    if not pq.tsquery:
        return prefix
    return or_(Title.search_vector.bool_op("@@")(_simple(pq.tsquery)), prefix)


@dataclass(frozen=True)
class _SortSpec:
    column: Any
    descending: bool
    nullable: bool = False


SORTS: dict[str, _SortSpec] = {
    "popular": _SortSpec(Title.popularity, True),
    "rating": _SortSpec(Title.rating_avg, True),
    "newest": _SortSpec(Title.release_date, True, nullable=True),
    "title": _SortSpec(Title.search_title, False),
}


def _cursor_value(spec: _SortSpec, raw: Any) -> Any:
    if raw is None:
        return None
    if spec.column is Title.release_date:
        return date.fromisoformat(raw)
    if spec.column is Title.search_title:
        return str(raw)
    return float(raw)


def _keyset(spec: _SortSpec, value: Any, last_id: int) -> ColumnElement[bool]:
    col = spec.column
    if spec.nullable:
        # NULLS LAST: after a non-null value come smaller values, then all the nulls.
        if value is None:
            return and_(col.is_(None), Title.id < last_id)
        return or_(tuple_(col, Title.id) < tuple_(value, last_id), col.is_(None))
    if spec.descending:
        return tuple_(col, Title.id) < tuple_(value, last_id)
    return tuple_(col, Title.id) > tuple_(value, last_id)


def _order(spec: _SortSpec) -> list[Any]:
    if spec.nullable:
        return [spec.column.desc().nulls_last(), Title.id.desc()]
    if spec.descending:
        return [spec.column.desc(), Title.id.desc()]
    return [spec.column.asc(), Title.id.asc()]


def _cursor_or_none(cursor: str | None, sort: str) -> dict[str, Any] | None:
    if cursor is None:
        return None
    data = decode_cursor(cursor)
    if data.get("s") != sort or not isinstance(data.get("id"), int):
        raise InvalidCursor()
    return data


async def custom_plans(session: AsyncSession) -> None:
    """Plan each catalog read for its own parameters: a generic plan, which asyncpg's
    prepared statements get after five runs, cannot tell "the" from "dicaprio"."""
    await (await session.connection()).execute(_CUSTOM_PLANS)


_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")


async def list_titles(
    session: AsyncSession, q: schemas.TitleQuery, *, max_age: int | None = None
) -> dict[str, Any]:
    """One page of titles as the `{"items", "next_cursor", "did_you_mean"}` envelope (plain
    data). A search that finds nothing answers no titles and, where it can, queries that
    would find some ("did you mean"), never unrelated titles."""
    pq = await parse_query(session, q.q) if q.q and q.q.strip() else None
    if pq is None:
        await custom_plans(session)  # parse_query did it for searches
    if pq is not None and pq.empty:
        return {"items": [], "next_cursor": None, "did_you_mean": []}
    sort = q.sort or ("relevance" if pq is not None else "popular")
    if sort == "relevance" and pq is None:
        raise InvalidInput("sort=relevance needs a search query q", code="invalid_input")
    cur = _cursor_or_none(q.cursor, sort)
    where = filters(q, max_age)

    if sort == "relevance":
        assert pq is not None
        loose = bool(cur and cur.get("l"))
        if loose and not pq.can_loosen:
            raise InvalidCursor()  # from another query
        rows, next_cursor = await _search_page(
            session, pq.loosened() if loose else pq, where, q.limit, cur, loose=loose
        )
        if not rows and cur is None and pq.can_loosen:
            # No title has every word ("leon professional zzzz"): those with all but one.
            rows, next_cursor = await _search_page(
                session, pq.loosened(), where, q.limit, None, loose=True
            )
    else:
        stmt: Select[Any] = select(  # type: ignore[assignment]
            *ITEM_COLUMNS, genres_json(Title.id).label("genres")
        ).where(*where)
        if pq is not None:
            stmt = stmt.where(_match(pq))
        if sort == "added":
            stmt = stmt.order_by(Title.id.desc())
            if cur is not None:
                stmt = stmt.where(Title.id < cur["id"])
        else:
            spec = SORTS[sort]
            stmt = stmt.add_columns(spec.column.label("sort_value"))
            stmt = stmt.order_by(*_order(spec))
            if cur is not None:
                stmt = stmt.where(_keyset(spec, _cursor_value(spec, cur.get("v")), cur["id"]))
        rows = list(
            (await (await session.connection()).execute(stmt.limit(q.limit + 1))).mappings()
        )
        next_cursor = None
        if len(rows) > q.limit:
            rows = rows[: q.limit]
            last = rows[-1]
            value: Any = None
            if sort != "added":
                spec = SORTS[sort]
                value = last["sort_value"]
                if isinstance(value, date):
                    value = value.isoformat()
            next_cursor = encode_cursor({"s": sort, "v": value, "id": last["id"]})
    items = [item_dict(r, _json(r["genres"])) for r in rows]
    did_you_mean: list[str] = []
    if pq is not None and not items and cur is None:
        did_you_mean = await suggestions(session, pq, where)
    return {"items": items, "next_cursor": next_cursor, "did_you_mean": did_you_mean}


SUGGESTIONS = 3


async def suggestions(
    session: AsyncSession, pq: ParsedQuery, where: list[ColumnElement[bool]]
) -> list[str]:
    """Queries that find something under the same filters: the query with its unknown
    words corrected (when some title has them all), then the titles closest to it by
    trigram similarity (one statement)."""
    titles = (
        select(
            Title.title.label("s"),
            literal(1).label("o"),
            func.similarity(Title.search_title, pq.normalized).label("sim"),
            Title.popularity.label("pop"),
        )
        .where(Title.search_title.bool_op("%")(pq.normalized), *where)
        .order_by(
            func.similarity(Title.search_title, pq.normalized).desc(), Title.popularity.desc()
        )
        .limit(SUGGESTIONS)
    )
    parts: list[Any] = [titles.subquery().select()]
    if pq.corrected:
        words = pq.corrected.split()
        tsq = " & ".join(f"'{w}'" for w in words[:-1]) + (" & " if len(words) > 1 else "")
        tsq += f"'{words[-1]}':*"
        parts.insert(
            0,
            select(
                literal(pq.corrected).label("s"),
                literal(0).label("o"),
                literal(1.0).label("sim"),
                literal(0.0).label("pop"),
            ).where(exists().where(Title.search_vector.bool_op("@@")(_simple(tsq)), *where)),
        )
    ranked = union(*parts).subquery("suggested") if len(parts) > 1 else parts[0].subquery()
    rows: Any = await (await session.connection()).execute(
        select(literal_column("s"))
        .select_from(ranked)
        .order_by(literal_column("o"), literal_column("sim").desc(), literal_column("pop").desc())
    )
    out: list[str] = []
    seen: set[str] = {pq.normalized}
    for (suggestion,) in rows:
        key = suggestion.casefold()
        if key not in seen:
            seen.add(key)
            out.append(suggestion)
    return out[:SUGGESTIONS]


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def genres_json(title_id: Any) -> Any:
    """The title's genres as a JSON array, in the page query itself (no second query);
    PostgreSQL evaluates it only for the rows of the page."""
    pair = func.json_build_object("id", Genre.id, "slug", Genre.slug, "name", Genre.name)
    return (
        select(
            func.coalesce(func.json_agg(aggregate_order_by(pair, Genre.name)), text("'[]'::json"))
        )
        .select_from(TitleGenre)
        .join(Genre, Genre.id == TitleGenre.genre_id)
        .where(TitleGenre.title_id == title_id)
        .scalar_subquery()
    )


async def _search_page(
    session: AsyncSession,
    pq: ParsedQuery,
    where: list[ColumnElement[bool]],
    limit: int,
    cur: dict[str, Any] | None,
    *,
    loose: bool = False,
) -> tuple[list[Any], str | None]:
    qn = pq.normalized
    tiers: list[tuple[ColumnElement[bool], int]] = [
        (Title.search_title == qn, 0),
        (func.cinema_norm(Title.original_title) == qn, 0),
        (Title.search_latin == qn, 0),
        (Title.search_title.startswith(qn, autoescape=True), 1),
    ]
    if pq.title_tsquery:  # none for a lone one-letter word ("''" is not a tsquery)
        tiers.append((Title.search_vector.bool_op("@@")(_simple(pq.title_tsquery)), 2))
    tier = case(*tiers, else_=3)

    # Closeness to the title only means something for title matches; the rest (a genre,
    # an actor) are equally close, and popularity orders them.
    def _close_to(query: str, column: Any) -> Any:
        return (
            func.word_similarity(literal(query), column) + func.similarity(literal(query), column)
        ) / 2

    def _close(column: Any) -> Any:
        # As close as the query as typed or as it was most likely meant ("cihld" -> "child").
        if not pq.meant:
            return _close_to(qn, column)
        return func.greatest(_close_to(qn, column), _close_to(pq.meant, column))

    # A title in another script is as close as its transliteration is ("stalker").
    close = case(
        (Title.search_latin == "", _close(Title.search_title)),
        else_=func.greatest(_close(Title.search_title), _close(Title.search_latin)),
    )
    closeness = case(
        (tier <= 2, func.round(cast(close, Numeric), 3)),
        else_=literal(0, Numeric),
    )
    # Rank inside each branch (PostgreSQL computes these after the LIMIT), so candidates
    # are not fetched twice.
    columns = (*ITEM_COLUMNS, tier.label("tier"), closeness.label("closeness"))
    branches = [
        select(*columns)
        .where(Title.search_title.startswith(qn, autoescape=True), *where)
        .order_by(Title.search_title)
        .limit(PREFIX_CANDIDATES)
    ]
    if pq.tsquery:
        match: ColumnElement[bool] = Title.search_vector.bool_op("@@")(_simple(pq.tsquery))
        if not where and pq.matches_many(SEARCH_CANDIDATES):
            # A word a tenth of the catalog has ("comedy", "sience fiction"): walk the
            # popularity index until enough titles match instead of visiting every match.
            # The function form of @@ is what keeps the planner off the text index, whose
            # row estimates for corrected and prefix words are far too low to choose this.
            match = func.ts_match_vq(Title.search_vector, _simple(pq.tsquery))
        branches.append(
            select(*columns)
            .where(match, *where)
            .order_by(Title.popularity.desc(), Title.id.desc())
            .limit(SEARCH_CANDIDATES)
        )
    # Columns of the union by name: building the subquery's column collection for these
    # CASE expressions costs more CPU than the whole query does in PostgreSQL.
    ranked = union(*branches).subquery("ranked")
    tier_c: Any = literal_column("ranked.tier")
    close_c: Any = literal_column("ranked.closeness")
    pop_c: Any = literal_column("ranked.popularity")
    id_c: Any = literal_column("ranked.id")
    stmt: Select[Any] = select(
        literal_column("ranked.*"), genres_json(id_c).label("genres")
    ).select_from(ranked)
    if cur is not None:
        try:
            key = (int(cur["t"]), -float(cur["c"]), -float(cur["p"]), -int(cur["id"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCursor() from exc
        stmt = stmt.where(
            tuple_(tier_c, -close_c, -pop_c, -id_c).op(">")(tuple_(*(literal(k) for k in key)))
        )
    stmt = stmt.order_by(tier_c, close_c.desc(), pop_c.desc(), id_c.desc()).limit(limit + 1)
    rows = list((await (await session.connection()).execute(stmt)).mappings())
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor(
            {
                "s": "relevance",
                "l": int(loose),
                "t": last["tier"],
                "c": str(last["closeness"]),
                "p": last["popularity"],
                "id": last["id"],
            }
        )
    return rows, next_cursor


async def genres_of(
    session: AsyncSession, title_ids: Sequence[int]
) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not title_ids:
        return out
    rows = await (await session.connection()).execute(
        select(TitleGenre.title_id, Genre.id, Genre.slug, Genre.name)
        .join(Genre, Genre.id == TitleGenre.genre_id)
        .where(TitleGenre.title_id.in_(title_ids))
        .order_by(TitleGenre.title_id, Genre.name)
    )
    for title_id, gid, slug, name in rows:
        out[title_id].append({"id": gid, "slug": slug, "name": name})
    return out


def item_dict(row: Any, genres: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "kind": str(row["kind"].value if hasattr(row["kind"], "value") else row["kind"]),
        "title": row["title"],
        "original_title": row["original_title"],
        "year": row["year"],
        "release_date": row["release_date"].isoformat() if row["release_date"] else None,
        "runtime_minutes": row["runtime_minutes"],
        "age_rating": row["age_rating"],
        "poster_url": row["poster_url"],
        "genres": genres,
        "popularity": float(row["popularity"]),
        "rating_avg": round(float(row["rating_avg"]), 2),
        "rating_count": row["rating_count"],
    }


async def title_items(session: AsyncSession, rows: Sequence[Any]) -> list[dict[str, Any]]:
    genres = await genres_of(session, [r["id"] for r in rows])
    return [item_dict(r, genres.get(r["id"], [])) for r in rows]


async def facets(
    session: AsyncSession, q: schemas.FacetQuery, *, max_age: int | None = None
) -> dict[str, Any]:
    """Titles per genre and per decade under the current filter (and search query)."""
    await custom_plans(session)
    where = filters(q, max_age)
    if q.q and q.q.strip():
        pq = await parse_query(session, q.q)
        if pq.empty:
            return {"genres": [], "decades": []}
        where.append(_match(pq))
    matching = select(Title.id).where(*where)
    genre_rows = await (await session.connection()).execute(
        select(Genre.slug, Genre.name, func.count())
        .select_from(TitleGenre)
        .join(Genre, Genre.id == TitleGenre.genre_id)
        .where(TitleGenre.title_id.in_(matching))
        .group_by(Genre.slug, Genre.name)
        .order_by(func.count().desc(), Genre.name)
    )
    decade = ((Title.year // 10) * 10).label("decade")
    decade_rows = await (await session.connection()).execute(
        select(decade, func.count())
        .where(*where, Title.year.is_not(None))
        .group_by(decade)
        .order_by(decade.desc())
    )
    return {
        "genres": [{"key": s, "name": n, "count": c} for s, n, c in genre_rows],
        "decades": [{"key": str(d), "name": f"{d}s", "count": c} for d, c in decade_rows],
    }
