"""The party state machine: a transition table, the scheduling rules, and event replay."""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from models.core.errors import DomainError
from models.parties.state import (
    TURNED_AWAY_MAX,
    Admission,
    Admit,
    Buffering,
    CatchUp,
    ChangeMedia,
    Command,
    ControlMode,
    Disconnect,
    End,
    Join,
    Kick,
    Knock,
    Leave,
    Media,
    Member,
    MemberRemoved,
    MemberUpserted,
    Mute,
    Next,
    PartyEnded,
    PartyState,
    Pause,
    Phase,
    Play,
    PlaybackChanged,
    QueueAccept,
    QueueAdd,
    QueueChanged,
    QueueMove,
    QueueRemove,
    Ready,
    Reconnect,
    ReportRtt,
    RolesChanged,
    RttReported,
    Rules,
    Screen,
    ScreensGone,
    Seek,
    SetAutoplay,
    SetCohost,
    SetControlMode,
    SetRate,
    SetRoom,
    SetSeriesNext,
    SetWaits,
    Tick,
    TransferHost,
    decide,
    dump_state,
    is_public,
    knock_status,
    load_state,
    new_party,
    plan_catch_up,
    replay,
)

T0 = 1_000_000
MOVIE = Media(kind="title", id=7, duration_ms=7_200_000)
RULES = Rules(capacity=4, wait_timeout_ms=8_000, grace_ms=30_000, lead_min_ms=150)


def party(*others: str, ready: bool = True) -> PartyState:
    """Host `h` plus `others`, everyone loaded (ready, not catching up) unless told."""
    s = new_party(party_id="p1", host_id="h", media=MOVIE, now_ms=T0, rules=RULES)
    for i, user in enumerate(others, start=1):
        s, _ = decide(s, Join(user), T0 + i)
    if ready:
        for m in s.members:
            s, _ = decide(s, Ready(m.user_id, rtt_ms=100), T0 + 10)
    return s


def unstamped(m: Member | None) -> Member | None:
    """A member record without the version it last changed at."""
    return None if m is None else replace(m, changed_version=0)


def playing(*others: str) -> PartyState:
    s, _ = decide(party(*others), Play("h"), T0 + 100)
    return s


def waiting(*others: str) -> PartyState:
    s, _ = decide(playing(*others), Buffering("a"), T0 + 5_000)
    assert s.phase is Phase.WAITING
    return s


def paused_everyone(*others: str) -> PartyState:
    s, _ = decide(party(*others), SetControlMode("h", ControlMode.EVERYONE), T0 + 50)
    return s


def ended() -> PartyState:
    s, _ = decide(party("a"), End("h"), T0 + 50)
    return s


@dataclass(frozen=True)
class Row:
    name: str
    given: Callable[[], PartyState]
    command: Command
    phase: Phase | None = None  # expected phase after, or None when an error is expected
    error: str | None = None  # expected DomainError code
    check: Callable[[PartyState], bool] = lambda s: True
    at: int = T0 + 10_000


NOW = T0 + 10_000

