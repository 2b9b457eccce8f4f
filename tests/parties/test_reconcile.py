"""Members of a crashed server process: found by their dead socket heartbeats, disconnected.

The in-process tests drive `do_reconcile` against real Redis with socket heartbeats written
by hand; the crash tests SIGKILL a real `cinema serve` process and watch from the other one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import pytest

from cinema.context import build_context, close_context
from cinema.ports import free_port
from models.core.clock import now_ms
from models.core.context import Context
from models.core.settings import Settings
from models.parties import reconcile, service
from models.parties.live import SocketGuard
from models.parties.state import (
    Disconnect,
    End,
    Join,
    Kick,
    Leave,
    Media,
    Reconnect,
    new_party,
)
from tests.conftest import LiveServer
from tests.parties.conftest import GRACE_S, PARTY_ENV, Members, ok, uid
from tests.realtime_client import Recorder

# --- in process: the pass itself ----------------------------------------------------------------


async def _party(ctx: Context, host: str, *others: str) -> str:
    live = service.runtime(ctx).live
    party_id = str(uuid.uuid4())
    await live.create(
        new_party(party_id=party_id, host_id=host, media=Media("title", 1), now_ms=now_ms())
    )
    for user in others:
        await live.apply(party_id, Join(user))
    return party_id


async def _socket(ctx: Context, party_id: str, user: str, *, alive: bool) -> str:
    """A socket of `user` in the party, heartbeating now or last seen before the stale mark."""
    sid = uuid.uuid4().hex
    beat = now_ms() if alive else now_ms() - ctx.settings.socket_stale_ms - 1000
    await ctx.redis.sadd(service.runtime(ctx).live.sockets_key(party_id, user), sid)
    await ctx.redis.zadd(ctx.keys("sio", "user", user), {sid: beat})
    return sid


def _users(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


async def test_reconcile_disconnects_only_members_without_a_live_socket(ctx: Context) -> None:
    live = service.runtime(ctx).live
    host, tabs, gone, away = _users(4)
    party_id = await _party(ctx, host, tabs, gone, away)
    await _socket(ctx, party_id, host, alive=False)
    dead_tab = await _socket(ctx, party_id, tabs, alive=False)
    live_tab = await _socket(ctx, party_id, tabs, alive=True)
    await _socket(ctx, party_id, gone, alive=False)
    await _socket(ctx, party_id, gone, alive=False)
    await live.apply(party_id, Disconnect(away))  # already disconnected the normal way
    before = await live.get(party_id)

    # Several passes at once (the servers of this test run may make one too): each member is
    # disconnected once, one version each. (The passes' counts also take in parties of earlier
    # tests whose members went stale meanwhile, so only this party's versions tell.)
    await asyncio.gather(*(reconcile.do_reconcile(ctx) for _ in range(3)))
    after = await live.get(party_id)
    assert after.version == before.version + 2
    connected = {m.user_id: m.connected for m in after.members}
    assert connected == {host: False, tabs: True, gone: False, away: False}
    # Dead sockets are gone from the members' sets; the live tab is kept.
    assert await ctx.redis.smembers(live.sockets_key(party_id, tabs)) == {live_tab}
    assert dead_tab not in await ctx.redis.smembers(live.sockets_key(party_id, tabs))
    assert not await ctx.redis.exists(live.sockets_key(party_id, gone))
    # Again: nothing to do.
    await reconcile.do_reconcile(ctx)
    assert (await live.get(party_id)).version == after.version
    assert party_id in await live.connected(limit=10_000)

    # The last live tab dies too: the party has nobody connected and leaves the index.
    await ctx.redis.zadd(ctx.keys("sio", "user", tabs), {live_tab: 1})
    await reconcile.do_reconcile(ctx)
    assert not any(m.connected for m in (await live.get(party_id)).members)
    assert party_id not in await live.connected(limit=10_000)


async def test_a_socket_entering_wins_over_a_disconnect(ctx: Context) -> None:
    live = service.runtime(ctx).live
    host, guest = _users(2)
    party_id = await _party(ctx, host, guest)
    dead = await _socket(ctx, party_id, guest, alive=False)
    fresh = await _socket(ctx, party_id, guest, alive=True)
    # The guarded write takes the dead socket out, sees the fresh one and writes nothing.
    guard = SocketGuard(live.sockets_key(party_id, guest), (dead,))
    outcome = await live.apply(party_id, Disconnect(guest), guard=guard)
    assert not outcome.changed
    assert (await live.get(party_id)).member(guest).connected  # type: ignore[union-attr]
    assert await ctx.redis.smembers(live.sockets_key(party_id, guest)) == {fresh}
    # Without it, the same Disconnect goes through.
    await ctx.redis.srem(live.sockets_key(party_id, guest), fresh)
    await live.apply(party_id, Disconnect(guest), guard=guard)
    assert not (await live.get(party_id)).member(guest).connected  # type: ignore[union-attr]


async def test_a_socket_heartbeating_again_wins_over_a_disconnect(ctx: Context) -> None:
    """The pass read a stale heartbeat, then the stalled process came back before the write."""
    live = service.runtime(ctx).live
    host, guest = _users(2)
    party_id = await _party(ctx, host, guest)
    floor = now_ms() - ctx.settings.socket_stale_ms
    sid = await _socket(ctx, party_id, guest, alive=True)  # heartbeated after the read
    outcome = await service.do_disconnect(
        ctx, party_id=party_id, user_id=guest, dead=[sid], floor_ms=floor
    )
    assert not outcome.changed
    assert await ctx.redis.smembers(live.sockets_key(party_id, guest)) == {sid}
    assert (await live.get(party_id)).member(guest).connected  # type: ignore[union-attr]


async def _falsely_disconnected(ctx: Context, *others: str) -> tuple[str, str, str]:
    """A party whose guest was disconnected by a pass while its process stalled: returns the
    party, the guest and the guest's socket, whose heartbeat is fresh again."""
    live = service.runtime(ctx).live
    host, guest = _users(2)
    party_id = await _party(ctx, host, guest, *others)
    await _socket(ctx, party_id, host, alive=True)
    sid = await _socket(ctx, party_id, guest, alive=False)
    assert await reconcile.do_reconcile(ctx) >= 1
    assert not (await live.get(party_id)).member(guest).connected  # type: ignore[union-attr]
    assert not await ctx.redis.exists(live.sockets_key(party_id, guest))
    await ctx.redis.zadd(live.beats_key(guest), {sid: now_ms()})  # the process heartbeats again
    return party_id, guest, sid


