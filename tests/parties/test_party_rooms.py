"""Party rooms over real sockets on two processes: co-hosts, knocking, passwords, muting, slow
mode, capacity before joining, and parties listed for the host's friends."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.parties.conftest import Members, err, ok, uid
from tests.realtime_client import Recorder
from tests.social.helpers import befriend

pytestmark = pytest.mark.slow  # every test here starts server processes

Servers = tuple[LiveServer, LiveServer]


async def _newest(rec: Recorder, until: Any, timeout: float = 8, what: str = "party:state") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = rec.events[what]
        if items:
            newest = max(items, key=lambda s: s["version"]) if what == "party:state" else items[-1]
            if until(newest):
                return newest
        await asyncio.sleep(0.01)
    raise AssertionError(f"no matching {what}; last: {rec.events[what][-3:]}")


async def test_knock_admit_password_and_capacity_before_joining(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    knocker = await members.connect(b)
    other = await members.connect(b)
    created = await ok(host, "party:create", {"title_id": title_id, "capacity": 3})
    party_id, code = created["party_id"], created["invite_code"]

    # Before joining: how full it is, and how it lets people in.
    seen = await ok(knocker, "party:preview", {"invite_code": code})
    assert (seen["members"], seen["capacity"], seen["full"]) == (1, 3, False)
    assert seen["admission"] == "open" and seen["password_required"] is False

    room = await ok(host, "party:room", {"party_id": party_id, "admission": "knock"})
    assert room["admission"] == "knock"
    assert await err(knocker, "party:join", {"invite_code": code}) == "admission_required"
    assert await err(knocker, "party:knock", {"invite_code": "NOSUCHCODE"}) == "party_not_found"
    pending = await ok(knocker, "party:knock", {"invite_code": code})
    assert pending["admission"] == "knock"
    await ok(other, "party:knock", {"invite_code": code})
    knocking = await _newest(host, lambda s: len(s["knocking"]) == 2)
    assert knocking["knocking"] == [uid(knocker), uid(other)]
    # Only the host or a co-host admits; someone not knocking cannot be admitted.
    assert await err(knocker, "party:admit", {"party_id": party_id, "user_id": uid(other)}) == (
        "not_member"
    )
    assert await err(host, "party:admit", {"party_id": party_id, "user_id": uid(host)}) == (
        "not_knocking"
    )
    await ok(host, "party:admit", {"party_id": party_id, "user_id": uid(knocker)})
    await ok(host, "party:admit", {"party_id": party_id, "user_id": uid(other), "admit": False})
    told = await knocker.wait_event("party:admission")
    assert told[-1] == {"party_id": party_id, "admitted": True, "reason": "admitted"}
    turned = (await other.wait_event("party:admission"))[-1]
    assert (turned["admitted"], turned["reason"]) == (False, "turned_away")
    joined = await ok(knocker, "party:join", {"invite_code": code})
    assert uid(knocker) in {m["user_id"] for m in joined["state"]["members"]}
    assert await err(other, "party:join", {"invite_code": code}) == "admission_required"

    # A room password: asked of newcomers, not of those who were in it.
    await ok(host, "party:room", {"party_id": party_id, "admission": "open", "password": "s3cret"})
    late = await members.connect(a)
    seen = await ok(late, "party:preview", {"invite_code": code})
    assert seen["password_required"] is True and seen["members"] == 2
    assert await err(late, "party:join", {"invite_code": code}) == "password_required"
    assert await err(late, "party:join", {"invite_code": code, "password": "nope"}) == (
        "wrong_password"
    )
    await ok(late, "party:join", {"invite_code": code, "password": "s3cret"})
    await ok(knocker, "party:leave", {"party_id": party_id})
    await ok(knocker, "party:join", {"party_id": party_id})  # been in it: no password
    full = await ok(other, "party:preview", {"invite_code": code})
    assert full["full"] is True
    assert await err(other, "party:join", {"invite_code": code, "password": "s3cret"}) == (
        "party_full"
    )
    # Removing the password opens it again.
    removed = await ok(host, "party:room", {"party_id": party_id, "password": ""})
    assert removed["has_password"] is False
    assert await err(host, "party:room", {"party_id": party_id, "slow_mode_s": -1}) == (
        "invalid_payload"
    )


async def test_knockers_hear_when_the_room_opens_or_the_party_ends(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    first = await members.connect(b)
    second = await members.connect(a)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    await ok(host, "party:room", {"party_id": party_id, "admission": "knock"})
    for rec in (first, second):
        await ok(rec, "party:knock", {"invite_code": code})
    await _newest(host, lambda s: len(s["knocking"]) == 2)
    # The host stops asking people to knock: both are told to come in, on either process.
    opened = await ok(host, "party:room", {"party_id": party_id, "admission": "open"})
    assert opened["knocking"] == []
    for rec in (first, second):
        told = (await rec.wait_event("party:admission"))[-1]
        assert told == {"party_id": party_id, "admitted": True, "reason": "room_open"}
    await ok(first, "party:join", {"invite_code": code})

    # Knocking again, then the party ends: nobody is left waiting for an answer.
    await ok(host, "party:room", {"party_id": party_id, "admission": "knock"})
    await ok(second, "party:knock", {"invite_code": code})
    await _newest(host, lambda s: s["knocking"] == [uid(second)])
    await ok(host, "party:end", {"party_id": party_id})
    told = (await second.wait_event("party:admission", count=2))[-1]
    assert told == {"party_id": party_id, "admitted": False, "reason": "ended"}
    # Who was let in and joined is a member, not a knocker: told nothing more.
    assert [e["reason"] for e in first.events["party:admission"]] == ["room_open"]


async def test_cohosts_mute_and_slow_mode(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    co = await members.connect(b)
    chatty = await members.connect(b)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]
    for rec in (co, chatty):
        await ok(rec, "party:join", {"invite_code": created["invite_code"]})
    assert await err(co, "party:play", {"party_id": party_id}) == "forbidden"
    assert await err(co, "party:cohost", {"party_id": party_id, "user_id": uid(chatty)}) == (
        "forbidden"
    )
    made = await ok(host, "party:cohost", {"party_id": party_id, "user_id": uid(co)})
    assert made["cohosts"] == [uid(co)]
    seen = await _newest(chatty, lambda s: s["cohosts"] == [uid(co)])
    assert seen["cause"] == "set_cohost"
    played = await ok(co, "party:play", {"party_id": party_id})
    assert played["phase"] in ("playing", "waiting")  # host_only, yet a co-host drives

    # Muting: the member's chat is refused; unmuted, it works again.
    await ok(co, "party:mute", {"party_id": party_id, "user_id": uid(chatty)})
    assert await err(chatty, "party:chat", {"party_id": party_id, "text": "hello"}) == "muted"
    assert await err(chatty, "party:mute", {"party_id": party_id, "user_id": uid(co)}) == (
        "forbidden"
    )
    assert await err(co, "party:mute", {"party_id": party_id, "user_id": uid(host)}) == (
        "forbidden"
    )
    await ok(co, "party:mute", {"party_id": party_id, "user_id": uid(chatty), "muted": False})
    await ok(chatty, "party:chat", {"party_id": party_id, "text": "hello"})

    # Slow mode: one message per member per window; the host and co-hosts are not held back.
    slow = await ok(co, "party:room", {"party_id": party_id, "slow_mode_s": 30})
    assert slow["slow_mode_s"] == 30
    await ok(chatty, "party:chat", {"party_id": party_id, "text": "one"})
    assert await err(chatty, "party:chat", {"party_id": party_id, "text": "two"}) == (
        "rate_limited"
    )
    await ok(co, "party:chat", {"party_id": party_id, "text": "a"})
    await ok(co, "party:chat", {"party_id": party_id, "text": "b"})
    # Listing is the host's alone.
    assert await err(co, "party:room", {"party_id": party_id, "listed": True}) == "forbidden"


async def test_parties_listed_for_friends_only_when_the_host_allows(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    friend = await members.connect(b)
    stranger = await members.connect(b)
    ha, fa = host.account, friend.account  # type: ignore[attr-defined]
    await befriend(members.client, ha, fa)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]

    async def listed(rec: Recorder) -> list[dict[str, Any]]:
        r = await members.client.get(
            "/api/v1/parties/friends",
            headers=rec.account.headers,  # type: ignore[attr-defined]
        )
        assert r.status_code == 200, r.text
        items: list[dict[str, Any]] = r.json()["items"]
        return items

    assert await listed(friend) == []  # off by default
    assert await err(friend, "party:join", {"party_id": party_id}) == "party_not_found"
    await ok(host, "party:room", {"party_id": party_id, "listed": True})
    [item] = await listed(friend)
    assert item["party_id"] == party_id and item["host_username"] == ha.user.username
    assert item["media_name"] == "The Party Film" and item["capacity"] == 50
    assert await listed(stranger) == []
    assert await err(stranger, "party:join", {"party_id": party_id}) == "party_not_found"
    await ok(friend, "party:join", {"party_id": party_id})
    await ok(host, "party:room", {"party_id": party_id, "listed": False})
    assert await listed(friend) == []


async def test_a_knocker_offline_when_answered_learns_the_answer_on_reconnect(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    """party:admission goes to the sockets a knocker has then; one who was offline knocks
    again (or previews) on reconnect and is answered at once, on either process."""
    a, b = party_servers
    host = await members.connect(b)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    await ok(host, "party:room", {"party_id": party_id, "admission": "knock"})
    lucky, unlucky = await members.account(), await members.account()
    for account in (lucky, unlucky):
        knocker = await members.connect(a, account)
        seen = await ok(knocker, "party:knock", {"invite_code": code})
        assert seen["knock"] == "waiting"
        await knocker.client.disconnect()
    await _newest(host, lambda s: s["knocking"] == [str(lucky.id), str(unlucky.id)])
    # Answered while both are offline (their process hears nothing for them).
    await ok(host, "party:admit", {"party_id": party_id, "user_id": str(lucky.id)})
    await ok(
        host, "party:admit", {"party_id": party_id, "user_id": str(unlucky.id), "admit": False}
    )

    back = await members.connect(a, lucky)
    again = await ok(back, "party:knock", {"invite_code": code})
    assert again["knock"] == "admitted" and back.events["party:admission"] == []
    assert (await ok(back, "party:preview", {"invite_code": code}))["knock"] == "admitted"
    joined = await ok(back, "party:join", {"invite_code": code})
    assert str(lucky.id) in {m["user_id"] for m in joined["state"]["members"]}
    assert (await ok(back, "party:knock", {"invite_code": code}))["knock"] == "member"

    turned = await members.connect(a, unlucky)
    answer = await ok(turned, "party:knock", {"invite_code": code})
    assert answer["knock"] == "turned_away"
    # Asking again does not put them back in front of the host.
    assert (await ok(host, "party:snapshot", {"party_id": party_id}))["knocking"] == []
    assert await err(turned, "party:join", {"invite_code": code}) == "admission_required"
    # Someone who never knocked has no answer waiting.
    stranger = await members.connect(b)
    assert (await ok(stranger, "party:preview", {"invite_code": code}))["knock"] is None
