"""Scheduled jobs: each one run twice does its work once."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import text

from jobs import scheduled
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from tests.factories import make_account
from tests.notifications.helpers import make_actors, notify


def job_ctx(ctx: Context) -> dict[str, Any]:
    """What arq hands a job: our Context under "app" and the attempt number."""
    return {"app": ctx, "job_try": 1}


async def _sql(ctx: Context, sql: str, **params: Any) -> list[Any]:
    async with transaction(ctx.sessions) as session:
        result = await session.execute(text(sql), params)
        return list(result.all()) if sql.lstrip().upper().startswith("SELECT") else []


async def _title(ctx: Context, name: str, **values: Any) -> int:
    cols = {"kind": "film", "title": name, **values}
    names = ", ".join(cols)
    marks = ", ".join(f":{k}" for k in cols)
    await _sql(ctx, f"INSERT INTO titles ({names}) VALUES ({marks})", **cols)
    rows = await _sql(ctx, "SELECT max(id) FROM titles WHERE title = :t", t=name)
    return int(rows[0][0])


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