async def test_a_stalled_member_is_put_back(ctx: Context) -> None:
    live = service.runtime(ctx).live
    party_id, guest, sid = await _falsely_disconnected(ctx)
    before = await live.get(party_id)
    assert await service.do_resume(ctx, party_id=party_id, user_id=guest, sid=sid)
    after = await live.get(party_id)
    assert after.version == before.version + 1
    was = before.member(guest)
    assert was is not None
    assert after.member(guest) == replace(
        was, connected=True, disconnected_at_ms=None, changed_version=after.version
    )
    assert await ctx.redis.smembers(live.sockets_key(party_id, guest)) == {sid}
    # The next passes leave the member alone; putting back again changes nothing.
    await reconcile.do_reconcile(ctx)
    assert await service.do_resume(ctx, party_id=party_id, user_id=guest, sid=sid)
    assert (await live.get(party_id)).version == after.version


async def test_a_closing_socket_is_not_put_back(ctx: Context) -> None:
    live = service.runtime(ctx).live
    party_id, guest, sid = await _falsely_disconnected(ctx)
    await ctx.redis.zrem(live.beats_key(guest), sid)  # closed: it left the heartbeats first
    before = await live.get(party_id)
    assert await service.do_resume(ctx, party_id=party_id, user_id=guest, sid=sid)
    assert (await live.get(party_id)).version == before.version
    assert not await ctx.redis.exists(live.sockets_key(party_id, guest))
    # A socket that entered and then left the set before the Reconnect was written: no write.
    await ctx.redis.zadd(live.beats_key(guest), {sid: now_ms()})
    guard = SocketGuard(live.sockets_key(party_id, guest), present=sid)
    assert not (await live.apply(party_id, Reconnect(guest), guard=guard)).changed


