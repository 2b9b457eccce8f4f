"""A process that only stalls keeps its party members; a killed one loses them in seconds
(realtime/liveness.py), with the default timers (sockets 30 s, processes 1 s, dead after 3 s).

In its own module: the crash tests' fast-heartbeat servers judge sockets by their own 1.5 s
heartbeat window, which a socket of a default-timer process would fail within seconds."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cinema.ports import free_port
from models.core.context import Context
from models.core.settings import Settings
from realtime.liveness import LINK_GRACE_S
from tests.conftest import LiveServer
from tests.parties.conftest import PARTY_ENV, Members, ok, uid
from tests.parties.test_reconcile import Servers, _at_least, _connected, _until, stalled
from tests.social.helpers import befriend

DEFAULT_ENV = {**PARTY_ENV, "PARTY_WAIT_TIMEOUT_S": "60", "PARTY_GRACE_S": "30"}


@pytest.fixture
def default_servers(settings: Settings, database_url: str) -> Iterator[Servers]:
    """Two processes with the default heartbeats (sockets 30 s, processes 1 s, dead after 3 s)."""
    servers = (
        LiveServer(settings, free_port(), DEFAULT_ENV),
        LiveServer(settings, free_port(), DEFAULT_ENV),
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


@pytest.mark.slow
async def test_a_stalled_process_keeps_its_members_and_a_killed_one_loses_them_within_10s(
    default_servers: Servers, members: Members, title_id: int, ctx: Context, client: Any
) -> None:
    started = time.monotonic()
    doomed, survivor = default_servers
    host = await members.connect(survivor)
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id, code = created["party_id"], created["invite_code"]
    guest = await members.connect(doomed)
    await befriend(client, host.account, guest.account)  # type: ignore[attr-defined]
    await ok(guest, "party:join", {"invite_code": code})
    for rec in (host, guest):
        await ok(rec, "party:ready", {"party_id": party_id})
    await ok(host, "party:play", {"party_id": party_id})
    # The host's TV (not in the party) is a socket on the doomed process.
    host_tv = await members.connect(doomed, host.account)  # type: ignore[attr-defined]
    await ok(host_tv, "screen:register", {"device_id": "tv-1", "name": "TV"})
    await ok(host, "screen:register", {"device_id": "phone-1", "name": "Phone"})
    # The survivor judges others only once its own Redis link is LINK_GRACE_S old.
    await asyncio.sleep(max(0.0, started + LINK_GRACE_S + 1 - time.monotonic()))
    # The guest's coming online may reach the host, now a friend: presence fans out in
    # batches (50 ms), which can leave after the befriending. What counts is what follows.
    host.events["presence:update"].clear()

    # Frozen for twice the time after which a silent *and disconnected* process is dead: its
    # connections to Redis stay open, so it only stalls. Nobody is disconnected, nobody goes
    # offline, and what was said meanwhile reaches the guest after it resumes.
    with stalled(doomed):
        await asyncio.sleep(2 * 3.0)
        seeked = await ok(host, "party:seek", {"party_id": party_id, "position_ms": 90_000})
    await _at_least(guest, seeked["version"], timeout=10)
    await asyncio.sleep(2.0)  # a few more beats of both processes
    causes = [s["cause"] for s in host.events["party:state"]]
    assert "disconnect" not in causes, causes
    assert host.events["presence:update"] == []
    snap = await ok(host, "party:snapshot", {"party_id": party_id})
    assert _connected(snap) == {uid(host): True, uid(guest): True}

    # Killed: its kernel closes its Redis connections, so the survivor lets go of its sockets
    # as soon as it has been silent for 3 s; the member is disconnected (the party goes on
    # without waiting for it) and goes offline for friends after the 5 s presence grace.
    crashed_at = time.monotonic()
    doomed.crash()
    state = await _until(host, lambda s: not _connected(s)[uid(guest)], timeout=30)
    freed = time.monotonic() - crashed_at
    assert state["cause"] == "disconnect"
    offline = await host.wait_event("presence:update", timeout=30)
    gone = time.monotonic() - crashed_at
    assert offline[-1]["user_id"] == uid(guest) and offline[-1]["online"] is False
    # The host's phone heard that their TV is gone (the burial's hook), as the member went.
    assert host.events["screen:gone"] == [{"device_id": "tv-1"}]
    listed = await ok(host, "screen:list", {})
    assert [s["device_id"] for s in listed["screens"]] == ["phone-1"]
    print(f"\nkilled process: member disconnected after {freed:.1f} s, offline after {gone:.1f} s")
    assert freed < 10, freed
    assert gone < 10 + 5, gone  # the presence grace comes on top
