"""The queue and catch-up in Chromium: the reference client moves on to the next item with the
party, and catches up after a rewind by the server's plan, landing back on the timeline when the
plan says while the party moves not at all."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from models.core.context import Context
from models.core.db import transaction
from models.media.tables import MediaAsset, MediaStatus
from tests.factories import make_title
from tests.parties.conftest import Members, ok
from tests.parties.test_browser_client import (  # helpers of the browser tests
    CHROMIUM,
    Browser,
    _until,
    chromium,
)
from tests.realtime_client import connected

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium"),
]


async def _evaluate(browser: Browser, expression: str) -> Any:
    browser.next_id += 1
    await browser.ws.send(
        json.dumps(
            {
                "id": browser.next_id,
                "method": "Runtime.evaluate",
                "params": {"expression": expression, "awaitPromise": True, "returnByValue": True},
            }
        )
    )
    while True:
        reply = json.loads(await browser.ws.recv())
        if reply.get("id") == browser.next_id:
            return reply["result"]["result"].get("value")


@pytest.mark.timeout(150)
async def test_js_client_catches_up_by_rate_and_lands_on_the_timeline(
    page_server: str, video_url: str, members: Members, title_id: int
) -> None:
    host_account = await members.account()
    guest = await members.account()
    async with connected(page_server, host_account.access_token) as host:
        created = await ok(host, "party:create", {"title_id": title_id})
        party_id = created["party_id"]
        await ok(host, "party:wait_for_me", {"party_id": party_id, "enabled": False})
        page = (
            f"{page_server}/parties/demo#token={guest.access_token}"
            f"&invite={created['invite_code']}&video={video_url}"
        )
        async with chromium(page) as browser:
            await _until(browser, lambda d: d["joined"] and d["readyState"] >= 3)
            played = await ok(host, "party:play", {"party_id": party_id})
            await asyncio.sleep(max(0.0, played["anchor_server_ms"] / 1000 - time.time()) + 3)
            await _until(
                browser, lambda d: not d["paused"] and abs(d["videoMs"] - d["targetMs"]) < 80
            )

            plan = await _evaluate(browser, "partyCatchUp(2000)")
            assert plan["mode"] == "rate" and 1.0 < plan["rate"] <= 1.25, plan
            mid = await _until(browser, lambda d: d["catchingUp"] and d["playbackRate"] > 1.1)
            assert mid["targetMs"] - mid["videoMs"] > 300  # behind, and not seeking ahead
            # Nobody else moved: the party's playback is the one the host started.
            snap = await ok(host, "party:snapshot", {"party_id": party_id})
            assert snap["anchor_server_ms"] == played["anchor_server_ms"]
            assert snap["phase"] == "playing"

            # Back on the timeline at the planned instant, at the party's rate.
            until = plan["until_server_ms"] / 1000
            await asyncio.sleep(max(0.0, until - time.time()) + 0.5)
            d = await _until(browser, lambda d: not d["catchingUp"], timeout=5)
            drifts = []
            for _ in range(5):
                d = await browser.debug()
                drifts.append(d["videoMs"] - d["targetMs"])
                await asyncio.sleep(0.1)
            assert max(abs(x) for x in drifts) < 120, drifts
            assert abs(d["playbackRate"] - 1.0) <= 0.05
            late = time.time() * 1000 - plan["until_server_ms"]
            print(
                f"\ncatch-up: {plan['rate']:.3f}x for "
                f"{(plan['until_server_ms'] - plan['start_server_ms']) / 1000:.1f} s, then drift "
                f"{[round(x, 1) for x in drifts]} ms ({late:.0f} ms after the planned end)"
            )
            me = next(
                m
                for m in (await ok(host, "party:snapshot", {"party_id": party_id}))["members"]
                if m["user_id"] == str(guest.id)
            )
            assert me["catching_up"] is False and me["ready"] is True


async def _film_of(ctx: Context, name: str, duration_ms: int) -> int:
    """A film whose published video lasts `duration_ms` (what the party's end is judged by)."""
    title = await make_title(ctx, name)
    async with transaction(ctx.sessions) as session:
        session.add(
            MediaAsset(
                title_id=title.id,
                status=MediaStatus.ready,
                source_path="test",
                source_name="film.webm",
                source_size=1,
                job_token="t",
                revision="r1",
                duration_ms=duration_ms,
            )
        )
    return title.id


@pytest.mark.timeout(150)
async def test_js_client_moves_on_with_the_queue(
    page_server: str, video_url: str, members: Members, ctx: Context
) -> None:
    first = await _film_of(ctx, "Short first", 6_000)
    second = await _film_of(ctx, "Then this", 30_000)
    host_account = await members.account()
    guest = await members.account()
    async with connected(page_server, host_account.access_token) as host:
        created = await ok(host, "party:create", {"title_id": first})
        party_id = created["party_id"]
        await ok(host, "party:wait_for_me", {"party_id": party_id, "enabled": False})
        await ok(host, "party:queue_add", {"party_id": party_id, "items": [{"title_id": second}]})
        page = (
            f"{page_server}/parties/demo#token={guest.access_token}"
            f"&invite={created['invite_code']}&video={video_url}"
        )
        async with chromium(page) as browser:
            await _until(browser, lambda d: d["joined"] and d["readyState"] >= 3)
            await ok(host, "party:seek", {"party_id": party_id, "position_ms": 3_000})
            played = await ok(host, "party:play", {"party_id": party_id})
            assert played["up_next"]["id"] == second
            # At the end the party moves on; the page loads it, says ready, and it starts for
            # everyone at one scheduled instant, the page in step from there.
            await asyncio.sleep(max(0.0, played["ends_at_ms"] / 1000 - time.time()))
            d = await _until(
                browser,
                lambda d: (
                    d["phase"] == "playing"
                    and d["version"] > played["version"]
                    and d["targetMs"] > 300
                ),
                timeout=20,
            )
            snap = await ok(host, "party:snapshot", {"party_id": party_id})
            assert snap["media"]["id"] == second and snap["queue_version"] > played["version"]
            await asyncio.sleep(1.5)
            drifts = []
            for _ in range(5):
                d = await browser.debug()
                drifts.append(d["videoMs"] - d["targetMs"])
                await asyncio.sleep(0.1)
            assert not d["paused"] and max(abs(x) for x in drifts) < 80, drifts
            print(
                "\nqueue advance: the page follows the next item, drift "
                f"{[round(x, 1) for x in drifts]} ms"
            )
