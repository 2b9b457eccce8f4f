"""Watching a film "with a friends' party" in the web app: a finished party's chat, seeded
through the real sockets at known positions, comes up in the watch page's panel when the
<video> passes those positions (never before), again after a seek back, not at all for what a
seek forward skipped; reactions float over the video; a blocked member's message and a
deleted one never show; a failed first request is said and asked again; the panel hides and
shows by keyboard, passes the axe scan and fits a phone and a TV."""

from __future__ import annotations

import json
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import httpx
import pytest

from models.core.context import Context
from tests.factories import Account, make_account
from tests.parties.conftest import ok
from tests.realtime_client import connected
from tests.social.helpers import befriend, block
from tests.web.conftest import axe_problems, problems, shot, signed_in_page, until
from tests.web.test_layout import OVERFLOW

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

VIDEO = "document.querySelector('video')"
# Every chat line and reaction the page shows, with where the video was when it appeared.
RECORD = """() => {
  window.__seen = [];
  const note = (kind, text) =>
    window.__seen.push({ kind, text, at: document.querySelector('video').currentTime });
  new MutationObserver((changes) => {
    for (const c of changes) for (const n of c.addedNodes) {
      if (n.nodeType !== 1) continue;
      if (n.matches('.replay-chat li')) note('chat', n.textContent);
      if (n.matches('.replay-reaction')) note('reaction', n.textContent);
    }
  }).observe(document.querySelector('.watch'), { childList: true, subtree: true });
}"""
# Where the chat lines are (seconds of the film) when they came up, per text.
CHAT = [("three", 3.0), ("six", 6.0), ("nine", 9.0)]


async def _seed_party(site: str, host: Account, others: list[Account], film: int) -> None:
    """A party of `host` and `others` for the film: chat at 3, 6 and 9 s of it (the second
    member also reacts at 6 s, the third says something at 6 s, a deleted line at 7 s)."""
    async with AsyncExitStack() as stack:
        h = await stack.enter_async_context(connected(site, host.access_token))
        created = await ok(h, "party:create", {"title_id": film})
        party_id = created["party_id"]
        recs = []
        for other in others:
            recs.append(await stack.enter_async_context(connected(site, other.access_token)))
            await ok(recs[-1], "party:join", {"invite_code": created["invite_code"]})

        async def at(ms: int) -> None:
            await ok(h, "party:seek", {"party_id": party_id, "position_ms": ms})

        async def say(who: Any, text: str) -> Any:
            return (await ok(who, "party:chat", {"party_id": party_id, "text": text}))["message"]

        await at(3_000)
        await say(h, "three")
        await at(6_000)
        await say(recs[0], "six")
        await ok(recs[0], "party:react", {"party_id": party_id, "emoji": "😱"})
        await say(recs[1], "blocked voice")
        await at(7_000)
        gone = await say(h, "deleted line")
        await ok(h, "party:chat_delete", {"party_id": party_id, "message_id": gone["id"]})
        await at(9_000)
        await say(h, "nine")
        await ok(h, "party:end", {"party_id": party_id})