@pytest.mark.parametrize("gone", ["kicked", "left"])
async def test_a_member_gone_meanwhile_is_not_brought_back(ctx: Context, gone: str) -> None:
    live = service.runtime(ctx).live
    party_id, guest, sid = await _falsely_disconnected(ctx)
    state = await live.get(party_id)
    await live.apply(party_id, Kick(state.host_id, guest) if gone == "kicked" else Leave(guest))
    before = await live.get(party_id)
    assert not await service.do_resume(ctx, party_id=party_id, user_id=guest, sid=sid)
    after = await live.get(party_id)
    assert after.version == before.version and after.member(guest) is None


async def test_expired_parties_leave_the_index(ctx: Context) -> None:
    live = service.runtime(ctx).live
    party_id = await _party(ctx, *_users(1))
    await ctx.redis.delete(live.state_key(party_id))  # its TTL ran out
    await reconcile.do_reconcile(ctx)
    assert party_id not in await live.connected(limit=10_000)


# --- two real processes, one of them killed -----------------------------------------------------

HEARTBEAT_S = 0.5  # stale after 1.5 s
RECONCILE_S = 0.5
CRASH_ENV = {
    **PARTY_ENV,
    # The wait must not end by its own timeout during the test: only reconciliation ends it.
    "PARTY_WAIT_TIMEOUT_S": "60",
    "SOCKET_HEARTBEAT_S": str(HEARTBEAT_S),
    "PARTY_RECONCILE_S": str(RECONCILE_S),
}
Servers = tuple[LiveServer, LiveServer]


@pytest.fixture
def crash_servers(settings: Settings, database_url: str) -> Iterator[Servers]:
    """A fresh pair of processes with fast heartbeats: the first is to be killed."""
    servers = (
        LiveServer(settings, free_port(), CRASH_ENV),
        LiveServer(settings, free_port(), CRASH_ENV),
    )
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


def _newest(rec: Recorder) -> dict[str, Any]:
    newest: dict[str, Any] = max(rec.events["party:state"], key=lambda s: s["version"])
    return newest


