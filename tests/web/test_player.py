"""The web app's player in Chromium against the live servers: a transcoded film plays (the
position advances) from where the viewer stopped, the audio menu switches to French (the
player fetches the French rendition), the position is saved while playing; and a screen
stopped from another device stops at once with a message."""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.web.conftest import problems, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_film_plays_resumes_switches_audio_and_saves_progress(
    site: str, browser: Any, ctx: Context, app: Any, film: int, live_server: LiveServer
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        viewer = await make_account(ctx, http)
        # Stopped at 6 s on another device: the player starts there.
        r = await http.post(
            "/api/v1/me/history/progress",
            json={"title_id": film, "position_ms": 6000, "duration_ms": 20000},
            headers=viewer.headers,
        )
        assert r.status_code == 200, r.text
        play = (await http.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
        master = (await http.get(play["hls"])).text
    fr = next(a for a in play["audio"] if a["language"] == "fr")
    m = re.search(rf'NAME="{re.escape(fr["hls_name"])}".*?URI="([^"]+)"', master)
    assert m is not None
    french = m.group(1)

    page = await signed_in_page(browser, site, viewer)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    # From the title page's Play button.
    await page.goto(f"{site}/titles/{film}")
    await page.get_by_role("link", name="▶ Play").click()
    await page.wait_for_url(f"{site}/watch/{film}")
    await page.locator("video").wait_for()
    # It plays, from the resume point, and the position advances.
    video = "document.querySelector('video')"
    first = await until(page, f"{video}.currentTime > 6.2 && {video}.currentTime")
    assert 6 <= first < 12, first
    await until(page, f"document.querySelector('video').currentTime > {first + 0.5}")
    # Quality: Auto plus the ladder's levels.
    options = await page.get_by_label("Quality").locator("option").all_inner_texts()
    assert options[0] == "Auto" and len(options) >= 2, options
    # Audio: switch to French; the player fetches the French rendition and plays on.
    await page.get_by_label("Audio").select_option(label=fr["label"])
    deadline = time.monotonic() + 20
    while not any(french in u for u in requests):
        assert time.monotonic() < deadline, (french, requests[-10:])
        await asyncio.sleep(0.2)
    now = await page.evaluate("document.querySelector('video').currentTime")
    await until(page, f"document.querySelector('video').currentTime > {now + 0.5}")
    # The choice is remembered for the title.
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        r = await http.get(f"/api/v1/me/playback-preferences/titles/{film}", headers=viewer.headers)
        assert r.json()["audio_language"] == "fr", r.text
        # Pausing saves the position.
        await page.evaluate("document.querySelector('video').pause()")
        at = await page.evaluate("document.querySelector('video').currentTime")
        deadline = time.monotonic() + 10
        while True:
            hist = (await http.get("/api/v1/me/history", headers=viewer.headers)).json()
            entry = next(e for e in hist["items"] if e["title_id"] == film)
            if abs(entry["position_ms"] - at * 1000) < 1500:
                break
            assert time.monotonic() < deadline, (entry, at)
            await asyncio.sleep(0.3)

        # Stopped from another device: the player stops with a message.
        streams = (await http.get("/api/v1/me/streams", headers=viewer.headers)).json()
        mine = streams["items"] if isinstance(streams, dict) else streams
        assert len(mine) == 1, streams
        r = await http.delete(f"/api/v1/me/streams/{mine[0]['id']}", headers=viewer.headers)
        assert r.status_code in (200, 204), r.text
    await page.get_by_text("stopped from another device").wait_for()
    assert await page.locator("video").count() == 0
    assert await problems(page) == []


async def test_dash_plays(site: str, browser: Any, ctx: Context, film: int) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        viewer = await make_account(ctx, http)
    page = await signed_in_page(browser, site, viewer)
    await page.goto(f"{site}/watch/{film}?format=dash")
    await until(page, "document.querySelector('video')?.currentTime > 1")
    assert await problems(page) == []