TABLE = [
    # playback from paused
    Row("host plays", lambda: party("a"), Play("h"), Phase.PLAYING),
    Row("member plays in host_only", lambda: party("a"), Play("a"), error="forbidden"),
    Row("member plays in everyone", lambda: paused_everyone("a"), Play("a"), Phase.PLAYING),
    Row("stranger plays", lambda: party("a"), Play("zed"), error="not_member"),
    Row(
        "play waits for a buffering member",
        lambda: decide(party("a"), Buffering("a"), T0 + 20)[0],
        Play("h"),
        Phase.WAITING,
        check=lambda s: s.waiting_for == {"a"} and s.wait_deadline_ms == NOW + 8_000,
    ),
    Row(
        "play ignores a member still catching up",
        lambda: decide(party(), Join("late"), T0 + 20)[0],
        Play("h"),
        Phase.PLAYING,
    ),
    Row(
        "play ignores a member who opted out",
        lambda: decide(
            decide(party("a"), SetWaits("a", waits=False), T0 + 20)[0], Buffering("a"), T0 + 21
        )[0],
        Play("h"),
        Phase.PLAYING,
    ),
    Row("pause while paused is a no-op", lambda: party("a"), Pause("h"), Phase.PAUSED),
    Row(
        "seek while paused",
        lambda: party("a"),
        Seek("h", 60_000),
        Phase.PAUSED,
        check=lambda s: s.position_ms == 60_000 and s.anchor_server_ms == NOW,
    ),
    Row("seek past the end", lambda: party("a"), Seek("h", 7_200_001), error="invalid_input"),
    Row("seek before zero", lambda: party("a"), Seek("h", -1), error="invalid_input"),
    Row("member seeks in host_only", lambda: party("a"), Seek("a", 5), error="forbidden"),
    Row("rate", lambda: party("a"), SetRate("h", 1.5), Phase.PAUSED, check=lambda s: s.rate == 1.5),
    Row("rate too fast", lambda: party("a"), SetRate("h", 3.0), error="invalid_input"),
    Row("member sets rate", lambda: party("a"), SetRate("a", 1.25), error="forbidden"),
    # playing
    Row(
        "pause while playing freezes the position",
        playing,
        Pause("h"),
        Phase.PAUSED,
        check=lambda s: s.position_ms > 9_000 and s.anchor_server_ms == NOW,
    ),
    Row("member pauses in host_only", lambda: playing("a"), Pause("a"), error="forbidden"),
    Row(
        "seek while playing is scheduled a lead ahead",
        lambda: playing("a"),
        Seek("h", 30_000),
        Phase.PLAYING,
        check=lambda s: s.position_ms == 30_000 and s.anchor_server_ms > NOW,
    ),
    Row(
        "rate while playing re-anchors at now",
        lambda: playing("a"),
        SetRate("h", 2.0),
        Phase.PLAYING,
        check=lambda s: s.anchor_server_ms == NOW and s.rate == 2.0,
    ),
    Row(
        "buffering while playing waits",
        lambda: playing("a"),
        Buffering("a"),
        Phase.WAITING,
        check=lambda s: s.waiting_for == {"a"} and not s.playing,
    ),
    Row(
        "a late joiner buffering never moves anyone",
        lambda: decide(playing("a"), Join("late"), T0 + 300)[0],
        Buffering("late"),
        Phase.PLAYING,
    ),
    Row("play while playing is a no-op", playing, Play("h"), Phase.PLAYING),
    # waiting
    Row(
        "ready ends waiting with a scheduled start",
        lambda: waiting("a"),
        Ready("a"),
        Phase.PLAYING,
        check=lambda s: s.anchor_server_ms > NOW and not s.waiting_for,
    ),
    Row(
        "timeout goes on without the straggler",
        lambda: waiting("a", "b"),
        Tick(),
        Phase.PLAYING,
        check=lambda s: s.member("a").catching_up is True,  # type: ignore[union-attr]
        at=T0 + 13_000,
    ),
    Row("tick before the deadline", lambda: waiting("a"), Tick(), Phase.WAITING),
    Row(
        "another buffering member joins the wait, deadline kept",
        lambda: waiting("a", "b"),
        Buffering("b"),
        Phase.WAITING,
        check=lambda s: s.waiting_for == {"a", "b"} and s.wait_deadline_ms == T0 + 13_000,
    ),
    Row(
        "opting out while waited for releases the party",
        lambda: waiting("a"),
        SetWaits("a", waits=False),
        Phase.PLAYING,
    ),
    Row("pause while waiting", lambda: waiting("a"), Pause("h"), Phase.PAUSED),
    Row(
        "the awaited member disconnecting releases the party",
        lambda: waiting("a"),
        Disconnect("a"),
        Phase.PLAYING,
    ),
    Row(
        "seek while waiting stays waiting",
        lambda: waiting("a"),
        Seek("h", 1_000),
        Phase.WAITING,
        check=lambda s: s.position_ms == 1_000,
    ),
    # membership and roles
    Row(
        "join",
        lambda: party("a"),
        Join("b"),
        Phase.PAUSED,
        check=lambda s: s.member("b") is not None,
    ),
    Row("join when full", lambda: party("a", "b", "c"), Join("d"), error="party_full"),
    Row(
        "a member re-joining a full party is fine",
        lambda: decide(party("a", "b", "c"), Disconnect("c"), T0 + 20)[0],
        Join("c"),
        Phase.PAUSED,
        check=lambda s: s.member("c").connected,  # type: ignore[union-attr]
    ),
    Row(
        "a member wrongly marked disconnected is connected again, readiness kept",
        lambda: decide(party("a"), Disconnect("a"), T0 + 20)[0],
        Reconnect("a"),
        Phase.PAUSED,
        check=lambda s: unstamped(s.member("a")) == unstamped(party("a").member("a")),
    ),
    Row(
        "reconnecting a connected member changes nothing",
        lambda: party("a"),
        Reconnect("a"),
        Phase.PAUSED,
        check=lambda s: s == party("a"),
    ),
    Row(
        "a kicked member is not brought back by a reconnect",
        lambda: decide(party("a"), Kick("h", "a"), T0 + 20)[0],
        Reconnect("a"),
        Phase.PAUSED,
        check=lambda s: s.member("a") is None,
    ),
    Row(
        "a member expired past the grace period is not brought back by a reconnect",
        lambda: decide(party("a"), Disconnect("a"), T0 + 20)[0],
        Reconnect("a"),
        Phase.PAUSED,
        check=lambda s: s.member("a") is None,
        at=T0 + 30_020,
    ),
    Row(
        "kicked user cannot come back",
        lambda: decide(party("a"), Kick("h", "a"), T0 + 20)[0],
        Join("a"),
        error="banned",
    ),
    Row(
        "host kicks",
        lambda: party("a"),
        Kick("h", "a"),
        Phase.PAUSED,
        check=lambda s: s.member("a") is None and "a" in s.banned,
    ),
    Row("member kicks", lambda: party("a", "b"), Kick("a", "b"), error="forbidden"),
    Row("host kicks self", lambda: party("a"), Kick("h", "h"), error="invalid_input"),
    Row("kick a stranger", lambda: party("a"), Kick("h", "zed"), error="not_member"),
    Row(
        "transfer host",
        lambda: party("a"),
        TransferHost("h", "a"),
        Phase.PAUSED,
        check=lambda s: s.host_id == "a",
    ),
    Row("member transfers host", lambda: party("a"), TransferHost("a", "a"), error="forbidden"),
    Row("transfer to stranger", lambda: party("a"), TransferHost("h", "zed"), error="not_member"),
    Row(
        "member sets control mode",
        lambda: party("a"),
        SetControlMode("a", ControlMode.EVERYONE),
        error="forbidden",
    ),
    Row(
        "host leaves: longest-present member takes over",
        lambda: party("a", "b"),
        Leave("h"),
        Phase.PAUSED,
        check=lambda s: s.host_id == "a",
    ),
    Row(
        "last member leaves: party ends",
        party,
        Leave("h"),
        Phase.ENDED,
        check=lambda s: s.ended_reason == "empty",
    ),
    Row("stranger leaves", party, Leave("zed"), error="not_member"),
    Row(
        "host gone past grace hands over",
        lambda: decide(party("a", "b"), Disconnect("h"), T0 + 20)[0],
        Tick(),
        Phase.PAUSED,
        check=lambda s: s.host_id == "a" and s.member("h") is None,
        at=T0 + 30_020,
    ),
    Row(
        "host back within grace stays host",
        lambda: decide(party("a"), Disconnect("h"), NOW - 29_000)[0],
        Join("h"),
        Phase.PAUSED,
        check=lambda s: s.host_id == "h" and s.member("h").connected,  # type: ignore[union-attr]
    ),
    Row(
        "handover prefers a connected member over an older disconnected one",
        lambda: decide(
            decide(party("a", "b"), Disconnect("a"), NOW - 1_000)[0], Disconnect("h"), NOW - 31_000
        )[0],
        Tick(),
        Phase.PAUSED,
        check=lambda s: s.host_id == "b",
    ),
    Row(
        "media change pauses at zero and everyone reloads",
        lambda: playing("a"),
        ChangeMedia("h", Media(kind="episode", id=3)),
        Phase.PAUSED,
        check=lambda s: s.position_ms == 0 and all(m.catching_up for m in s.members),
    ),
    Row("member ends", lambda: party("a"), End("a"), error="forbidden"),
    Row("host ends", lambda: playing("a"), End("h"), Phase.ENDED),
    Row("the system ends (media deleted)", lambda: playing("a"), End(None, "gone"), Phase.ENDED),
    # ended
    Row("anything after the end", ended, Join("b"), error="party_ended"),
    Row("play after the end", ended, Play("h"), error="party_ended"),
    Row("tick after the end is quiet", ended, Tick(), Phase.ENDED),
    Row("bad rtt", lambda: party("a"), ReportRtt("a", -5), error="invalid_input"),
]


