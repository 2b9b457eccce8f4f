"""From a phone to a TV: the main pages at 360 x 740 (a phone at 3x), 1280 x 800, 1920 x 1080
and 3840 x 2160 CSS pixels (a TV browser that reports its panel) have no horizontal overflow,
show the demo's drawn posters in boxes sized before they load, and grow their type on a TV;
arrow keys move focus along a row of cards and to the next row, as a remote would."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from cinema.seed import DemoImages, seed_demo
from models.accounts.tables import Role
from models.catalog.tables import Title
from models.core.context import Context
from models.core.db import transaction
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.web.conftest import new_page, problems, shot, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

SIZES = ((360, 740, 3), (1280, 800, 1), (1920, 1080, 1), (3840, 2160, 1))

# What sticks out past the right edge outside a scrolling box (a row of cards scrolls).
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.querySelectorAll("body *")) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.right <= width + 1) continue;
    let p = el.parentElement;
    while (p && getComputedStyle(p).overflowX === "visible") p = p.parentElement;
    if (!p) out.push(`${el.tagName.toLowerCase()}.${el.className} ${Math.round(r.right)}`);
  }
  return { scroll: document.documentElement.scrollWidth, width, out: out.slice(0, 5) };
}"""

POSTERS = """() => [...document.querySelectorAll("img.poster")].slice(0, 4).map((img) => ({
  src: img.getAttribute("src"), w: img.getAttribute("width"), h: img.getAttribute("height"),
  loaded: img.complete && img.naturalWidth > 0,
  ratio: img.getBoundingClientRect().height / img.getBoundingClientRect().width }))"""

# Where focus is: which row of cards, which card in it, and its poster's focus ring.
FOCUS = """() => {
  const a = document.activeElement, row = a.closest(".cards");
  const ring = parseFloat(getComputedStyle(a.querySelector(".poster")).outlineWidth);
  const rows = [...document.querySelectorAll(".cards")];
  return { row: rows.indexOf(row), card: [...row.children].indexOf(a.closest(".card")), ring };
}"""

# After ArrowDown from the grid's second card: which card has focus, and is it below it?
BELOW = """() => {
  const cards = [...document.querySelectorAll(".grid .card-link")];
  const now = document.activeElement.getBoundingClientRect();
  const was = cards[1].getBoundingClientRect();
  return { i: cards.indexOf(document.activeElement), dx: Math.abs(now.left - was.left),
           down: now.top > was.bottom };
}"""


async def _seed(ctx: Context, live_server: LiveServer) -> int:
    async with transaction(ctx.sessions) as session:
        await seed_demo(
            session, images=DemoImages(ctx.settings.media_dir / "images", live_server.url)
        )
        found = await session.scalar(select(Title.id).where(Title.title == "Night Signals"))
        assert found is not None
        return found


async def _no_overflow(page: Any, where: str) -> None:
    await page.wait_for_load_state("networkidle")
    found = await page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["out"], (where, found)


