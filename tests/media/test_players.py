"""Real web players in Chromium read our audio, text and thumbnail tracks: hls.js on the HLS
master, dash.js and shaka-player (what the web app plays DASH with) on the DASH manifest.

Each lists the audio and text tracks, switches to French and fetches French audio, and shows
each subtitle cue when the video is inside it and not outside; the DASH players also find
the thumbnail for an instant in the image AdaptationSet. The players come from npm
(tests/media/players/package.json), installed into .data/ by this test, never committed;
the page (tests/media/players/player.html) is served as if from the live server, so the
media requests are the same as the web app's.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from cinema.ports import free_port
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import ROOT, LiveServer
from tests.factories import Account, make_account
from tests.parties.conftest import PARTY_ENV, ok
from tests.realtime_client import connected

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
NPM = shutil.which("npm")
PLAYERS = Path(__file__).parent / "players"
INSTALL = ROOT / ".data" / "test-players"
SCRIPTS = {
    "hls.min.js": "hls.js/dist/hls.min.js",
    "dash.all.min.js": "dashjs/dist/modern/umd/dash.all.min.js",
    "shaka-player.compiled.js": "shaka-player/dist/shaka-player.compiled.js",
}
playwright_api = pytest.importorskip("playwright.async_api")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(240),
    pytest.mark.skipif(CHROMIUM is None or NPM is None, reason="needs chromium and npm"),
]


def _install_players() -> Path:
    """npm install the pinned players once (again when package.json changes)."""
    INSTALL.mkdir(parents=True, exist_ok=True)
    wanted = (PLAYERS / "package.json").read_text()
    stamp = INSTALL / "installed.json"
    if stamp.is_file() and stamp.read_text() == wanted:
        return INSTALL / "node_modules"
    (INSTALL / "package.json").write_text(wanted)
    assert NPM is not None
    subprocess.run(
        [NPM, "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"],
        cwd=INSTALL,
        check=True,
        timeout=300,
    )
    stamp.write_text(wanted)
    return INSTALL / "node_modules"


@pytest.fixture(scope="module")
def node_modules() -> Path:
    return _install_players()


@pytest.fixture(scope="module")
async def film(
    ctx: Context, app: Any, transcoded_film: int, live_server: LiveServer
) -> dict[str, Any]:
    """The run's transcoded film (tests/conftest.py: English stereo and French 5.1 audio,
    English subtitles, thumbnails every second): the playback answer as the live server gives
    it to a viewer."""
    film_id = transcoded_film
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
        viewer: Account = await make_account(ctx, api)
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        r = await http.get(f"/api/v1/titles/{film_id}/playback", headers=viewer.headers)
        assert r.status_code == 200, r.text
        play: dict[str, Any] = r.json()
        play["film_id"] = film_id
        play["master"] = (await http.get(play["hls"])).text
        play["mpd"] = (await http.get(play["dash"])).text
    return play


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--autoplay-policy=no-user-gesture-required",
                "--mute-audio",
                # Pages fulfilled by the test have no address space of their own: Chromium
                # would take them for public sites and refuse their WebSockets to 127.0.0.1.
                "--disable-features=LocalNetworkAccessChecks",
            ],
        )
        try:
            yield b
        finally:
            await b.close()


async def _until(page: Any, expression: str, timeout: float = 20) -> Any:
    """Evaluate `expression` until it is truthy; its last value on timeout is in the error,
    with what the page logged."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        value = await page.evaluate(expression)
        if value:
            return value
        await asyncio.sleep(0.1)
    errors = await page.evaluate("window.errors")
    logged = getattr(page, "logged", [])[-20:]
    raise AssertionError(f"{expression!r} never held: {value!r}; errors: {errors}; {logged}")