@pytest.mark.parametrize("row", TABLE, ids=[r.name for r in TABLE])
def test_transition_table(row: Row) -> None:
    before = row.given()
    if row.error is not None:
        with pytest.raises(DomainError) as caught:
            decide(before, row.command, row.at)
        assert caught.value.code == row.error
        return
    after, events = decide(before, row.command, row.at)
    assert after.phase is row.phase
    assert row.check(after)
    if after == before:
        assert events == []
    else:
        assert after.version == before.version + 1
        assert all(e.version == after.version for e in events)
        assert replay(before, events) == after


def test_play_is_scheduled_from_member_rtts() -> None:
    s = party("a", "b")
    s, _ = decide(s, ReportRtt("b", 600), T0 + 20)
    s, events = decide(s, Play("h"), NOW)
    # lead = 600 * 1.5 + 80, so the slowest member hears of it before it happens.
    assert s.anchor_server_ms == NOW + 980
    assert s.position_at(NOW + 500) == 0
    assert s.position_at(NOW + 980 + 1_000) == 1_000
    assert any(isinstance(e, PlaybackChanged) for e in events)


def test_lead_is_clamped() -> None:
    s = party("a")
    s, _ = decide(s, ReportRtt("a", 0), T0 + 20)
    s, _ = decide(s, ReportRtt("h", 0), T0 + 20)
    assert s.lead_ms() == RULES.lead_min_ms
    s, _ = decide(s, ReportRtt("a", 59_000), T0 + 30)
    assert s.lead_ms() == RULES.lead_max_ms


def test_rtt_only_change_is_not_public_and_keeps_members_version() -> None:
    s = party("a")
    after, events = decide(s, ReportRtt("a", 42), NOW)
    assert [type(e) for e in events] == [RttReported]
    assert not any(is_public(e) for e in events)
    assert after.members_version == s.members_version
    assert replay(s, events) == after


def test_position_continuous_across_rate_change() -> None:
    s = playing("a")
    t = s.anchor_server_ms + 10_000
    before = s.position_at(t)
    s, _ = decide(s, SetRate("h", 2.0), t)
    assert s.position_at(t) == pytest.approx(before, abs=1)
    assert s.position_at(t + 1_000) == pytest.approx(before + 2_000, abs=1)


def test_wait_timeout_applies_lazily_on_any_command() -> None:
    s = waiting("a", "b")
    assert s.next_deadline_ms() == T0 + 13_000
    after, _ = decide(s, Ready("b"), T0 + 13_000)
    assert after.phase is Phase.PLAYING
    assert after.member("a").catching_up  # type: ignore[union-attr]
    # The straggler's next stall no longer stops the party.
    after2, _ = decide(after, Buffering("a"), T0 + 14_000)
    assert after2.phase is Phase.PLAYING


def test_waiting_holds_the_position_where_buffering_began() -> None:
    s = playing("a")
    t = s.anchor_server_ms + 5_000
    s, _ = decide(s, Buffering("a"), t)
    assert s.position_ms == 5_000
    assert s.position_at(t + 3_000) == 5_000
    s, _ = decide(s, Ready("a"), t + 3_000)
    assert s.position_at(s.anchor_server_ms + 1_000) == 6_000


