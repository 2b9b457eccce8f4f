"""Ratings (incremental aggregates, correct under concurrency, cached), title likes,
comments with one level of replies, soft delete, spoilers, comment likes."""

from __future__ import annotations

import asyncio
import random

import httpx
from sqlalchemy import func, select

from models.core.context import Context
from models.social.policy import Actor
from models.social.reviews import service
from models.social.reviews.tables import Rating
from tests.social.helpers import accounts, befriend, block, bulk_users, make_title


async def test_rating_summary_is_incremental_and_cached(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b = await accounts(ctx, client, 2)
    title = await make_title(ctx)
    url = f"/api/v1/titles/{title.id}"
    empty = (await client.get(f"{url}/social")).json()
    assert empty["count"] == 0 and empty["average"] is None and empty["my_score"] is None
    assert (
        await client.put(f"{url}/rating", json={"score": 8}, headers=a.headers)
    ).status_code == 200
    r = await client.put(f"{url}/rating", json={"score": 5}, headers=b.headers)
    assert r.json()["summary"]["average"] == 6.5 and r.json()["summary"]["count"] == 2
    r = await client.put(f"{url}/rating", json={"score": 10}, headers=a.headers)  # an edit
    s = r.json()["summary"]
    assert (s["average"], s["count"]) == (7.5, 2)
    assert (
        s["distribution"]["10"] == 1 and s["distribution"]["8"] == 0 and s["distribution"]["5"] == 1
    )
    # the catalog's title (lists, sorting, its cached rating) follows at once
    catalog = (await client.get(f"{url}/rating")).json()
    assert (catalog["rating_avg"], catalog["rating_count"]) == (7.5, 2)
    mine = (await client.get(f"{url}/social", headers=a.headers)).json()
    assert mine["my_score"] == 10 and mine["average"] == 7.5
    # the read is served from the cache, which always holds the latest version
    key = ctx.keys("social", "title-stats", title.id)
    cached = await ctx.redis.hget(key, "v")
    assert cached is not None and int(cached) == s["version"]
    r = await client.delete(f"{url}/rating", headers=b.headers)
    assert r.json()["summary"]["count"] == 1 and r.json()["score"] is None
    assert (await client.delete(f"{url}/rating", headers=b.headers)).status_code == 404
    assert (await client.get(f"{url}/social")).json()["average"] == 10
    catalog = (await client.get(f"{url}/rating")).json()  # its cached copy was invalidated
    assert (catalog["rating_avg"], catalog["rating_count"]) == (10, 1)
    for bad in ({"score": 0}, {"score": 11}, {"score": "7"}, {}):
        assert (await client.put(f"{url}/rating", json=bad, headers=a.headers)).status_code == 422
    assert (await client.put(f"{url}/rating", json={"score": 3})).status_code == 401
    assert (
        await client.put("/api/v1/titles/987654321/rating", json={"score": 3}, headers=a.headers)
    ).status_code == 404


async def test_concurrent_ratings_keep_the_true_average(ctx: Context) -> None:
    title = await make_title(ctx)
    users = await bulk_users(ctx, 90)
    # each user writes twice at once (racing with themselves), a third of them then unrate
    writes = [(u, random.randint(1, 10)) for u in users for _ in range(2)]
    random.shuffle(writes)
    sem = asyncio.Semaphore(16)

    async def rate(user: object, score: int) -> None:
        async with sem:
            await service.do_rate(ctx, actor=Actor(user), title_id=title.id, score=score)  # type: ignore[arg-type]

    async def unrate(user: object) -> None:
        async with sem:
            await service.do_unrate(ctx, actor=Actor(user), title_id=title.id)  # type: ignore[arg-type]

    await asyncio.gather(*(rate(u, s) for u, s in writes))
    await asyncio.gather(*(unrate(u) for u in users[::3]))
    async with ctx.sessions() as session:
        rows = (
            await session.execute(
                select(Rating.score, func.count())
                .where(Rating.title_id == title.id)
                .group_by(Rating.score)
            )
        ).all()
    truth = {int(s): int(n) for s, n in rows}
    count = sum(truth.values())
    summary = await service.title_summary(ctx, title_id=title.id)
    assert summary.count == count == len(users) - len(users[::3])
    assert summary.average == round(sum(s * n for s, n in truth.items()) / count, 4)
    assert {int(k): v for k, v in summary.distribution.items() if v} == truth


async def test_title_likes_count_once(client: httpx.AsyncClient, ctx: Context) -> None:
    a, b = await accounts(ctx, client, 2)
    title = await make_title(ctx)
    url = f"/api/v1/titles/{title.id}/like"
    for who in (a, a, b):
        r = await client.put(url, headers=who.headers)
        assert r.status_code == 200
    assert r.json()["likes"] == 2 and r.json()["liked_by_me"] is True
    r = await client.delete(url, headers=a.headers)
    assert r.json()["likes"] == 1 and r.json()["liked_by_me"] is False
    r = await client.delete(url, headers=a.headers)
    assert r.json()["likes"] == 1


async def test_comments_replies_soft_delete_and_spoilers(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    author, other, editor = await accounts(ctx, client, 2) + await accounts(
        ctx, client, 1, role="editor"
    )
    title = await make_title(ctx)
    url = f"/api/v1/titles/{title.id}/comments"
    top = []
    for i in range(3):
        r = await client.post(
            url, json={"body": f"c{i}", "spoiler": i == 1}, headers=author.headers
        )
        assert r.status_code == 201
        top.append(r.json())
    assert top[1]["spoiler"] is True and top[0]["spoiler"] is False
    reply = (
        await client.post(
            url, json={"body": "re", "parent_id": top[0]["id"]}, headers=other.headers
        )
    ).json()
    # a reply to a reply joins the same thread, one level deep
    nested = (
        await client.post(
            url, json={"body": "re re", "parent_id": reply["id"]}, headers=author.headers
        )
    ).json()
    assert reply["parent_id"] == nested["parent_id"] == top[0]["id"]
    page = (await client.get(f"{url}?limit=2")).json()
    assert [c["id"] for c in page["items"]] == [top[2]["id"], top[1]["id"]]
    rest = (await client.get(f"{url}?limit=2&cursor={page['next_cursor']}")).json()
    assert [c["id"] for c in rest["items"]] == [top[0]["id"]] and rest["items"][0][
        "reply_count"
    ] == 2
    replies = (await client.get(f"/api/v1/comments/{top[0]['id']}/replies")).json()
    assert [c["id"] for c in replies["items"]] == [reply["id"], nested["id"]]
    # edit: the author only
    r = await client.patch(
        f"/api/v1/comments/{top[0]['id']}", json={"body": "edited"}, headers=other.headers
    )
    assert r.status_code == 403
    r = await client.patch(
        f"/api/v1/comments/{top[0]['id']}",
        json={"body": "edited", "spoiler": True},
        headers=author.headers,
    )
    assert r.json()["body"] == "edited" and r.json()["edited_at"] and r.json()["spoiler"]
    # delete: soft, the thread survives; an editor may moderate
    assert (
        await client.delete(f"/api/v1/comments/{top[0]['id']}", headers=other.headers)
    ).status_code == 403
    assert (
        await client.delete(f"/api/v1/comments/{top[0]['id']}", headers=editor.headers)
    ).status_code == 204
    gone = (await client.get(f"/api/v1/comments/{top[0]['id']}")).json()
    assert gone["deleted"] and gone["body"] is None and gone["author"] is None
    assert len((await client.get(f"/api/v1/comments/{top[0]['id']}/replies")).json()["items"]) == 2
    r = await client.post(
        url, json={"body": "late", "parent_id": top[0]["id"]}, headers=other.headers
    )
    assert r.status_code == 403
    r = await client.patch(
        f"/api/v1/comments/{top[0]['id']}", json={"body": "x"}, headers=author.headers
    )
    assert r.status_code == 404
    for bad in ({"body": ""}, {"body": "x" * 10001}, {"body": "x", "parent_id": 0}, {"text": "x"}):
        assert (await client.post(url, json=bad, headers=author.headers)).status_code == 422
    other_title = await make_title(ctx)
    r = await client.post(
        f"/api/v1/titles/{other_title.id}/comments",
        json={"body": "x", "parent_id": top[2]["id"]},
        headers=author.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "wrong_title"
    assert (await client.post(url, json={"body": "anon"})).status_code == 401


async def test_comment_likes(client: httpx.AsyncClient, ctx: Context) -> None:
    author, fan, enemy = await accounts(ctx, client, 3)
    await befriend(client, author, enemy)
    await block(client, author, enemy)
    title = await make_title(ctx)
    c = (
        await client.post(
            f"/api/v1/titles/{title.id}/comments", json={"body": "great"}, headers=author.headers
        )
    ).json()
    url = f"/api/v1/comments/{c['id']}/like"
    assert (await client.put(url, headers=author.headers)).status_code == 403  # not your own
    assert (await client.put(url, headers=enemy.headers)).status_code == 403  # blocked
    r = await client.put(url, headers=fan.headers)
    assert r.json() == {"comment_id": c["id"], "like_count": 1, "liked_by_me": True}
    assert (await client.put(url, headers=fan.headers)).json()["like_count"] == 1
    listed = (await client.get(f"/api/v1/titles/{title.id}/comments", headers=fan.headers)).json()
    assert listed["items"][0]["liked_by_me"] is True and listed["items"][0]["like_count"] == 1
    assert (await client.delete(url, headers=fan.headers)).json()["like_count"] == 0
