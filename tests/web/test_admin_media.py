"""The back office's media section in Chromium against the live servers and a real worker:
an editor finds a film, uploads a small ffmpeg-made source from the browser, watches the
transcode's progress arrive live over the socket (`media:ingest`, no reload) up to "Ready"
while a colleague's open media list shows the new row reach Ready too, and the Play link
plays it in HLS and then in DASH (the video's position advances). The media pages pass the axe
scan at a desktop and a phone width."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.settings import Settings
from tests.factories import make_account
from tests.media.helpers import make_source
from tests.web.conftest import axe_problems, new_page, problems, shot, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# Every text the transcode's state line shows, in order, with no duplicates in a row.
RECORD = """() => {
  window.__states = [];
  const note = () => {
    const el = document.querySelector('.media-now .media-state-text');
    const text = el ? el.textContent : null;
    if (text && window.__states[window.__states.length - 1] !== text) window.__states.push(text);
  };
  new MutationObserver(note).observe(
    document.body, { subtree: true, childList: true, characterData: true });
  note();
}"""


async def test_an_editor_uploads_watches_the_transcode_live_and_plays_it(
    site: str,
    browser: Any,
    ctx: Context,
    worker: Any,
    settings: Settings,
    tmp_path: Path,
    web_app: Path,
) -> None:
    source = make_source(tmp_path / "clip.mkv", seconds=3, size="320x180", audio=(("eng", 2),))
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        editor = await make_account(ctx, http, role="editor")
        colleague = await make_account(ctx, http, role="editor")
        name = f"Night Tide {uuid.uuid4().hex[:6]}"
        r = await http.post(
            "/api/v1/titles", json={"kind": "film", "title": name}, headers=editor.headers
        )
        assert r.status_code == 201, r.text
        film_id: int = r.json()["id"]
    # Another editor has the media list open: the new upload appears and moves there live.
    watcher = await signed_in_page(browser, site, colleague)
    await watcher.goto(f"{site}/admin/media")
    await watcher.get_by_role("heading", name="All media").wait_for()
    page = await signed_in_page(browser, site, editor)

    await page.goto(f"{site}/admin/media")
    await page.get_by_label("Find a film").fill(name)
    await page.get_by_role("button", name=f"Add {name}").click()
    await page.wait_for_url(f"{site}/admin/media/titles/{film_id}")
    await page.get_by_text("No media yet").wait_for()
    # The socket is up before the upload, so every event of the transcode can arrive.
    await until(page, "!document.querySelector('.offline')")
    await page.evaluate(RECORD)
    await page.get_by_label("Source video").set_input_files(str(source))
    await page.get_by_role("button", name="Upload").click()
    await page.locator(".media-now .media-state-text", has_text="Ready").wait_for(timeout=90_000)
    states: list[str] = await page.evaluate("window.__states")
    # Progress rose live: queued or transcoding at some percent first, never backwards.
    assert states[-1] == "Ready", states
    moving = [s for s in states if s.startswith("Transcoding")]
    assert moving, states
    percents = [int(s.split()[1]) for s in moving]
    assert percents == sorted(percents), states
    assert any(0 < p < 100 for p in percents), states
    # Read again over HTTP once ready: the ladder's renditions are listed.
    await page.locator(".media-facts").get_by_text("180p").wait_for()
    await shot(page, "admin-media-ready", settings.log_dir / "screenshots")
    assert await problems(page) == []

    row = watcher.get_by_role("row").filter(has=watcher.get_by_role("link", name=name))
    await row.get_by_text("Ready").wait_for(timeout=10_000)
    assert await problems(watcher) == []

    # The list shows it ready, and Play plays it.
    await page.goto(f"{site}/admin/media?status=ready")
    await page.get_by_role("link", name=name).wait_for()
    await page.get_by_role("link", name=name).click()
    await page.get_by_role("link", name="▶ Play").click()
    await page.wait_for_url(f"{site}/watch/{film_id}")
    video = "document.querySelector('video')"
    first = await until(page, f"{video} && {video}.currentTime > 0.3 && {video}.currentTime")
    await until(page, f"{video}.currentTime > {first + 0.5}")
    # The same clip in DASH (the page's own switch; it then offers HLS back).
    await page.get_by_role("link", name="Play with DASH").click()
    await page.get_by_role("link", name="Play with HLS").wait_for()
    playing = f"{video} && !{video}.paused && {video}.readyState >= 3 && {video}.currentTime"
    start = await until(page, playing)
    await until(page, f"{video}.currentTime > {start + 0.3}")
    assert await problems(page) == []

    found: dict[str, list[str]] = {}
    tokens = {
        "access_token": editor.access_token,
        "refresh_token": editor.refresh_token,
        "expires_in": 600,
    }
    for width, height in ((1280, 800), (390, 844)):
        scan = await new_page(browser, tokens, viewport={"width": width, "height": height})
        for name, path, ready in (
            ("media", "/admin/media", ".admin-table"),
            ("film-media", f"/admin/media/titles/{film_id}", ".media-facts"),
        ):
            await scan.goto(site + path)
            await scan.locator(ready).first.wait_for()
            bad = await axe_problems(scan, web_app)
            wide = await scan.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if wide > 1:
                bad.append(f"{wide}px too wide")
            if bad:
                found[f"{name}@{width}"] = bad
        assert await problems(scan) == []
    assert not found, json.dumps(found, indent=1)
