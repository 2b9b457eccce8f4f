"""An accessibility scan (axe-core from the web app's npm dev dependencies, evaluated in the
page over DevTools, so the page's CSP is untouched) of the main pages, signed in, at a desktop
and a phone width: no serious or critical violation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.settings import Settings
from tests.factories import login, make_account, make_title
from tests.media.helpers import make_series
from tests.web.conftest import axe_problems, new_page, problems, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_main_pages_have_no_serious_violation(
    site: str,
    web_app: Path,
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    title = await make_title(ctx, year=2001, runtime_minutes=90, description="Two friends.")
    series_id, _ = await make_series(ctx, episodes_per_season=(2, 3))
    ann = await make_account(ctx, client)
    await client.post(
        f"/api/v1/titles/{title.id}/comments",
        json={"body": "Great.", "spoiler": True},
        headers=ann.headers,
    )
    pages = {
        "home": ("/", ".card"),
        "browse": ("/browse", ".facet"),
        "title": (f"/titles/{title.id}", ".comment"),
        "series": (f"/titles/{series_id}", ".episodes li"),
        "profile": ("/profile", ".sessions li"),
        "friends": ("/friends", "#friends-h"),
        "notifications": ("/notifications", ".prefs"),
        "playlists": ("/playlists", "h1"),
        "signin": ("/signin", "#signin"),
    }
    found: dict[str, list[str]] = {}
    for width, height in ((1280, 800), (390, 844)):
        page = await new_page(
            browser,
            await login(client, ann.user.email),
            viewport={"width": width, "height": height},
        )
        for name, (path, ready) in pages.items():
            await page.goto(site + path)
            await page.locator(ready).first.wait_for()
            bad = await axe_problems(page, web_app)
            if bad:
                found[f"{name}@{width}"] = bad
            if name == "series":  # the second season's episodes, by keyboard
                await page.get_by_role("tab", name="Season 2").focus()
                await page.keyboard.press("Enter")
                await page.locator(".episodes li").nth(2).wait_for()
            if width < 500 and name in ("home", "title"):
                await shot(page, f"{name}-phone", settings.log_dir / "screenshots")
        assert await problems(page) == []
    assert not found, json.dumps(found, indent=1)
