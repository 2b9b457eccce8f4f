"""A watch party in the web app: the host starts it from a film, a friend opens the invite link
on the other server process; both videos follow the party (the reference client's rules) and
after the host seeks both play within a few milliseconds of the party's position; chat reaches
the other side live, and so do reactions and the queue."""

from __future__ import annotations

import asyncio
import statistics
import uuid
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.web.conftest import catalog_film, problems, shot, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

# How far the video is from where the party says it should be now, by the server's clock.
DRIFT = """() => {
  const p = window.__party, v = document.querySelector('video');
  if (!p || !v || !p.client.state) return null;
  return {drift: v.currentTime * 1000 - p.targetPosition(p.client.state, p.client.serverNow()),
          paused: v.paused, at: v.currentTime};
}"""


async def drifts(page: Any, n: int = 10) -> list[float]:
    out = []
    for _ in range(n):
        d = await page.evaluate(f"({DRIFT})()")
        assert d is not None and not d["paused"], d
        out.append(d["drift"])
        await asyncio.sleep(0.15)
    return out


async def test_two_browsers_stay_in_sync_after_the_host_seeks(
    web_app: Any,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    film: int,
    settings: Any,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        host = await make_account(ctx, http)
        guest = await make_account(ctx, http)
        queued = f"Encore {uuid.uuid4().hex[:6]}"
        await catalog_film(ctx, http, queued)
    a = await signed_in_page(browser, one, host)
    b = await signed_in_page(browser, two, guest)

    # The host starts a party from the film and shares the invite link.
    await a.goto(f"{one}/party/new?title={film}")
    await a.wait_for_url(f"{one}/party/*")
    invite = a.get_by_label("Invite link")
    await invite.wait_for()
    link = await invite.input_value()
    assert link.startswith(f"{one}/party/join/"), link
    await b.goto(link.replace(one, two))
    await b.get_by_role("button", name="Join the party").click()
    await b.locator(".members li").nth(1).wait_for()
    await a.locator(".members li").nth(1).wait_for()
    for page in (a, b):
        await until(page, "window.__party && document.querySelector('video')?.readyState >= 2")

    # Play, then seek to 8 s: both follow.
    await a.get_by_role("button", name="Play", exact=True).click()
    for page in (a, b):
        await until(page, "!document.querySelector('video').paused")
    await a.get_by_label("Seek").fill("8000")
    for page in (a, b):
        await until(page, "document.querySelector('video').currentTime > 8.3", timeout=20)
    await asyncio.sleep(1.5)  # the drift correction settles (nudges within +-5 %)
    da, db = await drifts(a), await drifts(b)
    assert statistics.median(abs(x) for x in da) < 50, da
    assert statistics.median(abs(x) for x in db) < 50, db
    # Both are at the same place of the film at the same time (same wall clock here).
    film_vs_clock = (
        "document.querySelector('video').currentTime * 1000"
        " - performance.timeOrigin - performance.now()"
    )
    ta, tb = await a.evaluate(film_vs_clock), await b.evaluate(film_vs_clock)
    assert abs(ta - tb) < 150, (ta, tb)

    # Chat across the two processes.
    await b.get_by_label("Say something").fill("Best scene!")
    await b.get_by_role("button", name="Send").click()
    await a.locator(".party-chat li").filter(has_text="Best scene!").wait_for()
    # A reaction, and a film queued by the host, reach the other member.
    await b.get_by_role("button", name="React 👏").click()
    await a.locator(".reactions .reaction").filter(has_text="👏").wait_for()
    await a.get_by_label("Add a film").fill(queued)
    await a.get_by_role("button", name=f"Add {queued}", exact=True).click()
    await b.locator(".party-queue li").filter(has_text=queued).wait_for()
    await shot(a, "party", settings.log_dir / "screenshots")
    assert await problems(a) == [] and await problems(b) == []
