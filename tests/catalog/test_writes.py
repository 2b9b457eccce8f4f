"""Editors and admins write the catalog; everyone reads; bad input is refused clearly."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from models.catalog import search
from models.core.context import Context
from tests.catalog.helpers import count_queries, editor, ensure_terms, post, tag
from tests.factories import make_account


async def test_only_editors_and_admins_write(ctx: Context, client: httpx.AsyncClient) -> None:
    body = {"kind": "film", "title": "Nope"}
    assert (await client.post("/api/v1/titles", json=body)).status_code == 401
    user = await make_account(ctx, client)
    for path, payload in [
        ("/titles", body),
        ("/genres", {"name": "Nope"}),
        ("/people", {"name": "Nobody"}),
        ("/collections", {"name": "Nope"}),
    ]:
        r = await client.post(f"/api/v1{path}", json=payload, headers=user.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", path
    admin = await make_account(ctx, client, role="admin")
    made = await post(client, admin, "/titles", body)
    for method in ("patch", "delete"):
        kwargs = {"json": {"title": "x"}} if method == "patch" else {}
        r = await getattr(client, method)(
            f"/api/v1/titles/{made['id']}", headers=user.headers, **kwargs
        )
        assert r.status_code == 403
    assert (
        await client.delete(f"/api/v1/titles/{made['id']}", headers=admin.headers)
    ).status_code == 204


async def test_title_validation(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)

    async def create(body: dict[str, object]) -> httpx.Response:
        return await client.post("/api/v1/titles", json=body, headers=who.headers)

    r = await create({"kind": "film", "title": "X", "genres": ["no-such-genre"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_genres"
    r = await create({"kind": "film", "title": "X", "countries": ["QQ"]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_country"
    r = await create(
        {"kind": "film", "title": "X", "credits": [{"person_id": 10**12, "role": "actor"}]}
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_person"
    r = await create({"kind": "cartoon", "title": "X"})
    assert r.status_code == 422
    r = await create({"kind": "film", "title": "X", "year": 1500})
    assert r.status_code == 422
    r = await create({"kind": "film", "title": "X", "surprise": 1})
    assert r.status_code == 422
    r = await create({"kind": "film", "title": "X", "poster_url": "javascript:alert(1)"})
    assert r.status_code == 422
    assert (await client.get("/api/v1/titles/999999999")).status_code == 404
    assert (await client.get("/api/v1/titles/abc")).status_code == 404


async def test_series_with_seasons_and_episodes(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    film = await post(client, who, "/titles", {"kind": "film", "title": "A Film"})
    r = await client.post(
        f"/api/v1/titles/{film['id']}/seasons", json={"number": 1}, headers=who.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "not_a_series"
    series = await post(client, who, "/titles", {"kind": "series", "title": "A Series"})
    s1 = await post(client, who, f"/titles/{series['id']}/seasons", {"number": 1, "name": "One"})
    dup = await client.post(
        f"/api/v1/titles/{series['id']}/seasons", json={"number": 1}, headers=who.headers
    )
    assert dup.status_code == 409
    season_id = s1["seasons"][0]["id"]
    for n in (2, 1, 3):
        await post(client, who, f"/seasons/{season_id}/episodes", {"number": n, "title": f"E{n}"})
    await post(client, who, f"/titles/{series['id']}/seasons", {"number": 2})
    detail = (await client.get(f"/api/v1/titles/{series['id']}")).json()
    assert [s["number"] for s in detail["seasons"]] == [1, 2]
    assert [e["title"] for e in detail["seasons"][0]["episodes"]] == ["E1", "E2", "E3"]
    ep = detail["seasons"][0]["episodes"][0]["id"]
    r = await client.patch(f"/api/v1/episodes/{ep}", json={"title": "Pilot"}, headers=who.headers)
    assert r.status_code == 200
    assert r.json()["seasons"][0]["episodes"][0]["title"] == "Pilot"
    assert (await client.delete(f"/api/v1/episodes/{ep}", headers=who.headers)).status_code == 204
    r = await client.patch(
        f"/api/v1/titles/{series['id']}", json={"kind": "film"}, headers=who.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "has_seasons"
    detail = (await client.get(f"/api/v1/titles/{series['id']}")).json()
    assert [e["title"] for e in detail["seasons"][0]["episodes"]] == ["E2", "E3"]


async def test_detail_costs_a_fixed_number_of_queries(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    from models.catalog import service

    who = await editor(ctx, client)
    await ensure_terms(client, who, "genres", "Drama", "Comedy")
    people = [(await post(client, who, "/people", {"name": f"P{i}"}))["id"] for i in range(8)]
    counts = []
    for n in (1, 8):
        title = await post(
            client,
            who,
            "/titles",
            {
                "kind": "series",
                "title": f"Counted {n}",
                "genres": ["drama", "comedy"][: 1 + n // 8],
                "credits": [{"person_id": p, "role": "actor"} for p in people[:n]],
            },
        )
        for s in range(1, n + 1):
            season = await post(client, who, f"/titles/{title['id']}/seasons", {"number": s})
            sid = season["seasons"][-1]["id"]
            await post(client, who, f"/seasons/{sid}/episodes", {"number": 1, "title": "E"})
        async with ctx.sessions() as session:
            with count_queries(ctx.engine) as counter:
                await service.title_detail(session, title_id=title["id"])
        counts.append(counter.count)
    assert counts[0] == counts[1] == 4


async def test_people_and_filmography(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    name = f"Ana {tag()}"
    person = await post(client, who, "/people", {"name": name, "birth_date": "1980-02-03"})
    for title in ("First", "Second"):
        await post(
            client,
            who,
            "/titles",
            {
                "kind": "film",
                "title": title,
                "credits": [{"person_id": person["id"], "role": "actor", "character": "Hero"}],
            },
        )
    detail = (await client.get(f"/api/v1/people/{person['id']}")).json()
    assert {f["title"]["title"] for f in detail["filmography"]} == {"First", "Second"}
    assert detail["filmography"][0]["character"] == "Hero"
    found = (await client.get("/api/v1/people", params={"q": name.lower()})).json()
    assert found["items"][0]["id"] == person["id"]
    assert (
        await client.delete(f"/api/v1/people/{person['id']}", headers=who.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/people/{person['id']}")).status_code == 404


async def test_collections_keep_editorial_order(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    ids = [(await post(client, who, "/titles", {"kind": "film", "title": t}))["id"] for t in "ABC"]
    slug = tag()
    made = await post(
        client,
        who,
        "/collections",
        {
            "name": "Oscar winners",
            "slug": slug,
            "items": [{"title_id": ids[2], "note": "best"}, {"title_id": ids[0]}],
        },
    )
    assert [i["title"]["title"] for i in made["items"]] == ["C", "A"]
    by_slug = (await client.get(f"/api/v1/collections/{slug}")).json()
    assert by_slug["id"] == made["id"] and by_slug["items"][0]["note"] == "best"
    r = await client.patch(
        f"/api/v1/collections/{slug}",
        json={"items": [{"title_id": i} for i in ids]},
        headers=who.headers,
    )
    assert [i["title"]["title"] for i in r.json()["items"]] == ["A", "B", "C"]
    assert [
        i["title"]["title"]
        for i in (await client.get(f"/api/v1/collections/{slug}")).json()["items"]
    ] == ["A", "B", "C"]
    bad = await client.patch(
        f"/api/v1/collections/{slug}", json={"items": [{"title_id": 10**12}]}, headers=who.headers
    )
    assert bad.status_code == 422
    listed = (await client.get("/api/v1/collections", params={"limit": 200})).json()
    assert made["id"] in [c["id"] for c in listed["items"]]
    assert (
        await client.delete(f"/api/v1/collections/{slug}", headers=who.headers)
    ).status_code == 204
    assert (await client.get(f"/api/v1/collections/{slug}")).status_code == 404


async def test_terms_crud(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    name = f"Noir {tag()}"
    made = await post(client, who, "/categories", {"name": name})
    dup = await client.post("/api/v1/categories", json={"name": name}, headers=who.headers)
    assert dup.status_code == 409
    r = await client.patch(
        f"/api/v1/categories/{made['id']}", json={"name": "Film noir"}, headers=who.headers
    )
    assert r.json()["name"] == "Film noir"
    listed = (await client.get("/api/v1/categories")).json()["items"]
    assert {"id": made["id"], "slug": made["slug"], "name": "Film noir"} in listed
    assert (
        await client.delete(f"/api/v1/categories/{made['id']}", headers=who.headers)
    ).status_code == 204
    assert (await client.get("/api/v1/countries")).status_code == 200


async def test_a_rename_many_titles_carry_is_searched_after_a_job(
    ctx: Context, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Search documents of a few titles change with the edit; of many, in a job (batched,
    so the edit neither waits nor locks every title): either way search follows."""
    monkeypatch.setattr(search, "SYNC_REFRESH_LIMIT", 2)
    monkeypatch.setattr(search, "REFRESH_BATCH", 2)
    batches: list[list[int]] = []
    real_refresh = search.refresh_titles

    async def refresh(db: Any, ids: Any) -> None:
        batches.append(list(ids))
        await real_refresh(db, ids)

    monkeypatch.setattr(search, "refresh_titles", refresh)
    who = await editor(ctx, client)
    old, new, label = tag(), tag(), tag()
    await ensure_terms(client, who, "tags", label)
    genre = await post(client, who, "/genres", {"name": old.title()})
    for i in range(5):
        await post(
            client,
            who,
            "/titles",
            {"kind": "film", "title": f"Film {i}", "genres": [genre["slug"]], "tags": [label]},
        )

    async def found(word: str) -> int:
        r = await client.get("/api/v1/titles", params={"q": word, "tag": label})
        return len(r.json()["items"])

    assert await found(old) == 5
    r = await client.patch(
        f"/api/v1/genres/{genre['id']}", json={"name": new.title()}, headers=who.headers
    )
    assert r.status_code == 200 and r.json()["name"] == new.title()
    deadline = asyncio.get_running_loop().time() + 30
    while await found(new) < 5:  # the worker's job, then the catalog cache let go
        assert asyncio.get_running_loop().time() < deadline, "search never saw the rename"
        await asyncio.sleep(0.1)
    assert await found(old) == 0
    assert [len(b) for b in batches[-3:]] == [2, 2, 1]  # the job's batches, not the edit
