"""My screens across two server processes: register, list, remote control, status, handing
playback over at one frame, and several screens playing in lockstep."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.parties.sync import Playback, target_position
from tests.conftest import LiveServer
from tests.factories import Account, login, make_account, make_title
from tests.media.test_streams import _playable, _screens
from tests.realtime_client import connected

pytestmark = pytest.mark.slow


async def test_play_on_another_screen_and_remote_control(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    me = await make_account(ctx, client)
    other = await make_account(ctx, client)
    tv_token = (await login(client, me.user.email))["access_token"]
    async with (
        connected(one.url, me.access_token) as phone,
        connected(two.url, tv_token) as tv,
        connected(two.url, other.access_token) as stranger,
    ):
        r = await phone.call(
            "screen:register", {"device_id": "phone-1", "name": "Ann's phone", "kind": "phone"}
        )
        assert r["ok"], r
        r = await tv.call(
            "screen:register",
            {"device_id": "tv-1", "name": "Living-room TV", "kind": "tv", "rtt_ms": 40},
        )
        assert {s["device_id"]: s["this"] for s in r["data"]["screens"]} == {
            "phone-1": False,
            "tv-1": True,
        }
        listed = (await phone.call("screen:list", {}))["data"]["screens"]
        assert [s["name"] for s in listed] == ["Ann's phone", "Living-room TV"]

        # Remote control from the phone reaches the TV on the other process.
        r = await phone.call(
            "screen:command", {"to_device_id": "tv-1", "action": "seek", "position_ms": 90_000}
        )
        assert r["ok"], r
        got = (await tv.wait_event("screen:command"))[-1]
        assert got == {
            "from_device_id": "phone-1",
            "action": "seek",
            "position_ms": 90_000,
            "volume": None,
            "track": None,
            "party_id": None,
        }
        await phone.call(
            "screen:command", {"to_device_id": "tv-1", "action": "volume", "volume": 0.3}
        )
        assert (await tv.wait_event("screen:command", 2))[-1]["volume"] == 0.3
        # Lockstep: the phone tells the TV which party to join (party:join still decides).
        party = "6f1c2a4e-0d3b-4c8e-9a57-2b1d0e6f3a91"
        r = await phone.call(
            "screen:command", {"to_device_id": "tv-1", "action": "join_party", "party_id": party}
        )
        assert r["ok"], r
        got = (await tv.wait_event("screen:command", 3))[-1]
        assert (got["action"], got["party_id"]) == ("join_party", party)

        # The TV says what it plays; the phone (a remote) hears it.
        await tv.call(
            "screen:status",
            {
                "title_id": 1,
                "position_ms": 90_000,
                "playing": True,
                "volume": 0.3,
                "audio_track": "7",
                "subtitle_track": "0",
            },
        )
        status = (await phone.wait_event("screen:status"))[-1]
        assert status["device_id"] == "tv-1" and status["playing"] is True
        # Its tracks and volume too, so the remote shows (and preselects) them.
        assert (status["volume"], status["audio_track"], status["subtitle_track"]) == (
            0.3,
            "7",
            "0",
        )

        # Play on the TV: both switch at one instant, at the frame the phone will be at then.
        at = int(time.time() * 1000)
        r = await phone.call(
            "screen:handoff",
            {"to_device_id": "tv-1", "title_id": 1, "position_ms": 120_000, "at_server_ms": at},
        )
        assert r["ok"], r
        plan = r["data"]
        assert plan["role"] == "source" and plan["anchor_server_ms"] > at
        assert plan["position_ms"] == 120_000 + (plan["anchor_server_ms"] - at)
        told = (await tv.wait_event("screen:handoff"))[-1]
        assert told["role"] == "target"
        assert (told["anchor_server_ms"], told["position_ms"]) == (
            plan["anchor_server_ms"],
            plan["position_ms"],
        )
        assert told["anchor_server_ms"] - time.time() * 1000 > 0  # it arrived before the instant

        # Someone else cannot reach my screens; bad input is an error ack.
        for event, data, code in (
            ("screen:command", {"to_device_id": "tv-1", "action": "pause"}, "screen_not_found"),
            ("screen:command", {"to_device_id": "tv-1", "action": "seek"}, "invalid_payload"),
            ("screen:command", {"to_device_id": "tv-1", "action": "join_party"}, "invalid_payload"),
            (
                "screen:handoff",
                {"to_device_id": "tv-1", "title_id": 1, "position_ms": 0, "at_server_ms": at},
                "not_a_screen",
            ),
            ("screen:register", {"device_id": "bad id!", "name": "x"}, "invalid_payload"),
        ):
            ack = await stranger.call(event, data)
            assert not ack["ok"] and ack["error"]["code"] == code, (event, ack)
        ack = await phone.call(
            "screen:handoff",
            {"to_device_id": "phone-1", "title_id": 1, "position_ms": 0, "at_server_ms": at},
        )
        assert ack["error"]["code"] == "same_screen"

    # Gone screens leave the list.
    async with connected(one.url, me.access_token) as again:
        await asyncio.sleep(0.3)
        assert (await again.call("screen:list", {}))["data"]["screens"] == []


async def test_my_screens_play_in_lockstep(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """Three of my screens (a slow TV, a phone, a laptop; two processes) in one party: a play
    and a seek are scheduled far enough ahead for the slowest of them, every screen has the
    state before the instant, and at any instant they all show the same frame."""
    one, two = two_servers
    me = await make_account(ctx, client)
    title = await make_title(ctx, "In step", runtime_minutes=100)
    tokens = [(await login(client, me.user.email))["access_token"] for _ in range(2)]
    async with (
        connected(one.url, me.access_token) as phone,
        connected(two.url, tokens[0]) as tv,
        connected(two.url, tokens[1]) as laptop,
    ):
        screens = {"phone": phone, "tv": tv, "laptop": laptop}
        rtts = {"phone": 30, "tv": 400, "laptop": 60}
        for name, sock in screens.items():
            r = await sock.call(
                "screen:register",
                {"device_id": f"{name}-1", "name": name, "rtt_ms": rtts[name]},
            )
            assert r["ok"], r
        created = await phone.call("party:create", {"title_id": title.id})
        assert created["ok"], created
        party_id = created["data"]["party_id"]
        # The TV joins first; the faster screens after it must not hide how slow it is.
        for name in ("tv", "laptop", "phone"):
            r = await screens[name].call("party:join", {"party_id": party_id, "rtt_ms": rtts[name]})
            assert r["ok"], r
        r = await phone.call("party:rtt", {"party_id": party_id, "rtt_ms": 25})
        assert r["ok"], r
        worst_lead = int(rtts["tv"] * 1.5) + 80

        async def step(event: str, data: dict[str, Any]) -> None:
            counts = {n: len(s.events["party:state"]) for n, s in screens.items()}
            sent_ms = time.time() * 1000  # one machine, one clock
            ack = await phone.call(event, {"party_id": party_id, **data})
            assert ack["ok"], ack
            state = ack["data"]
            assert state["playing"] is True
            # Scheduled ahead by the slowest screen's round trip, not the last reporter's:
            # planned when the command arrived, so at least the lead after it was sent (the
            # ack's server_ms is stamped after the party's write, later on a busy machine).
            assert state["anchor_server_ms"] - sent_ms >= worst_lead - 5, state
            seen: dict[str, tuple[dict[str, Any], float]] = {}
            for name, sock in screens.items():
                got = await sock.wait_event("party:state", counts[name] + 1)
                mine = [s for s in got[counts[name] :] if s["version"] == state["version"]]
                assert mine, (name, got[counts[name] :])
                seen[name] = (mine[0], time.time() * 1000)
            for name, (s, received_ms) in seen.items():
                assert received_ms < s["anchor_server_ms"], name  # in time to start on it
            # At any instant after the start, every screen is at the same position.
            for after_ms in (0, 500, 10_000):
                at = state["anchor_server_ms"] + after_ms
                positions = [
                    target_position(
                        Playback(
                            version=s["version"],
                            playing=s["playing"],
                            position_ms=s["position_ms"],
                            anchor_server_ms=s["anchor_server_ms"],
                            rate=s["rate"],
                        ),
                        at,
                    )
                    for s, _ in seen.values()
                ]
                assert max(positions) - min(positions) <= 1, positions

        await step("party:play", {})
        await step("party:seek", {"position_ms": 60_000})


async def test_a_closed_screen_is_gone_at_once_for_my_other_screens(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """The TV's socket closes (on the other process): the phone hears screen:gone for it at
    once and it is off the list. A device that registered a newer socket is not gone when
    its old socket closes."""
    one, two = two_servers
    me = await make_account(ctx, client)
    tv_token = (await login(client, me.user.email))["access_token"]
    async with connected(one.url, me.access_token) as phone:
        r = await phone.call("screen:register", {"device_id": "phone-1", "name": "Phone"})
        assert r["ok"], r
        async with connected(two.url, tv_token) as tv:
            r = await tv.call("screen:register", {"device_id": "tv-1", "name": "TV"})
            assert r["ok"], r
            # The laptop's old socket, replaced by a newer one of the same device.
            async with connected(two.url, tv_token) as old_laptop:
                r = await old_laptop.call("screen:register", {"device_id": "lap-1", "name": "L"})
                assert r["ok"], r
                async with connected(one.url, me.access_token) as laptop:
                    r = await laptop.call("screen:register", {"device_id": "lap-1", "name": "L"})
                    assert r["ok"], r
                    await old_laptop.client.disconnect()
                    listed = (await phone.call("screen:list", {}))["data"]["screens"]
                    assert [s["device_id"] for s in listed] == ["lap-1", "phone-1", "tv-1"]
                    await tv.client.disconnect()
                    closed = time.monotonic()
                    gone = await phone.wait_event("screen:gone")
                    assert gone == [{"device_id": "tv-1"}], gone  # the laptop is not gone
                    print(f"\nscreen:gone after {time.monotonic() - closed:.2f} s (contended)")
                    listed = (await phone.call("screen:list", {}))["data"]["screens"]
                    assert [s["device_id"] for s in listed] == ["lap-1", "phone-1"]
                    assert laptop.events["screen:gone"] == [{"device_id": "tv-1"}]


async def test_a_handoff_moves_the_stream_place_so_it_never_counts_twice(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """An account at its MAX_STREAMS (4) with the phone among them hands the phone's playback
    to the TV (another process): the TV's playback request is not refused, it takes the
    phone's place; the phone's later heartbeat is refused quietly (`stream_handed_over`) and
    takes no place back, until it asks to play again (then full, like any other screen)."""
    one, two = two_servers
    assert ctx.settings.max_streams == 4
    film = await _playable(ctx, "Handed over")
    phone, tv, *others = await _screens(client, ctx, 5)

    async def play(who: Account) -> httpx.Response:
        return await client.get(f"/api/v1/titles/{film}/playback", headers=who.headers)

    for who in (phone, *others):
        assert (await play(who)).status_code == 200
    async with (
        connected(one.url, phone.access_token) as p,
        connected(two.url, tv.access_token) as t,
    ):
        await p.call("screen:register", {"device_id": "phone-1", "name": "Phone"})
        await t.call("screen:register", {"device_id": "tv-1", "name": "TV"})
        at = int(time.time() * 1000)
        r = await p.call(
            "screen:handoff",
            {"to_device_id": "tv-1", "title_id": film, "position_ms": 5_000, "at_server_ms": at},
        )
        assert r["ok"], r
        await t.wait_event("screen:handoff")
        # The phone's last heartbeat before the TV takes over keeps its place meanwhile.
        beat = {"title_id": film, "position_ms": 6_000}
        r = await client.post("/api/v1/me/history/progress", json=beat, headers=phone.headers)
        assert r.status_code == 200, r.text
        # The TV takes over: the account is full, but the phone's place is its own now.
        r = await play(tv)
        assert r.status_code == 200, r.text
        listed = (await client.get("/api/v1/me/streams", headers=tv.headers)).json()
        assert len(listed) == 4 and [s["current"] for s in listed].count(True) == 1
        assert "Device 0" not in {s["device_name"] for s in listed}, listed  # the phone
        # The phone's heartbeat after it (its pause, say) is refused and takes nothing back.
        r = await client.post("/api/v1/me/history/progress", json=beat, headers=phone.headers)
        assert r.status_code == 409 and r.json()["error"]["code"] == "stream_handed_over"
        assert len((await client.get("/api/v1/me/streams", headers=tv.headers)).json()) == 4
        # Asking to play again is asking for a place like any other screen: the account is full.
        r = await play(phone)
        assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_streams"
        # The TV hands it back: the phone plays again (its place), the TV's is free.
        r = await t.call(
            "screen:handoff",
            {"to_device_id": "phone-1", "title_id": film, "position_ms": 9_000, "at_server_ms": at},
        )
        assert r["ok"], r
        r = await client.post("/api/v1/me/history/progress", json=beat, headers=phone.headers)
        assert r.status_code == 200, r.text
        listed = (await client.get("/api/v1/me/streams", headers=phone.headers)).json()
        assert [s["current"] for s in listed].count(True) == 1 and len(listed) == 4
