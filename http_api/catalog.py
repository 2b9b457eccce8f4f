"""Catalog routes: everyone reads (cached, with ETag), editors and admins write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import Response

from http_api.routing import Api, Call
from models.accounts.tables import Role
from models.catalog import browse, cache, schemas, service
from models.catalog.cache import CachedBody, cache_for, key_of
from models.editorial import service as editorial

api = Api(tags=["catalog"])

READ_ERRORS = (404, 422)
WRITE_ERRORS = (401, 403, 404, 409, 422)


def _etag_matches(header: str, etag: str) -> bool:
    if header.strip() == "*":
        return True
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return etag in candidates


def respond(call: Call, cached: CachedBody) -> Response:
    """The cached body, or 304 when the client already has it."""
    headers = {"Cache-Control": cached.cache_control, "X-Cache": "hit" if cached.hit else "miss"}
    if cached.etag:
        headers["ETag"] = cached.etag
        inm = call.request.headers.get("if-none-match")
        if inm and _etag_matches(inm, cached.etag):
            return Response(status_code=304, headers=headers)
    return Response(cached.body, media_type="application/json", headers=headers)


def _max_age(call: Call) -> int | None:
    """A child's maturity limit (family controls), from their session; None: no limit."""
    return call.user.max_age if call.user is not None else None


def _for(call: Call, key: str) -> str:
    """The cache key of what this viewer sees: a child's limit is part of it."""
    max_age = _max_age(call)
    return key if max_age is None else f"age{max_age}:{key}"


async def _read(
    call: Call,
    kind: str,
    key: str,
    fn: Callable[[AsyncSession], Awaitable[Any]],
    **kw: Any,
) -> Response:
    key = _for(call, key)

    async def compute() -> Any:
        async with call.ctx.sessions() as session:
            return await fn(session)

    return respond(call, await cache_for(call.ctx).get_or_compute(kind, key, compute, **kw))


# ---- reads ---------------------------------------------------------------------------------


@api.get(
    "/titles",
    query=schemas.TitleQuery,
    response=schemas.TitlePage,
    auth="optional",
    errors=READ_ERRORS,
)
async def list_titles(call: Call) -> Response:
    """Browse and search titles (filters, sorts, cursor); `q` searches titles, genres, people.

    A child account sees only titles within its maturity limit."""
    q: schemas.TitleQuery = call.query
    max_age = _max_age(call)
    return await _read(
        call,
        "list",
        key_of(q.model_dump(mode="json")),
        lambda s: browse.list_titles(s, q, max_age=max_age),
    )


@api.get(
    "/titles/facets",
    query=schemas.FacetQuery,
    response=schemas.Facets,
    auth="optional",
    errors=(422,),
)
async def title_facets(call: Call) -> Response:
    """Titles per genre and per decade under the same filters as the list."""
    q: schemas.FacetQuery = call.query
    max_age = _max_age(call)
    return await _read(
        call,
        "facets",
        key_of(q.model_dump(mode="json")),
        lambda s: browse.facets(s, q, max_age=max_age),
    )


@api.get("/titles/{title_id:int}", response=schemas.TitleDetail, auth="optional", errors=(403, 404))
async def get_title(call: Call) -> Response:
    """A title with genres, tags, categories, countries, credits, seasons and episodes
    (403 `maturity_restricted` for a child account when it is above its limit)."""
    title_id: int = call.params["title_id"]
    max_age = _max_age(call)
    return await _read(
        call,
        "title",
        str(title_id),
        lambda s: service.title_detail(s, title_id=title_id, max_age=max_age),
        title_id=title_id,
    )


@api.get(
    "/titles/{title_id:int}/rating", response=schemas.RatingSummary, auth="none", errors=(404,)
)
async def get_rating(call: Call) -> Response:
    """Average user rating and rating count of a title."""
    title_id: int = call.params["title_id"]
    return await _read(
        call,
        "rating",
        str(title_id),
        lambda s: service.rating_summary(s, title_id=title_id),
        title_id=title_id,
        global_gen=False,
    )


@api.get("/people", query=schemas.PeopleQuery, response=schemas.PersonPage, auth="none")
async def list_people(call: Call) -> Response:
    """People, or those whose name is closest to `q`."""
    q: schemas.PeopleQuery = call.query
    return await _read(
        call,
        "person",
        "list:" + key_of(q.model_dump(mode="json")),
        lambda s: service.list_people(s, q=q),
    )


@api.get("/people/{person_id:int}", response=schemas.PersonDetail, auth="optional", errors=(404,))
async def get_person(call: Call) -> Response:
    """A person with their filmography."""
    person_id: int = call.params["person_id"]
    max_age = _max_age(call)
    return await _read(
        call,
        "person",
        str(person_id),
        lambda s: service.person_detail(s, person_id=person_id, max_age=max_age),
    )


