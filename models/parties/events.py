"""Party events on the wire: names, and how a state becomes the `party:state` payload."""

from __future__ import annotations

from typing import Final

from models.parties.schemas import MediaOut, MemberOut, PartyStateOut
from models.parties.state import Event, MemberRemoved, MemberUpserted, PartyState, is_public

STATE: Final = "party:state"  # server -> party room: the playback state, versioned
CHAT: Final = "party:chat"  # server -> party room: a chat message (persisted, with cursor)
REACT: Final = "party:react"  # server -> party room: a reaction (not stored)
LEFT: Final = "party:left"  # server -> the user: you are out (kicked, expired, ended)


def chat_stream(party_id: str) -> str:
    return f"party_chat:{party_id}"


def members_changed(events: list[Event]) -> bool:
    return any(isinstance(e, MemberUpserted | MemberRemoved) for e in events)


def needs_broadcast(events: list[Event]) -> bool:
    return any(is_public(e) for e in events)


def state_view(
    s: PartyState,
    *,
    server_ms: int,
    members: bool,
    cause: str | None = None,
    by: str | None = None,
) -> PartyStateOut:
    return PartyStateOut(
        party_id=s.party_id,
        version=s.version,
        phase=s.phase,
        playing=s.playing,
        position_ms=s.position_ms,
        anchor_server_ms=s.anchor_server_ms,
        rate=s.rate,
        media=MediaOut(kind=s.media.kind, id=s.media.id, duration_ms=s.media.duration_ms),
        host_id=s.host_id,
        control_mode=s.control_mode,
        waiting_for=sorted(s.waiting_for),
        wait_deadline_ms=s.wait_deadline_ms,
        capacity=s.rules.capacity,
        members_version=s.members_version,
        members=[
            MemberOut(
                user_id=m.user_id,
                joined_at_ms=m.joined_at_ms,
                connected=m.connected,
                ready=m.ready,
                catching_up=m.catching_up,
                waits=m.waits,
            )
            for m in s.members
        ]
        if members
        else None,
        cause=cause,
        by=by,
        server_ms=server_ms,
        ended_reason=s.ended_reason,
    )
