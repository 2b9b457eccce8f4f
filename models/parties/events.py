"""Party events on the wire: names, and how a state becomes the `party:state` payload."""

from __future__ import annotations

from typing import Final

from models.parties.live import Sent
from models.parties.schemas import (
    MediaOut,
    MemberChangeOut,
    MemberOut,
    PartyStateOut,
    QueueItemOut,
)
from models.parties.state import (
    Event,
    Media,
    Member,
    MemberRemoved,
    MemberUpserted,
    PartyState,
    QueueChanged,
    is_public,
)

STATE: Final = "party:state"  # server -> party room: the playback state, versioned
CHAT: Final = "party:chat"  # server -> party room: a chat message (persisted, with cursor)
REACT: Final = "party:react"  # server -> party room: a reaction (not stored)
LEFT: Final = "party:left"  # server -> the user: you are out (kicked, expired, ended)
ADMISSION: Final = "party:admission"  # server -> a user who knocked: admitted or not

# Up to this many members a membership change sends the whole list; above, only the change
# (a 500-member party joining one by one would otherwise send O(n^3) bytes).
FULL_LIST_MAX = 50


def chat_stream(party_id: str) -> str:
    return f"party_chat:{party_id}"


def members_changed(events: list[Event]) -> bool:
    return any(isinstance(e, MemberUpserted | MemberRemoved) for e in events)


def needs_broadcast(events: list[Event]) -> bool:
    return any(is_public(e) for e in events)


def members_only(events: list[Event]) -> bool:
    """Only the member list changed (joins, leaves, readiness, presence): a change that may
    wait for the next batch, unlike playback, roles, the room, the queue or the end."""
    return all(isinstance(e, MemberUpserted | MemberRemoved) for e in events if is_public(e))


def members_since(s: PartyState, base: int) -> list[MemberChangeOut] | None:
    """What a member list held at any version from `base` on needs to become the current
    one: departures and the records changed since (None: departures that old were
    forgotten; send the whole list)."""
    if base < s.departed_floor:
        return None
    delta = [
        MemberChangeOut(op="remove", user_id=d.user_id, reason=d.reason)
        for d in s.departed
        if d.version > base
    ]
    delta += [
        MemberChangeOut(op="upsert", user_id=m.user_id, member=_member_out(m))
        for m in s.members
        if m.changed_version > base
    ]
    return delta


def _member_out(m: Member) -> MemberOut:
    return MemberOut(
        user_id=m.user_id,
        joined_at_ms=m.joined_at_ms,
        connected=m.connected,
        ready=m.ready,
        catching_up=m.catching_up,
        waits=m.waits,
        catch_up_until_ms=m.catch_up_until_ms,
    )


def _media_out(m: Media) -> MediaOut:
    return MediaOut(kind=m.kind, id=m.id, duration_ms=m.duration_ms)


def queue_out(s: PartyState) -> list[QueueItemOut]:
    return [
        QueueItemOut(id=q.id, media=_media_out(q.media), added_by=q.added_by, accepted=q.accepted)
        for q in s.queue
    ]


def broadcast_view(
    before: PartyState,
    s: PartyState,
    events: list[Event],
    *,
    server_ms: int,
    cause: str | None,
    by: str | None,
) -> PartyStateOut:
    """The `party:state` for a change: the member list (or, for big parties, its delta) only
    when it changed."""
    view = state_view(
        s,
        server_ms=server_ms,
        members=members_changed(events) and len(s.members) <= FULL_LIST_MAX,
        cause=cause,
        by=by,
        queue=any(isinstance(e, QueueChanged) for e in events),
    )
    if members_changed(events) and view.members is None:
        delta: list[MemberChangeOut] = []
        for e in events:
            if isinstance(e, MemberRemoved):
                delta.append(MemberChangeOut(op="remove", user_id=e.user_id, reason=e.reason))
            elif isinstance(e, MemberUpserted):
                delta.append(
                    MemberChangeOut(
                        op="upsert", user_id=e.member.user_id, member=_member_out(e.member)
                    )
                )
        view.members_delta = delta
        view.members_base_version = before.members_version
    return view


def sent_view(
    s: PartyState, sent: Sent, *, server_ms: int, cause: str | None, by: str | None
) -> PartyStateOut:
    """The `party:state` for whatever changed since the broadcasts before it (which may hold
    several changes, made on any process): the member list whole in a small party, else the
    members changed since the broadcast before the last (a member holds one of the two even
    if they arrived in the other order); the queue if it changed since the last."""
    small = len(s.members) <= FULL_LIST_MAX
    last, before = sent.members_version, sent.members_version_before
    base = last if small or before is None else before
    changed = base is None or s.members_version > base
    delta = None if small or not changed or base is None else members_since(s, base)
    view = state_view(
        s,
        server_ms=server_ms,
        members=changed and delta is None,
        cause=cause,
        by=by,
        # Unknown (the first broadcast): a queue never changed since the party began is empty.
        queue=s.queue_version > (sent.queue_version or 0),
    )
    if delta is not None:
        view.members_delta = delta
        view.members_base_version = base
    return view


def waiting_screens(s: PartyState) -> dict[str, list[str]]:
    """Which screens of each member waited for hold the party (members whose readiness was
    stored before screens were kept have none to name)."""
    named: dict[str, list[str]] = {}
    for user_id in sorted(s.waiting_for):
        m = s.member(user_id)
        screens = [] if m is None else [sc for sc in m.waited_screens() if sc]
        if screens:
            named[user_id] = screens
    return named


def state_view(
    s: PartyState,
    *,
    server_ms: int,
    members: bool,
    cause: str | None = None,
    by: str | None = None,
    queue: bool = False,
) -> PartyStateOut:
    up_next = s.up_next()[1]
    return PartyStateOut(
        party_id=s.party_id,
        version=s.version,
        phase=s.phase,
        playing=s.playing,
        position_ms=s.position_ms,
        anchor_server_ms=s.anchor_server_ms,
        rate=s.rate,
        media=_media_out(s.media),
        host_id=s.host_id,
        control_mode=s.control_mode,
        waiting_for=sorted(s.waiting_for),
        waiting_screens=waiting_screens(s),
        wait_deadline_ms=s.wait_deadline_ms,
        capacity=s.rules.capacity,
        members_version=s.members_version,
        members=[_member_out(m) for m in s.members] if members else None,
        cause=cause,
        by=by,
        server_ms=server_ms,
        ended_reason=s.ended_reason,
        cohosts=sorted(s.room.cohosts),
        admission=s.room.admission,
        has_password=s.room.has_password,
        knocking=list(s.room.knocking),
        muted=sorted(s.room.muted),
        slow_mode_s=s.room.slow_mode_s,
        listed=s.room.listed,
        queue_version=s.queue_version,
        queue=queue_out(s) if queue else None,
        autoplay=s.autoplay,
        up_next=None if up_next is None else _media_out(up_next),
        ends_at_ms=s.ends_at_ms(),
    )