async def _settled(page: Any, expression: str, timeout: float = 20) -> Any:
    """Evaluate `expression`, awaiting the promise it returns for at most `timeout` s: a
    `play()` or a seek that a stalled player never settles fails here, with what the page
    logged, instead of hanging the test until pytest-timeout."""
    try:
        return await asyncio.wait_for(page.evaluate(expression), timeout)
    except TimeoutError:
        errors = await page.evaluate("window.errors")
        raise AssertionError(
            f"{expression!r} did not settle in {timeout}s; errors: {errors}"
        ) from None


def _french_files(play: dict[str, Any], engine: str) -> re.Pattern[str]:
    """The file names of the French stereo rendition, from the manifest the player reads."""
    fr = next(a for a in play["audio"] if a["language"] == "fr")
    if engine == "hls":
        m = re.search(rf'NAME="{re.escape(fr["hls_name"])}".*?URI="([^"]+)"', play["master"])
        assert m is not None
        return re.compile(re.escape(m.group(1)))
    m = re.search(
        rf'<AdaptationSet id="{fr["dash_adaptation_set"]}".*?media="([^"$]+)\$Number',
        play["mpd"],
        re.S,
    )
    assert m is not None
    return re.compile(re.escape(m.group(1)) + r"\d+\.m4s")


@pytest.mark.parametrize("engine", ["hls", "dash", "shaka"])
async def test_players_list_switch_and_show_tracks(
    live_server: LiveServer, node_modules: Path, film: dict[str, Any], browser: Any, engine: str
) -> None:
    page = await browser.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    base = f"{live_server.url}/__players__/"
    await _serve_players(page, base, node_modules)
    src = film["hls"] if engine == "hls" else film["dash"]
    try:
        await page.goto(f"{base}player.html?engine={engine}&src={quote(src, safe='')}")
        assert await page.evaluate("window.player"), await page.evaluate("window.errors")
        tracks = await page.evaluate("tracks()")
        audio = {(a["lang"], a["name"]) for a in tracks["audio"]}
        assert {"en", "fr"} <= {lang for lang, _ in audio}, tracks
        assert [t["lang"] for t in tracks["text"]] == ["en"], tracks
        assert tracks["currentAudio"]["lang"] == "en"  # the default track
        if engine == "hls":
            assert {a["name"] for a in tracks["audio"]} == {"English", "French", "French (5.1)"}
        else:
            channels = {(a["lang"], str(a["channels"])) for a in tracks["audio"]}
            assert channels == {("en", "2"), ("fr", "2"), ("fr", "6")}, tracks

        # Switch to French: the player says so and fetches French audio.
        french = _french_files(film, engine)
        already = len(requests)
        fr_name = next(
            a["name"] for a in tracks["audio"]
            if a["lang"] == "fr" and str(a.get("channels") or "2") == "2"
        )  # fmt: skip
        await page.evaluate(f"selectAudio({json.dumps(fr_name)})")
        await _until(page, "tracks().currentAudio && tracks().currentAudio.lang === 'fr'")
        await _settled(page, "document.getElementById('v').play()")
        deadline = time.monotonic() + 20
        while not any(french.search(u) for u in requests[already:]):
            assert time.monotonic() < deadline, (french.pattern, requests[already:])
            await asyncio.sleep(0.1)

        # Subtitles: each cue shows while the video is inside it, and only then.
        await page.evaluate("document.getElementById('v').pause()")
        await page.evaluate(f"selectText({json.dumps(tracks['text'][0]['name'])})")
        await _until(page, "tracks().currentText && tracks().currentText.lang === 'en'")
        for at, expected in (
            (1.2, ["First cue"]),
            (2.5, []),
            (3.7, ["Second cue"]),
            (1.0, ["First cue"]),
        ):
            await _settled(page, f"seekTo({at})")
            if expected:
                got = await _until(page, "cueTexts().length ? cueTexts() : null")
                assert got == expected, (at, got)
            else:
                await asyncio.sleep(0.5)
                assert await page.evaluate("cueTexts()") == [], at

        # DASH thumbnails: the image AdaptationSet gives the sprite region of an instant.
        thumb = await page.evaluate("thumbnailAt(2.5)")
        if engine == "hls":
            assert thumb is None
        else:
            assert thumb is not None, await page.evaluate("window.errors")
            assert (thumb["x"], thumb["y"], thumb["width"], thumb["height"]) == (320, 0, 160, 90)
            assert thumb["url"].endswith("sprite-0001.jpg")
        assert await page.evaluate("window.errors") == []
    finally:
        await page.close()