def test_reconnect_keeps_place_in_host_order() -> None:
    s = party("a", "b")
    s, _ = decide(s, Disconnect("a"), T0 + 100)
    s, _ = decide(s, Join("a"), T0 + 200)
    assert s.member("a").joined_at_ms == T0 + 1  # type: ignore[union-attr]
    s, _ = decide(s, Leave("h"), T0 + 300)
    assert s.host_id == "a"


def test_everyone_expired_ends_the_party() -> None:
    s = party("a")
    s, _ = decide(s, Disconnect("a"), T0 + 100)
    s, _ = decide(s, Disconnect("h"), T0 + 200)
    s, events = decide(s, Tick(), T0 + 200 + RULES.grace_ms)
    assert s.phase is Phase.ENDED
    assert {e.reason for e in events if isinstance(e, MemberRemoved)} == {"expired"}
    assert any(isinstance(e, PartyEnded) for e in events)
    assert s.next_deadline_ms() is None


def test_kick_event_carries_reason() -> None:
    s = party("a", "b")
    _, events = decide(s, Kick("h", "b"), NOW)
    assert MemberRemoved(s.version + 1, "b", "kicked") in events


def test_transfer_emits_roles_changed() -> None:
    s = party("a")
    after, events = decide(s, TransferHost("h", "a"), NOW)
    assert events == [RolesChanged(after.version, "a", ControlMode.HOST_ONLY)]


def test_second_device_join_changes_nothing() -> None:
    s = party("a")
    after, events = decide(s, Join("a"), NOW)
    assert after == s and events == []


def test_codec_round_trip() -> None:
    s = waiting("a", "b")
    s, _ = decide(s, Kick("h", "b"), T0 + 6_000)
    assert load_state(dump_state(s)) == s


_USERS = ["h", "a", "b", "c", "d", "e"]
_SCREENS = ["", "phone", "tv"]


def _random_command(rng: random.Random, s: PartyState, now: int) -> Command:
    who = rng.choice(_USERS)
    other = rng.choice(_USERS)
    choices: list[Command] = [
        Join(who, rtt_ms=rng.choice([None, 30, 200, 700])),
        Leave(who),
        Disconnect(who),
        Reconnect(who),
        Play(who),
        Play(s.host_id),
        Pause(s.host_id),
        Seek(s.host_id, rng.randrange(0, 7_200_000)),
        SetRate(s.host_id, rng.choice([0.5, 1.0, 1.25, 2.0])),
        Buffering(who),
        Ready(who),
        Join(who, screen=rng.choice(_SCREENS)),
        Buffering(who, screen=rng.choice(_SCREENS)),
        Ready(who, screen=rng.choice(_SCREENS)),
        ScreensGone(who, (rng.choice(_SCREENS),)),
        SetWaits(who, waits=rng.random() < 0.7),
        ReportRtt(who, rng.randrange(0, 900)),
        TransferHost(s.host_id, other),
        Kick(s.host_id, other),
        SetControlMode(s.host_id, rng.choice(list(ControlMode))),
        ChangeMedia(s.host_id, Media(kind="episode", id=rng.randrange(1, 4))),
        QueueAdd(who, (Media(kind="title", id=rng.randrange(1, 4), duration_ms=60_000),)),
        QueueRemove(who, rng.randrange(1, 5)),
        QueueMove(s.host_id, rng.randrange(1, 5), rng.randrange(0, 3)),
        QueueAccept(s.host_id, rng.randrange(1, 5)),
        Next(s.host_id),
        SetAutoplay(s.host_id, rng.random() < 0.5),
        SetSeriesNext(rng.randrange(1, 4), Media(kind="episode", id=rng.randrange(1, 5))),
        CatchUp(who, rng.randrange(0, 100_000), now, rng.choice([0.0, 1.0])),
        CatchUp(who, rng.randrange(0, 100_000), now, 1.0, rng.choice(_SCREENS)),
        SetCohost(s.host_id, other, rng.random() < 0.7),
        SetRoom(who, admission=rng.choice(list(Admission)), slow_mode_s=rng.choice([0, 5])),
        Knock(who),
        Admit(who, other, rng.random() < 0.7),
        Mute(who, other, rng.random() < 0.7),
        Join(who, vetted=False),
        Tick(),
    ]
    return rng.choice(choices)


@pytest.mark.parametrize("seed", range(40))
def test_replaying_events_reproduces_every_state(seed: int) -> None:
    """A client folding the broadcast events always lands on the server's state."""
    rng = random.Random(seed)
    s = new_party(party_id="p", host_id="h", media=MOVIE, now_ms=T0, rules=RULES)
    client = s
    now = T0
    for _ in range(300):
        now += rng.choice([0, 5, 50, 400, 3_000, 9_000, 31_000])
        try:
            after, events = decide(s, _random_command(rng, s, now), now)
        except DomainError:
            continue
        assert replay(s, events) == after
        client = replay(client, events)
        assert client == after
        _check_invariants(after)
        s = after
        if s.phase is Phase.ENDED:
            break


