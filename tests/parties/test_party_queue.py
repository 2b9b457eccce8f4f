"""The party queue and catch-up over real sockets, members spread over two server processes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from cinema.ports import free_port
from models.catalog.tables import Episode, Season, Title, TitleKind
from models.core.context import Context
from models.core.db import transaction
from models.core.settings import Settings
from models.social.lists.tables import Playlist, PlaylistItem
from tests.conftest import LiveServer
from tests.factories import make_title
from tests.parties.conftest import PARTY_ENV, Members, err, ok, uid
from tests.realtime_client import Recorder

pytestmark = pytest.mark.slow  # every test here starts server processes

Servers = tuple[LiveServer, LiveServer]


async def _newest(
    rec: Recorder, until: Any, timeout: float = 8, what: str = "party:state"
) -> dict[str, Any]:
    """The newest party:state once one satisfies `until`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = rec.events[what]
        if states:
            newest: dict[str, Any] = max(states, key=lambda s: s["version"])
            if until(newest):
                return newest
        await asyncio.sleep(0.01)
    raise AssertionError(f"no matching {what}; last: {rec.events[what][-3:]}")


async def _playlist(ctx: Context, owner: str, title_ids: list[int]) -> int:
    async with transaction(ctx.sessions) as session:
        pl = Playlist(owner_id=owner, name="Friday", item_count=len(title_ids))
        session.add(pl)
        await session.flush()
        for i, tid in enumerate(title_ids):
            session.add(PlaylistItem(playlist_id=pl.id, title_id=tid, position=i))
        return pl.id


async def _series(ctx: Context) -> list[int]:
    """A two-season series of one-minute episodes: S1E1, S1E2, S2E1 ids in order."""
    async with transaction(ctx.sessions) as session:
        title = Title(kind=TitleKind.series, title="Queue Series")
        session.add(title)
        await session.flush()
        ids = []
        for season_no, count in ((2, 1), (1, 2)):  # inserted out of order on purpose
            season = Season(title_id=title.id, number=season_no)
            session.add(season)
            await session.flush()
            for n in range(count, 0, -1):
                ep = Episode(season_id=season.id, number=n, title=f"S{season_no}E{n}")
                ep.runtime_minutes = 1
                session.add(ep)
                await session.flush()
                ids.append((season_no, n, ep.id))
        return [i for _, _, i in sorted(ids)]