@api.get("/collections", query=schemas.PageQuery, response=schemas.CollectionPage, auth="none")
async def list_collections(call: Call) -> Response:
    """Curated collections, newest first."""
    q: schemas.PageQuery = call.query
    return await _read(
        call,
        "collection",
        "list:" + key_of(q.model_dump(mode="json")),
        lambda s: service.list_collections(s, q=q),
    )


@api.get("/collections/{ref}", response=schemas.CollectionDetail, auth="optional", errors=(404,))
async def get_collection(call: Call) -> Response:
    """A collection (by id or slug) with its titles in editorial order."""
    ref: str = call.params["ref"]
    max_age = _max_age(call)
    return await _read(
        call,
        "collection",
        "ref:" + ref,
        lambda s: service.collection_detail(s, ref=ref, max_age=max_age),
    )


def _term_reads(field: str) -> None:
    async def list_terms(call: Call) -> Response:
        return await _read(call, "terms", field, lambda s: service.list_terms(s, field=field))

    list_terms.__doc__ = f"All {field}."
    list_terms.__name__ = f"list_{field}"
    api.get(f"/{field}", response=schemas.TermPage, auth="none")(list_terms)


for _field in service.TERM_MODELS:
    _term_reads(_field)


@api.get("/countries", response=schemas.CountryPage, auth="none")
async def list_countries(call: Call) -> Response:
    """Countries that titles can be attributed to."""
    return await _read(call, "terms", "countries", service.list_countries)


@api.get("/catalog/cache-stats", response=dict[str, schemas.CacheKindStats], errors=(401, 403))
async def cache_stats(call: Call) -> dict[str, schemas.CacheKindStats]:
    """Hit and miss counts of the catalog cache per kind, across all processes (admins)."""
    call.require_role(Role.admin)
    stats = await cache.stats(call.ctx)
    return {kind: schemas.CacheKindStats.model_validate(v) for kind, v in stats.items()}


# ---- writes: the editorial service does role, transaction, parties, cache and read back ----


@api.post(
    "/titles", body=schemas.TitleIn, response=schemas.TitleDetail, status=201, errors=WRITE_ERRORS
)
async def create_title(call: Call) -> schemas.TitleDetail:
    """Create a title (editors)."""
    return await editorial.do_create_title(call.ctx, actor=call.require_user(), data=call.body)


@api.patch(
    "/titles/{title_id:int}",
    body=schemas.TitlePatch,
    response=schemas.TitleDetail,
    errors=WRITE_ERRORS,
)
async def update_title(call: Call) -> schemas.TitleDetail:
    """Change a title; lists given replace the old ones (editors)."""
    return await editorial.do_update_title(
        call.ctx, actor=call.require_user(), title_id=call.params["title_id"], patch=call.body
    )


@api.delete("/titles/{title_id:int}", status=204, errors=WRITE_ERRORS)
async def delete_title(call: Call) -> None:
    """Delete a title with its seasons, episodes and credits (editors)."""
    await editorial.do_delete_title(
        call.ctx, actor=call.require_user(), title_id=call.params["title_id"]
    )


@api.post(
    "/titles/{title_id:int}/seasons",
    body=schemas.SeasonIn,
    response=schemas.TitleDetail,
    status=201,
    errors=WRITE_ERRORS,
)
async def create_season(call: Call) -> schemas.TitleDetail:
    """Add a season to a series (editors); answers the series."""
    return await editorial.do_create_season(
        call.ctx, actor=call.require_user(), title_id=call.params["title_id"], data=call.body
    )


@api.patch(
    "/seasons/{season_id:int}",
    body=schemas.SeasonPatch,
    response=schemas.TitleDetail,
    errors=WRITE_ERRORS,
)
async def update_season(call: Call) -> schemas.TitleDetail:
    """Renumber or rename a season (editors); answers the series."""
    return await editorial.do_update_season(
        call.ctx, actor=call.require_user(), season_id=call.params["season_id"], patch=call.body
    )


@api.delete("/seasons/{season_id:int}", status=204, errors=WRITE_ERRORS)
async def delete_season(call: Call) -> None:
    """Delete a season and its episodes (editors)."""
    await editorial.do_delete_season(
        call.ctx, actor=call.require_user(), season_id=call.params["season_id"]
    )


@api.post(
    "/seasons/{season_id:int}/episodes",
    body=schemas.EpisodeIn,
    response=schemas.TitleDetail,
    status=201,
    errors=WRITE_ERRORS,
)
async def create_episode(call: Call) -> schemas.TitleDetail:
    """Add an episode to a season (editors); answers the series."""
    return await editorial.do_create_episode(
        call.ctx, actor=call.require_user(), season_id=call.params["season_id"], data=call.body
    )


