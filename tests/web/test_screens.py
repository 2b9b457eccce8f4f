"""My screens in the web app (issue 16): one person on a "phone" and a "TV" (two browser
contexts, each on its own server process). The TV plays; the phone sees it, online and
playing, in "Play on..." and in the remote, pauses it and seeks it by keyboard (the TV's video
pauses and moves 10 s), sees its current tracks, chooses others and sees them taken; then the
phone hands its own playback to the TV, which plays on within a few hundred ms of the frame
the phone stopped at. Both layouts fit their width and the open panels pass the
accessibility scan. When the TV closes, the phone's list drops it at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import login, make_account
from tests.web.conftest import axe_problems, new_page, problems, shot, until
from tests.web.test_layout import OVERFLOW

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0 Mobile Safari/537.36"
)
TV_UA = (
    "Mozilla/5.0 (SMART-TV; Linux; Tizen 7.0) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0 TV Safari/537.36"
)
VIDEO = "document.querySelector('video')"
# The film's position and the wall clock (one machine: the same for both pages).
WHERE = f"[{VIDEO}.currentTime, performance.timeOrigin + performance.now()]"


def menu(name: str, where: str = ".player .controls") -> str:
    """The value of the player's own menu `name` (Audio, Subtitles), or the remote's."""
    return (
        f"[...document.querySelectorAll('{where} label')]"
        f".find((l) => l.textContent.startsWith('{name}'))?.querySelector('select').value"
    )


def remote_menu(name: str) -> str:
    return menu(name, "#remote")


OTHER = "(el) => [...el.options].find((o) => !o.disabled && o.value !== '0' && !o.selected).value"


async def test_phone_controls_the_tv_and_hands_playback_to_it(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    film: int,
    settings: Any,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        me = await make_account(ctx, http)
        phone_tokens = await login(http, me.user.email)
        tv_tokens = await login(http, me.user.email)
    tv = await new_page(
        browser, tv_tokens, viewport={"width": 1920, "height": 1080}, user_agent=TV_UA
    )
    phone = await new_page(
        browser, phone_tokens, viewport={"width": 360, "height": 740}, user_agent=PHONE_UA
    )

    # The TV plays the film (on the second process).
    await tv.goto(f"{two}/watch/{film}?t=0")
    await until(tv, f"{VIDEO}?.readyState >= 2 && !{VIDEO}.paused && {VIDEO}.currentTime > 0.3")

    # The phone's name, set in the profile; the phone opens the film too and sees the TV,
    # online and playing, in its remote.
    await phone.goto(f"{one}/profile")
    await phone.get_by_label("This screen's name").fill("Ann's phone")
    await phone.get_by_role("button", name="Rename").click()
    await phone.get_by_text('This screen is "Ann\'s phone".').wait_for()
    await phone.goto(f"{one}/watch/{film}?t=0")
    await until(phone, f"{VIDEO}?.readyState >= 2")
    remote = phone.get_by_role("button", name="Remote")
    await remote.focus()
    await phone.keyboard.press("Enter")
    panel = phone.locator("#remote")
    await panel.get_by_text("TV · Chrome: online, playing").wait_for()

    # Pause the TV by keyboard (the remote's Pause, Enter): its video pauses.
    pause = panel.get_by_role("button", name="Pause", exact=True)
    await pause.focus()
    await phone.keyboard.press("Enter")
    await until(tv, f"{VIDEO}.paused")
    await panel.get_by_text("TV · Chrome: online, paused").wait_for()
    paused_at = await tv.evaluate(f"{VIDEO}.currentTime")
    await panel.get_by_role("button", name="Forward 10 s").click()
    await until(tv, f"Math.abs({VIDEO}.currentTime - {paused_at + 10}) < 0.5 && !{VIDEO}.seeking")
    assert await tv.evaluate(f"{VIDEO}.paused")
    # Volume, audio and subtitles (the same film: the phone offers its tracks).
    await panel.get_by_label("Volume").evaluate(
        "(el) => { el.value = '30'; el.dispatchEvent(new Event('change', {bubbles: true})); }"
    )
    await until(tv, f"Math.abs({VIDEO}.volume - 0.3) < 0.01")
    # The TV's current tracks are preselected (its screen:status carries them).
    tv_audio = await tv.evaluate(menu("Audio"))
    await until(phone, f"{remote_menu('Audio')} === '{tv_audio}'")
    await until(phone, f"{remote_menu('Subtitles')} === '0'")
    audio = await panel.get_by_label("Audio").evaluate(OTHER)
    await panel.get_by_label("Audio").select_option(audio)
    await until(tv, f"{menu('Audio')} === '{audio}'")
    await until(phone, f"{remote_menu('Audio')} === '{audio}'")
    text = await panel.get_by_label("Subtitles").evaluate(OTHER)
    await panel.get_by_label("Subtitles").select_option(text)
    await until(tv, f"{menu('Subtitles')} === '{text}'")
    await until(phone, f"{remote_menu('Subtitles')} === '{text}'")

    # The open remote fits a phone and passes the accessibility scan.
    found = await phone.evaluate(f"({OVERFLOW})()")
    assert found["scroll"] <= found["width"] and not found["out"], found
    assert await axe_problems(phone, web_app) == []
    await shot(phone, "screens-remote-phone", settings.log_dir / "screenshots")
    await phone.keyboard.press("Escape")  # closes it, focus back on its button
    assert await phone.evaluate("document.activeElement.textContent") == "Remote"

    # The phone plays from 3 s, then hands over to the TV.
    await phone.evaluate(f"{VIDEO}.currentTime = 3; {VIDEO}.play()")
    await until(phone, f"!{VIDEO}.paused && {VIDEO}.currentTime > 3.5")
    await phone.evaluate(
        f"{VIDEO}.addEventListener('pause', () => window.__stopped = {WHERE}, {{once: true}})"
    )
    await phone.get_by_role("button", name="Play on… (1)").click()
    assert await axe_problems(phone, web_app) == []
    await phone.locator("#play-on").get_by_role("button", name="TV · Chrome").click()
    stopped = await until(phone, "window.__stopped")
    await phone.locator(".handed-off").get_by_text("Now playing on TV · Chrome.").wait_for()
    await until(tv, f"!{VIDEO}.paused")
    for _ in range(5):  # over 2 s: the TV starts a few tens of ms late, then catches up
        at, wall = await tv.evaluate(WHERE)
        expected = stopped[0] + (wall - stopped[1]) / 1000
        assert abs(at - expected) < 0.3, (at, expected, stopped)
        await tv.wait_for_timeout(400)
    assert await phone.evaluate(f"{VIDEO}.paused")

    # The phone's place among my streams is the TV's once it took over (its next heartbeat):
    # a handoff never counts twice. "Play here again" asks for a place anew.
    async def streams() -> list[dict[str, Any]]:
        async with httpx.AsyncClient(base_url=one, timeout=30) as http:
            bearer = {"Authorization": f"Bearer {tv_tokens['access_token']}"}
            listed: list[dict[str, Any]] = (
                await http.get("/api/v1/me/streams", headers=bearer)
            ).json()
            return listed

    for _ in range(100):
        playing = await streams()
        if len(playing) == 1:
            break
        await phone.wait_for_timeout(200)
    assert [s["current"] for s in playing] == [True], playing  # the TV's
    await phone.locator(".handed-off").get_by_role("button", name="Play here again").click()
    await until(phone, f"!{VIDEO}.paused")
    assert len(await streams()) == 2
    await phone.evaluate(f"{VIDEO}.pause()")

    # The TV's layout with its own panels open fits too.
    await tv.get_by_role("button", name="Play on… (1)").click()
    await tv.locator("#play-on").get_by_role("button", name="Ann's phone").wait_for()
    found = await tv.evaluate(f"({OVERFLOW})()")
    assert found["scroll"] <= found["width"] and not found["out"], found
    await shot(tv, "screens-tv", settings.log_dir / "screenshots")
    assert await problems(phone) == [] and await problems(tv) == []

    # The TV closes: the phone drops it from its list at once (screen:gone), not at the next
    # 5 s refresh.
    await tv.close()
    await phone.get_by_role("button", name="Play on… (0)").wait_for(timeout=4_000)


async def test_my_screens_play_in_step(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    film: int,
    settings: Any,
) -> None:
    """'Play in step on all my screens': a party for the film that the phone opens and the TV
    joins by itself (screen:command join_party); a play while the TV still loads waits for it,
    and the phone says so ('your other screen (TV) to load'); after the play both show the
    same frame at the same instant."""
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        me = await make_account(ctx, http)
        phone_tokens = await login(http, me.user.email)
        tv_tokens = await login(http, me.user.email)
    tv = await new_page(
        browser, tv_tokens, viewport={"width": 1920, "height": 1080}, user_agent=TV_UA
    )
    phone = await new_page(
        browser, phone_tokens, viewport={"width": 360, "height": 740}, user_agent=PHONE_UA
    )
    await tv.goto(f"{two}/watch/{film}?t=0")
    await until(tv, f"{VIDEO}?.readyState >= 2")
    await phone.goto(f"{one}/watch/{film}?t=0")
    await until(phone, f"{VIDEO}?.readyState >= 2")
    await phone.get_by_role("button", name="Play on… (1)").click()
    await phone.get_by_role("button", name="Play in step on all my screens").click()
    await phone.wait_for_url(f"{one}/party/*")
    party = phone.url.rsplit("/", 1)[1]
    await tv.wait_for_url(f"{two}/party/{party}")
    for page in (phone, tv):
        await until(page, f"window.__party && {VIDEO}?.readyState >= 2")
    # The TV, once ready, loads again (its party client reports it, as its own stall would:
    # the 20 s film is all in its buffer, so no real stall can be made here). A play then
    # waits for me, and the phone says it is my TV that loads.
    mine = await phone.evaluate("window.__party.client.state.members[0].user_id")
    await until(tv, "window.__party.client._ready === true")
    await tv.evaluate("window.__party.client._report(false)")
    await until(phone, "window.__party.client.state.members[0].ready === false")
    await phone.get_by_role("button", name="Play", exact=True).click()
    note = phone.locator(".party-waiting")
    await expect(note).to_contain_text("Waiting for your other screen (TV · Chrome) to load")
    assert await phone.evaluate("window.__party.client.state.waiting_for") == [mine]
    await tv.evaluate("window.__party.client._report(true)")
    for page in (phone, tv):
        await until(page, f"!{VIDEO}.paused && {VIDEO}.currentTime > 1")
    await phone.wait_for_timeout(1500)  # the party's drift correction settles
    film_vs_clock = f"{VIDEO}.currentTime * 1000 - performance.timeOrigin - performance.now()"
    gaps = []
    for _ in range(3):
        gaps.append(await phone.evaluate(film_vs_clock) - await tv.evaluate(film_vs_clock))
        await phone.wait_for_timeout(200)
    assert sorted(abs(g) for g in gaps)[1] < 150, gaps
    assert await problems(phone) == [] and await problems(tv) == []
