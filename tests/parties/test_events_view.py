"""What `party:state` carries: the member list for small parties, a delta for big ones."""

from __future__ import annotations

from models.parties.events import FULL_LIST_MAX, broadcast_view
from models.parties.state import Join, Kick, Media, PartyState, Play, Rules, decide, new_party

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
