"""Caching of popular pages: no stale page after an edit, one computation per stampede,
ETag/304, hit ratio; across two real server processes too."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import httpx
import pytest

from models.catalog import cache, service
from models.catalog.cache import NEAR_TTL, CatalogCache, invalidate_title
from models.core.context import Context
from models.core.db import transaction
from tests.catalog.helpers import editor, ensure_terms, post, tag
from tests.conftest import LiveServer
from tests.factories import login, make_account, make_user


async def test_no_stale_title_or_list_after_edit(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    label = tag()
    await ensure_terms(client, who, "tags", label)
    title = await post(client, who, "/titles", {"kind": "film", "title": "Before", "tags": [label]})
    url = f"/api/v1/titles/{title['id']}"
    first = await client.get(url)
    assert first.headers["x-cache"] == "miss"
    again = await client.get(url)
    assert again.headers["x-cache"] == "hit" and again.json()["title"] == "Before"
    listed = await client.get("/api/v1/titles", params={"tag": label})
    assert [i["title"] for i in listed.json()["items"]] == ["Before"]
    assert (await client.get("/api/v1/titles", params={"tag": label})).headers["x-cache"] == "hit"

    r = await client.patch(url, json={"title": "After"}, headers=who.headers)
    assert r.status_code == 200 and r.json()["title"] == "After"
    fresh = await client.get(url)
    assert fresh.headers["x-cache"] == "miss" and fresh.json()["title"] == "After"
    listed = await client.get("/api/v1/titles", params={"tag": label})
    assert [i["title"] for i in listed.json()["items"]] == ["After"]
    # Search sees the new title at once too.
    found = await client.get("/api/v1/titles", params={"q": "after", "tag": label})
    assert [i["title"] for i in found.json()["items"]] == ["After"]

    # A person's rename reaches the titles that credit them.
    person = await post(client, who, "/people", {"name": "Old Name"})
    await client.patch(
        url,
        json={"credits": [{"person_id": person["id"], "role": "director"}]},
        headers=who.headers,
    )
    assert (await client.get(url)).json()["credits"][0]["person"]["name"] == "Old Name"
    await client.patch(
        f"/api/v1/people/{person['id']}", json={"name": "New Name"}, headers=who.headers
    )
    assert (await client.get(url)).json()["credits"][0]["person"]["name"] == "New Name"

    await client.delete(url, headers=who.headers)
    assert (await client.get(url)).status_code == 404


async def test_etag_and_304(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    title = await post(client, who, "/titles", {"kind": "film", "title": "Tagged"})
    url = f"/api/v1/titles/{title['id']}"
    r = await client.get(url)
    etag = r.headers["etag"]
    assert etag.startswith('"') and r.headers["cache-control"] == "public, no-cache"
    not_modified = await client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert (await client.get(url, headers={"If-None-Match": f'W/{etag}, "x"'})).status_code == 304
    await client.patch(url, json={"description": "changed"}, headers=who.headers)
    changed = await client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    listing = await client.get("/api/v1/titles", params={"limit": 1})
    assert listing.headers["cache-control"].startswith("public, max-age=")
    assert (
        await client.get(
            "/api/v1/titles",
            params={"limit": 1},
            headers={"If-None-Match": listing.headers["etag"]},
        )
    ).status_code == 304


async def test_one_computation_when_many_miss_at_once(ctx: Context) -> None:
    # Two cache objects stand for two server processes sharing Redis.
    caches = [CatalogCache(ctx), CatalogCache(ctx)]
    calls = 0

    async def compute() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.2)
        return {"items": [], "next_cursor": None, "n": calls}

    key = tag()
    results = await asyncio.gather(
        *(caches[i % 2].get_or_compute("list", key, compute) for i in range(30))
    )
    assert calls == 1
    assert {r.body for r in results} == {b'{"items":[],"next_cursor":null,"n":1}'}
    assert len({r.etag for r in results}) == 1
    # Later readers hit.
    assert (await caches[0].get_or_compute("list", key, compute)).hit


async def test_a_failed_computation_lets_the_next_caller_try(ctx: Context) -> None:
    c = CatalogCache(ctx)
    key = tag()

    async def boom() -> Any:
        raise RuntimeError("database down")

    async def fine() -> Any:
        return {"ok": True}

    with pytest.raises(RuntimeError):
        await c.get_or_compute("title", key, boom)
    assert (await c.get_or_compute("title", key, fine)).body == b'{"ok":true}'


async def test_rating_summary_and_social_hook(ctx: Context, client: httpx.AsyncClient) -> None:
    who = await editor(ctx, client)
    title = await post(client, who, "/titles", {"kind": "film", "title": "Rated"})
    url = f"/api/v1/titles/{title['id']}/rating"
    assert (await client.get(url)).json() == {
        "title_id": title["id"],
        "rating_avg": 0.0,
        "rating_count": 0,
    }
    assert (await client.get(url)).headers["x-cache"] == "hit"
    # What the social aggregate does when ratings change: store, commit, invalidate.
    async with transaction(ctx.sessions) as session:
        await service.do_set_rating_summary(
            session, title_id=title["id"], rating_avg=8.25, rating_count=4
        )
    await invalidate_title(ctx, title["id"])
    assert (await client.get(url)).json()["rating_avg"] == 8.25
    detail = (await client.get(f"/api/v1/titles/{title['id']}")).json()
    assert (detail["rating_avg"], detail["rating_count"]) == (8.25, 4)


async def test_hit_ratio_is_observable(ctx: Context, client: httpx.AsyncClient) -> None:
    await client.get("/api/v1/genres")
    await client.get("/api/v1/genres")
    admin = await make_account(ctx, client, role="admin")
    r = await client.get("/api/v1/catalog/cache-stats", headers=admin.headers)
    assert r.status_code == 200
    terms = r.json()["terms"]
    assert terms["hits"] >= 1 and terms["misses"] >= 1 and 0 < terms["hit_ratio"] < 1
    stats = await cache.stats(ctx)
    assert stats["terms"]["hits"] >= terms["hits"]
    user = await make_account(ctx, client)
    assert (
        await client.get("/api/v1/catalog/cache-stats", headers=user.headers)
    ).status_code == 403
    assert (await client.get("/api/v1/catalog/cache-stats")).status_code == 401


@pytest.mark.slow
async def test_edit_on_one_server_is_seen_by_the_other(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    a, b = two_servers
    user = await make_user(ctx, role="editor")
    async with httpx.AsyncClient(base_url=a.url) as ca, httpx.AsyncClient(base_url=b.url) as cb:
        tokens = await login(ca, user.email)
        headers = {"Authorization": f"Bearer {tokens['access_token']}"}
        r = await ca.post(
            "/api/v1/titles", json={"kind": "film", "title": "Shared"}, headers=headers
        )
        assert r.status_code == 201, r.text
        url = f"/api/v1/titles/{r.json()['id']}"
        assert (await cb.get(url)).json()["title"] == "Shared"
        assert (await cb.get(url)).headers["x-cache"] == "hit"
        listing: dict[str, Any] = {"q": "shared", "sort": "added", "limit": 1}
        assert (await cb.get("/api/v1/titles", params=listing)).json()["items"][0]["title"] == (
            "Shared"
        )
        await ca.patch(url, json={"title": "Shared, edited"}, headers=headers)
        # Details: fresh at once on every process.
        assert (await cb.get(url)).json()["title"] == "Shared, edited"
        # Lists: another process may answer from its memory for up to NEAR_TTL seconds.
        deadline = asyncio.get_running_loop().time() + NEAR_TTL["list"] + 1
        while True:
            page = (await cb.get("/api/v1/titles", params=listing)).json()
            if page["items"][0]["title"] == "Shared, edited":
                break
            assert asyncio.get_running_loop().time() < deadline, "list stayed stale"
            await asyncio.sleep(0.05)


async def test_reads_survive_a_redis_outage(ctx: Context) -> None:
    from redis.asyncio import Redis

    broken = Redis.from_url("redis://127.0.0.1:1/0", decode_responses=True)
    dead = dataclasses.replace(ctx, redis=broken)
    try:

        async def compute() -> Any:
            return {"ok": 1}

        got = await CatalogCache(dead).get_or_compute("list", tag(), compute)
        assert got.body == b'{"ok":1}' and not got.hit and got.etag == ""
    finally:
        await broken.aclose()


async def test_ratings_refresh_details_at_once_and_lists_once_per_spell(
    ctx: Context, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream of ratings must not empty every cached list page each time: the title's own
    pages follow every rating at once, list pages at most once per RATING_LIST_DELAY_S and
    never later than that."""
    # Long enough for five ratings on a loaded machine (0.5 s was not, at a load of 10).
    monkeypatch.setattr(cache, "RATING_LIST_DELAY_S", 3.0)
    who = await editor(ctx, client)
    label = tag()
    await ensure_terms(client, who, "tags", label)
    title = await post(client, who, "/titles", {"kind": "film", "title": "Rated", "tags": [label]})
    raters = [await make_account(ctx, client) for _ in range(6)]
    url = f"/api/v1/titles/{title['id']}"

    async def listed() -> tuple[int, float]:
        page = (await client.get("/api/v1/titles", params={"tag": label})).json()
        return page["items"][0]["rating_count"], page["items"][0]["rating_avg"]

    async def rate(i: int) -> None:
        r = await client.put(f"{url}/rating", json={"score": 10}, headers=raters[i].headers)
        assert r.status_code == 200, r.text

    async def generation() -> int:
        return int(await ctx.redis.get(ctx.keys("catalog", "gen")) or 0)

    # Whatever earlier tests rated: start in a quiet spell.
    await ctx.redis.delete(ctx.keys("catalog", "rating-lists", "quiet"))
    assert await listed() == (0, 0.0)
    await rate(0)  # the first rating of a quiet spell: everything at once
    assert await listed() == (1, 10.0)
    before = await generation()
    for i in range(1, 6):
        await rate(i)
        detail = (await client.get(url)).json()
        assert detail["rating_count"] == i + 1  # the title itself: always at once
    assert await generation() == before  # five ratings, no list page emptied
    await asyncio.sleep(3.5)
    assert await generation() == before + 1  # one refresh for all five
    assert await listed() == (6, 10.0)
