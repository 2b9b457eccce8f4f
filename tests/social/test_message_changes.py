"""Private messages change after sending: edits (shown edited), deletion for everyone, replies
that quote, emoji reactions; live to the other side over the socket across two processes, and
in the "dm" stream for sync:resume, in order."""

from __future__ import annotations

import httpx
import pytest

from models.core.context import Context
from models.core.events import Outbox
from models.social.messages.service import do_send_message, replay
from models.social.policy import Actor
from tests.catalog.helpers import count_queries
from tests.conftest import LiveServer
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, block, dm_received, send_dm


@pytest.mark.slow
async def test_edit_delete_reply_and_react_live_across_two_processes(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    a, b = await accounts(ctx, client, 2)
    await befriend(client, a, b)
    async with (
        connected(one.url, a.access_token) as a_sock,
        connected(two.url, b.access_token) as b_sock,
    ):
        sent = await a_sock.call(
            "dm:send", {"to_user_id": str(b.id), "client_msg_id": "q1", "text": "film at 8?"}
        )
        msg = sent["data"]
        assert msg["edited_at"] is None and msg["reactions"] == [] and msg["reply_to"] is None
        await dm_received(b_sock, lambda m: m["id"] == msg["id"], timeout=8)

        # A reply quotes what it answers.
        reply = await b_sock.call(
            "dm:send",
            {
                "to_user_id": str(a.id),
                "client_msg_id": "r1",
                "text": "yes!",
                "reply_to_id": msg["id"],
            },
        )
        assert reply["ok"], reply
        quoted = reply["data"]["reply_to"]
        assert quoted == {
            "id": msg["id"],
            "from_user_id": str(a.id),
            "text": "film at 8?",
            "deleted": False,
        }
        await dm_received(a_sock, lambda m: m["id"] == reply["data"]["id"], timeout=8)

        # An edit reaches the other side as the same message with a newer cursor, edited.
        edited = await a_sock.call("dm:edit", {"message_id": msg["id"], "text": "film at 9?"})
        assert edited["ok"] and edited["data"]["edited_at"] is not None
        seen = await dm_received(
            b_sock, lambda m: m["id"] == msg["id"] and m["text"] == "film at 9?", timeout=8
        )
        assert seen["cursor"] > reply["data"]["id"] and seen["edited_at"] is not None

        # Reactions, from both sides, live.
        r1 = await b_sock.call("dm:react", {"message_id": msg["id"], "emoji": "👍"})
        assert r1["ok"] and r1["data"]["reactions"] == [
            {"emoji": "👍", "count": 1, "user_ids": [str(b.id)]}
        ]
        await a_sock.call("dm:react", {"message_id": msg["id"], "emoji": "👍"})
        both = await dm_received(
            b_sock,
            lambda m: m["id"] == msg["id"] and m["reactions"] and m["reactions"][0]["count"] == 2,
            timeout=8,
        )
        assert set(both["reactions"][0]["user_ids"]) == {str(a.id), str(b.id)}
        back = await b_sock.call("dm:react", {"message_id": msg["id"], "emoji": "👍", "on": False})
        assert back["data"]["reactions"][0]["user_ids"] == [str(a.id)]

        # Bad input and the rules: error acks, the socket lives.
        for event, data, code in (
            ("dm:edit", {"message_id": msg["id"], "text": "mine now"}, "not_your_message"),
            ("dm:delete", {"message_id": msg["id"]}, "not_your_message"),
            ("dm:react", {"message_id": msg["id"], "emoji": "abc"}, "invalid_emoji"),
            ("dm:edit", {"message_id": 10**15, "text": "x"}, "message_not_found"),
            ("dm:edit", {"message_id": msg["id"], "text": ""}, "invalid_payload"),
            ("dm:delete", {"message_id": "one"}, "invalid_payload"),
        ):
            ack = await b_sock.call(event, data)
            assert not ack["ok"] and ack["error"]["code"] == code, (event, ack)

        # Deleted for everyone: a tombstone without text or reactions; the reply's quote too.
        gone = await a_sock.call("dm:delete", {"message_id": msg["id"]})
        assert gone["data"]["deleted"] is True and gone["data"]["text"] == ""
        assert gone["data"]["reactions"] == []
        tomb = await dm_received(b_sock, lambda m: m["id"] == msg["id"] and m["deleted"], timeout=8)
        assert tomb["text"] == ""
        ack = await a_sock.call("dm:edit", {"message_id": msg["id"], "text": "undo"})
        assert ack["error"]["code"] == "message_deleted"
        ack = await b_sock.call("dm:react", {"message_id": msg["id"], "emoji": "😢"})
        assert ack["error"]["code"] == "message_deleted"
        history = (
            await client.get(f"/api/v1/conversations/{a.id}/messages", headers=b.headers)
        ).json()["items"]
        by_id = {m["id"]: m for m in history}
        assert by_id[msg["id"]]["deleted"] and by_id[msg["id"]]["text"] == ""
        assert by_id[reply["data"]["id"]]["reply_to"]["deleted"] is True
        assert by_id[reply["data"]["id"]]["reply_to"]["text"] == ""

        # The stream a reconnecting device replays: each message once, as it is now, in the
        # order of its last change.
        stream = await replay(ctx, b.id, 0, 100)
        assert [e["id"] for e in stream] == [reply["data"]["id"], msg["id"]]
        assert stream[-1]["deleted"] and stream[-1]["cursor"] == tomb["cursor"]
        assert [e["cursor"] for e in stream] == sorted(e["cursor"] for e in stream)
        resumed = await b_sock.call("sync:resume", {"cursors": {"dm": seen["cursor"]}})
        assert resumed["ok"], resumed


async def test_message_changes_over_http_and_who_may_make_them(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b, c = await accounts(ctx, client, 3)
    await befriend(client, a, b)
    msg = (await send_dm(client, a, b, "hello")).json()
    r = await client.patch(f"/api/v1/messages/{msg['id']}", json={"text": "hi"}, headers=a.headers)
    assert r.status_code == 200 and r.json()["text"] == "hi" and r.json()["edited_at"]
    # A stranger learns nothing; the recipient may react but not edit.
    r = await client.patch(f"/api/v1/messages/{msg['id']}", json={"text": "x"}, headers=c.headers)
    assert r.status_code == 404
    r = await client.patch(f"/api/v1/messages/{msg['id']}", json={"text": "x"}, headers=b.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_your_message"
    r = await client.post(
        f"/api/v1/messages/{msg['id']}/reactions", json={"emoji": "🎬"}, headers=b.headers
    )
    assert r.status_code == 200 and r.json()["reactions"][0]["emoji"] == "🎬"
    r = await client.post(
        f"/api/v1/messages/{msg['id']}/reactions", json={"emoji": "🎬"}, headers=c.headers
    )
    assert r.status_code == 404
    # A reply must quote a message of the same conversation.
    other = (await send_dm(client, b, a, "yo")).json()
    await befriend(client, a, c)
    r = await client.post(
        "/api/v1/messages",
        json={
            "to_user_id": str(c.id),
            "client_msg_id": "x1",
            "text": "hm",
            "reply_to_id": other["id"],
        },
        headers=a.headers,
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found"
    # After a block neither side edits or reacts; the sender may still delete.
    await block(client, b, a)
    r = await client.patch(f"/api/v1/messages/{msg['id']}", json={"text": "y"}, headers=a.headers)
    assert r.status_code == 403 and r.json()["error"]["code"] == "blocked"
    r = await client.delete(f"/api/v1/messages/{msg['id']}", headers=a.headers)
    assert r.status_code == 204
    r = await client.delete(f"/api/v1/messages/{msg['id']}", headers=a.headers)
    assert r.status_code == 204  # again: nothing changes
    r = await client.delete("/api/v1/messages/notanid", headers=a.headers)
    assert r.status_code in (404, 422)


async def test_a_message_hidden_by_a_moderator_cannot_be_changed_or_quoted(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    a, b = await accounts(ctx, client, 2)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    await befriend(client, a, b)
    msg = (await send_dm(client, a, b, "a threat")).json()
    reply = (await send_dm(client, b, a, "what?", reply_to_id=msg["id"])).json()
    assert reply["reply_to"]["text"] == "a threat"
    r = await client.post(
        f"/api/v1/moderation/messages/{msg['id']}/hide", json={}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    # Neither side finds it to edit, delete, react to or quote: nothing brings it back.
    for r in (
        await client.patch(f"/api/v1/messages/{msg['id']}", json={"text": "x"}, headers=a.headers),
        await client.delete(f"/api/v1/messages/{msg['id']}", headers=a.headers),
        await client.post(
            f"/api/v1/messages/{msg['id']}/reactions", json={"emoji": "🎬"}, headers=b.headers
        ),
        await send_dm(client, b, a, "again?", reply_to_id=msg["id"]),
    ):
        assert r.status_code == 404 and r.json()["error"]["code"] == "message_not_found", r.text
    # The reply quoting it shows no words; the stream and the history leave it out.
    h = await client.get(f"/api/v1/conversations/{b.id}/messages", headers=a.headers)
    items = {m["id"]: m for m in h.json()["items"]}
    assert msg["id"] not in items
    assert items[reply["id"]]["reply_to"] == {
        "id": msg["id"],
        "from_user_id": str(a.id),
        "text": "",
        "deleted": True,
    }
    for who in (a, b):
        assert msg["id"] not in [e["id"] for e in await replay(ctx, who.id, 0, 100)]
    r = await client.post(
        f"/api/v1/moderation/messages/{msg['id']}/restore", json={}, headers=editor.headers
    )
    assert r.status_code == 200
    r = await client.patch(
        f"/api/v1/messages/{msg['id']}", json={"text": "sorry"}, headers=a.headers
    )
    assert r.status_code == 200 and r.json()["text"] == "sorry"


async def test_a_reply_costs_the_send_no_round_trip(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """The usual send (a conversation, the recipient online) stays two statements in
    autocommit with a reply: the quote is read with the facts, a new message has no
    reactions."""
    a, b = await accounts(ctx, client, 2)
    await befriend(client, a, b)
    first = (await send_dm(client, a, b, "first")).json()
    # b has a live socket (as the socket server records it: heartbeated "now", far ahead).
    await ctx.redis.zadd(ctx.keys("sio", "user", b.id), {"sock": 2**52})
    for i, reply_to in enumerate((None, first["id"])):
        outbox = Outbox()
        with count_queries(ctx.engine) as counter:
            out, created = await do_send_message(
                ctx,
                outbox,
                actor=Actor(a.id),
                to_user_id=b.id,
                client_msg_id=f"rt{i}",
                text="again",
                reply_to_id=reply_to,
            )
        assert created and counter.count == 2, counter.statements
        assert (out.reply_to is None) == (reply_to is None)
        [event, _] = [o.data for o in outbox.items]
        assert event["cursor"] == out.id and event["reactions"] == []
    assert out.reply_to is not None and out.reply_to.text == "first"
