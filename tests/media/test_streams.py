"""Screens at once (MAX_STREAMS): places taken by playback and kept by heartbeats, in Redis
across processes; the one too many gets 409 with the screens playing; a screen stopped from
another device is told over its sockets and stays stopped."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest

from models.catalog.tables import Title
from models.core.context import Context
from models.core.db import transaction
from models.media.service import Target
from models.media.streams import Playing, Streams
from models.media.tables import MediaAsset, MediaStatus
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Account, login, make_title, make_user
from tests.realtime_client import connected


async def _playable(ctx: Context, name: str = "Stream test") -> int:
    """A film with a published revision (the URLs are signed, never fetched here)."""
    title = await make_title(ctx, f"{name} {uuid.uuid4().hex[:6]}")
    async with transaction(ctx.sessions) as session:
        session.add(
            MediaAsset(
                title_id=title.id,
                status=MediaStatus.ready,
                source_path="/nowhere",
                source_name="film.mp4",
                source_size=1,
                job_token="t",
                revision="r1",
                duration_ms=60_000,
            )
        )
    return title.id


async def _screens(client: httpx.AsyncClient, ctx: Context, n: int) -> list[Account]:
    """One account signed in on n devices (one session each)."""
    user = await make_user(ctx)
    out = []
    for i in range(n):
        tokens = await login(client, user.email, **{"User-Agent": f"Device {i}"})
        out.append(Account(user, PASSWORD, tokens["access_token"], tokens["refresh_token"]))
    return out


async def test_the_screen_past_max_streams_gets_409_with_the_screens_playing(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    assert ctx.settings.max_streams == 4
    film = await _playable(ctx, "Heat")
    screens = await _screens(client, ctx, 5)
    for i, s in enumerate(screens[:4]):
        r = await client.get(f"/api/v1/titles/{film}/playback", headers=s.headers)
        assert r.status_code == 200, (i, r.text)
    # asking again from a screen that plays (the next film, a fresh URL) takes no new place
    again = await client.get(
        f"/api/v1/titles/{film}/playback?device_name=Kitchen", headers=screens[0].headers
    )
    assert again.status_code == 200

    r = await client.get(f"/api/v1/titles/{film}/playback", headers=screens[4].headers)
    assert r.status_code == 409, r.text
    error = r.json()["error"]
    assert error["code"] == "too_many_streams"
    assert error["details"]["max_streams"] == 4
    playing = error["details"]["streams"]
    assert [p["device_name"] for p in playing] == ["Kitchen", "Device 1", "Device 2", "Device 3"]
    assert {p["title"] for p in playing} == {(await _title(ctx, film)).title}
    assert all(p["title_id"] == film and p["since"] and not p["current"] for p in playing)

    listed = (await client.get("/api/v1/me/streams", headers=screens[1].headers)).json()
    assert [s["id"] for s in listed] == [p["id"] for p in playing]
    assert [s["current"] for s in listed] == [False, True, False, False]

    # stop the kitchen screen from the fifth device; the fifth now plays
    kitchen = playing[0]["id"]
    r = await client.delete(f"/api/v1/me/streams/{kitchen}", headers=screens[4].headers)
    assert r.status_code == 204
    r = await client.delete(f"/api/v1/me/streams/{kitchen}", headers=screens[4].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "stream_not_found"
    r = await client.get(f"/api/v1/titles/{film}/playback", headers=screens[4].headers)
    assert r.status_code == 200, r.text
    # the stopped screen's heartbeats are refused: it cannot quietly take a place back
    beat = {"title_id": film, "position_ms": 5000}
    r = await client.post("/api/v1/me/history/progress", json=beat, headers=screens[0].headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "stream_stopped"
    # a playing screen's heartbeat keeps its place
    r = await client.post("/api/v1/me/history/progress", json=beat, headers=screens[1].headers)
    assert r.status_code == 200, r.text
    # pressing play again on the stopped screen asks for a place like any other: full
    r = await client.get(f"/api/v1/titles/{film}/playback", headers=screens[0].headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "too_many_streams"

    # someone else's screen is not mine to stop
    stranger = (await _screens(client, ctx, 1))[0]
    r = await client.delete(f"/api/v1/me/streams/{playing[1]['id']}", headers=stranger.headers)
    assert r.status_code == 404


async def _title(ctx: Context, title_id: int) -> Title:
    async with ctx.sessions() as session:
        title = await session.get(Title, title_id)
        assert title is not None
        return title


async def test_a_place_lapses_when_heartbeats_stop(ctx: Context) -> None:
    streams = Streams(ctx)
    user = uuid.uuid4()
    playing = Playing(1, None, "Heat", "TV")

    async def take(session: str, mode: str = "play") -> int:
        outcome, _ = await streams.take(
            user_id=user,
            session_id=session,
            playing=playing,
            mode=mode,
            now=_now(),
            ttl_ms=400,
            limit=2,
        )
        return outcome

    assert await take("a") == 1 and await take("b") == 1
    outcome, full = await streams.take(
        user_id=user, session_id="c", playing=playing, mode="play", now=_now(), ttl_ms=400, limit=2
    )
    assert outcome == 0 and sorted(full) == ["a", "b"]
    await asyncio.sleep(0.25)
    assert await take("a", "beat") == 1  # a heartbeat keeps a's place
    await asyncio.sleep(0.25)  # b sent none: lapsed
    assert await take("c") == 1
    assert await take("b", "beat") == 0  # a lapsed screen's heartbeat finds it full
    assert sorted(s for s, _ in await streams.list(user, now=_now())) == ["a", "c"]


def _now() -> int:
    from models.core.clock import now_ms

    return now_ms()


def test_a_screen_is_named_for_what_it_plays() -> None:
    from models.catalog.tables import Episode, Season, TitleKind

    series = Title(id=7, kind=TitleKind.series, title="Dark")
    episode = Episode(id=70, number=3, title="Past and Present")
    target = Target(title=series, episode=episode, season=Season(id=1, number=1))
    assert Playing.of(target, device_name="TV") == Playing(7, 70, "Dark: S1E3", "TV")


@pytest.mark.slow
async def test_screens_count_across_processes_and_a_stopped_player_is_told(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    a, b = two_servers
    film = await _playable(ctx, "Ran")
    user = await make_user(ctx)
    screens = []
    for i in range(5):
        async with httpx.AsyncClient(base_url=(a, b)[i % 2].url) as web:
            tokens = await login(web, user.email, **{"User-Agent": f"Screen {i}"})
        screens.append(Account(user, PASSWORD, tokens["access_token"], tokens["refresh_token"]))

    async with (
        httpx.AsyncClient(base_url=a.url) as on_a,
        httpx.AsyncClient(base_url=b.url) as on_b,
        connected(b.url, screens[0].access_token) as player0,
        connected(a.url, screens[1].access_token) as player1,
    ):
        for i, s in enumerate(screens[:4]):
            web = on_a if i % 2 else on_b
            r = await web.get(f"/api/v1/titles/{film}/playback", headers=s.headers)
            assert r.status_code == 200, r.text
        # a heartbeat over the socket keeps a place too
        ack = await player1.call("history:heartbeat", {"title_id": film, "position_ms": 1000})
        assert ack["ok"] is True, ack
        r = await on_a.get(f"/api/v1/titles/{film}/playback", headers=screens[4].headers)
        assert r.status_code == 409
        names = [s["device_name"] for s in r.json()["error"]["details"]["streams"]]
        assert sorted(names) == ["Screen 0", "Screen 1", "Screen 2", "Screen 3"]

        # screen 0 plays through server B; its owner stops it from server A
        stream0 = next(
            s["id"]
            for s in r.json()["error"]["details"]["streams"]
            if s["device_name"] == "Screen 0"
        )
        r = await on_a.delete(f"/api/v1/me/streams/{stream0}", headers=screens[4].headers)
        assert r.status_code == 204
        (stopped,) = await player0.wait_event("playback:stopped")
        assert stopped == {"stream_id": stream0, "reason": "stopped_remotely"}
        ack = await player0.call("history:heartbeat", {"title_id": film, "position_ms": 9000})
        assert ack["ok"] is False and ack["error"]["code"] == "stream_stopped"
        r = await on_b.get(f"/api/v1/titles/{film}/playback", headers=screens[4].headers)
        assert r.status_code == 200, r.text
        await asyncio.sleep(0.3)
        assert "playback:stopped" not in player1.events, "only the stopped screen is told"
