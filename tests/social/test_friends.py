"""Friend requests, friendships and blocks over HTTP, with the live events they cause."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import httpx
import pytest

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import RateLimited
from models.core.events import Outbox
from models.core.settings import Settings
from models.social.friends import service as friends
from models.social.messages.service import send_limit, typing_limit
from models.social.policy import Actor
from models.social.reviews.service import comment_limit
from tests.conftest import LiveServer
from tests.factories import Account
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, block, bulk_users


async def _friends(client: httpx.AsyncClient, who: object) -> list[str]:
    r = await client.get("/api/v1/friends", headers=who.headers)  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return [f["user"]["id"] for f in r.json()["items"]]


async def test_request_accept_list_and_remove(client: httpx.AsyncClient, ctx: Context) -> None:
    a, b = await accounts(ctx, client, 2)
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert r.status_code == 201 and r.json()["status"] == "pending"
    req = r.json()
    # asking twice returns the same open request
    again = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert again.json()["id"] == req["id"]
    incoming = (await client.get("/api/v1/friends/requests", headers=b.headers)).json()
    assert [i["id"] for i in incoming["items"]] == [req["id"]]
    outgoing = (
        await client.get("/api/v1/friends/requests?direction=outgoing", headers=a.headers)
    ).json()
    assert [i["id"] for i in outgoing["items"]] == [req["id"]]
    # only the addressee accepts
    r = await client.post(f"/api/v1/friends/requests/{req['id']}/accept", headers=a.headers)
    assert r.status_code == 403
    stranger = (await accounts(ctx, client, 1))[0]
    r = await client.post(f"/api/v1/friends/requests/{req['id']}/accept", headers=stranger.headers)
    assert r.status_code == 404
    r = await client.post(f"/api/v1/friends/requests/{req['id']}/accept", headers=b.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert await _friends(client, a) == [str(b.id)] and await _friends(client, b) == [str(a.id)]
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "already_friends"
    assert (await client.delete(f"/api/v1/friends/{b.id}", headers=a.headers)).status_code == 204
    assert await _friends(client, a) == [] and await _friends(client, b) == []
    assert (await client.delete(f"/api/v1/friends/{b.id}", headers=a.headers)).status_code == 404


async def test_decline_cancel_and_crossed_requests(client: httpx.AsyncClient, ctx: Context) -> None:
    a, b, c = await accounts(ctx, client, 3)
    r1 = (
        await client.post(
            "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
        )
    ).json()
    r = await client.post(f"/api/v1/friends/requests/{r1['id']}/decline", headers=b.headers)
    assert r.json()["status"] == "declined"
    r = await client.post(f"/api/v1/friends/requests/{r1['id']}/accept", headers=b.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_closed"
    r2 = (
        await client.post(
            "/api/v1/friends/requests", json={"user_id": str(c.id)}, headers=a.headers
        )
    ).json()
    r = await client.post(f"/api/v1/friends/requests/{r2['id']}/cancel", headers=c.headers)
    assert r.status_code == 403
    r = await client.post(f"/api/v1/friends/requests/{r2['id']}/cancel", headers=a.headers)
    assert r.json()["status"] == "cancelled"
    # both ask each other: the second request accepts the first
    r3 = (
        await client.post(
            "/api/v1/friends/requests", json={"user_id": str(c.id)}, headers=a.headers
        )
    ).json()
    r4 = (
        await client.post(
            "/api/v1/friends/requests", json={"user_id": str(a.id)}, headers=c.headers
        )
    ).json()
    assert r4["id"] == r3["id"] and r4["status"] == "accepted"
    assert await _friends(client, c) == [str(a.id)]


async def test_bad_input_is_rejected_clearly(client: httpx.AsyncClient, ctx: Context) -> None:
    (a,) = await accounts(ctx, client, 1)
    cases = [
        ({"user_id": str(a.id)}, 422, "self_request"),
        ({"user_id": str(uuid.uuid4())}, 404, "user_not_found"),
        ({"user_id": "nope"}, 422, "invalid_input"),
        ({"user_id": str(uuid.uuid4()), "extra": 1}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        r = await client.post("/api/v1/friends/requests", json=body, headers=a.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), body
    assert (await client.get("/api/v1/friends")).status_code == 401
    assert (
        await client.get("/api/v1/friends?cursor=garbage!", headers=a.headers)
    ).status_code == 422
    # Not a user id: no such route (a literal path beside it, /friends/requests, stays its own)
    assert (await client.delete("/api/v1/friends/not-a-uuid", headers=a.headers)).status_code == 404
    r = await client.post("/api/v1/friends/requests/999999999/accept", headers=a.headers)
    assert r.status_code == 404


async def test_block_ends_friendship_requests_and_stops_new_ones(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b, c = await accounts(ctx, client, 3)
    await befriend(client, a, b)
    pending = (
        await client.post(
            "/api/v1/friends/requests", json={"user_id": str(a.id)}, headers=c.headers
        )
    ).json()
    await block(client, a, b)
    await block(client, a, c)
    assert await _friends(client, a) == [] and await _friends(client, b) == []
    r = await client.post(f"/api/v1/friends/requests/{pending['id']}/accept", headers=a.headers)
    assert r.status_code == 409
    for blocked in (b, c):
        r = await client.post(
            "/api/v1/friends/requests", json={"user_id": str(a.id)}, headers=blocked.headers
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "blocked"
    # nor can the blocker befriend them while the block stands
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert r.status_code == 403
    listed = (await client.get("/api/v1/blocks?limit=1", headers=a.headers)).json()
    assert len(listed["items"]) == 1 and listed["next_cursor"]
    more = (
        await client.get(f"/api/v1/blocks?cursor={listed['next_cursor']}", headers=a.headers)
    ).json()
    assert {listed["items"][0]["user"]["id"], more["items"][0]["user"]["id"]} == {
        str(b.id),
        str(c.id),
    }
    assert (await client.delete(f"/api/v1/blocks/{b.id}", headers=a.headers)).status_code == 204
    assert (await client.delete(f"/api/v1/blocks/{b.id}", headers=a.headers)).status_code == 404
    await befriend(client, b, a)


@pytest.mark.slow
async def test_friend_events_reach_sockets(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    a, b = await accounts(ctx, client, 2)
    async with connected(one.url, a.access_token) as sa, connected(two.url, b.access_token) as sb:
        r = await client.post(
            "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
        )
        got = (await sb.wait_event("friend:request"))[0]
        assert got["id"] == r.json()["id"] and got["from_user"]["id"] == str(a.id)
        await client.post(f"/api/v1/friends/requests/{got['id']}/accept", headers=b.headers)
        accepted = (await sa.wait_event("friend:accepted"))[0]
        assert accepted["friend"]["id"] == str(b.id) and accepted["online"] is True
        await client.delete(f"/api/v1/friends/{a.id}", headers=b.headers)
        assert (await sa.wait_event("friend:removed"))[0] == {"user_id": str(b.id)}


async def test_new_requests_are_rate_limited_per_user(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    from models.social.friends.service import request_limit

    REQUEST_LIMIT = request_limit(ctx.settings)
    spammer, asker, other = await accounts(ctx, client, 3)
    targets = await bulk_users(ctx, REQUEST_LIMIT.limit + 1)

    async def ask(who: Account, user_id: uuid.UUID) -> httpx.Response:
        return await client.post(
            "/api/v1/friends/requests", json={"user_id": str(user_id)}, headers=who.headers
        )

    # The other side asked first: answering in kind accepts, and is never limited.
    crossed = await ask(asker, spammer.id)
    for target in targets[:-1]:
        r = await ask(spammer, target)
        assert r.status_code == 201, r.text
    over = await ask(spammer, targets[-1])
    assert over.status_code == 429
    assert over.json()["error"]["code"] == "rate_limited"
    assert 0 < int(over.headers["Retry-After"]) <= REQUEST_LIMIT.window_s
    assert over.json()["error"]["details"]["retry_after"] == int(over.headers["Retry-After"])
    outgoing = (
        await client.get(
            f"/api/v1/friends/requests?direction=outgoing&limit={REQUEST_LIMIT.limit + 5}",
            headers=spammer.headers,
        )
    ).json()
    assert len(outgoing["items"]) == REQUEST_LIMIT.limit  # nothing was created past the limit
    # Asking again for an open request returns it; accepting a crossed request still works.
    again = await ask(spammer, targets[0])
    assert again.status_code == 201 and again.json()["status"] == "pending"
    accepted = await ask(spammer, asker.id)
    assert accepted.status_code == 201 and accepted.json()["id"] == crossed.json()["id"]
    assert accepted.json()["status"] == "accepted"
    # The limit is the sender's own: others still ask whom they like.
    assert (await ask(other, targets[-1])).status_code == 201


def test_social_limits_are_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = Settings(env="development")
    assert [
        (limit.limit, limit.window_s)
        for limit in (
            friends.request_limit(defaults),
            comment_limit(defaults),
            send_limit(defaults),
            typing_limit(defaults),
        )
    ] == [(30, 3600), (30, 60), (120, 60), (120, 60)]
    for name, value in {
        "FRIEND_REQUEST_LIMIT": "5",
        "FRIEND_REQUEST_WINDOW_S": "600",
        "COMMENT_LIMIT": "6",
        "COMMENT_WINDOW_S": "70",
        "DM_SEND_LIMIT": "7",
        "DM_SEND_WINDOW_S": "80",
        "DM_TYPING_LIMIT": "8",
        "DM_TYPING_WINDOW_S": "90",
    }.items():
        monkeypatch.setenv(name, value)
    chosen = Settings(env="development")
    assert [
        (limit.limit, limit.window_s)
        for limit in (
            friends.request_limit(chosen),
            comment_limit(chosen),
            send_limit(chosen),
            typing_limit(chosen),
        )
    ] == [(5, 600), (6, 70), (7, 80), (8, 90)]
    monkeypatch.setenv("FRIEND_REQUEST_LIMIT", "0")
    with pytest.raises(ValueError, match="friend_request_limit"):
        Settings(env="development")


async def test_the_friend_request_limit_follows_its_settings(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    tight = dataclasses.replace(
        ctx,
        settings=ctx.settings.model_copy(
            update={"friend_request_limit": 2, "friend_request_window_s": 1}
        ),
    )
    (spammer,) = await accounts(ctx, client, 1)
    targets = await bulk_users(ctx, 3)

    async def ask(target: uuid.UUID) -> None:
        async with transaction(tight.sessions) as session:
            await friends.do_send_request(
                tight, session, Outbox(), actor=Actor(spammer.id), to_user_id=target
            )

    await ask(targets[0])
    await ask(targets[1])
    with pytest.raises(RateLimited) as over:
        await ask(targets[2])
    assert over.value.retry_after_s == 1
    await asyncio.sleep(1.1)  # the window slides past the first two
    await ask(targets[2])
