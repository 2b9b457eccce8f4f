"""The client's cursor rule (cinema/stream_cursor.py) on its own: what each live event and
each resume answer does, without a socket (the resume tests run it against servers)."""

from __future__ import annotations

from typing import Any

import pytest

from cinema.stream_cursor import StreamCursor


def _ev(cursor: int) -> dict[str, Any]:
    return {"stream": "notifications", "cursor": cursor}


def _ack(*cursors: int, truncated: bool = False) -> dict[str, Any]:
    events = [_ev(c) for c in cursors]
    replay = {"events": events, "cursor": max(cursors, default=0), "truncated": truncated}
    return {"ok": True, "data": {"streams": {"notifications": {**replay, "error": None}}}}


@pytest.mark.parametrize(
    ("at", "live", "cursor", "resume", "counter"),
    [
        (3, 4, 4, False, "live"),  # the next one: applied
        (3, 3, 3, False, "duplicates"),  # seen already: dropped
        (3, 1, 3, False, "duplicates"),
        (3, 6, 3, True, "gaps"),  # two missing: nothing applied, a resume is asked for
    ],
)
def test_a_live_event(at: int, live: int, cursor: int, resume: bool, counter: str) -> None:
    s = StreamCursor()
    s.cursor = at
    assert s.on_live(_ev(live)) is resume
    assert s.cursor == cursor and getattr(s, counter) == 1


def test_a_resume_holds_live_events_and_applies_them_after_its_replay() -> None:
    s = StreamCursor()
    assert s.begin_resume() == {"cursors": {"notifications": 0}}
    assert s.resuming
    assert s.on_live(_ev(3)) is False and s.on_live(_ev(4)) is False  # held, not gaps
    assert s.on_resumed(_ack(1, 2, 3)) is None
    assert s.end_resume() is False
    assert s.applied == [1, 2, 3, 4] and (s.replayed, s.live, s.duplicates) == (3, 1, 1)
    assert not s.resuming


def test_a_replay_applies_only_newer_events_and_skips_coalesced_cursors() -> None:
    s = StreamCursor()
    s.cursor = 2
    s.begin_resume()
    assert s.on_resumed(_ack(2, 5, 7)) is None  # 3, 4 and 6 were coalesced into later ones
    assert s.end_resume() is False
    assert s.applied == [5, 7] and s.duplicates == 1


@pytest.mark.parametrize(
    "meanwhile",
    ["asked again", "a gap among the held", "a truncated replay"],
)
def test_another_resume_follows_the_running_one(meanwhile: str) -> None:
    s = StreamCursor()
    s.begin_resume()
    ack = _ack(1)
    if meanwhile == "asked again":  # sync:stale while it ran: its answer may predate the loss
        assert s.begin_resume() is None
    elif meanwhile == "a gap among the held":
        s.on_live(_ev(9))
    else:
        ack = _ack(1, truncated=True)
    s.on_resumed(ack)
    assert s.end_resume() is True
    assert s.begin_resume() == {"cursors": {"notifications": 1}}
    s.on_resumed(_ack())
    assert s.end_resume() is False


def test_a_refused_resume_applies_nothing_and_says_why() -> None:
    s = StreamCursor("party_chat:7")
    s.begin_resume()
    refused = {"ok": False, "error": {"code": "invalid_payload", "message": "no"}}
    assert s.on_resumed(refused) == "invalid_payload"
    replay = {"events": [], "cursor": 0, "truncated": False}
    stream_error = {"code": "party_not_found", "message": "gone"}
    answer = {"ok": True, "data": {"streams": {"party_chat:7": {**replay, "error": stream_error}}}}
    assert s.on_resumed(answer) == "party_not_found"
    assert s.end_resume() is False and s.cursor == 0 and s.applied == []