async def _serve_players(page: Any, base: str, node_modules: Path) -> None:
    async def serve(route: Any) -> None:
        name = route.request.url[len(base) :].split("?", 1)[0].split("#", 1)[0]
        if name.endswith(".html") and (PLAYERS / name).is_file():
            await route.fulfill(path=PLAYERS / name, content_type="text/html")
        elif name in SCRIPTS:
            await route.fulfill(path=node_modules / SCRIPTS[name], content_type="text/javascript")
        else:
            await route.fulfill(status=404)

    await page.route(f"{base}**", serve)


async def test_a_party_member_switching_language_moves_nobody(
    ctx: Context,
    app: Any,
    settings: Settings,
    node_modules: Path,
    film: dict[str, Any],
    browser: Any,
) -> None:
    """A member switches audio while the party plays and the new track is slow to come:
    announced (PartyClient.switchingTracks), nobody else moves; unannounced, the stall is
    reported as buffering and the party waits, which is what the announcement prevents."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    server = LiveServer(settings, port, {"CORS_ORIGINS": json.dumps([origin]), **PARTY_ENV})
    page = await browser.new_page()
    page.logged = []
    page.on("console", lambda m: page.logged.append(m.text))
    page.on("pageerror", lambda e: page.logged.append(str(e)))
    try:
        await asyncio.to_thread(server.wait_ready)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            host_account = await make_account(ctx, api)
            guest = await make_account(ctx, api)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            r = await http.get(f"/api/v1/titles/{film['film_id']}/playback", headers=guest.headers)
            hls = r.json()["hls"]
        base = f"{server.url}/__players__/"
        await _serve_players(page, base, node_modules)
        slow = {"on": False}

        async def slow_audio(route: Any) -> None:
            if slow["on"]:
                await asyncio.sleep(2.5)  # the new language's audio takes its time
            await route.continue_()

        # The source has one rendition (chunk-0) and three audio ones (chunk-1 to 3).
        await page.route(re.compile(r"/chunk-[1-9]-\d+\.m4s$"), slow_audio)
        async with connected(server.url, host_account.access_token) as host:
            created = await ok(host, "party:create", {"title_id": film["film_id"]})
            party_id = created["party_id"]
            await ok(host, "party:ready", {"party_id": party_id, "rtt_ms": 5})
            await page.goto(
                f"{base}party.html?src={quote(hls, safe='')}"
                f"#token={guest.access_token}&invite={created['invite_code']}"
            )
            await _until(page, "debug().joined && debug().readyState >= 3")
            await _until(page, "debug().reports.includes('party:ready')")
            await ok(host, "party:play", {"party_id": party_id})
            await _until(page, "debug().phase === 'playing' && !debug().paused")

            def phases() -> list[str]:
                return [s["phase"] for s in host.events["party:state"]]

            # Announced: the party plays on.
            seen = len(phases())
            slow["on"] = True
            await page.evaluate("switchAudio('French', true)")
            await _until(page, "debug().audio === 'French'")
            await asyncio.sleep(3.5)
            assert "waiting" not in phases()[seen:], phases()
            assert "party:buffering" not in await page.evaluate("debug().reports")
            # Unannounced, the same switch stops everyone for a while.
            await page.evaluate("switchAudio('English', false)")
            deadline = time.monotonic() + 10
            while "waiting" not in phases()[seen:]:
                assert time.monotonic() < deadline, phases()
                await asyncio.sleep(0.1)
            slow["on"] = False
    finally:
        await page.close()
        server.stop()