def _check_invariants(s: PartyState) -> None:
    ids = [m.user_id for m in s.members]
    assert len(ids) == len(set(ids)) <= s.rules.capacity
    assert not (set(ids) & s.banned)
    if s.phase is Phase.ENDED:
        return
    assert s.host_id in ids
    assert s.waiting_for <= set(ids)
    assert (s.phase is Phase.WAITING) == (s.wait_deadline_ms is not None)
    if s.phase is Phase.WAITING:
        assert s.waiting_for
        # Everyone waited for has a screen the party waits for (a member with one screen ready
        # and another loading is still waited for; with none loading, no longer).
        for user_id in s.waiting_for:
            m = s.member(user_id)
            assert m is not None and m.connected and m.waits and m.waited_screens(), m
    for m in s.members:
        assert m.connected == (m.disconnected_at_ms is None)
        # The member's readiness is the sum of their screens'.
        catching_up = all(sc.catching_up for sc in m.screens)
        assert m.catching_up == catching_up, m
        assert m.ready == (not catching_up and not m.waited_screens()), m
        assert len({sc.id for sc in m.screens}) == len(m.screens)


def test_stale_events_are_dropped() -> None:
    s = party("a")
    v1, e1 = decide(s, Play("h"), NOW)
    v2, e2 = decide(v1, Pause("h"), NOW + 1_000)
    assert replay(s, [*e1, *e2, *e1]) == v2


def test_member_upserted_on_join_then_ready() -> None:
    s = party("a")
    s2, events = decide(s, Join("b", screen="tv"), NOW)
    v = s2.version
    joined = Member("b", NOW, screens=(Screen("tv"),), changed_version=v)
    assert events == [MemberUpserted(v, joined)]
    assert s2.members_version == v
    s3, _ = decide(s2, Ready("b", screen="tv"), NOW + 1)
    assert replace(s3.member("b"), rtt_ms=None) == Member(  # type: ignore[type-var]
        "b",
        NOW,
        ready=True,
        catching_up=False,
        screens=(Screen("tv", True, False),),
        changed_version=s3.version,
    )


# --- the queue --------------------------------------------------------------------------------

SHORT = Media(kind="title", id=8, duration_ms=60_000)
EP1 = Media(kind="episode", id=21, duration_ms=40_000)
EP2 = Media(kind="episode", id=22, duration_ms=40_000)


def test_queue_add_by_host_is_accepted_by_member_a_proposal() -> None:
    s = party("a")
    s, events = decide(s, QueueAdd("h", (SHORT, EP1)), NOW)
    assert [(q.id, q.media, q.accepted) for q in s.queue] == [(1, SHORT, True), (2, EP1, True)]
    assert isinstance(events[-1], QueueChanged) and s.queue_version == s.version
    s, _ = decide(s, QueueAdd("a", (EP2,)), NOW + 1)
    assert s.queue[-1].accepted is False and s.queue[-1].added_by == "a"
    # The member may withdraw their own proposal but not the host's items.
    with pytest.raises(DomainError):
        decide(s, QueueRemove("a", 1), NOW + 2)
    assert [q.id for q in decide(s, QueueRemove("a", 3), NOW + 2)[0].queue] == [1, 2]
    with pytest.raises(DomainError):
        decide(s, QueueAccept("a", 3), NOW + 2)
    s, _ = decide(s, QueueAccept("h", 3), NOW + 2)
    s, _ = decide(s, QueueMove("h", 3, 0), NOW + 3)
    assert [q.id for q in s.queue] == [3, 1, 2] and all(q.accepted for q in s.queue)
    with pytest.raises(DomainError, match="index"):
        decide(s, QueueMove("h", 3, 3), NOW + 4)
    with pytest.raises(DomainError) as e:
        decide(s, QueueRemove("h", 99), NOW + 4)
    assert e.value.code == "queue_item_not_found"


def test_queue_is_capped() -> None:
    s = party()
    s, _ = decide(s, QueueAdd("h", (SHORT,) * RULES.queue_max), NOW)
    with pytest.raises(DomainError) as e:
        decide(s, QueueAdd("h", (SHORT,)), NOW)
    assert e.value.code == "queue_full"


def test_end_of_media_moves_everyone_on_together() -> None:
    s = new_party(party_id="p", host_id="h", media=SHORT, now_ms=T0, rules=RULES)
    s, _ = decide(s, Join("a"), T0 + 1)
    for who in ("h", "a"):
        s, _ = decide(s, Ready(who, rtt_ms=100), T0 + 2)
    s, _ = decide(s, QueueAdd("a", (EP1,)), T0 + 3)  # a proposal: skipped
    assert s.up_next() == (None, None)
    s, _ = decide(s, QueueAdd("h", (EP2,)), T0 + 3)
    s, _ = decide(s, Seek("h", 59_000), T0 + 4)
    s, _ = decide(s, Play("h"), T0 + 5)
    ends = s.ends_at_ms()
    assert ends == s.anchor_server_ms + 1_000 and s.next_deadline_ms() == ends
    _, events = decide(s, Tick(), ends - 1)
    assert events == []
    moved, events = decide(s, Tick(), ends + 3)
    # Everyone loads the next media; it starts for all at one scheduled instant.
    assert moved.media == EP2 and moved.phase is Phase.WAITING and moved.position_ms == 0
    assert moved.waiting_for == {"h", "a"} and [q.media for q in moved.queue] == [EP1]
    assert replay(s, events) == moved
    moved, _ = decide(moved, Ready("h", rtt_ms=100), ends + 500)
    started, _ = decide(moved, Ready("a", rtt_ms=100), ends + 900)
    assert started.phase is Phase.PLAYING and started.anchor_server_ms == ends + 900 + 230