async def test_a_friend_watches_with_the_party_chat_at_its_moments(
    site: str,
    web_app: Path,
    browser: Any,
    ctx: Context,
    film: int,
    settings: Any,
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        ann, bo, cy, viewer = [await make_account(ctx, http) for _ in range(4)]
        await befriend(http, viewer, ann)
        await befriend(http, viewer, bo)
        await block(http, viewer, cy)  # the viewer blocked the party's third member
        await _seed_party(site, ann, [bo, cy], film)
        # Bo's own party for the film too: the page offers a choice.
        async with connected(site, bo.access_token) as b:
            other = await ok(b, "party:create", {"title_id": film})
            await ok(b, "party:react", {"party_id": other["party_id"], "emoji": "🎉"})
            await ok(b, "party:end", {"party_id": other["party_id"]})
    friends = " and ".join(sorted([ann.user.username, bo.user.username]))
    choose = f"Watch with {friends}'s party"

    page = await signed_in_page(browser, site, viewer)
    # The app's pages are of 100; pages of two make it follow the server's cursors here.
    asked: list[dict[str, str]] = []

    async def small_pages(route: Any) -> None:
        url = urlsplit(route.request.url)
        query = dict(parse_qsl(url.query)) | {"limit": "2"}
        asked.append(query)
        if len(asked) == 1:  # the network fails the first time: the app asks again
            await route.abort("internetdisconnected")
            return
        await route.continue_(url=url._replace(query=urlencode(query)).geturl())

    await page.route(lambda url: "/api/v1/parties/" in url and "/replay?" in url, small_pages)
    await page.goto(f"{site}/watch/{film}")
    offer = page.get_by_role("button", name=choose)
    await offer.wait_for()
    await page.get_by_role("button", name=f"Watch with {bo.user.username}'s party").wait_for()
    # It started playing by itself: back to the start, paused, before turning the replay on.
    await until(page, f"{VIDEO}.readyState >= 2 && !{VIDEO}.paused")
    await page.evaluate(f"{VIDEO}.pause(); {VIDEO}.currentTime = 0")
    await until(page, f"{VIDEO}.paused && {VIDEO}.currentTime < 0.1")
    await offer.focus()
    await page.keyboard.press("Enter")  # by keyboard
    await page.get_by_role("heading", name=f"With {friends}'s party").wait_for()
    await page.evaluate(RECORD)
    # The first page's request failed: it says so, asks again, and the note goes.
    await page.locator(".replay-trouble").filter(has_text="Catching up").wait_for()
    await page.locator(".replay-trouble").wait_for(state="detached")

    # Plays: each line comes up once the video passes its moment, not before.
    await page.get_by_role("button", name="Play", exact=True).click()
    await until(page, f"{VIDEO}.currentTime > 9.8", timeout=40)
    seen = await page.evaluate("window.__seen")
    chat = [s for s in seen if s["kind"] == "chat"]
    assert [s["text"].split()[-1] for s in chat] == [t for t, _ in CHAT], seen
    for line, (text, moment) in zip(chat, CHAT, strict=True):
        assert moment <= line["at"] < moment + 1.5, (text, line)
    assert [s["text"] for s in seen if s["kind"] == "reaction"] == ["😱"], seen
    [reaction] = [s for s in seen if s["kind"] == "reaction"]
    assert 6.0 <= reaction["at"] < 7.5, reaction
    assert await page.locator(".replay-chat li").count() == 3
    assert "six" in await page.locator(".replay-chat li").nth(1).inner_text()
    # The app asked from where the video was, then followed the server's cursor (the same
    # query, cursor added) until the last page.
    first, again, *rest = asked
    assert first == again and "cursor" not in first and first["from_ms"] == "0", asked
    assert rest and all("cursor" in q and q["from_ms"] == "0" for q in rest), asked
    assert all(q["title_id"] == str(film) for q in asked), asked
    pages = len(asked)

    # A seek back: the panel starts again there, the line at 3 s comes up again at 3 s.
    await page.evaluate("window.__seen = []")
    await page.get_by_label("Seek").fill("1000")
    await until(
        page,
        f"{VIDEO}.currentTime < 2.5 && document.querySelectorAll('.replay-chat li').length === 0",
    )
    await until(page, f"{VIDEO}.currentTime > 3.6", timeout=20)
    again = await page.evaluate("window.__seen")
    assert [s["text"].split()[-1] for s in again] == ["three"], again
    assert 3.0 <= again[0]["at"] < 4.5, again

    # A seek forward past the rest: what it skipped does not come up (no flood).
    await page.evaluate("window.__seen = []")
    await page.get_by_label("Seek").fill("12000")
    await until(page, f"{VIDEO}.currentTime > 13", timeout=20)
    assert await page.evaluate("window.__seen") == []
    assert await page.locator(".replay-chat li").count() == 0
    assert len(asked) == pages, asked  # both seeks stayed within what the app held

    # Nothing from the blocked member, nothing deleted, ever.
    shown = await page.locator(".watch").inner_text()
    assert "blocked voice" not in shown and "deleted line" not in shown

    # The panel hides and comes back by keyboard.
    hide = page.get_by_role("button", name="Hide chat")
    await hide.focus()
    await page.keyboard.press("Enter")
    show = page.get_by_role("button", name="Show chat")
    assert await show.get_attribute("aria-expanded") == "false"
    assert not await page.locator(".replay-chat").is_visible()
    # Hidden, it counts what came up meanwhile (back to 5 s: the line at 6 s).
    await page.get_by_label("Seek").fill("5000")
    await until(page, f"{VIDEO}.currentTime > 6.5", timeout=20)
    show = page.get_by_role("button", name="Show chat (1 new)")
    await show.focus()
    await page.keyboard.press("Enter")
    assert (
        await page.get_by_role("button", name="Hide chat").get_attribute("aria-expanded") == "true"
    )
    assert "six" in await page.locator(".replay-chat li").last.inner_text()

    # Accessible, and it fits from a phone to a TV (beside the video on a wide screen).
    bad = await axe_problems(page, web_app, within=".replay-panel")
    assert bad == [], json.dumps(bad)
    for width, height in ((360, 740), (1280, 800), (3840, 2160)):
        await page.set_viewport_size({"width": width, "height": height})
        found = await page.evaluate(OVERFLOW)
        assert found["scroll"] <= found["width"] and not found["out"], (width, found)
        player = await page.locator(".player").bounding_box()
        panel = await page.locator(".replay-panel").bounding_box()
        assert player is not None and panel is not None
        if width < 1100:
            assert panel["y"] >= player["y"] + player["height"] - 1, (width, player, panel)
        else:
            assert panel["x"] >= player["x"] + player["width"] - 1, (width, player, panel)
        await shot(page, f"party-replay-{width}", settings.log_dir / "screenshots")

    # Stopped: the offer is back.
    await page.get_by_role("button", name="Stop the replay").click()
    await offer.wait_for()
    bad = await axe_problems(page, web_app, within=".replay-offer")
    assert bad == [], json.dumps(bad)
    assert await problems(page) == []
