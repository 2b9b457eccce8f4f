"""Party rooms in the web app, two server processes, a browser context per person: knocking
(admitted, turned away, let in when the room opens), a password asked of a newcomer with the
capacity shown first, a co-host driving playback and catching up, a muted member's chat refused
with the server's reason on screen, the queue (proposed, accepted, ordered by keyboard and by
drag, removed, a playlist appended) moving both browsers to the next film at one instant, and
friends finding a listed party on their home page. And a knocker whose server went away while
the host admitted them joins once the page is back online."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import statistics
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from models.catalog.tables import Title
from models.core.context import Context
from models.core.db import transaction
from models.media.service import store
from models.media.tables import MediaAsset
from tests.conftest import LiveServer
from tests.factories import Account, make_account
from tests.media.helpers import make_series
from tests.notifications.helpers import eventually
from tests.social.helpers import befriend
from tests.web.conftest import (
    axe_problems,
    catalog_film,
    expect,
    problems,
    shot,
    signed_in_page,
    until,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

Servers = tuple[LiveServer, LiveServer]

# Where the film is against the wall clock (the same clock for every page on this machine):
# two pages with the same value show the same frame at the same instant.
FILM_VS_CLOCK = (
    "(() => { const v = document.querySelector('video');"
    " return v && !v.paused ? v.currentTime * 1000 - performance.timeOrigin - performance.now()"
    " : null; })()"
)
# Keeps every text the waiting note shows (it may be up for a fraction of a second).
SEE_WAITING = """() => {
  window.__waitingNotes = [];
  new MutationObserver(() => {
    const note = document.querySelector('.party-waiting')?.textContent.trim();
    if (note && !window.__waitingNotes.includes(note)) window.__waitingNotes.push(note);
  }).observe(document.body, {subtree: true, childList: true, characterData: true});
}"""
VIDEO_READY = "window.__party && document.querySelector('video')?.readyState >= 2"


QUEUE_NAMES = (
    "[...document.querySelectorAll('.party-queue > li .media-name')].map(e => e.textContent)"
)


def queue_is(order: list[str]) -> str:
    """A script expression: the queue shows these films in this order."""
    return (
        f"JSON.stringify({QUEUE_NAMES}) === {json.dumps(json.dumps(order, separators=(',', ':')))}"
    )


# How far the video is from where the party says it should be now, by the server's clock.
DRIFT = (
    "(() => { const p = window.__party, v = document.querySelector('video');"
    " return v.currentTime * 1000 - p.targetPosition(p.client.state, p.client.serverNow()); })()"
)


def name(account: Account) -> str:
    return account.user.display_name or account.user.username


async def start_party(page: Any, site: str, film: int) -> str:
    """The host starts a party from the film; the invite link."""
    await page.goto(f"{site}/party/new?title={film}")
    await page.wait_for_url(f"{site}/party/*")
    invite = page.get_by_label("Invite link")
    await invite.wait_for()
    link: str = await invite.input_value()
    return link


async def open_link(page: Any, link: str, site: str) -> None:
    """Follow an invite link on `site` (maybe the other process)."""
    await page.goto(re.sub(r"^https?://[^/]+", site, link))


async def members_shown(page: Any, n: int) -> None:
    await expect(page.locator(".members > li")).to_have_count(n)


@pytest.fixture
async def people(ctx: Context, two_servers: Servers) -> Any:
    async def make(n: int) -> list[Account]:
        async with httpx.AsyncClient(base_url=two_servers[0].url, timeout=30) as http:
            return [await make_account(ctx, http) for _ in range(n)]

    return make


async def test_knock_admit_reopen_and_a_password(
    web_app: Any, two_servers: Servers, browser: Any, film: int, people: Any, settings: Any
) -> None:
    one, two = (s.url for s in two_servers)
    host, knocker, newcomer, late, stranger = await people(5)
    a = await signed_in_page(browser, one, host)
    link = await start_party(a, one, film)

    # A password for a link shared widely: the newcomer sees the party and how full it is,
    # then is asked for the password.
    await a.get_by_label("Room password").fill("s3cret")
    await a.get_by_role("button", name="Set password").click()
    await a.get_by_text("Password on").wait_for()
    c = await signed_in_page(browser, two, newcomer)
    await open_link(c, link, two)
    await expect(c.locator(".party-preview .capacity")).to_have_text(
        re.compile(r"^1 of \d+ watching$")
    )
    assert (bad := await axe_problems(c, web_app)) == [], bad
    await c.get_by_role("button", name="Join the party").click()
    await expect(c.get_by_role("alert")).to_have_text("This party asks for its password.")
    await c.get_by_label("Party password").fill("nope")
    await c.get_by_role("button", name="Join the party").click()
    await expect(c.get_by_role("alert")).to_have_text("That is not this party's password.")
    await c.get_by_label("Party password").fill("s3cret")
    await c.get_by_role("button", name="Join the party").click()
    await members_shown(c, 2)
    await members_shown(a, 2)
    await a.get_by_role("button", name="Remove password").click()
    await a.get_by_label("Room password").wait_for()

    # Join approval: the knocker waits with a plain message; the host sees who and admits.
    await a.get_by_label("Ask newcomers to knock (approve who joins)").check()
    await expect(a.get_by_label("Ask newcomers to knock (approve who joins)")).to_be_checked()
    b = await signed_in_page(browser, two, knocker)
    await open_link(b, link, two)
    await expect(b.locator(".party-preview .capacity")).to_have_text(
        re.compile(r"^2 of \d+ watching$")
    )
    await b.get_by_role("button", name="Ask to join").click()
    await expect(b.locator(".knock-wait")).to_contain_text("as soon as the host lets you in")
    await a.locator(".knocking").get_by_text(f"{name(knocker)} wants to join").wait_for()
    await shot(a, "party-knocking", settings.log_dir / "screenshots")
    assert (bad := await axe_problems(a, web_app)) == [], bad
    assert (bad := await axe_problems(b, web_app)) == [], bad
    await a.get_by_role("button", name=f"Admit {name(knocker)}").click()
    await members_shown(b, 3)
    await expect(a.locator(".knocking")).to_have_count(0)

    # A stranger knocks and is turned away: told so, plainly.
    e = await signed_in_page(browser, one, stranger)
    await open_link(e, link, one)
    await e.get_by_role("button", name="Ask to join").click()
    await e.locator(".knock-wait").wait_for()
    await a.get_by_role("button", name=f"Deny {name(stranger)}").click()
    await expect(e.get_by_role("alert")).to_have_text("The host did not let you in this time.")

    # Someone else knocks; the host opens the door instead of answering: they are told and join.
    d = await signed_in_page(browser, one, late)
    await open_link(d, link, one)
    await d.get_by_role("button", name="Ask to join").click()
    await d.locator(".knock-wait").wait_for()
    await a.locator(".knocking").get_by_text(f"{name(late)} wants to join").wait_for()
    await a.get_by_label("Ask newcomers to knock (approve who joins)").uncheck()
    await members_shown(d, 4)
    await members_shown(a, 4)
    for page in (a, b, c, d, e):
        assert await problems(page) == []


async def test_a_knocker_offline_when_admitted_joins_once_back(
    web_app: Any,
    two_servers: Servers,
    restarted: LiveServer,
    browser: Any,
    film: int,
    people: Any,
) -> None:
    knockers_server = restarted  # the knocker's: stopped and started again under their page
    one, theirs = two_servers[0].url, knockers_server.url
    host, knocker = await people(2)
    a = await signed_in_page(browser, one, host)
    link = await start_party(a, one, film)
    await a.get_by_label("Ask newcomers to knock (approve who joins)").check()
    await expect(a.get_by_label("Ask newcomers to knock (approve who joins)")).to_be_checked()
    b = await signed_in_page(browser, theirs, knocker)
    await open_link(b, link, theirs)
    await b.get_by_role("button", name="Ask to join").click()
    await expect(b.locator(".knock-wait")).to_contain_text("as soon as the host lets you in")
    await a.locator(".knocking").get_by_text(f"{name(knocker)} wants to join").wait_for()

    # The knocker's server goes away; the host admits meanwhile, so party:admission reaches
    # no socket of theirs.
    await asyncio.to_thread(knockers_server.stop)
    await a.get_by_role("button", name=f"Admit {name(knocker)}").click()
    await expect(a.locator(".knocking")).to_have_count(0)
    await b.locator(".offline").wait_for()
    await expect(b.locator(".knock-wait")).to_be_visible()
    knockers_server.restart()
    await asyncio.to_thread(knockers_server.wait_ready)
    # Back online (by itself, with backoff), the page knocks again, learns it was let in, and
    # joins.
    await expect(b.locator(".offline")).to_have_count(0, timeout=60_000)
    await expect(b.locator(".members > li")).to_have_count(2, timeout=15_000)
    await members_shown(a, 2)
    for page in (a, b):
        assert await problems(page) == []


async def test_a_cohost_drives_playback_and_a_muted_member_cannot_chat(
    web_app: Any, two_servers: Servers, browser: Any, film: int, people: Any, settings: Any
) -> None:
    one, two = (s.url for s in two_servers)
    host, guest = await people(2)
    a = await signed_in_page(browser, one, host)
    link = await start_party(a, one, film)
    b = await signed_in_page(browser, two, guest)
    await open_link(b, link, two)
    await b.get_by_role("button", name="Join the party").click()
    await members_shown(a, 2)
    for page in (a, b):
        await until(page, VIDEO_READY)
    await expect(b.locator(".party-phase")).to_contain_text("the host controls playback")

    # The host makes the guest a co-host: in a host-only party they now drive playback.
    await a.get_by_role("button", name=f"Make co-host {name(guest)}").click()
    await expect(b.locator(".party-phase")).to_contain_text("you can control playback (co-host)")
    guest_row = a.locator(".members > li").filter(has_text=name(guest))
    await expect(guest_row.locator(".role")).to_have_text("co-host", use_inner_text=True)
    await b.get_by_role("button", name="Play", exact=True).click()
    for page in (a, b):
        await until(page, "!document.querySelector('video').paused", timeout=20)
    # "What did she say?": the guest watches the last seconds again and catches up at a
    # slightly faster rate, back on the party's timeline at the end; the host never moves.
    await until(b, "document.querySelector('video').currentTime > 1.5", timeout=20)
    await b.get_by_role("button", name="Replay 10 s and catch up").click()
    await expect(b.locator(".catch-up[role=status]")).to_contain_text("Catching up")
    await until(b, "document.querySelector('video').playbackRate > 1.05")
    await until(b, "!window.__party.client.catchingUp", timeout=30)
    await expect(b.locator(".catch-up[role=status]")).to_have_count(0)
    landed = await b.evaluate(DRIFT)
    for page in (a, b):  # on the timeline (drift correction has the last few ms)
        await until(page, f"Math.abs({DRIFT}) < 100", timeout=10)
    print(f"\ncatch-up: the guest landed {landed:.1f} ms from the timeline")
    await b.get_by_role("button", name="Pause", exact=True).click()
    for page in (a, b):
        await until(page, "document.querySelector('video').paused", timeout=20)
    # A co-host moderates too, but not the host: no buttons against them.
    await expect(b.get_by_role("button", name=f"Mute chat of {name(host)}")).to_have_count(0)

    # Muted, the guest's message is refused by the server, and the page says why.
    await a.get_by_role("button", name=f"Remove co-host {name(guest)}").click()
    await a.get_by_role("button", name=f"Mute chat of {name(guest)}").click()
    await b.get_by_text("The host muted your chat; you can still watch.").wait_for()
    await b.get_by_label("Say something").fill("can you hear me?")
    await b.get_by_role("button", name="Send").click()
    await expect(b.locator(".notice-line [role=alert]")).to_have_text(
        "The host muted you in this party's chat"
    )
    await a.get_by_label("Say something").fill("host here")
    await a.get_by_role("button", name="Send").click()
    await b.locator(".party-chat li").filter(has_text="host here").wait_for()
    assert await a.locator(".party-chat li").filter(has_text="can you hear me?").count() == 0
    await a.get_by_role("button", name=f"Unmute chat of {name(guest)}").click()
    await expect(b.get_by_text("The host muted your chat; you can still watch.")).to_have_count(0)
    await shot(b, "party-muted", settings.log_dir / "screenshots")
    for page in (a, b):
        assert await problems(page) == []


@pytest.fixture
async def second_film(ctx: Context, client: httpx.AsyncClient, film: int) -> int:
    """Another film with the same published video (its own asset and files): the next item."""
    title_id = await catalog_film(ctx, client, f"Second reel {uuid.uuid4().hex[:6]}")
    async with transaction(ctx.sessions) as session:
        first = (
            await session.execute(MediaAsset.__table__.select().where(MediaAsset.title_id == film))
        ).one()
        values = {k: v for k, v in first._mapping.items() if k not in ("id", "title_id")}
        asset = MediaAsset(**{**values, "title_id": title_id})
        session.add(asset)
        await session.flush()
        new_id, old_id, revision = asset.id, first.id, first.revision
    disk = store(ctx)
    shutil.copytree(disk.revision_dir(old_id, revision), disk.revision_dir(new_id, revision))
    return title_id


async def test_the_queue_moves_both_browsers_on_at_one_instant(
    web_app: Any,
    two_servers: Servers,
    browser: Any,
    film: int,
    second_film: int,
    people: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    settings: Any,
) -> None:
    one, two = (s.url for s in two_servers)
    host, guest = await people(2)
    tag = uuid.uuid4().hex[:6]
    async with transaction(ctx.sessions) as session:
        second = str(await session.scalar(select(Title.title).where(Title.id == second_film)))
    fillers = [f"Queue filler {n} {tag}" for n in range(2)]
    filler_ids = [await catalog_film(ctx, client, filler) for filler in fillers]
    # The host's playlist of both fillers, to append at once later.
    made = await client.post(
        "/api/v1/playlists", json={"name": f"Encores {tag}"}, headers=host.headers
    )
    assert made.status_code == 201, made.text
    for title_id in reversed(filler_ids):  # in the playlist: filler 1, then filler 0
        r = await client.post(
            f"/api/v1/playlists/{made.json()['id']}/items",
            json={"title_id": title_id},
            headers=host.headers,
        )
        assert r.status_code == 201, r.text
    a = await signed_in_page(browser, one, host)
    link = await start_party(a, one, film)
    b = await signed_in_page(browser, two, guest)
    await open_link(b, link, two)
    await b.get_by_role("button", name="Join the party").click()
    await members_shown(a, 2)

    # The guest proposes; the host accepts. The host adds more and orders them.
    await b.get_by_label("Propose a film").fill(second)
    await b.get_by_role("button", name=f"Propose {second}").click()
    queue_a = a.locator(".party-queue > li")
    await expect(queue_a).to_have_count(1)
    await expect(queue_a.first).to_contain_text(f"proposed by {name(guest)}")
    # A change that is not the queue's (its party:state carries no queue) keeps it shown.
    await a.get_by_label("Slow mode").select_option("5")
    await b.get_by_text("Slow mode: one message every 5 s.").wait_for()
    await expect(queue_a).to_have_count(1)
    await a.get_by_role("button", name="Accept").click()
    await expect(queue_a.first).not_to_contain_text("proposed")
    for n, filler in enumerate(fillers):
        await a.get_by_label("Add a film").fill(filler)
        await a.get_by_role("button", name=f"Add {filler}", exact=True).click()
        await expect(queue_a).to_have_count(2 + n)
    order = [second, *fillers]
    await until(a, queue_is(order))
    # Keyboard: Alt+Down moves the focused item one place down.
    await queue_a.nth(0).focus()
    await a.keyboard.press("Alt+ArrowDown")
    order = [fillers[0], second, fillers[1]]
    for page in (a, b):
        await until(page, queue_is(order))
    # Drag: the last item dropped on the first takes its place.
    await queue_a.nth(2).drag_to(queue_a.nth(0))
    order = [fillers[1], fillers[0], second]
    for page in (a, b):
        await until(page, queue_is(order))
    for left in (2, 1):
        await queue_a.nth(0).get_by_role("button", name="Remove").click()
        await expect(queue_a).to_have_count(left)
    await expect(b.locator(".up-next")).to_contain_text(f"Up next: {second}")

    # Near the end of the film, play: at its end both move on to the next film together.
    for page in (a, b):
        await until(page, VIDEO_READY)
    # What the guest is shown while the party waits for everyone to load the next film.
    await b.evaluate(SEE_WAITING)
    await a.get_by_label("Seek").fill("15000")
    await a.get_by_role("button", name="Play", exact=True).click()
    for page in (a, b):
        await until(page, "!document.querySelector('video').paused", timeout=20)
    next_playing = (
        f"window.__party?.client.state?.media.id === {second_film}"
        " && window.__party.client.state.phase === 'playing'"
        " && !document.querySelector('video').paused"
        " && document.querySelector('video').currentTime > 0.5"
    )
    for page in (a, b):
        await until(page, next_playing, timeout=40)
    for page in (a, b):  # each on the party's timeline by its own clock model
        await until(page, f"Math.abs({DRIFT}) < 30", timeout=15)
    ta, tb = [], []
    for _ in range(8):
        ta.append(await a.evaluate(FILM_VS_CLOCK))
        tb.append(await b.evaluate(FILM_VS_CLOCK))
        await asyncio.sleep(0.1)
    assert None not in ta and None not in tb, (ta, tb)
    gap = abs(statistics.median(ta) - statistics.median(tb))
    print(f"\nnext item: the two browsers {gap:.1f} ms apart")
    assert gap < 100, (ta, tb)
    seen = await b.evaluate("window.__waitingNotes")
    assert any(n.startswith("Waiting for") for n in seen), seen
    await expect(a.locator(".party-title")).to_have_text(second)
    await expect(b.locator(".party-title")).to_have_text(second)
    # A whole playlist goes into the queue at once, in its order.
    await a.get_by_label("Add a playlist").select_option(label=f"Encores {tag} (2)")
    await a.get_by_role("button", name="Add all").click()
    for page in (a, b):
        await until(page, queue_is([fillers[1], fillers[0]]))
    await shot(b, "party-queue", settings.log_dir / "screenshots")
    for page in (a, b):
        assert await problems(page) == []


async def test_friends_see_a_listed_party_on_home(
    web_app: Any, two_servers: Servers, browser: Any, film: int, people: Any, settings: Any
) -> None:
    one, two = (s.url for s in two_servers)
    host, friend = await people(2)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        await befriend(http, host, friend)
    a = await signed_in_page(browser, one, host)
    await start_party(a, one, film)
    b = await signed_in_page(browser, two, friend)
    await b.get_by_role("heading", name="Trending").wait_for()
    # Off by default: friends see nothing until the host lists it.
    await expect(b.get_by_role("heading", name="Friends watching now")).to_have_count(0)
    await a.get_by_label("Let my friends see this party and join").check()
    await expect(a.get_by_label("Let my friends see this party and join")).to_be_checked()
    # The box ticks as it is clicked, before the server has the listing: reloaded sooner, the
    # home page would show nothing until its next read, 30 s later.
    async with httpx.AsyncClient(base_url=two, timeout=30) as http:

        async def listed() -> bool:
            r = await http.get("/api/v1/parties/friends", headers=friend.headers)
            assert r.status_code == 200, r.text
            return bool(r.json()["items"])

        await eventually(listed, timeout=20)
    await b.reload()
    row = b.locator(".friends-parties li")
    await expect(row).to_contain_text(f"{host.user.username} is watching Web player")
    await shot(b, "home-friends-watching", settings.log_dir / "screenshots")
    assert (bad := await axe_problems(b, web_app)) == [], bad
    await b.get_by_role("link", name=f"Join? {host.user.username}'s party").click()
    await members_shown(b, 2)
    await members_shown(a, 2)
    for page in (a, b):
        assert await problems(page) == []


async def test_a_series_goes_on_with_its_next_episode_unless_the_host_says_not(
    web_app: Any, two_servers: Servers, browser: Any, people: Any, ctx: Context
) -> None:
    one, _ = (s.url for s in two_servers)
    (host,) = await people(1)
    _, seasons = await make_series(ctx, episodes_per_season=(2,))
    a = await signed_in_page(browser, one, host)
    await a.goto(f"{one}/party/new?episode={seasons[0][0]}")
    await a.get_by_label("Invite link").wait_for()
    autoplay = a.get_by_label("Go on with the next episode when the queue is empty")
    await expect(autoplay).to_be_checked()
    await expect(a.locator(".up-next")).to_contain_text("Up next: Episode")
    await autoplay.uncheck()
    await expect(autoplay).not_to_be_checked()
    await expect(a.locator(".up-next")).to_have_count(0)
    assert await problems(a) == []