def test_series_go_on_with_the_next_episode_unless_autoplay_is_off() -> None:
    s = new_party(party_id="p", host_id="h", media=EP1, now_ms=T0, rules=RULES)
    s, _ = decide(s, Ready("h"), T0 + 1)
    assert s.up_next() == (None, None)  # not looked up yet
    s, _ = decide(s, SetSeriesNext(EP1.id, EP2), T0 + 2)
    assert s.up_next() == (None, EP2)
    s, _ = decide(s, SetSeriesNext(999, EP1), T0 + 2)  # about another episode: ignored
    assert s.series_next == EP2
    off, _ = decide(s, SetAutoplay("h", False), T0 + 3)
    with pytest.raises(DomainError) as e:
        decide(off, Next("h"), T0 + 4)
    assert e.value.code == "queue_empty"
    nxt, _ = decide(s, Next("h"), T0 + 4)
    # Even alone, the host loads the new episode before it starts.
    assert nxt.media == EP2 and nxt.phase is Phase.WAITING and nxt.waiting_for == {"h"}
    assert nxt.up_next() == (None, None)  # the service looks up the episode after EP2


def test_queue_survives_the_codec() -> None:
    s = party("a")
    s, _ = decide(s, QueueAdd("a", (SHORT, EP1)), NOW)
    s, _ = decide(s, SetSeriesNext(1, None), NOW)
    s, _ = decide(s, SetAutoplay("h", False), NOW)
    assert load_state(dump_state(s)) == s


def test_an_old_stored_state_loads_without_a_queue() -> None:
    d = dump_state(party("a"))
    for key in ("queue", "queue_seq", "queue_version", "autoplay", "series_next_for"):
        del d[key]
    del d["series_next"]
    for m in d["members"]:
        del m["catch_up_until_ms"]
    assert load_state(d) == party("a")


# --- catch-up ---------------------------------------------------------------------------------


def test_catch_up_plans_a_faster_rate_that_lands_on_the_timeline() -> None:
    s = playing("a")
    at = s.anchor_server_ms + 60_000
    party_pos = s.position_at(at)
    # a stalled 10 s behind
    c = CatchUp("a", round(party_pos) - 10_000, at, rate=0.0)
    plan = plan_catch_up(s, c, at)
    assert plan.mode == "rate" and 1.0 < plan.rate <= 1.25
    assert plan.start_server_ms == at + 230  # a's own lead (rtt 100)
    assert plan.from_position_ms == round(party_pos) - 10_000
    duration = plan.until_server_ms - plan.start_server_ms
    reached = plan.from_position_ms + duration * plan.rate
    assert abs(reached - s.position_at(plan.until_server_ms)) < 1
    assert plan.rejoin_position_ms == round(s.position_at(plan.until_server_ms))
    # behind by 10 s + the 230 ms lead, gaining 0.25 ms per ms
    assert duration == math.ceil((10_000 + 230) / 0.25)
    after, events = decide(s, c, at)
    a = after.member("a")
    assert a is not None and a.catching_up and a.catch_up_until_ms == plan.until_server_ms
    assert after.phase is Phase.PLAYING and after.anchor_server_ms == s.anchor_server_ms
    assert [type(e) for e in events] == [MemberUpserted]  # nobody else moves
    back, _ = decide(after, Ready("a"), plan.until_server_ms)
    b = back.member("a")
    assert b is not None and not b.catching_up and b.catch_up_until_ms is None


def test_catch_up_while_playing_along_and_ahead() -> None:
    s = playing("a")
    at = s.anchor_server_ms + 3_700_000
    pos = round(s.position_at(at))
    behind = plan_catch_up(s, CatchUp("a", pos - 5_000, at, rate=1.0), at)
    # Playing at 1.0 since `at`: the gap stays 5 s; the lead does not add to it.
    assert behind.mode == "rate" and behind.until_server_ms - behind.start_server_ms == 20_000
    ahead = plan_catch_up(s, CatchUp("a", pos + 4_000, at, rate=1.0), at)
    assert ahead.mode == "rate" and 0.8 <= ahead.rate < 1.0
    near = plan_catch_up(s, CatchUp("a", pos - 200, at, rate=1.0), at)
    assert near.mode == "none"
    far = plan_catch_up(s, CatchUp("a", pos - 3_600_000, at, rate=0.0), at)  # 4 h at 1.25x
    assert far.mode == "seek" and far.rejoin_position_ms == round(
        s.position_at(far.start_server_ms)
    )


def test_catch_up_in_a_held_party_is_a_seek_and_bad_input_is_refused() -> None:
    s = party("a")
    plan = plan_catch_up(s, CatchUp("a", 0, NOW, 0.0), NOW)
    assert plan.mode == "seek" and plan.rejoin_position_ms == s.position_ms
    with pytest.raises(DomainError) as e:
        decide(s, CatchUp("a", 0, NOW - 120_000), NOW)
    assert e.value.code == "clock_unsynced"
    with pytest.raises(DomainError):
        decide(s, CatchUp("zed", 0, NOW), NOW)
    with pytest.raises(DomainError):
        decide(s, CatchUp("a", -1, NOW), NOW)


# --- rooms ------------------------------------------------------------------------------------


