"""Scheduled jobs: each one run twice does its work once."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from jobs import scheduled
from models.catalog.tables import TitleKind
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.social.reviews import service as reviews
from models.social.reviews.schemas import RatingSummary
from models.social.reviews.tables import shard_of
from tests.factories import make_account, make_title
from tests.notifications.helpers import make_actors, notify


def job_ctx(ctx: Context) -> dict[str, Any]:
    """What arq hands a job: our Context under "app" and the attempt number."""
    return {"app": ctx, "job_try": 1}


async def _sql(ctx: Context, sql: str, **params: Any) -> list[Any]:
    async with transaction(ctx.sessions) as session:
        result = await session.execute(text(sql), params)
        wants_rows = sql.lstrip().upper().startswith("SELECT") or "RETURNING" in sql.upper()
        return list(result.all()) if wants_rows else []


async def _title(ctx: Context, name: str, **values: Any) -> int:
    return (await make_title(ctx, name, **values)).id


async def test_cleanup_removes_leftovers_once(ctx: Context, client: httpx.AsyncClient) -> None:
    me = await make_account(ctx, client)
    (host,) = await make_actors(ctx, 1)
    now = clock.now()
    await _sql(
        ctx,
        "INSERT INTO account_tokens (user_id, purpose, token_hash, expires_at)"
        " VALUES (:u, 'reset_password', :h, :e)",
        u=me.id,
        h=secrets.token_hex(32),
        e=now - timedelta(days=2),
    )
    old = await notify(ctx, user_id=me.id, type="friend_accepted", data={}, actor_id=host.id)
    keep = await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=host.id)
    assert old is not None and keep is not None
    await _sql(
        ctx,
        "UPDATE notifications SET read_at = :t, updated_at = :t WHERE id = :i",
        t=now - timedelta(days=100),
        i=old.id,
    )
    title = await _title(ctx, "Leftovers")
    party = uuid.uuid4()
    await _sql(
        ctx,
        "INSERT INTO parties (id, created_by, title_id, invite_code, capacity, ended_at,"
        " ended_reason) VALUES (:p, :u, :t, :c, 10, :e, 'host_ended')",
        p=party,
        u=host.id,
        t=title,
        c=secrets.token_hex(4),
        e=now - timedelta(days=40),
    )
    await _sql(
        ctx,
        "INSERT INTO party_invites (party_id, user_id, invited_by) VALUES (:p, :u, :h)",
        p=party,
        u=me.id,
        h=host.id,
    )
    await _sql(
        ctx,
        "INSERT INTO party_messages (party_id, user_id, body) VALUES (:p, :h, 'bye')",
        p=party,
        h=host.id,
    )
    # A socket entry of a process that died long ago, and a session that expired.
    stale = ctx.keys("sio", "user", str(me.id))
    await ctx.redis.zadd(stale, {"dead-sid": clock.now_ms() - 3_600_000})
    index = ctx.keys("user_sessions", str(me.id))
    await ctx.redis.sadd(index, "expired-session-id")

    first = await scheduled.cleanup(job_ctx(ctx))
    assert first["tokens"] >= 1
    assert first["notifications"] >= 1
    assert first["party_invites"] >= 1 and first["party_messages"] >= 1
    assert first["socket_entries"] >= 1 and first["session_index"] >= 1
    second = await scheduled.cleanup(job_ctx(ctx))
    assert set(second.values()) == {0}

    left = await _sql(ctx, "SELECT id FROM notifications WHERE user_id = :u", u=me.id)
    assert [r[0] for r in left] == [keep.id]
    assert not await ctx.redis.sismember(index, "expired-session-id")
    # The party itself stays until its 90 days are up.
    assert await _sql(ctx, "SELECT 1 FROM parties WHERE id = :p", p=party)


async def test_computed_collections_refresh_once_and_invalidate_the_cache(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    # Make this run's titles the only rated and watched ones.
    await _sql(ctx, "UPDATE titles SET rating_count = 0, rating_avg = 0")
    await _sql(ctx, "DELETE FROM viewing_progress")
    viewers = await make_actors(ctx, 3)
    cult = await _title(ctx, "Cult classic", rating_avg=9.6, rating_count=400, popularity=1)
    one_vote = await _title(ctx, "One fan", rating_avg=10, rating_count=3, popularity=2)
    solid = await _title(ctx, "Solid", rating_avg=9.0, rating_count=900, popularity=3)
    await _title(ctx, "Meh", rating_avg=5.0, rating_count=2000, popularity=4)
    for i, (title, watchers) in enumerate(((solid, 3), (one_vote, 1), (cult, 2))):
        for v in viewers[:watchers]:
            await _sql(
                ctx,
                "INSERT INTO viewing_progress (user_id, title_id, position_ms, completed,"
                " updated_at, version) VALUES (:u, :t, :p, false, :at, 1)",
                u=v.id,
                t=title,
                p=1000 + i,
                at=clock.now(),
            )

    first = await scheduled.refresh_computed_collections(job_ctx(ctx))
    assert first == {"trending-this-week": 1, "top-rated": 1}
    assert await scheduled.refresh_computed_collections(job_ctx(ctx)) == {
        "trending-this-week": 0,
        "top-rated": 0,
    }

    async def titles(slug: str) -> list[str]:
        r = await client.get(f"/api/v1/collections/{slug}")
        assert r.status_code == 200, r.text
        return [i["title"]["title"] for i in r.json()["items"]]

    assert await titles("trending-this-week") == ["Solid", "Cult classic", "One fan"]
    # One perfect vote does not beat hundreds of great ones.
    assert await titles("top-rated") == ["Cult classic", "Solid", "One fan", "Meh"]
    # Ratings move: the next run changes the list and the cached page follows at once.
    await _sql(ctx, "UPDATE titles SET rating_avg = 9.9 WHERE id = :t", t=solid)
    assert (await scheduled.refresh_computed_collections(job_ctx(ctx)))["top-rated"] == 1
    assert await titles("top-rated") == ["Solid", "Cult classic", "One fan", "Meh"]


async def test_new_releases_notify_each_interested_user_once(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    fan, follower, genre_fan, all_three, stranger = [
        await make_account(ctx, client) for _ in range(5)
    ]
    today = clock.now().date()
    film = await _title(ctx, "Premiere", release_date=today)
    series = await _title(ctx, "Saga", kind=TitleKind.series)
    old = await _title(ctx, "Old news", release_date=today - timedelta(days=3))
    rows = await _sql(
        ctx,
        "INSERT INTO genres (slug, name) VALUES (:s, 'Noir') RETURNING id",
        s=f"noir-{uuid.uuid4().hex[:6]}",
    )
    genre = rows[0][0]
    await _sql(
        ctx, "INSERT INTO title_genres (title_id, genre_id) VALUES (:t, :g)", t=film, g=genre
    )
    season = (
        await _sql(
            ctx,
            "INSERT INTO seasons (title_id, number) VALUES (:t, 1) RETURNING id",
            t=series,
        )
    )[0][0]
    await _sql(
        ctx,
        "INSERT INTO episodes (season_id, number, title, release_date)"
        " VALUES (:s, 4, 'The turn', :d)",
        s=season,
        d=today,
    )
    for who in (fan, all_three):
        for title in (film, old):
            await _sql(
                ctx, "INSERT INTO favorites (user_id, title_id) VALUES (:u, :t)", u=who.id, t=title
            )
    # Following goes through the API (and is idempotent).
    for who in (follower, all_three):
        for _ in range(2):
            r = await client.put(
                f"/api/v1/notifications/follows/titles/{film}", headers=who.headers
            )
            assert r.status_code == 200, r.text
        r = await client.put(f"/api/v1/notifications/follows/titles/{series}", headers=who.headers)
        assert r.json()["titles"] == sorted([film, series])
    for who in (genre_fan, all_three):
        r = await client.put(f"/api/v1/notifications/follows/genres/{genre}", headers=who.headers)
        assert r.json()["genres"] == [genre]
    r = await client.put("/api/v1/notifications/follows/titles/999999999", headers=fan.headers)
    assert r.status_code == 404
    r = await client.delete(
        f"/api/v1/notifications/follows/genres/{genre}", headers=stranger.headers
    )
    assert r.status_code == 200 and r.json() == {"titles": [], "genres": []}

    first = await scheduled.notify_new_releases(job_ctx(ctx))
    assert first["titles"] >= 1 and first["episodes"] >= 1
    again = await scheduled.notify_new_releases(job_ctx(ctx))
    assert again["notified"] == 0

    async def texts(who: Any) -> list[str]:
        r = await client.get("/api/v1/notifications", headers=who.headers)
        return sorted(i["text"] for i in r.json()["items"])

    assert await texts(fan) == ["New release: Premiere"]
    assert await texts(genre_fan) == ["New release: Premiere"]
    assert await texts(follower) == ["New episode of Saga: S1E4", "New release: Premiere"]
    assert await texts(all_three) == ["New episode of Saga: S1E4", "New release: Premiere"]
    assert await texts(stranger) == []


async def test_rating_reconciliation_repairs_drift_once(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    raters = await make_actors(ctx, 4)
    title = await _title(ctx, "Drifted")
    for who, score in zip(raters, (10, 8, 6, 4), strict=True):
        await _sql(
            ctx,
            "INSERT INTO ratings (user_id, title_id, score) VALUES (:u, :t, :s)",
            u=who.id,
            t=title,
            s=score,
        )
    # The counters say something else (as after a bug or a partial restore): all in one of
    # the title's counter rows, whatever the raters' shards.
    await _sql(
        ctx,
        "INSERT INTO title_social_stats (title_id, shard, rating_count, rating_sum, r10,"
        " like_count, version) VALUES (:t, 0, 1, 10, 1, 0, 5)",
        t=title,
    )
    await _sql(ctx, "UPDATE titles SET rating_avg = 10, rating_count = 1 WHERE id = :t", t=title)
    # Readers have cached the drifted summary (version 5); one of them is slow.
    social = f"/api/v1/titles/{title}/social"
    drifted = (await client.get(social)).json()
    assert (drifted["count"], drifted["version"]) == (1, 5)
    first = await scheduled.reconcile_ratings(job_ctx(ctx))
    assert first["stats_fixed"] >= 1 and first["titles_fixed"] >= 1
    second = await scheduled.reconcile_ratings(job_ctx(ctx))
    assert second["stats_fixed"] == 0 and second["titles_fixed"] == 0
    stats = await _sql(
        ctx,
        "SELECT sum(rating_count), sum(rating_sum), sum(r4), sum(r6), sum(r8), sum(r10),"
        " sum(version) FROM title_social_stats WHERE title_id = :t",
        t=title,
    )
    assert tuple(stats[0])[:6] == (4, 28, 1, 1, 1, 1)
    version = int(stats[0][6])
    assert version > 5
    # each shard row holds exactly its raters
    shards = await _sql(
        ctx,
        "SELECT shard, rating_count FROM title_social_stats WHERE title_id = :t AND"
        " rating_count > 0",
        t=title,
    )
    expected: dict[int, int] = {}
    for who in raters:
        expected[shard_of(who.id)] = expected.get(shard_of(who.id), 0) + 1
    assert {int(s): int(n) for s, n in shards} == expected
    summary = await _sql(ctx, "SELECT rating_avg, rating_count FROM titles WHERE id = :t", t=title)
    assert tuple(summary[0]) == (7.0, 4)
    r = await client.get(f"/api/v1/titles/{title}")
    assert r.status_code == 200
    assert r.json()["rating_count"] == 4
    # The repaired summary replaced the cached one under its new version, so the slow
    # reader, which loaded version 5 before the repair, cannot put it back.
    await reviews._cache_put(ctx, RatingSummary.model_validate(drifted))
    repaired = (await client.get(social)).json()
    assert (repaired["count"], repaired["average"], repaired["version"]) == (4, 7.0, version)
    cached = await ctx.redis.hget(ctx.keys("social", "title-stats", title), "v")
    assert cached is not None and int(cached) == version
