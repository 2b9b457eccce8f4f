"""My screens across two server processes: register, list, remote control, status, and
handing playback over at one frame."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import login, make_account
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
        }
        await phone.call(
            "screen:command", {"to_device_id": "tv-1", "action": "volume", "volume": 0.3}
        )
        assert (await tv.wait_event("screen:command", 2))[-1]["volume"] == 0.3

        # The TV says what it plays; the phone (a remote) hears it.
        await tv.call("screen:status", {"title_id": 1, "position_ms": 90_000, "playing": True})
        status = (await phone.wait_event("screen:status"))[-1]
        assert status["device_id"] == "tv-1" and status["playing"] is True

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