def test_cohosts_control_and_moderate_but_not_the_host() -> None:
    s = party("a", "b")
    with pytest.raises(DomainError):
        decide(s, SetCohost("a", "b", True), NOW)  # only the host names co-hosts
    s, _ = decide(s, SetCohost("h", "a", True), NOW)
    assert s.room.cohosts == {"a"}
    s, _ = decide(s, Play("a"), NOW + 1)  # host_only, yet a co-host drives
    assert s.phase is Phase.PLAYING
    s, _ = decide(s, Mute("a", "b", True), NOW + 2)
    assert s.room.muted == {"b"}
    with pytest.raises(DomainError):
        decide(s, Kick("a", "h"), NOW + 3)
    with pytest.raises(DomainError):
        decide(s, Mute("b", "a", True), NOW + 3)
    s2, _ = decide(s, Kick("a", "b"), NOW + 3)
    assert s2.member("b") is None and "b" in s2.banned
    # A co-host who leaves is no longer one; one made host is host only.
    s3, _ = decide(s, Leave("a"), NOW + 4)
    assert s3.room.cohosts == frozenset()
    s4, _ = decide(s, TransferHost("h", "a"), NOW + 4)
    assert s4.host_id == "a" and s4.room.cohosts == frozenset()


def test_knock_admit_then_join_once() -> None:
    s = party("a")
    s, _ = decide(s, SetRoom("h", admission=Admission.KNOCK), NOW)
    with pytest.raises(DomainError) as e:
        decide(s, Join("k", vetted=False), NOW + 1)
    assert e.value.code == "admission_required"
    assert decide(s, Join("inv"), NOW + 1)[0].member("inv") is not None  # invited: in
    s, _ = decide(s, Knock("k"), NOW + 2)
    assert s.room.knocking == ("k",)
    assert decide(s, Knock("k"), NOW + 2)[1] == []  # knocking twice changes nothing
    with pytest.raises(DomainError):
        decide(s, Admit("a", "k", True), NOW + 3)  # not a moderator
    turned, _ = decide(s, Admit("h", "k", False), NOW + 3)
    assert turned.room.knocking == () and "k" not in turned.room.admitted
    s, _ = decide(s, Admit("h", "k", True), NOW + 3)
    s, _ = decide(s, Join("k", vetted=False), NOW + 4)
    assert s.member("k") is not None and s.room.admitted == frozenset()
    with pytest.raises(DomainError) as e:
        decide(s, Admit("h", "zed", True), NOW + 5)
    assert e.value.code == "not_knocking"
    opened, _ = decide(s, SetRoom("h", admission=Admission.OPEN), NOW + 6)
    assert decide(opened, Join("z", vetted=False), NOW + 7)[0].member("z") is not None


def test_room_settings_rules() -> None:
    s = party("a")
    with pytest.raises(DomainError):
        decide(s, SetRoom("a", slow_mode_s=5), NOW)
    s, _ = decide(s, SetCohost("h", "a", True), NOW)
    s, _ = decide(s, SetRoom("a", slow_mode_s=5), NOW)
    assert s.room.slow_mode_s == 5
    with pytest.raises(DomainError):
        decide(s, SetRoom("a", listed=True), NOW)  # listing is the host's choice
    s, _ = decide(s, SetRoom("h", listed=True, has_password=True), NOW)
    assert s.room.listed and s.room.has_password
    with pytest.raises(DomainError):
        decide(s, SetRoom("h", slow_mode_s=10_000), NOW)
    assert load_state(dump_state(s)) == s
    assert not party().room.listed  # off by default


# --- screens: each of a member's sockets is waited for on its own -----------------------------


def _a(s: PartyState) -> Member:
    m = s.member("a")
    assert m is not None
    return m


def two_screens() -> PartyState:
    """`a` watches on a phone and a TV, both loaded; the party plays."""
    s = party("a")
    s, _ = decide(s, Join("a", screen="phone"), T0 + 20)
    s, _ = decide(s, Join("a", screen="tv"), T0 + 21)
    for screen in ("phone", "tv"):
        s, _ = decide(s, Ready("a", screen=screen), T0 + 30)
    s, _ = decide(s, ScreensGone("a", ("",)), T0 + 31)  # the screen the helper readied
    s, _ = decide(s, Play("h"), T0 + 100)
    assert s.phase is Phase.PLAYING
    return s


def tv_loading() -> PartyState:
    s, _ = decide(two_screens(), Buffering("a", screen="tv"), T0 + 5_000)
    return s


def test_a_member_is_waited_for_until_every_screen_is_ready() -> None:
    s = tv_loading()
    assert s.phase is Phase.WAITING and s.waiting_for == {"a"}
    assert _a(s).waited_screens() == ("tv",)
    # The phone saying ready (again) does not start the party while the TV loads.
    phone, events = decide(s, Ready("a", screen="phone"), T0 + 5_100)
    assert phone.phase is Phase.WAITING and phone.waiting_for == {"a"}
    assert replay(s, events) == phone
    # The TV ready: everyone starts at one scheduled instant.
    tv, _ = decide(phone, Ready("a", screen="tv"), T0 + 5_200)
    assert tv.phase is Phase.PLAYING and tv.anchor_server_ms > T0 + 5_200
    assert _a(tv).ready and not _a(tv).waited_screens()


