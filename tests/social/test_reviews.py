"""Ratings (incremental aggregates, correct under concurrency, cached), title likes,
comments with one level of replies, soft delete, spoilers, comment likes."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from models.catalog.tables import Title
from models.core.context import Context
from models.social import policy
from models.social import relations as social_relations
from models.social.policy import Actor
from models.social.reviews import service
from models.social.reviews.tables import Rating, TitleSocialStats, shard_of
from tests.catalog.helpers import count_queries
from tests.factories import Account, make_title
from tests.social.helpers import accounts, befriend, block, bulk_users


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
    """Counters are split over shard rows summed on read: ratings, changes and deletions
    racing on one title keep the sums, the cache and the catalog's copy exact."""
    title = await make_title(ctx)
    users = await bulk_users(ctx, 90)
    # each user writes twice at once (racing with themselves), a third of them then unrate
    # while others change their score
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
    changes = [(u, random.randint(1, 10)) for u in users[1::3]]
    await asyncio.gather(*(unrate(u) for u in users[::3]), *(rate(u, s) for u, s in changes))
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
    # the counters were spread over the title's shard rows, each holding exactly its raters
    async with ctx.sessions() as session:
        shards = dict(
            (
                await session.execute(
                    select(TitleSocialStats.shard, TitleSocialStats.rating_count).where(
                        TitleSocialStats.title_id == title.id
                    )
                )
            ).all()
        )
        raters = (
            await session.scalars(select(Rating.user_id).where(Rating.title_id == title.id))
        ).all()
        stored = (
            await session.execute(
                select(Title.rating_avg, Title.rating_count).where(Title.id == title.id)
            )
        ).one()
    assert len(shards) > 1 and sum(shards.values()) == count
    assert {k: v for k, v in shards.items() if v} == dict(Counter(shard_of(u) for u in raters))
    # the catalog's copy is the last snapshot's: exact, whatever order the writers ended in
    assert stored.rating_count == count
    assert abs(stored.rating_avg - sum(s * n for s, n in truth.items()) / count) < 1e-9
    # and a fresh read (cache emptied) sums to the same
    await ctx.redis.delete(ctx.keys("social", "title-stats", title.id))
    assert await service.title_summary(ctx, title_id=title.id) == summary


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


