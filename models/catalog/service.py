"""Catalog use cases. Writes take the caller's session; after the commit the caller
invalidates the cache (`models.catalog.cache`) with the ids these functions return."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import browse, maturity, schemas
from models.catalog.importer import _country
from models.catalog.search import refresh_people, refresh_titles, refresh_titles_soon
from models.catalog.tables import (
    Category,
    Collection,
    CollectionItem,
    Country,
    Credit,
    Episode,
    Genre,
    Person,
    Season,
    Tag,
    Title,
    TitleCategory,
    TitleCountry,
    TitleGenre,
    TitleKind,
    TitleTag,
)
from models.core.errors import Conflict, InvalidInput, NotFound, parse_id
from models.core.events import Outbox
from models.core.pagination import cursor_int, encode_cursor

TERM_MODELS: dict[str, type[Genre] | type[Tag] | type[Category]] = {
    "genres": Genre,
    "tags": Tag,
    "categories": Category,
}
_LINKS: dict[str, tuple[Any, Any, Any]] = {
    "genres": (TitleGenre, TitleGenre.genre_id, Genre),
    "tags": (TitleTag, TitleTag.tag_id, Tag),
    "categories": (TitleCategory, TitleCategory.category_id, Category),
}
_TITLE_FIELDS = (
    "kind", "title", "original_title", "description", "year", "release_date",
    "runtime_minutes", "age_rating", "poster_url", "backdrop_url", "popularity",
)  # fmt: skip


# ---- titles --------------------------------------------------------------------------------


async def access_title(session: AsyncSession, *, title_id: int) -> Title:
    title = await session.get(Title, title_id)
    if title is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")
    return title


async def _check_slugs(session: AsyncSession, *, field: str, slugs: list[str]) -> dict[str, int]:
    model = TERM_MODELS[field]
    result = await session.execute(select(model.slug, model.id).where(model.slug.in_(slugs)))
    rows: dict[str, int] = {slug: id_ for slug, id_ in result}
    unknown = [s for s in slugs if s not in rows]
    if unknown:
        raise InvalidInput(
            f"Unknown {field}: {', '.join(unknown)}", code=f"unknown_{field}", details=unknown
        )
    return rows


async def _check_countries(session: AsyncSession, codes: list[str]) -> list[str]:
    out = []
    for code in dict.fromkeys(c.upper() for c in codes):
        found = _country(code)
        if found is None:
            raise InvalidInput(f"Unknown country code {code}", code="unknown_country")
        await session.execute(
            insert(Country).values(code=found[0], name=found[1]).on_conflict_do_nothing()
        )
        out.append(found[0])
    return out


async def _set_links(
    session: AsyncSession, *, title_id: int, data: schemas.TitleIn | schemas.TitlePatch
) -> None:
    for field, (link, column, _model) in _LINKS.items():
        slugs: list[str] | None = getattr(data, field)
        if slugs is None:
            continue
        ids = await _check_slugs(session, field=field, slugs=list(dict.fromkeys(slugs)))
        await session.execute(delete(link).where(link.title_id == title_id))
        if ids:
            await session.execute(
                insert(link).values([{"title_id": title_id, column.key: i} for i in ids.values()])
            )
    if data.countries is not None:
        codes = await _check_countries(session, data.countries)
        await session.execute(delete(TitleCountry).where(TitleCountry.title_id == title_id))
        if codes:
            await session.execute(
                insert(TitleCountry).values(
                    [{"title_id": title_id, "country_code": c} for c in codes]
                )
            )
    if data.credits is not None:
        person_ids = {c.person_id for c in data.credits}
        found = set(
            (await session.scalars(select(Person.id).where(Person.id.in_(person_ids)))).all()
        )
        missing = sorted(person_ids - found)
        if missing:
            raise InvalidInput(
                f"Unknown person id(s): {missing}", code="unknown_person", details=missing
            )
        seen = set()
        for c in data.credits:
            if (c.person_id, c.role) in seen:
                raise InvalidInput(
                    f"Person {c.person_id} is credited twice as {c.role.value}",
                    code="duplicate_credit",
                )
            seen.add((c.person_id, c.role))
        await session.execute(delete(Credit).where(Credit.title_id == title_id))
        if data.credits:
            await session.execute(
                insert(Credit).values(
                    [
                        {
                            "title_id": title_id,
                            "person_id": c.person_id,
                            "role": c.role,
                            "character": c.character if c.role == "actor" else None,
                            "position": i,
                        }
                        for i, c in enumerate(data.credits)
                    ]
                )
            )


async def do_create_title(session: AsyncSession, *, data: schemas.TitleIn) -> int:
    values = {f: getattr(data, f) for f in _TITLE_FIELDS}
    if values["year"] is None and data.release_date is not None:
        values["year"] = data.release_date.year
    title = Title(**values)
    session.add(title)
    await session.flush()
    await _set_links(session, title_id=title.id, data=data)
    await refresh_titles(session, [title.id])
    return title.id


async def do_update_title(
    session: AsyncSession, *, title_id: int, patch: schemas.TitlePatch
) -> int:
    title = await access_title(session, title_id=title_id)
    given = patch.model_fields_set
    for f in _TITLE_FIELDS:
        if f in given:
            value = getattr(patch, f)
            if value is None and f in ("kind", "title", "popularity"):
                raise InvalidInput(f"{f} cannot be null", code="invalid_input")
            setattr(title, f, value)
    if "kind" in given and patch.kind == TitleKind.film:
        has_seasons = await session.scalar(
            select(func.count()).select_from(Season).where(Season.title_id == title_id)
        )
        if has_seasons:
            raise Conflict("Delete the seasons before making a series a film", code="has_seasons")
    await session.flush()
    await _set_links(session, title_id=title_id, data=patch)
    await refresh_titles(session, [title_id])
    return title_id


async def do_delete_title(session: AsyncSession, *, title_id: int) -> int:
    await access_title(session, title_id=title_id)
    await session.execute(delete(Title).where(Title.id == title_id))
    return title_id


# ---- seasons and episodes ------------------------------------------------------------------


async def do_create_season(session: AsyncSession, *, title_id: int, data: schemas.SeasonIn) -> int:
    title = await access_title(session, title_id=title_id)
    if title.kind != TitleKind.series:
        raise Conflict("Only series have seasons", code="not_a_series")
    season = Season(title_id=title_id, number=data.number, name=data.name)
    session.add(season)
    await _flush_unique(session, f"Season {data.number} already exists")
    return season.id


async def access_season(session: AsyncSession, *, season_id: int) -> Season:
    season = await session.get(Season, season_id)
    if season is None:
        raise NotFound(f"Season {season_id} not found", code="season_not_found")
    return season


async def do_update_season(
    session: AsyncSession, *, season_id: int, patch: schemas.SeasonPatch
) -> int:
    season = await access_season(session, season_id=season_id)
    for f in patch.model_fields_set:
        if f == "number" and patch.number is None:
            raise InvalidInput("number cannot be null", code="invalid_input")
        setattr(season, f, getattr(patch, f))
    await _flush_unique(session, f"Season {patch.number} already exists")
    return season.title_id


async def do_delete_season(session: AsyncSession, *, season_id: int) -> int:
    season = await access_season(session, season_id=season_id)
    await session.delete(season)
    await session.flush()
    return season.title_id


async def do_create_episode(
    session: AsyncSession, *, season_id: int, data: schemas.EpisodeIn
) -> tuple[int, int]:
    season = await access_season(session, season_id=season_id)
    episode = Episode(season_id=season_id, **data.model_dump())
    session.add(episode)
    await _flush_unique(session, f"Episode {data.number} already exists in this season")
    return episode.id, season.title_id


async def access_episode(session: AsyncSession, *, episode_id: int) -> Episode:
    episode = await session.get(Episode, episode_id)
    if episode is None:
        raise NotFound(f"Episode {episode_id} not found", code="episode_not_found")
    return episode


async def do_update_episode(
    session: AsyncSession, *, episode_id: int, patch: schemas.EpisodePatch
) -> int:
    episode = await access_episode(session, episode_id=episode_id)
    for f in patch.model_fields_set:
        value = getattr(patch, f)
        if value is None and f in ("number", "title"):
            raise InvalidInput(f"{f} cannot be null", code="invalid_input")
        setattr(episode, f, value)
    await _flush_unique(session, "An episode with this number already exists in this season")
    season = await access_season(session, season_id=episode.season_id)
    return season.title_id


async def do_delete_episode(session: AsyncSession, *, episode_id: int) -> int:
    episode = await access_episode(session, episode_id=episode_id)
    season = await access_season(session, season_id=episode.season_id)
    await session.delete(episode)
    await session.flush()
    return season.title_id


async def _flush_unique(session: AsyncSession, message: str) -> None:
    try:
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise Conflict(message, code="already_exists") from exc


# ---- genres, tags, categories --------------------------------------------------------------


async def do_create_term(
    session: AsyncSession, *, field: str, data: schemas.TermIn
) -> dict[str, Any]:
    model = TERM_MODELS[field]
    term = model(slug=data.slug or schemas.slugify(data.name), name=data.name)
    session.add(term)
    await _flush_unique(session, f"{field[:-1]} '{term.slug}' already exists")
    return {"id": term.id, "slug": term.slug, "name": term.name}


async def access_term(session: AsyncSession, *, field: str, term_id: int) -> Any:
    term = await session.get(TERM_MODELS[field], term_id)
    if term is None:
        raise NotFound(f"No such {field[:-1]}: {term_id}", code="not_found")
    return term


async def _titles_with_term(session: AsyncSession, *, field: str, term_id: int) -> list[int]:
    link, column, _ = _LINKS[field]
    return list((await session.scalars(select(link.title_id).where(column == term_id))).all())


async def do_update_term(
    session: AsyncSession,
    outbox: Outbox,
    *,
    field: str,
    term_id: int,
    patch: schemas.TermPatch,
) -> dict[str, Any]:
    term = await access_term(session, field=field, term_id=term_id)
    if patch.name is not None:
        term.name = patch.name
    if patch.slug is not None:
        term.slug = patch.slug
    await _flush_unique(session, f"{field[:-1]} '{term.slug}' already exists")
    if patch.name is not None:
        # The name is part of the titles' search documents.
        await refresh_titles_soon(
            session, outbox, await _titles_with_term(session, field=field, term_id=term_id)
        )
    return {"id": term.id, "slug": term.slug, "name": term.name}


async def do_delete_term(
    session: AsyncSession, outbox: Outbox, *, field: str, term_id: int
) -> None:
    term = await access_term(session, field=field, term_id=term_id)
    title_ids = await _titles_with_term(session, field=field, term_id=term_id)
    await session.delete(term)
    await session.flush()
    await refresh_titles_soon(session, outbox, title_ids)


async def list_terms(session: AsyncSession, *, field: str) -> dict[str, Any]:
    model = TERM_MODELS[field]
    rows = await session.execute(select(model.id, model.slug, model.name).order_by(model.name))
    return {"items": [{"id": i, "slug": s, "name": n} for i, s, n in rows], "next_cursor": None}


async def list_countries(session: AsyncSession) -> dict[str, Any]:
    rows = await session.execute(select(Country.code, Country.name).order_by(Country.name))
    return {"items": [{"code": c, "name": n} for c, n in rows], "next_cursor": None}


# ---- people --------------------------------------------------------------------------------


def _person_dict(p: Person) -> dict[str, Any]:
    return {
        "id": p.id,
        "name": p.name,
        "bio": p.bio,
        "birth_date": p.birth_date.isoformat() if p.birth_date else None,
        "photo_url": p.photo_url,
    }


async def access_person(session: AsyncSession, *, person_id: int) -> Person:
    person = await session.get(Person, person_id)
    if person is None:
        raise NotFound(f"Person {person_id} not found", code="person_not_found")
    return person


async def do_create_person(session: AsyncSession, *, data: schemas.PersonIn) -> int:
    person = Person(**data.model_dump())
    session.add(person)
    await session.flush()
    await refresh_people(session, [person.id])
    return person.id


async def do_update_person(
    session: AsyncSession, outbox: Outbox, *, person_id: int, patch: schemas.PersonPatch
) -> int:
    person = await access_person(session, person_id=person_id)
    for f in patch.model_fields_set:
        value = getattr(patch, f)
        if f == "name" and value is None:
            raise InvalidInput("name cannot be null", code="invalid_input")
        setattr(person, f, value)
    await session.flush()
    if "name" in patch.model_fields_set:
        await refresh_people(session, [person_id])
        title_ids = (
            await session.scalars(select(Credit.title_id).where(Credit.person_id == person_id))
        ).all()
        await refresh_titles_soon(session, outbox, title_ids)
    return person_id


async def do_delete_person(session: AsyncSession, outbox: Outbox, *, person_id: int) -> None:
    await access_person(session, person_id=person_id)
    title_ids = (
        await session.scalars(select(Credit.title_id).where(Credit.person_id == person_id))
    ).all()
    await session.execute(delete(Person).where(Person.id == person_id))
    await refresh_titles_soon(session, outbox, title_ids)


async def list_people(session: AsyncSession, *, q: schemas.PeopleQuery) -> dict[str, Any]:
    stmt: Select[Any] = select(Person)
    if q.q and q.q.strip():
        # Closest names first; the cursor is an offset, the ranking being query-specific.
        offset = cursor_int(q.cursor, "o") if q.cursor else 0
        norm = func.cinema_norm(q.q)
        stmt = (
            stmt.where(
                or_(Person.search_name.bool_op("%")(norm), Person.search_name.startswith(norm))
            )
            .order_by(func.similarity(Person.search_name, norm).desc(), Person.id)
            .offset(offset)
        )
        people = list((await session.scalars(stmt.limit(q.limit + 1))).all())
        more = len(people) > q.limit
        return {
            "items": [_person_dict(p) for p in people[: q.limit]],
            "next_cursor": encode_cursor({"o": offset + q.limit}) if more else None,
        }
    if q.cursor:
        stmt = stmt.where(Person.id > cursor_int(q.cursor, "id"))
    people = list((await session.scalars(stmt.order_by(Person.id).limit(q.limit + 1))).all())
    more = len(people) > q.limit
    people = people[: q.limit]
    return {
        "items": [_person_dict(p) for p in people],
        "next_cursor": encode_cursor({"id": people[-1].id}) if more else None,
    }


async def person_detail(
    session: AsyncSession, *, person_id: int, max_age: int | None = None
) -> dict[str, Any]:
    """A person with their filmography (for a child, the titles within their limit)."""
    person = await access_person(session, person_id=person_id)
    rows = list(
        (
            await session.execute(
                select(*browse.ITEM_COLUMNS, Credit.role.label("credit_role"), Credit.character)
                .join(Credit, Credit.title_id == Title.id)
                .where(Credit.person_id == person_id, *browse.visible_titles(max_age))
                .order_by(Title.year.desc().nulls_last(), Title.id.desc())
                .limit(1000)
            )
        ).mappings()
    )
    genres = await browse.genres_of(session, [r["id"] for r in rows])
    return _person_dict(person) | {
        "filmography": [
            {
                "title": browse.item_dict(r, genres.get(r["id"], [])),
                "role": r["credit_role"].value,
                "character": r["character"],
            }
            for r in rows
        ]
    }


# ---- title detail --------------------------------------------------------------------------

_TERMS_OF_TITLE = text(
    """
    SELECT 'genres' AS kind, g.id, g.slug, g.name FROM title_genres x
        JOIN genres g ON g.id = x.genre_id WHERE x.title_id = :id
    UNION ALL SELECT 'tags', t.id, t.slug, t.name FROM title_tags x
        JOIN tags t ON t.id = x.tag_id WHERE x.title_id = :id
    UNION ALL SELECT 'categories', c.id, c.slug, c.name FROM title_categories x
        JOIN categories c ON c.id = x.category_id WHERE x.title_id = :id
    UNION ALL SELECT 'countries', NULL, c.code, c.name FROM title_countries x
        JOIN countries c ON c.code = x.country_code WHERE x.title_id = :id
    ORDER BY 1, 4
    """
)


async def title_detail(
    session: AsyncSession, *, title_id: int, max_age: int | None = None
) -> dict[str, Any]:
    """A title with everything about it, in four queries; for a child, a title above their
    limit is 403 `maturity_restricted`."""
    row = (
        (
            await session.execute(
                select(
                    *browse.ITEM_COLUMNS,
                    Title.description,
                    Title.backdrop_url,
                    Title.created_at,
                    Title.updated_at,
                    Title.min_age,
                ).where(Title.id == title_id)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")
    maturity.check_allowed(row["min_age"], max_age)
    terms: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for kind, id_, slug, name in await session.execute(_TERMS_OF_TITLE, {"id": title_id}):
        if kind == "countries":
            terms[kind].append({"code": slug, "name": name})
        else:
            terms[kind].append({"id": id_, "slug": slug, "name": name})
    credits = [
        {"person": {"id": pid, "name": name}, "role": role.value, "character": character}
        for pid, name, role, character in await session.execute(
            select(Person.id, Person.name, Credit.role, Credit.character)
            .join(Person, Person.id == Credit.person_id)
            .where(Credit.title_id == title_id)
            .order_by(Credit.position, Credit.id)
        )
    ]
    seasons: list[dict[str, Any]] = []
    if row["kind"] == TitleKind.series:
        by_id: dict[int, dict[str, Any]] = {}
        for sid, snum, sname, eid, enum_, etitle, eruntime, edate in await session.execute(
            select(
                Season.id,
                Season.number,
                Season.name,
                Episode.id,
                Episode.number,
                Episode.title,
                Episode.runtime_minutes,
                Episode.release_date,
            )
            .outerjoin(Episode, Episode.season_id == Season.id)
            .where(Season.title_id == title_id)
            .order_by(Season.number, Episode.number)
        ):
            season = by_id.get(sid)
            if season is None:
                season = by_id[sid] = {"id": sid, "number": snum, "name": sname, "episodes": []}
                seasons.append(season)
            if eid is not None:
                season["episodes"].append(
                    {
                        "id": eid,
                        "number": enum_,
                        "title": etitle,
                        "runtime_minutes": eruntime,
                        "release_date": edate.isoformat() if edate else None,
                    }
                )
    return browse.item_dict(row, terms["genres"]) | {
        "description": row["description"],
        "backdrop_url": row["backdrop_url"],
        "tags": terms["tags"],
        "categories": terms["categories"],
        "countries": terms["countries"],
        "credits": credits,
        "seasons": seasons,
        "created_at": row["created_at"].isoformat(),
        "updated_at": row["updated_at"].isoformat(),
    }


async def rating_summary(session: AsyncSession, *, title_id: int) -> dict[str, Any]:
    row = (
        await session.execute(
            select(Title.rating_avg, Title.rating_count).where(Title.id == title_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")
    return {"title_id": title_id, "rating_avg": round(row[0], 2), "rating_count": row[1]}


# After every rating, so plain SQL built once. With synchronous_commit off for its
# transaction: the row is a copy the social counters rebuild, and waiting for the disk flush
# inside its lock would serialize a hot title's raters at the disk's pace.
_SET_RATING_IF_NEWER = text(
    """
    WITH cfg AS (SELECT set_config('synchronous_commit', 'off', true))
    UPDATE titles SET rating_avg = :avg, rating_count = :n, rating_version = :v
    WHERE id = :t AND rating_version < :v AND EXISTS (SELECT FROM cfg)
    """
)


async def do_set_rating_summary(
    session: AsyncSession,
    *,
    title_id: int,
    rating_avg: float,
    rating_count: int,
    version: int | None = None,
) -> None:
    """For the social aggregate: store a title's rating summary (then `invalidate_title`).

    With a `version`, only over an older one: concurrent writers may arrive in any order,
    and the row holds the newest summary whoever commits last."""
    if version is not None:
        await session.execute(
            _SET_RATING_IF_NEWER,
            {"t": title_id, "avg": rating_avg, "n": rating_count, "v": version},
        )
        return
    await session.execute(
        update(Title)
        .where(Title.id == title_id)
        .values(rating_avg=rating_avg, rating_count=rating_count)
    )


# ---- collections ---------------------------------------------------------------------------


def _collection_dict(c: Collection) -> dict[str, Any]:
    return {
        "id": c.id,
        "slug": c.slug,
        "name": c.name,
        "description": c.description,
        "created_at": c.created_at.isoformat(),
        "updated_at": c.updated_at.isoformat(),
    }


async def access_collection(session: AsyncSession, *, ref: str) -> Collection:
    """By id or slug."""
    collection_id = parse_id(ref)
    where = Collection.id == collection_id if collection_id is not None else Collection.slug == ref
    collection = (await session.scalars(select(Collection).where(where))).first()
    if collection is None:
        raise NotFound(f"Collection {ref} not found", code="collection_not_found")
    return collection


async def _set_items(
    session: AsyncSession, *, collection_id: int, items: list[schemas.CollectionItemIn]
) -> None:
    ids = [i.title_id for i in items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("A title appears twice in the collection", code="duplicate_item")
    found = set((await session.scalars(select(Title.id).where(Title.id.in_(ids)))).all())
    missing = [i for i in ids if i not in found]
    if missing:
        raise InvalidInput(f"Unknown title id(s): {missing}", code="unknown_title", details=missing)
    await session.execute(
        delete(CollectionItem).where(CollectionItem.collection_id == collection_id)
    )
    if items:
        await session.execute(
            insert(CollectionItem).values(
                [
                    {
                        "collection_id": collection_id,
                        "title_id": i.title_id,
                        "position": n,
                        "note": i.note,
                    }
                    for n, i in enumerate(items)
                ]
            )
        )


async def do_create_collection(session: AsyncSession, *, data: schemas.CollectionIn) -> int:
    collection = Collection(
        slug=data.slug or schemas.slugify(data.name), name=data.name, description=data.description
    )
    session.add(collection)
    await _flush_unique(session, f"Collection '{collection.slug}' already exists")
    await _set_items(session, collection_id=collection.id, items=data.items)
    return collection.id


async def do_update_collection(
    session: AsyncSession, *, ref: str, patch: schemas.CollectionPatch
) -> int:
    collection = await access_collection(session, ref=ref)
    for f in ("name", "slug", "description"):
        if f in patch.model_fields_set:
            value = getattr(patch, f)
            if value is None and f != "description":
                raise InvalidInput(f"{f} cannot be null", code="invalid_input")
            setattr(collection, f, value)
    collection.updated_at = func.now()
    await _flush_unique(session, f"Collection '{collection.slug}' already exists")
    if patch.items is not None:
        await _set_items(session, collection_id=collection.id, items=patch.items)
    return collection.id


async def do_delete_collection(session: AsyncSession, *, ref: str) -> None:
    collection = await access_collection(session, ref=ref)
    await session.delete(collection)
    await session.flush()


async def list_collections(session: AsyncSession, *, q: schemas.PageQuery) -> dict[str, Any]:
    stmt = select(Collection).order_by(Collection.id.desc())
    if q.cursor:
        stmt = stmt.where(Collection.id < cursor_int(q.cursor, "id"))
    rows = list((await session.scalars(stmt.limit(q.limit + 1))).all())
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    return {
        "items": [_collection_dict(c) for c in rows],
        "next_cursor": encode_cursor({"id": rows[-1].id}) if more else None,
    }


async def collection_detail(
    session: AsyncSession, *, ref: str, max_age: int | None = None
) -> dict[str, Any]:
    """A collection with its titles (for a child, those within their limit)."""
    collection = await access_collection(session, ref=ref)
    rows = list(
        (
            await session.execute(
                select(*browse.ITEM_COLUMNS, CollectionItem.position, CollectionItem.note)
                .join(CollectionItem, CollectionItem.title_id == Title.id)
                .where(CollectionItem.collection_id == collection.id)
                .where(*browse.visible_titles(max_age))
                .order_by(CollectionItem.position)
            )
        ).mappings()
    )
    genres = await browse.genres_of(session, [r["id"] for r in rows])
    return _collection_dict(collection) | {
        "items": [
            {
                "position": r["position"],
                "note": r["note"],
                "title": browse.item_dict(r, genres.get(r["id"], [])),
            }
            for r in rows
        ]
    }
