"""The reference JS client in headless Chromium, driving a real <video> in a real party.

Skipped where Chromium or ffmpeg is missing. The page is the server's own /parties/demo; its
state is read through the DevTools protocol. The host is a Python client on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
import websockets

from cinema.ports import free_port
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account
from tests.parties.conftest import Members, ok, page_process, uid
from tests.realtime_client import Recorder, connected

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,  # server processes and a browser
    pytest.mark.skipif(
        CHROMIUM is None or shutil.which("ffmpeg") is None, reason="needs chromium and ffmpeg"
    ),
]


class Browser:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def debug(self) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send(
            json.dumps(
                {
                    "id": self.next_id,
                    "method": "Runtime.evaluate",
                    "params": {
                        "expression": "JSON.stringify(window.partyDebug ? partyDebug() : null)",
                        "returnByValue": True,
                    },
                }
            )
        )
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                # No result while the page navigates (its context is gone): not there yet.
                value = reply.get("result", {}).get("result", {}).get("value")
                return json.loads(value) if value else {}


def _spawn_chromium(port: int, profile: str, url: str) -> subprocess.Popen[bytes]:
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--mute-audio",
        "--autoplay-policy=no-user-gesture-required",
        "--no-first-run",
        f"--remote-debugging-port={port}",
        f"--user-data-dir={profile}",
    ]
    return subprocess.Popen(
        [CHROMIUM, *flags, url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@contextlib.asynccontextmanager
async def chromium(url: str) -> AsyncIterator[Browser]:
    assert CHROMIUM is not None
    port = free_port()
    # Chromium's helper processes may still write to the profile while it is removed.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = _spawn_chromium(port, profile, url)
        try:
            target = None
            deadline = time.monotonic() + 30
            async with httpx.AsyncClient() as http:
                while target is None and time.monotonic() < deadline:
                    with contextlib.suppress(httpx.HTTPError):
                        pages = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                        target = next((p for p in pages if p.get("type") == "page"), None)
                    await asyncio.sleep(0.2)
            assert target is not None, "chromium did not start"
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                yield Browser(ws)
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


async def _until(browser: Browser, check: Any, timeout: float = 30) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    last: dict[str, Any] = {}
    while time.monotonic() < deadline:
        last = await browser.debug()
        if last and check(last):
            return last
        await asyncio.sleep(0.1)
    raise AssertionError(f"browser never got there: {last}")


async def _drifts(browser: Browser, n: int = 8) -> list[float]:
    out = []
    for _ in range(n):
        d = await browser.debug()
        assert not d["paused"]
        out.append(d["videoMs"] - d["targetMs"])
        await asyncio.sleep(0.15)
    return out


@pytest.mark.timeout(150)
async def test_js_client_follows_the_party_in_chromium(
    page_server: str, video_url: str, members: Members, title_id: int
) -> None:
    host_account = await members.account()
    guest = await members.account()
    async with connected(page_server, host_account.access_token) as host:
        host.account = host_account  # type: ignore[attr-defined]
        created = await ok(host, "party:create", {"title_id": title_id})
        party_id = created["party_id"]
        await ok(host, "party:ready", {"party_id": party_id, "rtt_ms": 5})
        page = (
            f"{page_server}/parties/demo#token={guest.access_token}"
            f"&invite={created['invite_code']}&video={video_url}"
        )
        async with chromium(page) as browser:
            await _until(browser, lambda d: d["joined"] and d["readyState"] >= 3)

            async def browser_ready() -> bool:
                snap = await ok(host, "party:snapshot", {"party_id": party_id})
                me = [m for m in snap["members"] if m["user_id"] == str(guest.id)]
                return bool(me and me[0]["ready"])

            deadline = time.monotonic() + 15
            while not await browser_ready():
                assert time.monotonic() < deadline, "the page never reported ready"
                await asyncio.sleep(0.1)

            played = await ok(host, "party:play", {"party_id": party_id})
            # Paused on the exact frame until the scheduled instant, then playing in step.
            await _until(browser, lambda d: not d["paused"], timeout=10)
            await asyncio.sleep(max(0.0, (played["anchor_server_ms"] / 1000 - time.time())) + 2)
            drift_play = await _drifts(browser)
            assert max(abs(x) for x in drift_play) < 80, drift_play

            seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 12_000})
            await asyncio.sleep(max(0.0, seeked["anchor_server_ms"] / 1000 - time.time()) + 2)
            drift_seek = await _drifts(browser)
            assert max(abs(x) for x in drift_seek) < 80, drift_seek

            paused = await ok(host, "party:pause", {"party_id": party_id})
            d = await _until(browser, lambda d: d["paused"] and d["version"] >= paused["version"])
            d = await _until(browser, lambda d: abs(d["videoMs"] - paused["position_ms"]) <= 2)
            assert d["paused"] and d["rttMs"] is not None
            print(
                f"\nchromium drift after play {[round(x, 1) for x in drift_play]} ms, "
                f"after seek {[round(x, 1) for x in drift_seek]} ms, paused at "
                f"{d['videoMs']:.1f} vs {paused['position_ms']} ms, rtt {d['rttMs']} ms"
            )
    assert uid(host)  # the host's id was used throughout


@dataclass
class Scene:
    """A party hosted by a Python client on `page_server` (a process that stays up) and joined
    by a page served from a process of its own: `server`, to crash, freeze or restart."""

    server: LiveServer
    host: Recorder
    party_id: str
    guest: Account
    browser: Browser


@contextlib.asynccontextmanager
async def guest_page(
    settings: Settings,
    page_server: str,
    video_url: str,
    members: Members,
    title_id: int,
    *,
    joined: bool = True,
    before_page: Callable[[], Awaitable[None]] | None = None,
    env: dict[str, str] | None = None,
) -> AsyncIterator[Scene]:
    """`joined=False`: yields as soon as the page is open, before its join is answered;
    `before_page` runs once the party exists; `env` configures the page's server."""
    server = page_process(settings, **(env or {}))
    try:
        await asyncio.to_thread(server.wait_ready)
        host_account, guest = await members.account(), await members.account()
        async with connected(page_server, host_account.access_token) as host:
            created = await ok(host, "party:create", {"title_id": title_id})
            await ok(host, "party:ready", {"party_id": created["party_id"], "rtt_ms": 5})
            if before_page is not None:
                await before_page()
            page = (
                f"{server.url}/parties/demo#token={guest.access_token}"
                f"&invite={created['invite_code']}&video={video_url}"
            )
            async with chromium(page) as browser:
                if joined:
                    await _until(browser, lambda d: d["joined"] and d["readyState"] >= 3)
                yield Scene(server, host, created["party_id"], guest, browser)
    finally:
        server.stop()