async def _until(rec: Recorder, check: Any, timeout: float) -> dict[str, Any]:
    """The first newest party:state (members listed) that passes `check`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        states = [s for s in rec.events["party:state"] if s.get("members")]
        if states:
            state: dict[str, Any] = max(states, key=lambda s: s["version"])
            if check(state):
                return state
        await asyncio.sleep(0.02)
    raise AssertionError(f"no matching party:state; newest: {_newest(rec)}")


async def _at_least(rec: Recorder, version: int, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if rec.events["party:state"] and _newest(rec)["version"] >= version:
            return _newest(rec)
        await asyncio.sleep(0.02)
    raise AssertionError(f"no party:state >= v{version}")


def _connected(state: dict[str, Any]) -> dict[str, bool]:
    return {m["user_id"]: m["connected"] for m in state["members"]}


@pytest.mark.slow
async def test_members_of_a_killed_process_are_disconnected_and_the_host_passes_on(
    crash_servers: Servers, members: Members, title_id: int
) -> None:
    doomed, survivor = crash_servers
    host = await members.connect(doomed)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    await ok(host, "party:control_mode", {"party_id": party_id, "mode": "everyone"})
    heir = await members.connect(survivor)  # joins first: next in the host order
    stalled = await members.connect(doomed)
    watcher = await members.connect(survivor)
    for rec in (heir, stalled, watcher):
        await ok(rec, "party:join", {"invite_code": code})
    for rec in (host, heir, stalled, watcher):
        await ok(rec, "party:ready", {"party_id": party_id})
    await ok(host, "party:play", {"party_id": party_id})
    # A member on the doomed process stalls: everyone waits for it (the timeout is a minute).
    waiting = await ok(stalled, "party:buffering", {"party_id": party_id})
    assert waiting["phase"] == "waiting" and waiting["waiting_for"] == [uid(stalled)]

    crashed_at = time.monotonic()
    doomed.crash()
    dead = {uid(host), uid(stalled)}

    # Within three heartbeats and a pass, the survivors hear both disconnected, and the wait
    # no longer waits on the stalled member: the party plays again.
    state = await _until(watcher, lambda s: not any(_connected(s)[u] for u in dead), timeout=20)
    took = time.monotonic() - crashed_at
    assert _connected(state) == {
        uid(host): False,
        uid(heir): True,
        uid(stalled): False,
        uid(watcher): True,
    }
    assert state["cause"] == "disconnect"
    assert state["host_id"] == uid(host)  # still host during the grace period
    played = _newest(watcher)
    assert played["phase"] == "playing" and played["waiting_for"] == []
    assert took < 3 * HEARTBEAT_S + 4 * RECONCILE_S + 5, took
    # Nor does a new start wait on them: pause, then play starts at once (the stalled member
    # never said ready again; were it still counted connected, play would wait for it).
    await ok(watcher, "party:pause", {"party_id": party_id})
    again = await ok(watcher, "party:play", {"party_id": party_id})
    assert again["phase"] == "playing" and again["waiting_for"] == []

    # Past the grace period they are removed and the longest-present live member is host.
    state = await _until(watcher, lambda s: len(s["members"]) == 2, timeout=GRACE_S + 10)
    assert state["host_id"] == uid(heir)
    assert {m["user_id"] for m in state["members"]} == {uid(heir), uid(watcher)}
    assert (await ok(heir, "party:snapshot", {"party_id": party_id}))["host_id"] == uid(heir)


@pytest.mark.slow
async def test_a_member_with_a_live_tab_on_another_process_stays_connected(
    crash_servers: Servers, members: Members, title_id: int, ctx: Context
) -> None:
    doomed, survivor = crash_servers
    host = await members.connect(survivor)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    account = await members.account()
    tab_doomed = await members.connect(doomed, account)
    tab_alive = await members.connect(survivor, account)
    lone = await members.connect(doomed)
    for rec in (tab_doomed, tab_alive, lone):
        await ok(rec, "party:join", {"invite_code": code})
    me = str(account.id)
    # The joins reach the host in one or more batches (PARTY_STATE_BATCH_MS).
    await _until(host, lambda s: len(s["members"]) == 3, timeout=5)

    doomed.crash()
    # The member with only a socket on the dead process is disconnected...
    state = await _until(host, lambda s: not _connected(s)[uid(lone)], timeout=20)
    # ...in the same pass that found the other member's second tab alive.
    assert _connected(state)[me] is True
    await asyncio.sleep(4 * RECONCILE_S + 3 * HEARTBEAT_S)  # more passes (lone expires)
    snap = await ok(tab_alive, "party:snapshot", {"party_id": party_id})
    assert _connected(snap) == {uid(host): True, me: True}
    assert all(_connected(s).get(me, True) for s in host.events["party:state"] if s.get("members"))
    # The dead tab is forgotten, the live one kept; and it still hears the party.
    sockets = service.runtime(ctx).live.sockets_key(party_id, me)
    assert len(await ctx.redis.smembers(sockets)) == 1
    seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 7_000})
    await _at_least(tab_alive, seeked["version"])

    # Closing that last live tab is then a normal disconnect.
    await tab_alive.client.disconnect()
    state = await _until(host, lambda s: not _connected(s)[me], timeout=5)
    assert state["cause"] == "disconnect" and state["by"] == me
    assert not await ctx.redis.exists(sockets)


async def test_the_worker_cron_reconciles_and_sweeps(ctx: Context) -> None:
    """With no web process up, the worker's cron makes the same pass and applies deadlines."""
    from jobs.parties import reconcile_parties

    live = service.runtime(ctx).live
    host, guest = _users(2)
    party_id = await _party(ctx, host, guest)
    await _socket(ctx, party_id, host, alive=True)
    await _socket(ctx, party_id, guest, alive=False)
    await ctx.redis.delete(reconcile.slot_key(ctx))  # this slot's turn is the cron's
    counts = await reconcile_parties({"app": ctx})
    assert set(counts) == {"disconnected", "deadlines"}
    guest_now = (await live.get(party_id)).member(guest)
    assert guest_now is not None and not guest_now.connected
    assert (await live.get(party_id)).member(host).connected  # type: ignore[union-attr]


# --- parties written before the connected index existed ----------------------------------------