async def _comment(
    client: httpx.AsyncClient, who: Account, title_id: int, parent_id: int | None = None
) -> int:
    body: dict[str, Any] = {"body": f"by {who.user.username}"}
    if parent_id is not None:
        body["parent_id"] = parent_id
    r = await client.post(f"/api/v1/titles/{title_id}/comments", json=body, headers=who.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _pages(client: httpx.AsyncClient, url: str, who: Account | None, limit: int) -> list[Any]:
    """Every page of a comment list, in order: a list of pages of ids."""
    pages: list[Any] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["cursor"] = cursor
        r = await client.get(url, params=params, headers=who.headers if who else {})
        assert r.status_code == 200, r.text
        pages.append([c["id"] for c in r.json()["items"]])
        cursor = r.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 50


async def test_comment_lists_leave_out_users_i_blocked(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    reader, pest, ann, bob = await accounts(ctx, client, 4)
    title = await make_title(ctx)
    url = f"/api/v1/titles/{title.id}/comments"
    # Hidden ones among the shown, in runs, and all of the oldest and newest ends.
    order = [pest, ann, pest, pest, bob, reader, pest, ann, pest, bob, pest, pest, pest]
    written = [(await _comment(client, who, title.id), who) for who in order]
    await block(client, reader, pest)
    shown = [cid for cid, who in reversed(written) if who is not pest]  # newest first
    for limit in (1, 2, 3, 5):
        pages = await _pages(client, url, reader, limit)
        # Every page is full but the last, the last is not empty, nothing repeats or is lost.
        assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit
        assert [cid for p in pages for cid in p] == shown, limit
    everything = [cid for cid, _ in reversed(written)]
    assert [c for p in await _pages(client, url, None, 4) for c in p] == everything
    assert [c for p in await _pages(client, url, pest, 4) for c in p] == everything
    # Blocked the other way round, the reader still reads the blocker (policy: a block hides
    # what the blocked write from the blocker only).
    await block(client, ann, reader)
    assert [c for p in await _pages(client, url, reader, 3) for c in p] == shown
    # Lifting the block shows them again.
    r = await client.delete(f"/api/v1/blocks/{pest.id}", headers=reader.headers)
    assert r.status_code == 204
    assert [c for p in await _pages(client, url, reader, 4) for c in p] == everything


async def test_reply_lists_leave_out_users_i_blocked(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    reader, pest, ann = await accounts(ctx, client, 3)
    title = await make_title(ctx)
    top = await _comment(client, ann, title.id)
    order = [pest, pest, ann, reader, pest, ann, pest, ann, pest]
    written = [(await _comment(client, who, title.id, top), who) for who in order]
    await block(client, reader, pest)
    url = f"/api/v1/comments/{top}/replies"
    shown = [cid for cid, who in written if who is not pest]  # oldest first
    for limit in (1, 2, 4):
        pages = await _pages(client, url, reader, limit)
        assert all(len(p) == limit for p in pages[:-1]) and 0 < len(pages[-1]) <= limit
        assert [cid for p in pages for cid in p] == shown, limit
    assert [c for p in await _pages(client, url, ann, 3) for c in p] == [c for c, _ in written]
    # A thread a blocked user started leaves the top-level list, and by its id it is not found
    # either, with its replies: the same 404 as a comment that never was. Others read it all.
    theirs = await _comment(client, pest, title.id)
    reply = await _comment(client, ann, title.id, theirs)
    listed = (
        await client.get(f"/api/v1/titles/{title.id}/comments", headers=reader.headers)
    ).json()
    assert theirs not in [c["id"] for c in listed["items"]]
    missing = await client.get("/api/v1/comments/999999999", headers=reader.headers)
    for path in (f"/api/v1/comments/{theirs}", f"/api/v1/comments/{theirs}/replies"):
        r = await client.get(path, headers=reader.headers)
        assert r.status_code == 404 and r.json() == missing.json(), path
        for other in (ann, pest, None):
            r = await client.get(path, headers=other.headers if other else None)
            assert r.status_code == 200, (path, r.text)
    replies = (await client.get(f"/api/v1/comments/{theirs}/replies", headers=ann.headers)).json()
    assert [c["id"] for c in replies["items"]] == [reply]
    # A reply by someone else in that thread is not the blocked user's: found by its id.
    r = await client.get(f"/api/v1/comments/{reply}", headers=reader.headers)
    assert r.status_code == 200 and r.json()["parent_id"] == theirs


async def test_reply_count_leaves_out_the_replies_the_reader_does_not_see(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    reader, pest, ann = await accounts(ctx, client, 3)
    title = await make_title(ctx)
    top = await _comment(client, ann, title.id)
    for who in (pest, ann, pest, reader, pest):
        await _comment(client, who, title.id, top)
    await block(client, reader, pest)
    # A deleted reply is still listed (shown as deleted), so still counted.
    deleted = await _comment(client, ann, title.id, top)
    assert (
        await client.delete(f"/api/v1/comments/{deleted}", headers=ann.headers)
    ).status_code == 204

    async def counts(who: Account | None) -> tuple[int, int, int]:
        headers = who.headers if who else None
        listed = (await client.get(f"/api/v1/titles/{title.id}/comments", headers=headers)).json()
        one = (await client.get(f"/api/v1/comments/{top}", headers=headers)).json()
        replies = [
            c for p in await _pages(client, f"/api/v1/comments/{top}/replies", who, 50) for c in p
        ]
        return listed["items"][0]["reply_count"], one["reply_count"], len(replies)

    assert await counts(reader) == (3, 3, 3)
    assert await counts(ann) == await counts(pest) == await counts(None) == (6, 6, 6)
    r = await client.delete(f"/api/v1/blocks/{pest.id}", headers=reader.headers)
    assert r.status_code == 204
    assert await counts(reader) == (6, 6, 6)


@pytest.mark.parametrize("hide_blockers", [False, True])
async def test_comment_lists_follow_the_policy_for_every_relation(
    client: httpx.AsyncClient, ctx: Context, monkeypatch: pytest.MonkeyPatch, hide_blockers: bool
) -> None:
    """The SQL filter and policy.lists_comments_of agree, whichever way the policy is set."""
    monkeypatch.setattr(policy, "HIDE_COMMENTS_BY_BLOCKERS", hide_blockers)
    reader, friend, stranger, blocked, blocker, mutual = await accounts(ctx, client, 6)
    await befriend(client, reader, friend)
    await block(client, reader, blocked)
    await block(client, blocker, reader)
    await block(client, reader, mutual)
    await block(client, mutual, reader)
    title = await make_title(ctx)
    authors = [reader, friend, stranger, blocked, blocker, mutual]
    top = await _comment(client, stranger, title.id)
    by_author = {
        who.id: (await _comment(client, who, title.id), await _comment(client, who, title.id, top))
        for who in authors
    }
    me = Actor(reader.id)
    async with ctx.sessions() as session:
        rels = await social_relations.relations(
            session, actor_id=reader.id, other_ids=[a.id for a in authors]
        )
        comments = await service.list_comments(
            session, actor=me, title_id=title.id, cursor=None, limit=50
        )
        replies = await service.list_replies(
            session, actor=me, comment_id=top, cursor=None, limit=50
        )
    expected = {a.id for a in authors if policy.lists_comments_of(me, rels[a.id])}
    assert expected == {reader.id, friend.id, stranger.id} | (
        set() if hide_blockers else {blocker.id}
    )
    assert {c.id for c in comments.items} == {by_author[a][0] for a in expected} | {top}
    assert {c.id for c in replies.items} == {by_author[a][1] for a in expected}


async def test_comment_lists_cost_a_fixed_number_of_queries(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    reader, ann, *pests = await accounts(ctx, client, 5)
    title = await make_title(ctx)
    top = await _comment(client, ann, title.id)
    for pest in pests:
        await block(client, reader, pest)
    for i in range(12):
        author = pests[i % len(pests)] if i % 3 else ann
        mine = await _comment(client, author, title.id)
        await _comment(client, author, title.id, top)
        # Every comment has a reply the reader does not see: reply counts are corrected.
        await _comment(client, pests[i % len(pests)], title.id, mine)
    counts: dict[tuple[str, int], int] = {}
    for who, label in ((Actor(reader.id), "reader"), (Actor(None), "anonymous")):
        for limit in (1, 4):
            async with ctx.sessions() as session:
                with count_queries(ctx.engine) as counter:
                    page = await service.list_comments(
                        session, actor=who, title_id=title.id, cursor=None, limit=limit
                    )
                    assert len(page.items) == limit
                    assert {c.reply_count for c in page.items} == {0 if who.user_id else 1}
                    page = await service.list_replies(
                        session, actor=who, comment_id=top, cursor=None, limit=limit
                    )
                    assert len(page.items) == limit
            counts[(label, limit)] = counter.count
    # title + page + authors (+ my likes and the replies I do not see, when signed in), then
    # parent + page + authors (+ likes; replies have no replies)
    assert counts[("reader", 1)] == counts[("reader", 4)] == 9
    assert counts[("anonymous", 1)] == counts[("anonymous", 4)] == 6