async def test_main_pages_fit_from_a_phone_to_a_tv(
    site: str,
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    live_server: LiveServer,
    tmp_path: Path,
) -> None:
    series_id = await _seed(ctx, live_server)
    ann = await make_account(ctx, client)
    editor = await make_account(ctx, client, role=Role.editor)
    made = await client.post(
        "/api/v1/people", json={"name": "Ada  King Lovelace"}, headers=editor.headers
    )
    assert made.status_code == 201, made.text
    person_id = made.json()["id"]
    public = {
        "home": ("/", ".card"),
        "browse": ("/browse", ".grid .card"),
        "series": (f"/titles/{series_id}", ".episodes li"),
        "signin": ("/signin", "#signin"),
        "person": (f"/people/{person_id}", ".person-photo"),
    }
    private = {
        "home-in": ("/", ".card"),
        "playlists": ("/playlists", "h1"),
        "friends": ("/friends", "#friends-h"),
        "messages": ("/messages", "h1"),
        "profile": ("/profile", ".sessions li"),
        "notifications": ("/notifications", ".prefs"),
    }

    async def fits(width: int, height: int, scale: int) -> None:
        size: dict[str, Any] = {
            "viewport": {"width": width, "height": height},
            "device_scale_factor": scale,
        }
        page = await new_page(browser, **size)
        for name, (path, ready) in public.items():
            await page.goto(site + path)
            await page.wait_for_selector(ready)
            await _no_overflow(page, f"{name} at {width}")
            await shot(page, f"layout-{width}-{name}", tmp_path)
        # The series' drawn poster: sized by its attributes, loaded, 2:3 on screen.
        await page.goto(site + f"/titles/{series_id}")
        await page.wait_for_selector(".episodes li")
        await page.wait_for_load_state("networkidle")
        poster = (await page.evaluate(POSTERS))[0]  # the page's own, then similar titles'
        assert poster["src"].startswith(live_server.url + "/images/poster-"), poster
        assert (poster["w"], poster["h"]) == ("400", "600") and poster["loaded"], poster
        assert abs(poster["ratio"] - 1.5) < 0.02, poster
        assert await page.evaluate("document.querySelector('img.backdrop').naturalWidth > 0")
        body_px = await page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
        # Readable from the sofa: type grows with a TV-sized viewport (16 px up to laptops).
        assert body_px == 16 if width <= 1280 else body_px >= width / 100 - 0.5, (width, body_px)
        # A person without a photo: their initials in its 2:3 place.
        await page.goto(site + f"/people/{person_id}")
        photo = page.locator(".person-photo.initials")
        assert await photo.inner_text() == "AL"
        box = await photo.bounding_box()
        assert box is not None and abs(box["height"] / box["width"] - 1.5) < 0.02, box
        assert await problems(page) == []
        await page.context.close()

        page = await signed_in_page(browser, site, ann)
        await page.set_viewport_size({"width": width, "height": height})
        for name, (path, ready) in private.items():
            await page.goto(site + path)
            await page.wait_for_selector(ready)
            await _no_overflow(page, f"{name} at {width}")
        assert await problems(page) == []
        await page.context.close()

    # The sizes side by side, each in a context of its own: most of a page's time here is
    # waiting for the network to go quiet, which the four can do at once.
    async with asyncio.TaskGroup() as sizes:
        for width, height, scale in SIZES:
            sizes.create_task(fits(width, height, scale))


async def test_arrow_keys_move_along_rows_of_cards(
    site: str, browser: Any, ctx: Context, live_server: LiveServer
) -> None:
    await _seed(ctx, live_server)
    for width, height in ((1280, 800), (3840, 2160)):
        page = await new_page(browser, viewport={"width": width, "height": height})
        await page.goto(site + "/")
        await until(page, "document.querySelectorAll('.cards').length >= 2")
        await page.wait_for_load_state("networkidle")  # every row is in its place
        await page.locator(".cards .card-link").first.focus()
        assert (await page.evaluate(FOCUS))["card"] == 0
        await page.keyboard.press("ArrowRight")
        await page.keyboard.press("ArrowRight")
        at = await page.evaluate(FOCUS)
        assert (at["row"], at["card"]) == (0, 2)
        await page.keyboard.press("ArrowLeft")
        assert (await page.evaluate(FOCUS))["card"] == 1
        await page.keyboard.press("ArrowDown")
        at = await page.evaluate(FOCUS)
        assert at["row"] == 1 and at["card"] in (0, 1, 2), at
        # The focus ring: 3 px on a laptop, a quarter rem (10 px) on a TV-sized screen.
        # (Chromium draws whole pixels: 0.25 rem of 38.4 px is 9.)
        assert at["ring"] == 3 if width == 1280 else at["ring"] >= 9, at
        await page.keyboard.press("ArrowUp")
        assert (await page.evaluate(FOCUS))["row"] == 0
        # The page did not scroll sideways or down by itself (the keys were taken).
        assert await page.evaluate("window.scrollX") == 0

        await page.goto(site + "/browse")
        await page.wait_for_selector(".grid .card-link")
        await page.locator(".grid .card-link").first.focus()
        await page.keyboard.press("ArrowRight")
        second = await page.evaluate(
            "[...document.querySelectorAll('.grid .card-link')].indexOf(document.activeElement)"
        )
        assert second == 1
        await page.keyboard.press("ArrowDown")
        below = await page.evaluate(BELOW)
        assert below["i"] > 1 and below["down"] and below["dx"] < 2, below
        assert await problems(page) == []
        await page.context.close()
