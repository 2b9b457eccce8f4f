"""Party chat messages change after sending: edits, deletion for everyone, replies that quote,
kept reactions; live to every member across two processes, and replayed in order to a member
who rejoins with the cursor they had."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.parties.conftest import Members, err, ok, uid
from tests.realtime_client import Recorder

pytestmark = pytest.mark.slow  # every test here starts server processes

Servers = tuple[LiveServer, LiveServer]


async def _chat(rec: Recorder, pred: Any, timeout: float = 8) -> dict[str, Any]:
    async def wait() -> dict[str, Any]:
        while True:
            for item in reversed(rec.events["party:chat"]):
                if pred(item):
                    return dict(item)
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(wait(), timeout)


async def test_chat_edit_delete_reply_react_live_and_on_rejoin(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    guest = await members.connect(b)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]
    await ok(guest, "party:join", {"invite_code": created["invite_code"]})

    first = (await ok(host, "party:chat", {"party_id": party_id, "text": "popcorn?"}))["message"]
    await _chat(guest, lambda m: m["id"] == first["id"])
    cursor_seen = first["cursor"]
    reply = (
        await ok(
            guest,
            "party:chat",
            {"party_id": party_id, "text": "always", "reply_to_id": first["id"]},
        )
    )["message"]
    assert reply["reply_to"] == {
        "id": first["id"],
        "user_id": uid(host),
        "username": host.account.user.username,  # type: ignore[attr-defined]
        "text": "popcorn?",
        "deleted": False,
    }

    edited = (
        await ok(
            host,
            "party:chat_edit",
            {"party_id": party_id, "message_id": first["id"], "text": "popcorn!"},
        )
    )["message"]
    assert edited["edited_at"] is not None and edited["cursor"] > reply["cursor"]
    seen = await _chat(guest, lambda m: m["id"] == first["id"] and m["text"] == "popcorn!")
    assert seen["edited_at"] == edited["edited_at"]

    reacted = (
        await ok(
            guest,
            "party:chat_react",
            {"party_id": party_id, "message_id": first["id"], "emoji": "🍿"},
        )
    )["message"]
    assert reacted["reactions"] == [{"emoji": "🍿", "count": 1, "user_ids": [uid(guest)]}]
    await _chat(host, lambda m: m["id"] == first["id"] and m["reactions"])

    # The rules: only the author edits; the author, host or a co-host deletes.
    assert await err(
        host, "party:chat_edit", {"party_id": party_id, "message_id": reply["id"], "text": "x"}
    ) == ("not_your_message")
    assert await err(
        guest, "party:chat_delete", {"party_id": party_id, "message_id": first["id"]}
    ) == ("not_your_message")
    assert await err(
        guest,
        "party:chat_react",
        {"party_id": party_id, "message_id": first["id"], "emoji": "no"},
    ) == ("invalid_emoji")
    assert await err(
        guest, "party:chat_edit", {"party_id": party_id, "message_id": 10**15, "text": "x"}
    ) == ("message_not_found")
    assert await err(guest, "party:chat_delete", {"party_id": party_id, "message_id": 0}) == (
        "invalid_payload"
    )
    # The host removes the guest's reply for everyone.
    gone = (await ok(host, "party:chat_delete", {"party_id": party_id, "message_id": reply["id"]}))[
        "message"
    ]
    assert gone["deleted"] and gone["text"] == ""
    await _chat(guest, lambda m: m["id"] == reply["id"] and m["deleted"])
    again = (
        await ok(host, "party:chat_delete", {"party_id": party_id, "message_id": reply["id"]})
    )["message"]
    assert again["cursor"] == gone["cursor"]  # deleting twice changes nothing

    # A member rejoining with the cursor they had gets each change once, in order.
    snap = await ok(guest, "party:join", {"party_id": party_id, "chat_after": cursor_seen})
    got = [(m["id"], m["deleted"], m["text"]) for m in snap["chat"]]
    assert got == [(first["id"], False, "popcorn!"), (reply["id"], True, "")]
    assert [m["cursor"] for m in snap["chat"]] == sorted(m["cursor"] for m in snap["chat"])
    assert snap["chat"][0]["reactions"][0]["emoji"] == "🍿"
