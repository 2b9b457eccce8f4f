"""Browse: every filter and sort, stable cursors, facets, a fixed number of SQL queries."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.catalog import browse, schemas
from models.core.context import Context
from tests.catalog.helpers import count_queries, editor, ensure_terms, post, tag


@pytest.fixture(scope="module")
async def shelf(ctx: Context, app: Any) -> dict[str, Any]:
    """Six titles under one unique tag, with varied attributes."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        who = await editor(ctx, client)
        await ensure_terms(client, who, "genres", "Drama", "Comedy", "Horror")
        await ensure_terms(client, who, "categories", "Kids")
        label, other = tag(), tag()
        await ensure_terms(client, who, "tags", label, other)
        star = (await post(client, who, "/people", {"name": f"Browse Star {label}"}))["id"]
        rows = [
            # title, kind, year, date, pop, genres, extra tag, category, country, age, star
            ("Alpha", "film", 1985, "1985-03-01", 10, ["drama"], True, False, "FR", "12+", True),
            ("Bravo", "series", 1999, "1999-05-01", 50, ["comedy"], False, True, "US", "6+", False),
            ("Charlie", "film", 2005, None, 30, ["drama", "comedy"], True, True, "US", "16+", True),
            ("Delta", "film", 2012, "2012-01-10", 40, ["horror"], False, False, "JP", "18+", False),
            ("Echo", "series", 2019, "2019-09-09", 20, ["drama"], False, False, "FR", "12+", False),
            ("Foxtrot", "film", 2021, "2021-02-02", 60, ["comedy"], True, False, "DE", "0+", True),
        ]
        ids: dict[str, int] = {}
        for name, kind, year, day, pop, genres, extra, kids, country, age, cast in rows:
            body = {
                "kind": kind,
                "title": f"{name} {label}",
                "year": year,
                "release_date": day,
                "popularity": pop,
                "genres": genres,
                "tags": [label, other] if extra else [label],
                "categories": ["kids"] if kids else [],
                "countries": [country],
                "age_rating": age,
                "credits": [{"person_id": star, "role": "actor"}] if cast else [],
            }
            ids[name] = (await post(client, who, "/titles", body))["id"]
        return {"tag": label, "other": other, "ids": ids, "star": star}


async def _names(client: httpx.AsyncClient, shelf: dict[str, Any], **params: Any) -> list[str]:
    r = await client.get("/api/v1/titles", params={"tag": shelf["tag"], **params})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"items", "next_cursor", "did_you_mean"}
    return [i["title"].split()[0] for i in body["items"]]