async def test_queue_proposals_order_and_advance_together(
    party_servers: Servers, members: Members, ctx: Context
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    guest = await members.connect(b)
    short = (await make_title(ctx, "Short One", runtime_minutes=1)).id
    films = [(await make_title(ctx, f"Queued {i}", runtime_minutes=90)).id for i in range(2)]
    playlist = await _playlist(ctx, uid(host), films)
    created = await ok(host, "party:create", {"title_id": short})
    party_id = created["party_id"]
    assert created["state"]["media"]["duration_ms"] == 60_000  # the catalog's runtime
    await ok(guest, "party:join", {"invite_code": created["invite_code"]})

    # The host appends a playlist at once: accepted, in the playlist's order.
    added = await ok(host, "party:queue_add", {"party_id": party_id, "playlist_id": playlist})
    assert [q["media"]["id"] for q in added["queue"]] == films
    assert all(q["accepted"] for q in added["queue"]) and added["up_next"]["id"] == films[0]
    seen = await _newest(guest, lambda s: s.get("queue") is not None)
    assert [q["id"] for q in seen["queue"]] == [q["id"] for q in added["queue"]]

    # A member proposes; the proposal waits for the host, who accepts it and moves it first.
    proposed = await ok(
        guest, "party:queue_add", {"party_id": party_id, "items": [{"title_id": short}]}
    )
    mine = proposed["queue"][-1]
    assert mine["accepted"] is False and mine["added_by"] == uid(guest)
    first = added["queue"][0]["id"]
    assert await err(guest, "party:queue_remove", {"party_id": party_id, "item_id": first}) == (
        "forbidden"
    )
    assert await err(
        guest, "party:queue_accept", {"party_id": party_id, "item_id": mine["id"]}
    ) == ("forbidden")
    await ok(host, "party:queue_accept", {"party_id": party_id, "item_id": mine["id"]})
    moved = await ok(
        host, "party:queue_move", {"party_id": party_id, "item_id": mine["id"], "index": 0}
    )
    assert moved["queue"][0]["id"] == mine["id"]
    removed = await ok(host, "party:queue_remove", {"party_id": party_id, "item_id": first})
    assert [q["media"]["id"] for q in removed["queue"]] == [short, films[1]]

    # Bad input: an error ack, the socket lives.
    assert await err(host, "party:queue_add", {"party_id": party_id}) == "invalid_payload"
    assert await err(host, "party:queue_add", {"party_id": party_id, "items": []}) == (
        "invalid_payload"
    )
    assert await err(
        host, "party:queue_add", {"party_id": party_id, "items": [{"title_id": 10**12}]}
    ) == ("title_not_found")
    assert await err(
        host, "party:queue_move", {"party_id": party_id, "item_id": 999, "index": 0}
    ) == ("queue_item_not_found")
    assert await err(host, "party:queue_add", {"party_id": party_id, "playlist_id": 10**12}) == (
        "playlist_not_found"
    )

    # Near the end, play: when it ends, both move to the next item at once, load it, and it
    # starts for both at one scheduled instant.
    for rec in (host, guest):
        await ok(rec, "party:ready", {"party_id": party_id, "rtt_ms": 20})
    await ok(host, "party:seek", {"party_id": party_id, "position_ms": 59_400})
    played = await ok(host, "party:play", {"party_id": party_id})
    assert played["ends_at_ms"] == played["anchor_server_ms"] + 600
    switched = [
        await _newest(rec, lambda s: s["media"]["id"] == short and s["cause"] == "tick")
        for rec in (host, guest)
    ]
    for s in switched:
        assert s["phase"] == "waiting" and s["position_ms"] == 0
        assert sorted(s["waiting_for"]) == sorted([uid(host), uid(guest)])
        assert [q["media"]["id"] for q in s["queue"]] == [films[1]]
        assert s["server_ms"] >= played["ends_at_ms"]
    await ok(host, "party:ready", {"party_id": party_id})
    started = await ok(guest, "party:ready", {"party_id": party_id})
    assert started["phase"] == "playing" and started["anchor_server_ms"] > started["server_ms"]
    for rec in (host, guest):
        s = await _newest(rec, lambda s: s["version"] >= started["version"])
        assert s["anchor_server_ms"] == started["anchor_server_ms"]

    # The same over HTTP.
    r = await members.client.post(
        f"/api/v1/parties/{party_id}/commands",
        json={"type": "queue_move", "item_id": 999, "index": 0},
        headers={"Authorization": f"Bearer {host.account.access_token}"},  # type: ignore[attr-defined]
    )
    assert r.status_code == 404 and r.json()["error"]["code"] == "queue_item_not_found"
    r = await members.client.post(
        f"/api/v1/parties/{party_id}/queue",
        json={"items": [{"title_id": films[0]}]},
        headers={"Authorization": f"Bearer {guest.account.access_token}"},  # type: ignore[attr-defined]
    )
    assert r.status_code == 200, r.text
    assert r.json()["queue"][-1]["accepted"] is False


async def test_series_go_on_and_the_queue_outlives_its_host_and_server(
    party_servers: Servers, members: Members, ctx: Context, settings: Settings
) -> None:
    _, b = party_servers
    episodes = await _series(ctx)
    own = LiveServer(settings, free_port(), PARTY_ENV)  # to crash and restart
    try:
        own.wait_ready()
        host = await members.connect(own)
        guest = await members.connect(b)
        created = await ok(host, "party:create", {"episode_id": episodes[0]})
        party_id = created["party_id"]
        assert created["state"]["up_next"]["id"] == episodes[1]  # the next episode by default
        await ok(guest, "party:join", {"invite_code": created["invite_code"]})
        film = (await make_title(ctx, "After the series", runtime_minutes=100)).id
        await ok(host, "party:queue_add", {"party_id": party_id, "items": [{"title_id": film}]})
        # A queued item comes before the series' next episode; autoplay off leaves only it.
        await ok(host, "party:autoplay", {"party_id": party_id, "enabled": False})
        nxt = await ok(host, "party:next", {"party_id": party_id})
        assert nxt["media"]["id"] == film and nxt["queue"] == [] and nxt["up_next"] is None
        assert await err(host, "party:next", {"party_id": party_id}) == "queue_empty"
        await ok(host, "party:autoplay", {"party_id": party_id, "enabled": True})
        back = await ok(
            host, "party:queue_add", {"party_id": party_id, "items": [{"episode_id": episodes[1]}]}
        )
        await ok(host, "party:next", {"party_id": party_id})
        # On S1E2 the server looks up what follows: S2E1 (the next season).
        on_ep2 = await _newest(
            guest,
            lambda s: (
                s["media"]["id"] == episodes[1]
                and (s.get("up_next") or {}).get("id") == episodes[2]
            ),
        )
        assert on_ep2["autoplay"] is True
        await ok(host, "party:queue_add", {"party_id": party_id, "items": [{"title_id": film}]})

        # The host's server dies: past the grace the guest is host, with the queue intact.
        own.crash()
        handed = await _newest(guest, lambda s: s["host_id"] == uid(guest), timeout=20)
        assert handed["version"] > back["version"]
        snap = await ok(guest, "party:snapshot", {"party_id": party_id})
        state = await ok(guest, "party:join", {"party_id": party_id})
        assert [q["media"]["id"] for q in state["state"]["queue"]] == [film]
        assert snap["host_id"] == uid(guest)
        # Restarted, the process serves the same party: it lives in Redis, not in a process.
        own.restart()
        own.wait_ready()
        again = await members.connect(own, host.account)  # type: ignore[attr-defined]
        rejoined = await ok(again, "party:join", {"party_id": party_id})
        assert [q["media"]["id"] for q in rejoined["state"]["queue"]] == [film]
        assert rejoined["state"]["up_next"]["id"] == film
        item = rejoined["state"]["queue"][0]["id"]
        # The new host orders the queue; the old one, now a member, may not.
        move = {"party_id": party_id, "item_id": item, "index": 0}
        assert await err(again, "party:queue_move", move) == "forbidden"
        await ok(guest, "party:queue_move", move)
        emptied = await ok(guest, "party:queue_remove", {"party_id": party_id, "item_id": item})
        assert emptied["queue"] == [] and emptied["up_next"]["id"] == episodes[2]
    finally:
        own.stop()


async def test_catch_up_moves_only_the_member_behind(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    late = await members.connect(b)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]
    await ok(host, "party:ready", {"party_id": party_id, "rtt_ms": 10})
    await ok(host, "party:seek", {"party_id": party_id, "position_ms": 600_000})
    played = await ok(host, "party:play", {"party_id": party_id})
    snap = await ok(late, "party:join", {"invite_code": created["invite_code"], "rtt_ms": 10})
    await ok(late, "party:ready", {"party_id": party_id, "rtt_ms": 10})
    await asyncio.sleep(max(0, (played["anchor_server_ms"] - time.time() * 1000) / 1000) + 0.1)

    # The late member stalled 4 s behind the party (same machine: our clock is the server's).
    at = int(time.time() * 1000)
    party_now = played["position_ms"] + (at - played["anchor_server_ms"])
    ack = await ok(
        late,
        "party:catch_up",
        {"party_id": party_id, "position_ms": party_now - 4_000, "at_server_ms": at, "rate": 0},
    )
    plan = ack["plan"]
    assert plan["mode"] == "rate" and 1.0 < plan["rate"] <= 1.25
    assert plan["from_position_ms"] == party_now - 4_000
    span = plan["until_server_ms"] - plan["start_server_ms"]
    reached = plan["from_position_ms"] + span * plan["rate"]
    party_then = played["position_ms"] + (plan["until_server_ms"] - played["anchor_server_ms"])
    assert abs(reached - party_then) <= 1 and plan["rejoin_position_ms"] == round(party_then)
    assert span == pytest.approx((4_000 + plan["start_server_ms"] - at) / 0.25, abs=2)
    # Nobody else moved: the party's timeline is the same; the member is not waited for.
    state = ack["state"]
    assert state["anchor_server_ms"] == played["anchor_server_ms"] and state["phase"] == "playing"
    seen = await _newest(host, lambda s: s["cause"] == "catch_up")
    me = next(m for m in seen["members"] if m["user_id"] == uid(late))
    assert me["catching_up"] is True and me["catch_up_until_ms"] == plan["until_server_ms"]
    # Stalling while catching up stops nobody.
    stalled = await ok(late, "party:buffering", {"party_id": party_id})
    assert stalled["phase"] == "playing"
    # Back on the timeline, the member says ready.
    done = await ok(late, "party:ready", {"party_id": party_id})
    assert done["anchor_server_ms"] == played["anchor_server_ms"]

    # Bad input: error acks.
    assert await err(
        late,
        "party:catch_up",
        {"party_id": party_id, "position_ms": 0, "at_server_ms": at - 3_600_000},
    ) == ("clock_unsynced")
    assert await err(late, "party:catch_up", {"party_id": party_id, "position_ms": -5}) == (
        "invalid_payload"
    )
    assert snap["state"]["party_id"] == party_id
