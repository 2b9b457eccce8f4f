"""Private messages: idempotent sends, delivery to every device across two server processes,
history, unread counts, read receipts, typing and the "dm" replay stream."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from models.core.context import Context
from models.social.messages.service import replay
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, block, ids, send_dm


async def test_http_send_is_idempotent_and_history_pages_newest_first(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b = await make_account(ctx, client), await make_account(ctx, client)
    await befriend(client, a, b)
    first = await send_dm(client, a, b, "hello", client_msg_id="m-1")
    assert first.status_code == 201, first.text
    again = await send_dm(client, a, b, "hello", client_msg_id="m-1")
    assert again.status_code == 200 and again.json() == first.json()
    reused = await send_dm(client, a, b, "something else", client_msg_id="m-1")
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "client_msg_id_reused"
    sent = [first.json()["id"]]
    for i in range(4):
        sent.append(
            (await send_dm(client, b if i % 2 else a, a if i % 2 else b, f"m{i}")).json()["id"]
        )
    page = (
        await client.get(f"/api/v1/conversations/{b.id}/messages?limit=3", headers=a.headers)
    ).json()
    assert ids(page) == sorted(sent, reverse=True)[:3]
    rest = (
        await client.get(
            f"/api/v1/conversations/{b.id}/messages?limit=3&cursor={page['next_cursor']}",
            headers=a.headers,
        )
    ).json()
    assert ids(rest) == sorted(sent, reverse=True)[3:] and rest["next_cursor"] is None
    # the other side reads the same history; a stranger has none with either of them
    assert ids(
        (await client.get(f"/api/v1/conversations/{a.id}/messages", headers=b.headers)).json()
    ) == sorted(sent, reverse=True)
    stranger = await make_account(ctx, client)
    assert (
        await client.get(f"/api/v1/conversations/{a.id}/messages", headers=stranger.headers)
    ).json()["items"] == []


async def test_only_friends_without_blocks_may_message(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b, c = await accounts(ctx, client, 3)
    r = await send_dm(client, a, c)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_friends"
    assert (await send_dm(client, a, a)).status_code == 422
    r = await client.post(
        "/api/v1/messages", json={"to_user_id": str(b.id), "text": "x"}, headers=a.headers
    )
    assert r.status_code == 422
    await befriend(client, a, b)
    assert (await send_dm(client, a, b)).status_code == 201
    await block(client, b, a)
    r = await send_dm(client, a, b)
    assert r.status_code == 403
    assert (await send_dm(client, b, a)).status_code == 403
    assert (
        await client.post(
            "/api/v1/messages", json={"to_user_id": str(b.id), "client_msg_id": "x", "text": "x"}
        )
    ).status_code == 401


async def test_unread_counts_and_read_receipts(client: httpx.AsyncClient, ctx: Context) -> None:
    a, b, c = await accounts(ctx, client, 3)
    await befriend(client, a, b)
    await befriend(client, a, c)
    from_b = [(await send_dm(client, b, a, f"b{i}")).json()["id"] for i in range(3)]
    from_c = [(await send_dm(client, c, a, f"c{i}")).json()["id"] for i in range(2)]
    await send_dm(client, a, b, "mine do not count")
    unread = (await client.get("/api/v1/conversations/unread", headers=a.headers)).json()
    assert unread["total"] == 5
    assert {u["peer_user_id"]: u["unread_count"] for u in unread["conversations"]} == {
        str(b.id): 3,
        str(c.id): 2,
    }
    r = await client.post(
        f"/api/v1/conversations/{b.id}/read", json={"up_to_id": from_b[1]}, headers=a.headers
    )
    assert r.status_code == 200
    assert r.json()["unread_count"] == 1 and r.json()["total_unread"] == 3
    # never backwards
    r = await client.post(
        f"/api/v1/conversations/{b.id}/read", json={"up_to_id": from_b[0]}, headers=a.headers
    )
    assert r.json()["last_read_message_id"] == from_b[1] and r.json()["unread_count"] == 1
    convs = (await client.get("/api/v1/conversations", headers=a.headers)).json()["items"]
    assert [cv["peer"]["id"] for cv in convs] == [str(b.id), str(c.id)]
    assert convs[0]["unread_count"] == 1 and convs[1]["last_message"]["id"] == from_c[-1]
    # b sees how far a has read (the receipt, over HTTP)
    mine = (await client.get("/api/v1/conversations", headers=b.headers)).json()["items"][0]
    assert mine["peer_last_read_message_id"] == from_b[1]
    r = await client.post(
        f"/api/v1/conversations/{uuid.uuid4()}/read", json={"up_to_id": 1}, headers=a.headers
    )
    assert r.status_code == 404


@pytest.mark.slow
async def test_dm_over_sockets_reaches_every_device_across_two_processes(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    a, b = await make_account(ctx, client), await make_account(ctx, client)
    a_phone = await make_account_token(client, a)
    await befriend(client, a, b)
    async with (
        connected(one.url, a.access_token) as a_laptop_sock,
        connected(two.url, a_phone) as a_phone_sock,
        connected(two.url, b.access_token) as b_sock1,
        connected(one.url, b.access_token) as b_sock2,
    ):
        ack = await a_laptop_sock.call(
            "dm:send", {"to_user_id": str(b.id), "client_msg_id": "k1", "text": "film at 8?"}
        )
        assert ack["ok"] is True, ack
        msg = ack["data"]
        assert msg["text"] == "film at 8?" and isinstance(msg["id"], int)
        for sock in (b_sock1, b_sock2, a_phone_sock):
            got = (await sock.wait_event("dm:message"))[0]
            assert got["id"] == msg["id"] and got["cursor"] == msg["id"] and got["stream"] == "dm"
        # a resend (say, after a timeout) returns the stored message and delivers nothing new
        again = await a_laptop_sock.call(
            "dm:send", {"to_user_id": str(b.id), "client_msg_id": "k1", "text": "film at 8?"}
        )
        assert again["data"] == msg
        # typing and read receipts, across processes too
        assert (await b_sock1.call("dm:typing", {"to_user_id": str(a.id)}))["ok"] is True
        typing = (await a_phone_sock.wait_event("dm:typing"))[0]
        assert typing == {"from_user_id": str(b.id), "typing": True}
        read = await b_sock2.call("dm:read", {"peer_user_id": str(a.id), "up_to_id": msg["id"]})
        assert read["ok"] and read["data"]["unread_count"] == 0
        receipt = (await a_laptop_sock.wait_event("dm:read"))[0]
        assert receipt["reader_id"] == str(b.id) and receipt["last_read_message_id"] == msg["id"]
        await asyncio.sleep(0.3)
        # the sending socket got its message in the ack, not as an event; no duplicates anywhere
        assert a_laptop_sock.events["dm:message"] == []
        assert len(b_sock1.events["dm:message"]) == 1 and len(b_sock2.events["dm:message"]) == 1
        bad = await a_laptop_sock.call("dm:send", {"to_user_id": str(b.id), "text": ""})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"


async def make_account_token(client: httpx.AsyncClient, acct: object) -> str:
    """A second session (device) for the same user."""
    from tests.factories import login

    tokens = await login(client, acct.user.email)  # type: ignore[attr-defined]
    return str(tokens["access_token"])


async def test_replay_returns_the_dm_stream_after_a_cursor(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b, c = await accounts(ctx, client, 3)
    await befriend(client, a, b)
    await befriend(client, b, c)
    m1 = (await send_dm(client, a, b, "one")).json()
    m2 = (await send_dm(client, b, a, "two")).json()
    await send_dm(client, b, c, "not a's")
    m3 = (await send_dm(client, a, b, "three")).json()
    stream = await replay(ctx, a.id, 0, 100)
    assert [e["cursor"] for e in stream] == [m1["id"], m2["id"], m3["id"]]
    assert all(e["stream"] == "dm" for e in stream)
    assert [e["id"] for e in await replay(ctx, a.id, m1["id"], 100)] == [m2["id"], m3["id"]]
    assert [e["id"] for e in await replay(ctx, a.id, m1["id"], 1)] == [m2["id"]]