async def test_each_filter(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    assert await _names(client, shelf, genre="comedy") == ["Foxtrot", "Bravo", "Charlie"]
    assert await _names(client, shelf, genre=["drama", "comedy"]) == ["Charlie"]
    assert await _names(client, shelf, tag=[shelf["tag"], shelf["other"]]) == [
        "Foxtrot",
        "Charlie",
        "Alpha",
    ]
    assert await _names(client, shelf, category="kids") == ["Bravo", "Charlie"]
    assert await _names(client, shelf, kind="series") == ["Bravo", "Echo"]
    assert await _names(client, shelf, year_from=2000, year_to=2015) == ["Delta", "Charlie"]
    assert await _names(client, shelf, person=shelf["star"]) == ["Foxtrot", "Charlie", "Alpha"]
    assert await _names(client, shelf, country="fr") == ["Echo", "Alpha"]
    assert await _names(client, shelf, age_rating=["12+", "18+"]) == ["Delta", "Echo", "Alpha"]
    # Everyone starts at a zero rating until the social aggregate lands.
    assert len(await _names(client, shelf, rating_from=0, rating_to=0)) == 6
    assert await _names(client, shelf, rating_from=5) == []


async def test_each_sort(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    assert await _names(client, shelf) == ["Foxtrot", "Bravo", "Delta", "Charlie", "Echo", "Alpha"]
    assert await _names(client, shelf, sort="title") == [
        "Alpha",
        "Bravo",
        "Charlie",
        "Delta",
        "Echo",
        "Foxtrot",
    ]
    # Titles without a release date come last.
    assert await _names(client, shelf, sort="newest") == [
        "Foxtrot",
        "Echo",
        "Delta",
        "Bravo",
        "Alpha",
        "Charlie",
    ]
    assert await _names(client, shelf, sort="added") == [
        "Foxtrot",
        "Echo",
        "Delta",
        "Charlie",
        "Bravo",
        "Alpha",
    ]
    rated = await _names(client, shelf, sort="rating")
    assert sorted(rated) == sorted(["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"])
    bad = await client.get("/api/v1/titles", params={"sort": "loudest"})
    assert bad.status_code == 422


@pytest.mark.parametrize("sort", ["popular", "title", "newest", "added", "rating"])
async def test_cursor_walks_every_title_once_while_titles_are_added(
    ctx: Context, client: httpx.AsyncClient, sort: str
) -> None:
    who = await editor(ctx, client)
    label = tag()
    await ensure_terms(client, who, "tags", label)

    async def add(name: str, pop: float, day: str | None) -> None:
        body = {
            "kind": "film",
            "title": f"{name} {label}",
            "popularity": pop,
            "release_date": day,
            "tags": [label],
        }
        await post(client, who, "/titles", body)

    originals = [("Kilo", 5, "2001-01-01"), ("Lima", 5, None), ("Mike", 7, "1990-01-01")]
    originals += [("November", 1, "2010-01-01"), ("Oscar", 9, None)]
    for name, pop, day in originals:
        await add(name, pop, day)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"tag": label, "sort": sort, "limit": 2}
        if cursor:
            params["cursor"] = cursor
        body = (await client.get("/api/v1/titles", params=params)).json()
        seen += [i["title"].split()[0] for i in body["items"]]
        cursor = body["next_cursor"]
        if len(seen) == 2:
            # New titles appear mid-walk, before and after the cursor: the walk neither
            # repeats nor skips any title that was there when it started.
            await add("Alfa", 100, "2030-01-01")
            await add("Zulu", 0, None)
        if cursor is None:
            break
    assert len(seen) == len(set(seen))
    assert set(seen) >= {name for name, _, _ in originals}


async def test_cursor_of_another_sort_is_refused(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    page = (await client.get("/api/v1/titles", params={"tag": shelf["tag"], "limit": 1})).json()
    r = await client.get(
        "/api/v1/titles",
        params={"tag": shelf["tag"], "sort": "title", "cursor": page["next_cursor"]},
    )
    # The page that cursor names does not exist in this sort.
    assert r.status_code == 404 and r.json()["error"]["code"] == "invalid_cursor"
    r = await client.get("/api/v1/titles", params={"cursor": "garbage!"})  # not base64url
    assert r.status_code == 422


async def test_facets(client: httpx.AsyncClient, shelf: dict[str, Any]) -> None:
    r = await client.get("/api/v1/titles/facets", params={"tag": shelf["tag"]})
    assert r.status_code == 200, r.text
    genres = {g["key"]: g["count"] for g in r.json()["genres"]}
    assert genres == {"drama": 3, "comedy": 3, "horror": 1}
    decades = {d["key"]: d["count"] for d in r.json()["decades"]}
    assert decades == {"1980": 1, "1990": 1, "2000": 1, "2010": 2, "2020": 1}
    r = await client.get("/api/v1/titles/facets", params={"tag": shelf["tag"], "kind": "film"})
    assert {g["key"]: g["count"] for g in r.json()["genres"]} == {
        "drama": 2,
        "comedy": 2,
        "horror": 1,
    }


async def test_list_items_carry_ratings_and_genres(
    client: httpx.AsyncClient, shelf: dict[str, Any]
) -> None:
    items = (await client.get("/api/v1/titles", params={"tag": shelf["tag"]})).json()["items"]
    first = items[0]
    assert first["rating_avg"] == 0 and first["rating_count"] == 0
    assert [g["slug"] for g in first["genres"]] == ["comedy"]


async def test_fixed_number_of_queries(ctx: Context, shelf: dict[str, Any]) -> None:
    counts = []
    for limit in (1, 6):
        async with ctx.sessions() as session:
            with count_queries(ctx.engine) as counter:
                page = await browse.list_titles(
                    session, schemas.TitleQuery(tag=[shelf["tag"]], limit=limit)
                )
        assert len(page["items"]) == limit
        counts.append(counter.count)
    assert 1 <= counts[0] == counts[1] <= 3  # the page, its genres and the plan setting
    search_counts = []
    for limit in (1, 6):
        async with ctx.sessions() as session:
            with count_queries(ctx.engine) as counter:
                await browse.list_titles(
                    session, schemas.TitleQuery(q=shelf["tag"], tag=[shelf["tag"]], limit=limit)
                )
        search_counts.append(counter.count)
    assert 2 <= search_counts[0] == search_counts[1] <= 4