@api.patch(
    "/episodes/{episode_id:int}",
    body=schemas.EpisodePatch,
    response=schemas.TitleDetail,
    errors=WRITE_ERRORS,
)
async def update_episode(call: Call) -> schemas.TitleDetail:
    """Change an episode (editors); answers the series."""
    return await editorial.do_update_episode(
        call.ctx, actor=call.require_user(), episode_id=call.params["episode_id"], patch=call.body
    )


@api.delete("/episodes/{episode_id:int}", status=204, errors=WRITE_ERRORS)
async def delete_episode(call: Call) -> None:
    """Delete an episode (editors)."""
    await editorial.do_delete_episode(
        call.ctx, actor=call.require_user(), episode_id=call.params["episode_id"]
    )


def _term_writes(field: str) -> None:
    async def create(call: Call) -> schemas.Term:
        return await editorial.do_create_term(
            call.ctx, actor=call.require_user(), field=field, data=call.body
        )

    async def update(call: Call) -> schemas.Term:
        return await editorial.do_update_term(
            call.ctx,
            call.outbox,
            actor=call.require_user(),
            field=field,
            term_id=call.params["term_id"],
            patch=call.body,
        )

    async def remove(call: Call) -> None:
        await editorial.do_delete_term(
            call.ctx,
            call.outbox,
            actor=call.require_user(),
            field=field,
            term_id=call.params["term_id"],
        )

    one = field[:-1] if field != "categories" else "category"
    create.__doc__ = f"Create a {one} (editors)."
    update.__doc__ = f"Rename a {one} or change its slug (editors)."
    remove.__doc__ = f"Delete a {one}; titles lose it (editors)."
    create.__name__, update.__name__, remove.__name__ = (
        f"{v}_{one}" for v in ("create", "update", "delete")
    )
    api.post(
        f"/{field}", body=schemas.TermIn, response=schemas.Term, status=201, errors=WRITE_ERRORS
    )(create)
    api.patch(
        f"/{field}/{{term_id:int}}",
        body=schemas.TermPatch,
        response=schemas.Term,
        errors=WRITE_ERRORS,
    )(update)
    api.delete(f"/{field}/{{term_id:int}}", status=204, errors=WRITE_ERRORS)(remove)


for _field in service.TERM_MODELS:
    _term_writes(_field)


@api.post(
    "/people", body=schemas.PersonIn, response=schemas.PersonDetail, status=201, errors=WRITE_ERRORS
)
async def create_person(call: Call) -> schemas.PersonDetail:
    """Add a person (editors)."""
    return await editorial.do_create_person(call.ctx, actor=call.require_user(), data=call.body)


@api.patch(
    "/people/{person_id:int}",
    body=schemas.PersonPatch,
    response=schemas.PersonDetail,
    errors=WRITE_ERRORS,
)
async def update_person(call: Call) -> schemas.PersonDetail:
    """Change a person; a new name is searchable at once (editors)."""
    return await editorial.do_update_person(
        call.ctx,
        call.outbox,
        actor=call.require_user(),
        person_id=call.params["person_id"],
        patch=call.body,
    )


@api.delete("/people/{person_id:int}", status=204, errors=WRITE_ERRORS)
async def delete_person(call: Call) -> None:
    """Delete a person and their credits (editors)."""
    await editorial.do_delete_person(
        call.ctx, call.outbox, actor=call.require_user(), person_id=call.params["person_id"]
    )


@api.post(
    "/collections",
    body=schemas.CollectionIn,
    response=schemas.CollectionDetail,
    status=201,
    errors=WRITE_ERRORS,
)
async def create_collection(call: Call) -> schemas.CollectionDetail:
    """Create a curated collection with its ordered titles (editors)."""
    return await editorial.do_create_collection(call.ctx, actor=call.require_user(), data=call.body)


@api.patch(
    "/collections/{ref}",
    body=schemas.CollectionPatch,
    response=schemas.CollectionDetail,
    errors=WRITE_ERRORS,
)
async def update_collection(call: Call) -> schemas.CollectionDetail:
    """Change a collection; `items` replaces the whole ordered list (editors)."""
    return await editorial.do_update_collection(
        call.ctx, actor=call.require_user(), ref=call.params["ref"], patch=call.body
    )


@api.delete("/collections/{ref}", status=204, errors=WRITE_ERRORS)
async def delete_collection(call: Call) -> None:
    """Delete a collection (its titles stay) (editors)."""
    await editorial.do_delete_collection(
        call.ctx, actor=call.require_user(), ref=call.params["ref"]
    )
