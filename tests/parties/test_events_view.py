"""What `party:state` carries: the member list for small parties, a delta for big ones."""

from __future__ import annotations

import random

from models.core.errors import DomainError
from models.parties.events import (
    FULL_LIST_MAX,
    broadcast_view,
    members_since,
    sent_view,
    state_view,
)
from models.parties.live import Sent
from models.parties.schemas import MemberChangeOut, MemberOut
from models.parties.state import (
    DEPARTED_MAX,
    Buffering,
    Command,
    Join,
    Kick,
    Leave,
    Media,
    PartyState,
    Play,
    QueueAdd,
    Ready,
    Rules,
    decide,
    dump_state,
    load_state,
    new_party,
)

T0 = 1_000_000


def _party(size: int) -> PartyState:
    s = new_party(
        party_id="p", host_id="h", media=Media("title", 1), now_ms=T0, rules=Rules(capacity=600)
    )
    for i in range(size - 1):
        s, _ = decide(s, Join(f"u{i}"), T0 + i)
    return s


def test_small_party_sends_the_whole_list_on_membership_changes_only() -> None:
    s = _party(3)
    after, events = decide(s, Join("new"), T0 + 100)
    view = broadcast_view(s, after, events, server_ms=T0, cause="join", by="new")
    assert view.members is not None and len(view.members) == 4
    assert view.members_delta is None and view.members_version == after.version
    played, events = decide(after, Play("h"), T0 + 200)
    view = broadcast_view(after, played, events, server_ms=T0, cause="play", by="h")
    assert view.members is None and view.members_delta is None
    assert view.members_version == after.version


def test_big_party_sends_only_the_change() -> None:
    s = _party(FULL_LIST_MAX + 5)
    after, events = decide(s, Join("new"), T0 + 1_000)
    view = broadcast_view(s, after, events, server_ms=T0, cause="join", by="new")
    assert view.members is None
    assert view.members_base_version == s.members_version
    assert view.members_version == after.version
    assert view.members_delta is not None
    assert [(c.op, c.user_id) for c in view.members_delta] == [("upsert", "new")]
    kicked, events = decide(after, Kick("h", "u3"), T0 + 2_000)
    view = broadcast_view(after, kicked, events, server_ms=T0, cause="kick", by="h")
    assert view.members_delta is not None
    assert [(c.op, c.user_id, c.reason) for c in view.members_delta] == [("remove", "u3", "kicked")]


def _apply(held: dict[str, MemberOut], delta: list[MemberChangeOut]) -> dict[str, MemberOut]:
    """What party-client.js does with members_delta."""
    out = dict(held)
    for c in delta:
        if c.op == "remove":
            out.pop(c.user_id, None)
        else:
            assert c.member is not None
            out[c.user_id] = c.member
    return out


def _listed(s: PartyState) -> dict[str, MemberOut]:
    view = state_view(s, server_ms=T0, members=True)
    assert view.members is not None
    return {m.user_id: m for m in view.members}


def test_the_changes_since_a_base_bring_any_list_from_it_on_up_to_date() -> None:
    """Joins, leaves, kicks, readiness and rejoins in any order, on any process: the members
    changed since a base (and the departures since) turn a list held at the base, or at any
    later version, into the current one."""
    rng = random.Random(17)
    s = _party(FULL_LIST_MAX + 5)
    held = {s.members_version: _listed(s)}
    users = [f"u{i}" for i in range(FULL_LIST_MAX + 20)] + [f"x{i}" for i in range(30)]
    at = T0 + 10_000
    for _ in range(300):
        at += 1
        user = rng.choice(users)
        present = s.member(user) is not None
        command: Command
        if not present:
            command = Join(user)
        else:
            choices: list[Command] = [Leave(user), Ready(user), Buffering(user), Kick("h", user)]
            command = rng.choice(choices)
        try:
            s, _ = decide(s, command, at)
        except DomainError:
            continue  # kicked users may not come back
        held[s.members_version] = _listed(s)
    final = _listed(s)
    versions = sorted(held)
    for i, base in enumerate(versions):
        delta = members_since(s, base)
        assert delta is not None
        for later in versions[i:]:
            assert _apply(held[later], delta) == final, (base, later)


def test_departures_forgotten_mean_the_whole_list() -> None:
    s = _party(3)
    start = s.members_version
    at = T0 + 10_000
    for i in range(DEPARTED_MAX + 2):
        s, _ = decide(s, Join(f"g{i}"), at + 2 * i)
        s, _ = decide(s, Leave(f"g{i}"), at + 2 * i + 1)
    assert len(s.departed) == DEPARTED_MAX and s.departed_floor > start
    assert members_since(s, start) is None
    assert members_since(s, s.departed_floor) is not None
    # A state stored before departures were kept patches no list older than itself.
    old = dump_state(s)
    del old["departed"], old["departed_floor"]
    assert load_state(old).departed_floor == s.members_version


def test_a_sent_state_counts_member_changes_from_the_broadcast_before_the_last() -> None:
    big = _party(FULL_LIST_MAX + 5)
    base = big.members_version
    s, _ = decide(big, Join("a"), T0 + 1_000)
    last = s.members_version
    s, _ = decide(s, Join("b"), T0 + 1_001)
    view = sent_view(s, Sent(last, s.queue_version, base), server_ms=T0, cause="join", by="b")
    assert view.members is None and view.members_base_version == base
    assert view.members_delta is not None
    assert sorted(c.user_id for c in view.members_delta) == ["a", "b"]
    assert view.queue is None
    # Nothing new in the list since the one before: no list at all.
    quiet = sent_view(
        s, Sent(s.members_version, 0, s.members_version), server_ms=T0, cause="play", by="h"
    )
    assert quiet.members is None and quiet.members_delta is None and quiet.queue is None
    # A small party: the whole list when it changed since the last one sent, nothing otherwise.
    small, _ = decide(_party(3), Join("c"), T0 + 1_000)
    view = sent_view(
        small, Sent(small.members_version - 1, None, None), server_ms=T0, cause="join", by="c"
    )
    assert view.members is not None and len(view.members) == 4 and view.members_delta is None
    view = sent_view(
        small, Sent(small.members_version, None, 1), server_ms=T0, cause="play", by="h"
    )
    assert view.members is None and view.members_delta is None
    # Nothing known of earlier broadcasts (the first, or their record expired): everything.
    view = sent_view(s, Sent(None, None, None), server_ms=T0, cause="join", by="b")
    assert view.members is not None and len(view.members) == len(s.members)


def test_a_sent_state_carries_the_queue_when_it_changed_since_the_last_one_sent() -> None:
    s = _party(3)
    assert sent_view(s, Sent(None, None, None), server_ms=T0, cause="join", by="u0").queue is None
    queued, _ = decide(s, QueueAdd("h", (Media("title", 2),)), T0 + 1_000)
    for sent in (Sent(None, None, None), Sent(s.members_version, s.queue_version, None)):
        view = sent_view(queued, sent, server_ms=T0, cause="queue_add", by="h")
        assert view.queue is not None and [q.media.id for q in view.queue] == [2]
    view = sent_view(
        queued, Sent(s.members_version, queued.queue_version, 1), server_ms=T0, cause="x", by=None
    )
    assert view.queue is None