@pytest.fixture
async def lone(settings: Settings) -> AsyncIterator[Context]:
    """A context on a Redis prefix of its own: no server of this run backfills or reconciles
    there, so who does what is exact."""
    prefix = f"{settings.redis_prefix}-lone-{uuid.uuid4().hex[:6]}"
    c = await build_context(settings.model_copy(update={"redis_prefix": prefix}))
    try:
        yield c
    finally:
        async for key in c.redis.scan_iter(match=f"{prefix}:*", count=1000):
            await c.redis.delete(key)
        await close_context(c)


async def _from_before_the_index(ctx: Context, host: str, *others: str) -> str:
    party_id = await _party(ctx, host, *others)
    await ctx.redis.zrem(service.runtime(ctx).live.connected_key, party_id)
    return party_id


async def test_backfill_indexes_older_parties_once(lone: Context, ctx: Context) -> None:
    live = service.runtime(lone).live
    host, idle_host, ended_host = _users(3)
    connected = await _from_before_the_index(lone, host)
    idle = await _from_before_the_index(lone, idle_host)
    await live.apply(idle, Disconnect(idle_host))
    ended = await _from_before_the_index(lone, ended_host)
    await live.apply(ended, End(ended_host))
    for party_id in (idle, ended):
        await lone.redis.zrem(live.connected_key, party_id)
    # A party of another deployment sharing the Redis (this run's prefix): never touched.
    theirs = await _from_before_the_index(ctx, *_users(1))
    assert await lone.redis.exists(live.state_key(connected), live.state_key(idle)) == 2

    # Every process would try at once: one does it, the others skip.
    results = await asyncio.gather(*(reconcile.do_backfill(lone) for _ in range(3)))
    assert sorted(results, key=lambda r: r is None) == [1, None, None]
    assert await live.connected(limit=10_000) == [connected]
    assert theirs not in await service.runtime(ctx).live.connected(limit=100_000)
    done, lease = reconcile.backfill_keys(lone)
    assert await lone.redis.exists(done) and not await lone.redis.exists(lease)

    # Once for good: nothing scans again, the pass only reads the claim.
    await lone.redis.zrem(live.connected_key, connected)
    assert await reconcile.do_backfill(lone) is None
    await reconcile.do_reconcile(lone)
    assert await live.connected(limit=10_000) == []
    # Idempotent if it does run again (the claim lost): only what is missing is added.
    await lone.redis.delete(done)
    assert await reconcile.do_backfill(lone) == 1
    assert await reconcile.do_backfill(lone) is None
    await lone.redis.delete(done)
    assert await reconcile.do_backfill(lone) == 0


async def test_a_party_changed_during_the_backfill_is_judged_as_it_is_now(lone: Context) -> None:
    """The check runs on the stored state inside Redis: a party whose last member disconnected
    between the scan and the check is not indexed."""
    live = service.runtime(lone).live
    host = _users(1)[0]
    party_id = await _from_before_the_index(lone, host)
    keys = [live.connected_key, live.state_key(party_id)]
    await live.apply(party_id, Disconnect(host))  # after the scan listed it
    assert await live._index_connected(keys=keys) == 0
    await live.apply(party_id, Join(host))
    await lone.redis.zrem(live.connected_key, party_id)
    assert await live._index_connected(keys=keys) == 1


async def test_the_cron_backfills_then_disconnects_older_parties_crashed_members(
    lone: Context,
) -> None:
    """A party last written before the index, its guest's process long dead: the worker's
    first run indexes it and gives the guest the Disconnect it never had."""
    from jobs.parties import reconcile_parties

    live = service.runtime(lone).live
    host, guest = _users(2)
    party_id = await _from_before_the_index(lone, host, guest)
    await _socket(lone, party_id, host, alive=True)
    await _socket(lone, party_id, guest, alive=False)
    counts = await reconcile_parties({"app": lone})
    assert counts["disconnected"] == 1
    state = await live.get(party_id)
    assert not state.member(guest).connected  # type: ignore[union-attr]
    assert state.member(host).connected  # type: ignore[union-attr]
    assert await live.connected(limit=10) == [party_id]


# --- a stalled process: its members are wrongly disconnected, then put back -------------------

STALL_ENV = {**CRASH_ENV, "PARTY_GRACE_S": "30"}  # a false disconnect must not expire meanwhile