def test_a_loading_screen_that_leaves_is_no_longer_waited_for() -> None:
    s = tv_loading()
    gone, events = decide(s, ScreensGone("a", ("tv",)), T0 + 5_100)
    assert gone.phase is Phase.PLAYING and not gone.waiting_for
    assert [sc.id for sc in _a(gone).screens] == ["phone"]
    assert replay(s, events) == gone
    # Unknown screens, and strangers' screens, change nothing.
    assert decide(gone, ScreensGone("a", ("tv",)), T0 + 5_200)[1] == []
    assert decide(gone, ScreensGone("zed", ("tv",)), T0 + 5_200)[1] == []


def test_the_deadline_lets_the_loading_screen_go_and_the_other_is_still_waited_for() -> None:
    s = tv_loading()
    late, _ = decide(s, Tick(), T0 + 5_000 + RULES.wait_timeout_ms)
    assert late.phase is Phase.PLAYING
    a = late.member("a")
    assert a is not None and a.ready and not a.catching_up
    assert {sc.id: sc.catching_up for sc in a.screens} == {"phone": False, "tv": True}
    # The TV stalling again while it catches up stops nobody; the phone stalling does.
    tv, _ = decide(late, Buffering("a", screen="tv"), T0 + 14_000)
    assert tv.phase is Phase.PLAYING
    phone, _ = decide(tv, Buffering("a", screen="phone"), T0 + 14_100)
    assert phone.phase is Phase.WAITING and _a(phone).waited_screens() == ("phone",)


def test_a_new_screen_catches_up_like_a_late_joiner() -> None:
    s, _ = decide(two_screens(), Join("a", screen="laptop"), T0 + 1_000)
    s, _ = decide(s, Buffering("a", screen="laptop"), T0 + 1_100)
    assert s.phase is Phase.PLAYING
    # Once it said ready it is waited for like the others.
    s, _ = decide(s, Ready("a", screen="laptop"), T0 + 1_200)
    s, _ = decide(s, Buffering("a", screen="laptop"), T0 + 1_300)
    assert s.phase is Phase.WAITING


def test_the_next_item_waits_for_every_screen_and_a_rejoin_starts_afresh() -> None:
    s, _ = decide(two_screens(), QueueAdd("h", (SHORT,)), T0 + 200)
    s, _ = decide(s, Next("h"), T0 + 300)
    assert s.phase is Phase.WAITING and s.waiting_for == {"a", "h"}
    s, _ = decide(s, Ready("h"), T0 + 400)
    s, _ = decide(s, Ready("a", screen="phone"), T0 + 400)
    assert s.phase is Phase.WAITING and _a(s).waited_screens() == ("tv",)
    s, _ = decide(s, Ready("a", screen="tv"), T0 + 500)
    assert s.phase is Phase.PLAYING
    # Every socket gone, back on a new one: the old screens are forgotten.
    s, _ = decide(s, Disconnect("a"), T0 + 600)
    s, _ = decide(s, Join("a", screen="tablet"), T0 + 700)
    assert _a(s).screens == (Screen("tablet"),)


def test_screens_survive_the_codec_and_old_states_load_without_them() -> None:
    s = tv_loading()
    assert load_state(dump_state(s)) == s
    d = dump_state(s)
    for m in d["members"]:
        del m["screens"]
    del d["room"]["turned_away"]
    old = load_state(d)
    assert all(m.screens == () for m in old.members)
    # Their readiness is kept as stored until their screens report.
    assert [(m.ready, m.catching_up) for m in old.members] == [
        (m.ready, m.catching_up) for m in s.members
    ]


# --- a knock asked again is answered at once -------------------------------------------------


def test_knocking_again_learns_the_answer_and_queues_nobody_twice() -> None:
    s, _ = decide(party("a"), SetRoom("h", admission=Admission.KNOCK), NOW)
    assert knock_status(s, "k") is None and knock_status(s, "a") == "member"
    s, _ = decide(s, Knock("k"), NOW + 1)
    s, _ = decide(s, Knock("n"), NOW + 1)
    assert knock_status(s, "k") == "waiting"
    admitted, _ = decide(s, Admit("h", "k", True), NOW + 2)
    assert knock_status(admitted, "k") == "admitted"
    assert decide(admitted, Knock("k"), NOW + 3)[1] == []  # still admitted: join
    turned, _ = decide(admitted, Admit("h", "n", False), NOW + 3)
    assert knock_status(turned, "n") == "turned_away"
    # Knocking again after being turned away does not put them back in the host's list.
    again, events = decide(turned, Knock("n"), NOW + 4)
    assert events == [] and again.room.knocking == ()
    assert load_state(dump_state(turned)) == turned
    # Opening the door forgives: the turned away may join, and knock if it closes again.
    opened, _ = decide(turned, SetRoom("h", admission=Admission.OPEN), NOW + 5)
    assert knock_status(opened, "n") is None
    closed, _ = decide(opened, SetRoom("h", admission=Admission.KNOCK), NOW + 6)
    assert decide(closed, Knock("n"), NOW + 7)[0].room.knocking == ("n",)


def test_turned_away_is_bounded() -> None:
    s, _ = decide(party("a"), SetRoom("h", admission=Admission.KNOCK), NOW)
    for i in range(TURNED_AWAY_MAX + 5):
        s, _ = decide(s, Knock(f"k{i}"), NOW + 1)
        s, _ = decide(s, Admit("h", f"k{i}", False), NOW + 1)
    assert len(s.room.turned_away) == TURNED_AWAY_MAX and s.room.turned_away[-1] == (
        f"k{TURNED_AWAY_MAX + 4}"
    )