def _back_up(server: LiveServer) -> float:
    """Restart the page's server; when it answered /readyz."""
    server.restart()
    server.wait_ready()
    return time.monotonic()


@pytest.mark.timeout(170)
async def test_js_client_reconnects_and_catches_up_in_chromium(
    page_server: str, video_url: str, members: Members, title_id: int, settings: Settings
) -> None:
    """The page's server process dies mid-party; while it is down the host seeks and pauses.
    Started again on the same port, the page reconnects by itself, rejoins and ends on the
    party's new state, then follows the next play in step."""
    async with guest_page(settings, page_server, video_url, members, title_id) as scene:
        host, party_id, browser = scene.host, scene.party_id, scene.browser
        played = await ok(host, "party:play", {"party_id": party_id})
        await _until(browser, lambda d: not d["paused"], timeout=10)
        await asyncio.sleep(max(0.0, played["anchor_server_ms"] / 1000 - time.time()))
        assert (await browser.debug())["connects"] == 1

        scene.server.crash()
        down_at = time.monotonic()
        await _until(browser, lambda d: not d["connected"], timeout=10)
        # Away: the party moves on without the page.
        await ok(host, "party:seek", {"party_id": party_id, "position_ms": 21_000})
        paused = await ok(host, "party:pause", {"party_id": party_id})
        assert paused["position_ms"] >= 21_000
        stale = await browser.debug()
        assert stale["version"] < paused["version"] and not stale["paused"]

        starting = asyncio.create_task(asyncio.to_thread(_back_up, scene.server))
        d = await _until(
            browser,
            lambda d: d["connected"] and (d["version"] or 0) >= paused["version"],
            timeout=60,
        )
        rejoined_at = time.monotonic()
        ready_at = await starting
        assert d["connects"] == 2
        d = await _until(
            browser,
            lambda d: d["paused"] and abs(d["videoMs"] - paused["position_ms"]) <= 2,
            timeout=10,
        )
        snap = await ok(host, "party:snapshot", {"party_id": party_id})
        me = next(m for m in snap["members"] if m["user_id"] == str(scene.guest.id))
        assert me["connected"]

        # In step again: the next play starts on the page with the others.
        again = await ok(host, "party:play", {"party_id": party_id})
        await asyncio.sleep(max(0.0, again["anchor_server_ms"] / 1000 - time.time()) + 2)
        drift = await _drifts(browser)
        assert max(abs(x) for x in drift) < 80, drift
        print(
            f"\npage's server down {ready_at - down_at:.1f} s; page rejoined "
            f"{rejoined_at - ready_at:.2f} s after the server answered /readyz; paused at "
            f"{d['videoMs']:.1f} vs {paused['position_ms']} ms; drift after the next "
            f"play {[round(x, 1) for x in drift]} ms"
        )