@pytest.fixture(scope="module")
def stall_servers(settings: Settings, database_url: str) -> Iterator[Servers]:
    """Two processes with fast heartbeats: the first is to be stopped (SIGSTOP) for a while."""
    servers = (
        LiveServer(settings, free_port(), STALL_ENV),
        LiveServer(settings, free_port(), STALL_ENV),
    )
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(s.pid, signal.SIGCONT)
            s.stop()


@contextlib.contextmanager
def stalled(server: LiveServer) -> Iterator[None]:
    """The whole process frozen, its sockets open: as a blocked event loop looks from outside."""
    os.kill(server.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(server.pid, signal.SIGCONT)


@pytest.mark.slow
async def test_members_of_a_stalled_process_come_back_by_themselves(
    stall_servers: Servers, members: Members, title_id: int, ctx: Context
) -> None:
    slow, survivor = stall_servers
    host = await members.connect(survivor)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    guest = await members.connect(slow)
    await ok(guest, "party:join", {"invite_code": code})
    for rec in (host, guest):
        await ok(rec, "party:ready", {"party_id": party_id})

    with stalled(slow):
        state = await _until(host, lambda s: not _connected(s)[uid(guest)], timeout=20)
        assert state["cause"] == "disconnect"
        missed = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 42_000})
    resumed_at = time.monotonic()
    # No party:join: the process's next heartbeat puts the member back, as they were.
    state = await _until(host, lambda s: _connected(s)[uid(guest)], timeout=10)
    took = time.monotonic() - resumed_at
    assert state["cause"] == "reconnect" and state["by"] == uid(guest)
    me = next(m for m in state["members"] if m["user_id"] == uid(guest))
    assert me["ready"] and not me["catching_up"]
    # The guest heard it all, the seek made while it was frozen included.
    newest = await _at_least(guest, state["version"])
    assert newest["position_ms"] == missed["position_ms"]
    assert [s["cause"] for s in guest.events["party:state"][-3:]] == [
        "disconnect",
        "seek",
        "reconnect",
    ]

    # Later passes leave the member connected; the socket is back in the member's set.
    await asyncio.sleep(4 * RECONCILE_S + 3 * HEARTBEAT_S)
    snap = await ok(host, "party:snapshot", {"party_id": party_id})
    assert _connected(snap) == {uid(host): True, uid(guest): True}
    assert guest.events["party:state"][-1]["cause"] == "reconnect"  # not disconnected again
    sockets = service.runtime(ctx).live.sockets_key(party_id, uid(guest))
    assert len(await ctx.redis.smembers(sockets)) == 1
    print(f"\nstalled member reconnected {took:.2f} s after its process resumed")

    # And its socket closing is a normal disconnect again.
    await guest.client.disconnect()
    state = await _until(host, lambda s: not _connected(s)[uid(guest)], timeout=5)
    assert state["by"] == uid(guest) and not await ctx.redis.exists(sockets)


@pytest.mark.slow
async def test_a_member_kicked_while_stalled_stays_out(
    stall_servers: Servers, members: Members, title_id: int, ctx: Context
) -> None:
    slow, survivor = stall_servers
    host = await members.connect(survivor)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    guest = await members.connect(slow)
    await ok(guest, "party:join", {"invite_code": code})

    with stalled(slow):
        await _until(host, lambda s: not _connected(s)[uid(guest)], timeout=20)
        kicked = await ok(host, "party:kick", {"party_id": party_id, "user_id": uid(guest)})
    left = await guest.wait_event("party:left")
    assert left[-1] == {"party_id": party_id, "reason": "kicked"}
    await asyncio.sleep(4 * RECONCILE_S + 3 * HEARTBEAT_S)  # several heartbeats of the process
    snap = await ok(host, "party:snapshot", {"party_id": party_id})
    assert [m["user_id"] for m in snap["members"]] == [uid(host)]
    assert snap["version"] == kicked["version"]
    sockets = service.runtime(ctx).live.sockets_key(party_id, uid(guest))
    assert not await ctx.redis.exists(sockets)
    # Out of the room too: the party's news no longer reaches the kicked socket.
    seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 5_000})
    await _at_least(host, seeked["version"])
    await asyncio.sleep(0.5)
    assert all(s["version"] < seeked["version"] for s in guest.events["party:state"])
