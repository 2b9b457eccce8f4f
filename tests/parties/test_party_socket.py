"""Watch parties over real sockets, with members spread over two server processes."""

from __future__ import annotations

import asyncio
import math
import time
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.parties.conftest import GRACE_S, WAIT_TIMEOUT_S, Members, err, ok, uid
from tests.realtime_client import Recorder

pytestmark = pytest.mark.slow  # every test here starts server processes

Servers = tuple[LiveServer, LiveServer]


async def _party(host: Recorder, title_id: int, **extra: Any) -> Any:
    return await ok(host, "party:create", {"title_id": title_id, **extra})


async def _state_at_least(rec: Recorder, version: int, timeout: float = 5) -> dict[str, Any]:
    """The newest party:state this client holds once it reaches `version`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = rec.events["party:state"]
        if states and max(s["version"] for s in states) >= version:
            return max(states, key=lambda s: s["version"])
        await asyncio.sleep(0.01)
    raise AssertionError(f"no party:state >= v{version}; got {rec.events['party:state'][-3:]}")


async def test_create_join_play_across_processes(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    guest = await members.connect(b)
    created = await _party(host, title_id)
    assert len(created["invite_code"]) == 8
    snap = await ok(guest, "party:join", {"invite_code": created["invite_code"].lower()})
    party_id = created["party_id"]
    assert snap["state"]["party_id"] == party_id and snap["chat"] == []
    assert {m["user_id"] for m in snap["state"]["members"]} == {uid(host), uid(guest)}
    assert snap["state"]["control_mode"] == "host_only" and snap["state"]["host_id"] == uid(host)

    # The guest may not drive in host_only mode; the error leaves the socket usable.
    assert await err(guest, "party:play", {"party_id": party_id}) == "forbidden"
    assert (await guest.call("ping", {}))["ok"]

    await ok(host, "party:ready", {"party_id": party_id, "rtt_ms": 20})
    readied = await ok(guest, "party:ready", {"party_id": party_id, "rtt_ms": 40})
    # Member changes go out in a batch (PARTY_STATE_BATCH_MS): heard before the play, the play
    # carries none; a play within the batch would carry them.
    for rec in (host, guest):
        await _state_at_least(rec, readied["version"])
    before = int(time.time() * 1000)  # the server counts whole milliseconds too
    played = await ok(host, "party:play", {"party_id": party_id})
    assert played["playing"] is True
    # Scheduled a lead ahead: lead from the worst RTT, never less than the minimum.
    assert played["anchor_server_ms"] >= before + 150
    for rec in (host, guest):
        state = await _state_at_least(rec, played["version"])
        assert state["version"] == played["version"] and state["playing"] is True
        assert state["anchor_server_ms"] == played["anchor_server_ms"]
        assert state["cause"] == "play" and state["by"] == uid(host)
        assert "members" not in state or state["members"] is None  # playback only: no list

    # Everyone mode lets the guest seek; the broadcast reaches the host's process too.
    await ok(host, "party:control_mode", {"party_id": party_id, "mode": "everyone"})
    seeked = await ok(guest, "party:seek", {"party_id": party_id, "position_ms": 90_000})
    state = await _state_at_least(host, seeked["version"])
    assert state["position_ms"] == 90_000 and state["by"] == uid(guest)


async def test_concurrent_commands_from_two_processes_lose_nothing(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    guests = [await members.connect(a if i % 2 else b) for i in range(10)]
    # Ten joins at once, half through each process: every one of them lands.
    await asyncio.gather(
        *(ok(g, "party:join", {"invite_code": created["invite_code"]}) for g in guests)
    )
    # Then every member reports a distinct RTT at once: every value is kept.
    await asyncio.gather(
        *(
            ok(g, "party:rtt", {"party_id": party_id, "rtt_ms": 100 + i})
            for i, g in enumerate(guests)
        )
    )
    final = await ok(host, "party:snapshot", {"party_id": party_id})
    assert len(final["members"]) == 11
    # 1 (create) + 10 joins + 10 RTT reports, one version each.
    assert final["version"] == 1 + 10 + 10
    # RTTs are not broadcast; the lead they imply is: the worst is 109 -> 109*1.5+80 = 243.
    played = await ok(host, "party:play", {"party_id": party_id})
    assert played["anchor_server_ms"] - played["server_ms"] >= 243 - 5


async def test_bad_payloads_get_error_acks_and_the_socket_lives(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, _ = party_servers
    host = await members.connect(a)
    stranger = await members.connect(a)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    assert await err(host, "party:seek", {"party_id": party_id, "position_ms": "x"}) == (
        "invalid_payload"
    )
    assert await err(host, "party:seek", {"party_id": party_id, "position_ms": -1}) == (
        "invalid_payload"
    )
    assert await err(host, "party:join", {"party_id": party_id, "invite_code": "ABCD"}) == (
        "invalid_payload"
    )
    assert await err(host, "party:create", {"title_id": title_id, "episode_id": 1}) == (
        "invalid_payload"
    )
    assert await err(host, "party:create", {"title_id": 10**12}) == "title_not_found"
    assert await err(host, "party:rate", {"party_id": party_id, "rate": 9}) == "invalid_payload"
    assert await err(host, "party:play", {"party_id": "not-a-uuid"}) == "invalid_payload"
    assert await err(host, "party:play", {"party_id": party_id, "extra": 1}) == "invalid_payload"
    assert await err(host, "party:react", {"party_id": party_id, "emoji": "abc"}) == (
        "invalid_emoji"
    )
    assert await err(host, "time:sync", {"t0": "soon"}) == "invalid_payload"
    # A stranger learns nothing: not by id, not by command.
    assert await err(stranger, "party:join", {"party_id": party_id}) == "party_not_found"
    assert await err(stranger, "party:play", {"party_id": party_id}) == "not_member"
    assert await err(stranger, "party:snapshot", {"party_id": party_id}) == "not_member"
    assert await err(stranger, "party:chat", {"party_id": party_id, "text": "hi"}) == ("not_member")
    assert (await host.call("ping", {}))["ok"] and (await stranger.call("ping", {}))["ok"]


async def test_time_sync_answers_with_server_timestamps(
    party_servers: Servers, members: Members
) -> None:
    a, _ = party_servers
    rec = await members.connect(a)
    t0 = time.time() * 1000
    data = await ok(rec, "time:sync", {"t0": t0})
    t3 = time.time() * 1000
    assert data["t0"] == t0
    # Same machine, same clock: the server's stamps fall inside our round trip.
    assert t0 - 1 <= data["t1"] <= data["t2"] <= t3 + 1


async def test_time_sync_refuses_what_it_cannot_echo(
    party_servers: Servers, members: Members
) -> None:
    """NaN/Infinity were echoed into the ack (a browser's JSON.parse throws on the packet) and
    a second argument left the ack hanging (socket fuzzer)."""
    a, _ = party_servers
    rec = await members.connect(a)
    for t0 in (math.nan, math.inf, -math.inf):
        assert await err(rec, "time:sync", {"t0": t0}) == "invalid_payload"
    both = await rec.client.call("time:sync", ({"t0": 1.0}, {"t0": 2.0}), timeout=5)
    assert both["ok"] and both["data"]["t0"] == 1.0
    assert (await rec.call("ping", {}))["ok"]


async def test_buffering_waits_then_times_out_and_late_joiner_moves_nobody(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    slow = await members.connect(b)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    await ok(slow, "party:join", {"invite_code": created["invite_code"]})
    for rec in (host, slow):
        await ok(rec, "party:ready", {"party_id": party_id})
    await ok(host, "party:play", {"party_id": party_id})

    waiting = await ok(slow, "party:buffering", {"party_id": party_id})
    assert waiting["phase"] == "waiting" and waiting["waiting_for"] == [uid(slow)]
    assert waiting["playing"] is False
    # Nobody says ready: the party goes on by itself after the timeout (the sweeper/timer).
    resumed = await _state_at_least(host, waiting["version"] + 1, timeout=WAIT_TIMEOUT_S + 3)
    assert resumed["phase"] == "playing" and resumed["cause"] == "tick"
    assert resumed["position_ms"] == waiting["position_ms"]
    slow_member = next(m for m in resumed["members"] if m["user_id"] == uid(slow))
    assert slow_member["catching_up"] is True
    # The straggler stalling again does not stop the party.
    again = await ok(slow, "party:buffering", {"party_id": party_id})
    assert again["phase"] == "playing"

    # A late joiner gets the snapshot and never moves anyone.
    late = await members.connect(a)
    snap = await ok(late, "party:join", {"invite_code": created["invite_code"]})
    assert snap["state"]["phase"] == "playing"
    stalled = await ok(late, "party:buffering", {"party_id": party_id})
    assert stalled["phase"] == "playing"

    # Opting out: a member who is not waited for never stops the party either.
    await ok(slow, "party:ready", {"party_id": party_id})
    await ok(slow, "party:wait_for_me", {"party_id": party_id, "enabled": False})
    assert (await ok(slow, "party:buffering", {"party_id": party_id}))["phase"] == "playing"


async def test_kick_and_capacity(party_servers: Servers, members: Members, title_id: int) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await _party(host, title_id, capacity=3)
    party_id, code = created["party_id"], created["invite_code"]
    one = await members.connect(b)
    two = await members.connect(a)
    three = await members.connect(b)
    await ok(one, "party:join", {"invite_code": code})
    await ok(two, "party:join", {"invite_code": code})
    assert await err(three, "party:join", {"invite_code": code}) == "party_full"

    assert await err(one, "party:kick", {"party_id": party_id, "user_id": uid(two)}) == "forbidden"
    kicked = await ok(host, "party:kick", {"party_id": party_id, "user_id": uid(one)})
    left = await one.wait_event("party:left")
    assert left[-1] == {"party_id": party_id, "reason": "kicked"}
    # The kicked member's socket (on the other process) no longer hears the party.
    seen = len(one.events["party:state"])
    paused = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 5_000})
    await _state_at_least(two, paused["version"])
    await asyncio.sleep(0.2)
    assert len(one.events["party:state"]) == seen
    assert await err(one, "party:join", {"invite_code": code}) == "banned"
    assert await err(one, "party:chat", {"party_id": party_id, "text": "let me in"}) == (
        "not_member"
    )
    # The freed seat is usable.
    await ok(three, "party:join", {"invite_code": code})
    assert kicked["version"] < paused["version"]


async def test_host_transfer_and_grace_handover(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host_account = await members.account()
    host = await members.connect(a, host_account)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    first = await members.connect(b)
    second = await members.connect(a)
    await ok(first, "party:join", {"invite_code": created["invite_code"]})
    await ok(second, "party:join", {"invite_code": created["invite_code"]})

    moved = await ok(host, "party:transfer_host", {"party_id": party_id, "user_id": uid(first)})
    assert moved["host_id"] == uid(first)
    assert await err(host, "party:kick", {"party_id": party_id, "user_id": uid(second)}) == (
        "forbidden"
    )
    back = await ok(first, "party:transfer_host", {"party_id": party_id, "user_id": uid(host)})
    assert back["host_id"] == uid(host)

    # The host's socket drops and a new one rejoins within the grace: still host.
    await host.client.disconnect()
    gone = await _state_at_least(first, back["version"] + 1)
    assert next(m for m in gone["members"] if m["user_id"] == uid(host))["connected"] is False
    host2 = await members.connect(b, host_account)
    snap = await ok(host2, "party:join", {"party_id": party_id})
    assert snap["state"]["host_id"] == uid(host)

    # Gone past the grace period: the longest-present member (first) takes over.
    await host2.client.disconnect()
    t = time.monotonic()
    while time.monotonic() - t < GRACE_S + 4:
        state = await ok(first, "party:snapshot", {"party_id": party_id})
        if state["host_id"] != uid(host):
            break
        await asyncio.sleep(0.1)
    assert state["host_id"] == uid(first)
    assert uid(host) not in {m["user_id"] for m in state["members"]}
    assert time.monotonic() - t >= GRACE_S - 0.3


async def test_chat_limits_and_last_messages_on_join(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    guest = await members.connect(b)
    await ok(guest, "party:join", {"invite_code": created["invite_code"]})

    sent = await ok(
        host, "party:chat", {"party_id": party_id, "text": "  hello\n", "client_id": "c1"}
    )
    msg = sent["message"]
    assert msg["text"] == "hello" and msg["stream"] == f"party_chat:{party_id}"
    assert msg["cursor"] == msg["id"]
    heard = await guest.wait_event("party:chat")
    assert heard[-1] == msg
    # A retry with the same client id is not a second message.
    again = await ok(host, "party:chat", {"party_id": party_id, "text": "hello", "client_id": "c1"})
    assert again["message"]["id"] == msg["id"]

    assert await err(host, "party:chat", {"party_id": party_id, "text": "x" * 501}) == (
        "invalid_payload"
    )
    assert await err(host, "party:chat", {"party_id": party_id, "text": "   "}) == "empty_message"
    assert await err(host, "party:chat", {"party_id": party_id, "text": "a\x07b"}) == (
        "invalid_text"
    )
    for i in range(4):  # 5 per window in these servers; one is used
        await ok(host, "party:chat", {"party_id": party_id, "text": f"m{i}"})
    ack = await host.call("party:chat", {"party_id": party_id, "text": "one too many"})
    assert ack["error"]["code"] == "rate_limited" and ack["error"]["details"]["retry_after"] >= 1

    reacted = await ok(guest, "party:react", {"party_id": party_id, "emoji": "🎉"})
    assert (await host.wait_event("party:react"))[-1] == reacted

    newcomer = await members.connect(a)
    snap = await ok(newcomer, "party:join", {"invite_code": created["invite_code"]})
    assert [m["text"] for m in snap["chat"]] == ["hello", "m0", "m1", "m2", "m3"]
    assert snap["chat_truncated"] is False


async def test_reconnect_gets_snapshot_and_exactly_the_missed_chat(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    guest_account = await members.account()
    guest = await members.connect(b, guest_account)
    snap = await ok(guest, "party:join", {"invite_code": created["invite_code"]})
    joined_at = next(m for m in snap["state"]["members"] if m["user_id"] == uid(guest))
    seen = await ok(host, "party:chat", {"party_id": party_id, "text": "before"})
    cursor = (await guest.wait_event("party:chat"))[-1]["cursor"]
    assert cursor == seen["message"]["cursor"]

    await guest.client.disconnect()
    missed = [
        (await ok(host, "party:chat", {"party_id": party_id, "text": f"while away {i}"}))["message"]
        for i in range(3)
    ]
    moved = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 42_000})

    guest2 = await members.connect(a, guest_account)  # the other process this time
    back = await ok(guest2, "party:join", {"party_id": party_id, "chat_after": cursor})
    assert back["chat"] == missed
    assert back["state"]["position_ms"] == 42_000
    assert back["state"]["version"] >= moved["version"]
    me = next(m for m in back["state"]["members"] if m["user_id"] == uid(guest))
    assert me["connected"] is True and me["joined_at_ms"] == joined_at["joined_at_ms"]
    # And live again: the next message arrives on the new socket.
    after = await ok(host, "party:chat", {"party_id": party_id, "text": "welcome back"})
    assert (await guest2.wait_event("party:chat"))[-1] == after["message"]


async def test_end_party(party_servers: Servers, members: Members, title_id: int) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    guest = await members.connect(b)
    await ok(guest, "party:join", {"invite_code": created["invite_code"]})
    assert await err(guest, "party:end", {"party_id": party_id}) == "forbidden"
    ended = await ok(host, "party:end", {"party_id": party_id})
    assert ended["phase"] == "ended"
    assert (await guest.wait_event("party:left"))[-1]["reason"] == "ended"
    assert await err(guest, "party:play", {"party_id": party_id}) == "party_ended"
    newcomer = await members.connect(a)
    assert await err(newcomer, "party:join", {"invite_code": created["invite_code"]}) == (
        "party_ended"
    )


async def test_a_member_is_waited_for_until_every_screen_is_ready(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    """One person, a phone on one process and a TV on the other: the party waits for the TV
    even when the phone says ready, and stops waiting for it once it is switched off."""
    a, b = party_servers
    host = await members.connect(a)
    viewer = await members.account()
    phone = await members.connect(a, viewer)
    tv = await members.connect(b, viewer)
    created = await _party(host, title_id)
    party_id = created["party_id"]
    for screen in (phone, tv):
        await ok(screen, "party:join", {"invite_code": created["invite_code"]})
    for rec in (host, phone, tv):
        await ok(rec, "party:ready", {"party_id": party_id})
    await ok(host, "party:play", {"party_id": party_id})
    tv_sid = tv.client.get_sid()

    # The TV stalls: the party waits for the viewer, and says which of their screens.
    waiting = await ok(tv, "party:buffering", {"party_id": party_id})
    assert waiting["phase"] == "waiting" and waiting["waiting_for"] == [uid(tv)]
    assert waiting["waiting_screens"] == {uid(tv): [tv_sid]}
    # The phone saying ready (a player re-reporting) does not resume it while the TV loads.
    still = await ok(phone, "party:ready", {"party_id": party_id})
    assert still["phase"] == "waiting" and still["waiting_screens"] == {uid(tv): [tv_sid]}
    assert still["wait_deadline_ms"] == waiting["wait_deadline_ms"]
    resumed = await ok(tv, "party:ready", {"party_id": party_id})
    assert resumed["phase"] == "playing" and resumed["waiting_screens"] == {}
    heard = await _state_at_least(host, resumed["version"])
    assert heard["phase"] == "playing" and heard["cause"] == "ready"

    # It stalls again and is switched off: the party goes on at once, not at the deadline,
    # and the viewer stays in it on the phone.
    again = await ok(tv, "party:buffering", {"party_id": party_id})
    assert again["phase"] == "waiting"
    await tv.client.disconnect()
    went_on = await _state_at_least(host, again["version"] + 1, timeout=WAIT_TIMEOUT_S)
    assert went_on["phase"] == "playing" and went_on["cause"] == "screen_gone"
    snap = await ok(phone, "party:snapshot", {"party_id": party_id})
    me = next(m for m in snap["members"] if m["user_id"] == uid(phone))
    assert me["connected"] is True and me["ready"] is True
    # The phone alone is waited for now.
    alone = await ok(phone, "party:buffering", {"party_id": party_id})
    assert alone["waiting_screens"] == {uid(phone): [phone.client.get_sid()]}
