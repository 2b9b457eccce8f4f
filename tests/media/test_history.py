"""Viewing history: heartbeats, 90 % watched, resume, continue watching, next episode."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.media.history import HEARTBEATS, check_heartbeat_rate
from models.media.state import (
    Heartbeat,
    IllegalHeartbeat,
    Progress,
    ProgressSaved,
    Watched,
    apply,
    decide,
)
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.media.helpers import make_film, make_series
from tests.realtime_client import connected

MIN = 60_000
DONE = Progress(95_000, 100_000, True, 1, 1, 3)
REWATCH = Progress(1_000, 100_000, False, 1, 1, 3)


async def _beat(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/v1/me/history/progress", json=body, headers=headers)


@pytest.mark.parametrize(
    ("before", "beat", "completed", "watched_at", "events"),
    [
        (None, Heartbeat(10_000, 100_000), False, None, [ProgressSaved]),
        (None, Heartbeat(90_000, 100_000), True, 5, [ProgressSaved, Watched]),
        (DONE, Heartbeat(99_000, None), True, 1, [ProgressSaved]),
        (DONE, Heartbeat(1_000, None), False, 1, [ProgressSaved]),  # rewatch: still watched
        (REWATCH, Heartbeat(92_000, None), True, 1, [ProgressSaved, Watched]),
        (None, Heartbeat(104_000, 100_000), True, 5, [ProgressSaved, Watched]),  # clamped
        (None, Heartbeat(50_000, None), False, None, [ProgressSaved]),  # duration unknown
    ],
)  # fmt: skip
def test_decide_table(
    before: Progress | None,
    beat: Heartbeat,
    completed: bool,
    watched_at: int | None,
    events: list[type],
) -> None:
    after, emitted = decide(before, beat, now_ms=5)
    assert after.completed is completed and after.watched_at_ms == watched_at
    assert [type(e) for e in emitted] == events
    assert after.version == (before.version if before else 0) + 1
    assert after.position_ms <= (after.duration_ms or after.position_ms)
    rebuilt = before
    for e in emitted:
        rebuilt = apply(rebuilt, e, 5)
    assert rebuilt == after


@pytest.mark.parametrize(
    "beat", [Heartbeat(-1, 100_000), Heartbeat(106_000, 100_000), Heartbeat(0, 0)]
)
def test_decide_refuses(beat: Heartbeat) -> None:
    with pytest.raises(IllegalHeartbeat):
        decide(None, beat, now_ms=1)


async def test_film_progress_resume_watched_and_continue(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    other = await make_account(ctx, client)
    film = await make_film(ctx, runtime_minutes=100)  # no video yet: the catalog runtime counts

    r = await _beat(client, me.headers, title_id=film, position_ms=10 * MIN)
    assert r.status_code == 200, r.text
    entry = r.json()
    assert entry["duration_ms"] == 100 * MIN and not entry["completed"] and not entry["watched"]
    assert entry["resume_position_ms"] == 10 * MIN and entry["title"] == "Test Film"
    r = await client.get(f"/api/v1/titles/{film}/resume", headers=me.headers)
    assert r.json() == {"title_id": film, "episode_id": None, "position_ms": 10 * MIN}
    row = (await client.get("/api/v1/me/continue-watching", headers=me.headers)).json()["items"]
    assert [(i["title_id"], i["reason"], i["position_ms"]) for i in row] == [
        (film, "resume", 10 * MIN)
    ]
    # Somebody else's history is theirs.
    assert (await client.get("/api/v1/me/history", headers=other.headers)).json()["items"] == []

    r = await _beat(client, me.headers, title_id=film, position_ms=90 * MIN)
    assert r.json()["completed"] and r.json()["watched"] and r.json()["resume_position_ms"] == 0
    r = await client.get(f"/api/v1/titles/{film}/resume", headers=me.headers)
    assert r.json()["position_ms"] == 0
    row = (await client.get("/api/v1/me/continue-watching", headers=me.headers)).json()["items"]
    assert row == []
    # Watching it again keeps "watched" but puts it back in the row.
    r = await _beat(client, me.headers, title_id=film, position_ms=3 * MIN)
    assert r.json()["watched"] and not r.json()["completed"]
    row = (await client.get("/api/v1/me/continue-watching", headers=me.headers)).json()["items"]
    assert [i["title_id"] for i in row] == [film]

    # Heartbeats are bounded per user.
    for _ in range(HEARTBEATS.limit):
        await check_heartbeat_rate(ctx, user_id=other.id)
    r = await _beat(client, other.headers, title_id=film, position_ms=1)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1

    r = await _beat(client, me.headers, title_id=film, position_ms=200 * MIN)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_heartbeat"
    r = await _beat(client, me.headers, title_id=film, episode_id=1, position_ms=1)
    assert r.status_code == 422
    r = await _beat(client, me.headers, title_id=999_999_999, position_ms=1)
    assert r.status_code == 404
    assert (await _beat(client, {}, title_id=film, position_ms=1)).status_code == 401


async def test_series_next_episode_resume_and_continue(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    series, (s1, s2) = await make_series(ctx, episodes_per_season=(2, 2), runtime_minutes=40)

    r = await client.get(f"/api/v1/titles/{series}/resume", headers=me.headers)
    assert r.json() == {"title_id": series, "episode_id": s1[0], "position_ms": 0}
    r = await client.get(f"/api/v1/episodes/{s1[0]}/next", headers=me.headers)
    assert r.json()["next"]["episode_id"] == s1[1]
    r = await client.get(f"/api/v1/episodes/{s1[1]}/next", headers=me.headers)
    assert r.json()["next"] == {
        "episode_id": s2[0],
        "season_number": 2,
        "episode_number": 1,
        "title": "S2E1",
    }
    r = await client.get(f"/api/v1/episodes/{s2[1]}/next", headers=me.headers)
    assert r.json()["next"] is None

    await _beat(client, me.headers, episode_id=s1[0], position_ms=5 * MIN)
    r = await client.get(f"/api/v1/titles/{series}/resume", headers=me.headers)
    assert r.json() == {"title_id": series, "episode_id": s1[0], "position_ms": 5 * MIN}

    # Finishing S1E2 (at 90 %) makes the next season's first episode the next thing to watch.
    r = await _beat(client, me.headers, episode_id=s1[1], position_ms=37 * MIN)
    assert r.json()["completed"] and r.json()["season_number"] == 1
    row = (await client.get("/api/v1/me/continue-watching", headers=me.headers)).json()["items"]
    assert [(i["reason"], i["episode_id"], i["position_ms"]) for i in row] == [
        ("next_episode", s2[0], 0)
    ]
    r = await client.get(f"/api/v1/titles/{series}/resume", headers=me.headers)
    assert r.json() == {"title_id": series, "episode_id": s2[0], "position_ms": 0}

    # The finale finished: nothing left to continue.
    await _beat(client, me.headers, episode_id=s2[1], position_ms=40 * MIN)
    row = (await client.get("/api/v1/me/continue-watching", headers=me.headers)).json()["items"]
    assert row == []

    # History: newest first, paged by cursor; entries and whole titles can be removed.
    page1 = (await client.get("/api/v1/me/history?limit=2", headers=me.headers)).json()
    assert [e["episode_id"] for e in page1["items"]] == [s2[1], s1[1]]
    assert page1["next_cursor"]
    page2 = await client.get(
        "/api/v1/me/history",
        params={"limit": 2, "cursor": page1["next_cursor"]},
        headers=me.headers,
    )
    assert [e["episode_id"] for e in page2.json()["items"]] == [s1[0]]
    assert page2.json()["next_cursor"] is None
    bad = await client.get("/api/v1/me/history?cursor=nonsense", headers=me.headers)
    assert bad.status_code == 404 and bad.json()["error"]["code"] == "invalid_cursor"

    entry = page1["items"][0]["id"]
    other = await make_account(ctx, client)
    r = await client.delete(f"/api/v1/me/history/{entry}", headers=other.headers)
    assert r.status_code == 404
    assert (
        await client.delete(f"/api/v1/me/history/{entry}", headers=me.headers)
    ).status_code == 204
    left = (await client.get("/api/v1/me/history", headers=me.headers)).json()["items"]
    assert [e["episode_id"] for e in left] == [s1[1], s1[0]]
    r = await client.delete(f"/api/v1/me/history/titles/{series}", headers=me.headers)
    assert r.status_code == 204
    assert (await client.get("/api/v1/me/history", headers=me.headers)).json()["items"] == []


@pytest.mark.slow
async def test_socket_heartbeats_reach_other_devices_on_other_servers(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer], worker: Any
) -> None:
    a, b = two_servers
    film = await make_film(ctx, runtime_minutes=100)
    async with httpx.AsyncClient(base_url=a.url) as http:
        me = await make_account(ctx, http)
    async with connected(a.url, me.access_token) as tv, connected(b.url, me.access_token) as phone:
        ack = await tv.call("history:heartbeat", {"title_id": film, "position_ms": 60_000})
        assert ack["ok"], ack
        assert ack["data"]["position_ms"] == 60_000 and ack["data"]["version"] == 1
        pushed = await phone.wait_event("history:progress")
        assert pushed[0]["entry"]["position_ms"] == 60_000
        assert pushed[0]["entry"]["id"] == ack["data"]["id"]
        bad = await tv.call("history:heartbeat", {"title_id": film, "position_ms": -5})
        assert not bad["ok"] and bad["error"]["code"] == "invalid_payload"
        bad = await tv.call("history:heartbeat", {"position_ms": 5})
        assert not bad["ok"]
