"""Social events reach the notification center: friend requests and accepts, comment likes
(coalesced per comment) and messages to someone with no connected device (per sender)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_title
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, block, notifications, send_dm


async def test_friend_request_and_accept_notify(client: httpx.AsyncClient, ctx: Context) -> None:
    a, b = await accounts(ctx, client, 2)
    await befriend(client, a, b)
    got_b = [n for n in await notifications(client, b) if n["type"] == "friend_request"]
    assert len(got_b) == 1 and got_b[0]["actor"]["id"] == str(a.id)
    got_a = [n for n in await notifications(client, a) if n["type"] == "friend_accepted"]
    assert len(got_a) == 1 and got_a[0]["actor"]["id"] == str(b.id)


async def test_comment_likes_notify_the_author_once_per_comment(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    author, fan1, fan2 = await accounts(ctx, client, 3)
    title = await make_title(ctx)
    c = (
        await client.post(
            f"/api/v1/titles/{title.id}/comments", json={"body": "!"}, headers=author.headers
        )
    ).json()
    for fan in (fan1, fan2):
        assert (
            await client.put(f"/api/v1/comments/{c['id']}/like", headers=fan.headers)
        ).status_code == 200
    liked = [n for n in await notifications(client, author) if n["type"] == "comment_liked"]
    assert len(liked) == 1 and liked[0]["actor_count"] == 2
    assert liked[0]["data"]["comment_id"] == c["id"]


@pytest.mark.slow
async def test_messages_while_away_notify_but_not_while_connected(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    a, b = await accounts(ctx, client, 2)
    await befriend(client, a, b)
    for i in range(3):
        assert (await send_dm(client, a, b, f"away {i}")).status_code == 201
    away = [n for n in await notifications(client, b) if n["type"] == "message_while_away"]
    assert len(away) == 1 and away[0]["actor_count"] == 1
    assert away[0]["data"]["from_user_id"] == str(a.id)
    async with connected(live_server.url, b.access_token) as sock:
        r = await send_dm(client, a, b, "here")
        assert (await sock.wait_event("dm:message"))[0]["id"] == r.json()["id"]
    after = [n for n in await notifications(client, b) if n["type"] == "message_while_away"]
    assert after[0]["data"]["message_id"] == away[0]["data"]["message_id"]


@pytest.mark.slow
async def test_sync_resume_replays_missed_messages(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    a, b = await accounts(ctx, client, 2)
    await befriend(client, a, b)
    seen = (await send_dm(client, a, b, "seen")).json()
    missed = [(await send_dm(client, a, b, f"missed {i}")).json() for i in range(3)]
    async with connected(live_server.url, b.access_token) as sock:
        ack = await sock.call("sync:resume", {"cursors": {"dm": seen["id"]}})
        assert ack["ok"], ack
        replay = ack["data"]["streams"]["dm"]
        assert [e["id"] for e in replay["events"]] == [m["id"] for m in missed]
        assert replay["cursor"] == missed[-1]["id"] and replay["truncated"] is False
        assert all(e["stream"] == "dm" and e["cursor"] == e["id"] for e in replay["events"])


async def test_blocks_silence_what_the_social_producers_notified(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b, c = await accounts(ctx, client, 3)
    await befriend(client, c, a)  # a: friend_request from c; c: friend_accepted from a
    assert (await send_dm(client, c, a, "while you were away")).status_code == 201
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(a.id)}, headers=b.headers
    )
    assert r.json()["status"] == "accepted"  # b answers in kind: a hears b accepted
    title = await make_title(ctx)
    comment = (
        await client.post(
            f"/api/v1/titles/{title.id}/comments", json={"body": "!"}, headers=a.headers
        )
    ).json()
    for fan in (b, c):
        r = await client.put(f"/api/v1/comments/{comment['id']}/like", headers=fan.headers)
        assert r.status_code == 200, r.text

    def seen(items: list[dict[str, Any]]) -> set[tuple[str, str, int]]:
        return {(n["type"], n["actor"]["id"], n["actor_count"]) for n in items}

    assert seen(await notifications(client, a)) == {
        ("friend_request", str(c.id), 1),
        ("message_while_away", str(c.id), 1),
        ("friend_accepted", str(b.id), 1),
        ("comment_liked", str(c.id), 2),
    }
    # a blocks b: nothing of b's reaches a, and the likes count c alone.
    await block(client, a, b)
    assert seen(await notifications(client, a)) == {
        ("friend_request", str(c.id), 1),
        ("message_while_away", str(c.id), 1),
        ("comment_liked", str(c.id), 1),
    }
    # c blocks a: a block either way ends requests, friendship and messages, so a no longer
    # hears of those from c, but a like the blocker gave is still heard of (blocking leaves
    # the blocker free to like); and c no longer hears that a accepted.
    await block(client, c, a)
    assert seen(await notifications(client, a)) == {("comment_liked", str(c.id), 1)}
    assert [n["type"] for n in await notifications(client, c)] == []
