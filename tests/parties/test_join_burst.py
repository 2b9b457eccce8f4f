"""A party that fills fast: member changes go out in batches, and nobody ends out of date."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from models.core.context import Context
from models.parties import service
from models.parties.events import FULL_LIST_MAX
from tests.conftest import LiveServer
from tests.parties.conftest import Members, ok, uid
from tests.realtime_client import Recorder

pytestmark = pytest.mark.slow  # server processes

Servers = tuple[LiveServer, LiveServer]
JOINERS = FULL_LIST_MAX + 14  # past the whole-list size: the members come as changes


class Held:
    """A member's view of the party as party-client.js keeps it (`_applyState`)."""

    def __init__(self, snapshot: dict[str, Any]) -> None:
        self.version: int = snapshot["version"]
        self.members_version: int = snapshot["members_version"]
        self.members = {m["user_id"]: m for m in snapshot["members"]}
        self.refetch = 0  # states that left the list behind (the client asks party:snapshot)

    def apply(self, s: dict[str, Any]) -> None:
        if s["version"] <= self.version:
            return
        self.version = s["version"]
        if s.get("members") is not None:
            self.members = {m["user_id"]: m for m in s["members"]}
        elif s["members_version"] <= self.members_version:
            return
        elif s.get("members_delta") is not None and (
            s["members_base_version"] <= self.members_version
        ):
            for c in s["members_delta"]:
                if c["op"] == "remove":
                    self.members.pop(c["user_id"], None)
                else:
                    self.members[c["user_id"]] = c["member"]
        else:
            self.refetch += 1
            return
        self.members_version = s["members_version"]


async def _quiet(recs: list[Recorder], quiet_s: float = 1.0, timeout: float = 60) -> None:
    """Until no member has heard a party:state for quiet_s."""
    deadline = time.monotonic() + timeout
    counts = [-1]
    still_since = time.monotonic()
    while time.monotonic() < deadline:
        now = [len(r.events["party:state"]) for r in recs]
        if now != counts:
            counts, still_since = now, time.monotonic()
        elif time.monotonic() - still_since >= quiet_s:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the members still hear party:state")


async def test_a_join_burst_on_two_processes_ends_with_everyone_holding_the_stored_state(
    party_servers: Servers, members: Members, title_id: int, ctx: Context
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    created = await ok(host, "party:create", {"title_id": title_id, "capacity": 100})
    party_id, code = created["party_id"], created["invite_code"]
    guests = [await members.connect(a if i % 2 else b) for i in range(JOINERS)]

    started = time.monotonic()
    snaps = await asyncio.gather(*(ok(g, "party:join", {"invite_code": code}) for g in guests))
    took = time.monotonic() - started
    # Every joiner sees the party at once, itself in it, without waiting for a batch.
    for g, snap in zip(guests, snaps, strict=True):
        assert uid(g) in {m["user_id"] for m in snap["state"]["members"]}
    # Half of them say they are ready, on both processes at once: readiness batches too.
    ready = guests[::2]
    await asyncio.gather(*(ok(g, "party:ready", {"party_id": party_id}) for g in ready))
    everyone = [host, *guests]
    await _quiet(everyone)

    stored = await service.runtime(ctx).live.get(party_id)
    want = {m.user_id for m in stored.members}
    assert len(want) == JOINERS + 1
    counts = []
    for rec, snap in zip(everyone, [created, *snaps], strict=True):
        held = Held(snap["state"])
        for s in rec.events["party:state"]:
            held.apply(s)
        counts.append(len(rec.events["party:state"]))
        assert held.refetch == 0
        assert held.version == stored.version
        assert held.members_version == stored.members_version
        assert set(held.members) == want
        for m in stored.members:
            assert held.members[m.user_id]["ready"] == m.ready, m.user_id
            assert held.members[m.user_id]["connected"] is True
    # Before batching the host heard one state per join and per ready (96 here); now one per
    # batch window (100 ms) of the burst, on either process.
    changes = JOINERS + len(ready)
    print(f"\n{JOINERS} joins in {took:.2f} s, then {len(ready)} readies: host heard {counts[0]}")
    print(f"states per member: max {max(counts)}, total {sum(counts)}")
    assert counts[0] < changes / 2, counts[0]