@pytest.mark.timeout(170)
async def test_js_client_kicked_while_away_leaves_for_good(
    page_server: str, video_url: str, members: Members, title_id: int, settings: Settings
) -> None:
    """Kicked while its server was down, the page never heard party:left; its rejoin is refused
    and it leaves: no more party state, the player no longer driven by it."""
    async with guest_page(settings, page_server, video_url, members, title_id) as scene:
        host, party_id, browser = scene.host, scene.party_id, scene.browser
        scene.server.crash()
        await _until(browser, lambda d: not d["connected"], timeout=10)
        await ok(host, "party:kick", {"party_id": party_id, "user_id": str(scene.guest.id)})
        kicked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 9_000})
        await asyncio.to_thread(_back_up, scene.server)
        d = await _until(browser, lambda d: d["connected"] and d["left"], timeout=30)
        assert not d["joined"] and d["left"] == "kicked" and d["connects"] == 2
        # It stays out: the party's later news does not move its player.
        await asyncio.sleep(1)
        d = await browser.debug()
        assert not d["joined"] and d["version"] is None
        assert abs(d["videoMs"] - kicked["position_ms"]) > 1_000


@pytest.mark.timeout(170)
async def test_js_client_finishes_a_join_the_crash_interrupted(
    page_server: str, video_url: str, members: Members, title_id: int, settings: Settings
) -> None:
    """The page's server dies while its first party:join is being answered (held on a table
    lock after the live state took the member): the answer never comes. Started again, the
    page makes the same join by itself and lands on the party's current state."""
    db = await asyncpg.connect(settings.database_url)
    locked = db.transaction()

    async def hold_the_join() -> None:
        # The join's history row waits behind this lock, so its answer does too.
        await locked.start()
        await db.execute("LOCK TABLE party_members IN ACCESS EXCLUSIVE MODE")

    try:
        async with guest_page(
            settings,
            page_server,
            video_url,
            members,
            title_id,
            joined=False,
            before_page=hold_the_join,
        ) as scene:
            host, party_id, browser = scene.host, scene.party_id, scene.browser
            deadline = time.monotonic() + 30
            while str(scene.guest.id) not in {
                m["user_id"]
                for m in (await ok(host, "party:snapshot", {"party_id": party_id}))["members"]
            }:
                assert time.monotonic() < deadline, "the page never asked to join"
                await asyncio.sleep(0.1)
            assert not (await browser.debug())["joined"]
            scene.server.crash()
            await locked.rollback()
            await _until(browser, lambda d: not d["connected"], timeout=10)
            seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 17_000})
            await asyncio.to_thread(_back_up, scene.server)
            d = await _until(
                browser,
                lambda d: d["joined"] and d["version"] >= seeked["version"],
                timeout=30,
            )
            assert d["connects"] == 2
            await _until(browser, lambda d: d["paused"] and abs(d["videoMs"] - 17_000) <= 2)
    finally:
        await db.close()


@pytest.mark.timeout(170)
async def test_js_client_gives_up_a_frozen_server_and_comes_back(
    page_server: str, video_url: str, members: Members, title_id: int, settings: Settings
) -> None:
    """The page's server freezes (SIGSTOP: its TCP connections stay open, nothing answers), as
    a half-open connection looks. The page notices by the missing pings within the server's
    ping interval + timeout, and once the server runs again it reconnects and catches up."""
    ping = {"SOCKETIO_PING_INTERVAL_S": "1", "SOCKETIO_PING_TIMEOUT_S": "1"}
    async with guest_page(settings, page_server, video_url, members, title_id, env=ping) as scene:
        host, party_id, browser = scene.host, scene.party_id, scene.browser
        os.kill(scene.server.pid, signal.SIGSTOP)
        try:
            frozen_at = time.monotonic()
            await _until(browser, lambda d: not d["connected"], timeout=7)
            noticed = time.monotonic() - frozen_at
            seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 8_000})
        finally:
            os.kill(scene.server.pid, signal.SIGCONT)
        d = await _until(
            browser,
            lambda d: d["connected"] and d["joined"] and d["version"] >= seeked["version"],
            timeout=30,
        )
        assert d["connects"] == 2
        await _until(browser, lambda d: d["paused"] and abs(d["videoMs"] - 8_000) <= 2)
        print(f"\npage gave up its frozen server after {noticed:.2f} s (ping 1 s + 1 s)")
