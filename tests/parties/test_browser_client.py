"""The reference JS client in headless Chromium, driving a real <video> in a real party.

Skipped where Chromium or ffmpeg is missing. The page is the server's own /parties/demo; its
state is read through the DevTools protocol. The host is a Python client on the same server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from cinema.ports import free_port
from models.core.settings import Settings
from tests.conftest import ROOT, settings_env
from tests.parties.conftest import PARTY_ENV, Members, ok, uid
from tests.realtime_client import connected

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or shutil.which("ffmpeg") is None, reason="needs chromium and ffmpeg"
)


@pytest.fixture(scope="module")
def video_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("video")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=30:size=160x120:rate=25",
            "-c:v",
            "libvpx",
            "-b:v",
            "100k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "25",
            str(folder / "film.webm"),
        ],
        check=True,
        timeout=100,
    )
    # Starlette's static files answer byte ranges, which a <video> needs to seek.
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Mount("/", StaticFiles(directory=folder))]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/film.webm"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def page_server(settings: Settings, database_url: str) -> Iterator[str]:
    """A server whose CORS list has its own origin: browsers send Origin on WebSockets."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env(settings, PUBLIC_URL=url, CORS_ORIGINS=json.dumps([url]), **PARTY_ENV)
    proc = subprocess.Popen(
        [sys.executable, "-m", "cinema.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


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
                value = reply["result"]["result"].get("value")
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
    with tempfile.TemporaryDirectory() as profile:
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
