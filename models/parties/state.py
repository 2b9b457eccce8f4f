"""Watch-party state machine: pure transitions; time is an argument, nothing here does I/O.

The server owns `(phase, position_ms, anchor_server_ms, rate)` and never ticks: the position at
server time t is `position_ms + (t - anchor_server_ms) * rate` while playing and t >= anchor
(a play or seek is scheduled a short lead ahead, so before the anchor the position holds).
`decide(state, command, now_ms)` returns the next state and the events that turn the old state
into it (`evolve` folds them back: clients do the same). Deadlines (waiting timeout, grace
periods) are applied lazily by every `decide` call, so a `Tick` is only needed when nobody
else speaks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from models.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound


class Phase(StrEnum):
    PAUSED = "paused"
    PLAYING = "playing"  # possibly scheduled: holds at position_ms until anchor_server_ms
    WAITING = "waiting"  # wants to play; held until waiting_for are ready or the deadline
    ENDED = "ended"


class ControlMode(StrEnum):
    HOST_ONLY = "host_only"
    EVERYONE = "everyone"


class Admission(StrEnum):
    OPEN = "open"  # anyone with the invite code (or invited) joins
    KNOCK = "knock"  # those not invited knock, and the host or a co-host admits them


KNOCKING_MAX = 50
SCREENS_MAX = 16  # per member; beyond, the oldest is forgotten (it catches up if still there)
TURNED_AWAY_MAX = 200
SLOW_MODE_MAX_S = 600


MediaKind: TypeAlias = Literal["title", "episode"]


@dataclass(frozen=True, slots=True)
class Rules:
    """Per-party constants, copied from Settings when the party is created."""

    capacity: int = 50
    wait_timeout_ms: int = 8_000
    grace_ms: int = 30_000
    # lead = clamp(max member RTT * factor + margin, min, max): the broadcast must reach the
    # slowest member (one-way ~ RTT/2, plus jitter) before the scheduled instant.
    lead_rtt_factor: float = 1.5
    lead_margin_ms: int = 80
    lead_min_ms: int = 150
    lead_max_ms: int = 3_000
    default_rtt_ms: int = 250
    seek_extra_lead_ms: int = 0
    min_rate: float = 0.5
    max_rate: float = 2.0
    # Catch-up: a member behind (or ahead) plays at party rate x this factor (or / it) until
    # back on the timeline; a gap that would take longer than catch_up_max_ms is a seek.
    catch_up_factor: float = 1.25
    catch_up_max_ms: int = 180_000
    queue_max: int = 200


@dataclass(frozen=True, slots=True)
class Media:
    kind: MediaKind
    id: int
    duration_ms: int | None = None


@dataclass(frozen=True, slots=True)
class Screen:
    """One of a member's screens (a socket in the party's room), as far as waiting goes.

    A screen that has not said ready yet (it just joined) catches up: like a late joiner,
    nobody waits for it until its first `Ready`. Once ready, it is waited for whenever it
    stalls (and for every new media), until it leaves the room or a deadline lets it go."""

    id: str  # the socket id ("" for a command that names no screen)
    ready: bool = False
    catching_up: bool = True


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    joined_at_ms: int
    connected: bool = True
    disconnected_at_ms: int | None = None
    # `ready` and `catching_up` sum up `screens` (see _rolled_up): the member is waited for
    # while any of their screens is neither ready nor catching up.
    ready: bool = False
    # Late joiners, reconnects and stragglers let go at a timeout catch up on their own:
    # until their next `Ready` nobody waits for them, so they never move anyone else.
    catching_up: bool = True
    waits: bool = True  # False: the member opted out of being waited for
    rtt_ms: int | None = None
    # Set by a planned catch-up: when the member is back on the timeline (server ms).
    catch_up_until_ms: int | None = None
    screens: tuple[Screen, ...] = ()
    # The party version at which members last saw this record change (set by `decide`): a
    # list held at any version from a base on is brought up to date by the members changed
    # since (events.members_since), whoever made the changes in between.
    changed_version: int = 0

    def waited_screens(self) -> tuple[str, ...]:
        """The screens the party would wait for (not ready, not catching up)."""
        return tuple(sc.id for sc in self.screens if not (sc.ready or sc.catching_up))


@dataclass(frozen=True, slots=True)
class QueueItem:
    """What plays next. `accepted` is False for a member's proposal in a host-only party: it
    waits for someone in control to accept it, and advancing skips it."""

    id: int
    media: Media
    added_by: str
    accepted: bool = True


@dataclass(frozen=True, slots=True)
class Room:
    """Who runs the room and how it lets people in and talk (the password itself is in
    PostgreSQL; the state only says there is one)."""

    cohosts: frozenset[str] = frozenset()
    admission: Admission = Admission.OPEN
    has_password: bool = False
    knocking: tuple[str, ...] = ()  # waiting to be admitted, in order
    admitted: frozenset[str] = frozenset()  # admitted, may join once
    # Turned away (the latest TURNED_AWAY_MAX): a knock again is answered at once, not queued.
    turned_away: tuple[str, ...] = ()
    muted: frozenset[str] = frozenset()  # may not chat
    slow_mode_s: int = 0  # at most one message per member this often (0: off)
    listed: bool = False  # friends of the host see the party and may join it


@dataclass(frozen=True, slots=True)
class Departure:
    """A member who left (or was removed) at `version`: kept so a member list held at an
    older version learns it, without the whole list."""

    user_id: str
    version: int
    reason: RemovalReason


DEPARTED_MAX = 256  # departures kept; a list older than the oldest dropped one is resent whole


@dataclass(frozen=True, slots=True)
class PartyState:
    party_id: str
    version: int
    phase: Phase
    position_ms: int
    anchor_server_ms: int
    rate: float
    media: Media
    host_id: str
    control_mode: ControlMode
    members: tuple[Member, ...]
    rules: Rules = field(default_factory=Rules)
    banned: frozenset[str] = frozenset()
    waiting_for: frozenset[str] = frozenset()
    wait_deadline_ms: int | None = None
    members_version: int = 0
    ended_reason: str | None = None
    queue: tuple[QueueItem, ...] = ()
    queue_seq: int = 0  # the last queue item id handed out
    queue_version: int = 0  # version at which the queue (or autoplay, up next) last changed
    autoplay: bool = True  # a series goes on with its next episode when the queue is empty
    # The episode after the current one (looked up by the service, which cannot be done here):
    # valid while series_next_for is the current episode's id.
    series_next_for: int | None = None
    series_next: Media | None = None
    room: Room = field(default_factory=lambda: Room())
    departed: tuple[Departure, ...] = ()  # the latest DEPARTED_MAX, oldest first
    departed_floor: int = 0  # the newest departure dropped from `departed`

    @property
    def playing(self) -> bool:
        return self.phase is Phase.PLAYING

    def up_next(self) -> tuple[QueueItem | None, Media | None]:
        """(the queue item, the media) the party moves to when the current one ends."""
        for item in self.queue:
            if item.accepted:
                return item, item.media
        if (
            self.autoplay
            and self.media.kind == "episode"
            and self.series_next_for == self.media.id
            and self.series_next is not None
        ):
            return None, self.series_next
        return None, None

    def ends_at_ms(self) -> int | None:
        """The server instant the current media ends while playing (None: not playing, or
        its length unknown)."""
        duration = self.media.duration_ms
        if self.phase is not Phase.PLAYING or duration is None or self.rate <= 0:
            return None
        remaining = max(0, duration - self.position_ms)
        return self.anchor_server_ms + math.ceil(remaining / self.rate)

    def position_at(self, t_ms: int) -> float:
        if self.phase is not Phase.PLAYING or t_ms <= self.anchor_server_ms:
            return float(self.position_ms)
        return self.position_ms + (t_ms - self.anchor_server_ms) * self.rate

    def member(self, user_id: str) -> Member | None:
        for m in self.members:
            if m.user_id == user_id:
                return m
        return None

    def lead_ms(self) -> int:
        rules = self.rules
        rtts = [
            rules.default_rtt_ms if m.rtt_ms is None else m.rtt_ms
            for m in self.members
            if m.connected
        ]
        worst = max(rtts, default=rules.default_rtt_ms)
        lead = int(worst * rules.lead_rtt_factor) + rules.lead_margin_ms
        return max(rules.lead_min_ms, min(rules.lead_max_ms, lead))

    def next_deadline_ms(self) -> int | None:
        """When `Tick` next has something to do (waiting timeout or a grace period ending)."""
        if self.phase is Phase.ENDED:
            return None
        deadlines = [
            m.disconnected_at_ms + self.rules.grace_ms
            for m in self.members
            if m.disconnected_at_ms is not None
        ]
        if self.phase is Phase.WAITING and self.wait_deadline_ms is not None:
            deadlines.append(self.wait_deadline_ms)
        ends = self.ends_at_ms()
        if ends is not None and self.up_next()[1] is not None:
            deadlines.append(ends)
        return min(deadlines, default=None)


def new_party(
    *, party_id: str, host_id: str, media: Media, now_ms: int, rules: Rules | None = None
) -> PartyState:
    return PartyState(
        party_id=party_id,
        version=1,
        phase=Phase.PAUSED,
        position_ms=0,
        anchor_server_ms=now_ms,
        rate=1.0,
        media=media,
        host_id=host_id,
        control_mode=ControlMode.HOST_ONLY,
        members=(Member(user_id=host_id, joined_at_ms=now_ms),),
        rules=rules or Rules(),
        members_version=1,
    )


# --- commands -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Join:
    by: str
    rtt_ms: int | None = None
    # Invited, or been in the party before: a room that asks people to knock lets them in.
    vetted: bool = True
    screen: str = ""  # the joining socket


@dataclass(frozen=True, slots=True)
class Leave:
    by: str


@dataclass(frozen=True, slots=True)
class Disconnect:
    """The user's last socket in this party went away; the grace period starts."""

    by: str


@dataclass(frozen=True, slots=True)
class Reconnect:
    """A member marked disconnected turns out to have a live socket in the party all along (their
    process missed heartbeats): connected again as they were. Never brings back a member who is
    gone (kicked, left, expired); they must join."""

    by: str


@dataclass(frozen=True, slots=True)
class Play:
    by: str


@dataclass(frozen=True, slots=True)
class Pause:
    by: str


@dataclass(frozen=True, slots=True)
class Seek:
    by: str
    position_ms: int


@dataclass(frozen=True, slots=True)
class SetRate:
    by: str
    rate: float


@dataclass(frozen=True, slots=True)
class Buffering:
    """One of the member's screens (`screen`, a socket id) stalled."""

    by: str
    rtt_ms: int | None = None
    screen: str = ""


@dataclass(frozen=True, slots=True)
class Ready:
    """One of the member's screens can play at the party's position."""

    by: str
    rtt_ms: int | None = None
    screen: str = ""


@dataclass(frozen=True, slots=True)
class ScreensGone:
    """Some of the member's screens left the party's room (closed, or died with their process)
    while another stays: nobody waits for those any more."""

    by: str
    screens: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SetWaits:
    """`waits=False` opts the member out of being waited for."""

    by: str
    waits: bool


@dataclass(frozen=True, slots=True)
class ReportRtt:
    by: str
    rtt_ms: int


@dataclass(frozen=True, slots=True)
class TransferHost:
    by: str
    to: str


@dataclass(frozen=True, slots=True)
class Kick:
    by: str
    user_id: str


@dataclass(frozen=True, slots=True)
class SetControlMode:
    by: str
    mode: ControlMode


@dataclass(frozen=True, slots=True)
class ChangeMedia:
    by: str
    media: Media


@dataclass(frozen=True, slots=True)
class QueueAdd:
    """Append media (a member proposes; those in control add accepted items)."""

    by: str
    items: tuple[Media, ...]


@dataclass(frozen=True, slots=True)
class QueueRemove:
    """Those in control remove any item; a member may withdraw their own."""

    by: str
    item_id: int


@dataclass(frozen=True, slots=True)
class QueueMove:
    by: str
    item_id: int
    index: int


@dataclass(frozen=True, slots=True)
class QueueAccept:
    by: str
    item_id: int


@dataclass(frozen=True, slots=True)
class Next:
    """Move to what is up next now, as if the current media had ended."""

    by: str


@dataclass(frozen=True, slots=True)
class SetAutoplay:
    by: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetSeriesNext:
    """The system: the episode after `for_id` (None: it was the last)."""

    for_id: int
    media: Media | None


@dataclass(frozen=True, slots=True)
class CatchUp:
    """A member behind the party (stalled, rewound, joined late) asks to catch up without
    anyone waiting: the member held `position_ms` at server time `at_server_ms`, playing
    at `rate` since (0: paused or stalled)."""

    by: str
    position_ms: int
    at_server_ms: int
    rate: float = 0.0
    screen: str = ""


@dataclass(frozen=True, slots=True)
class SetCohost:
    by: str
    user_id: str
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetRoom:
    """Host or co-host: room settings (None: unchanged)."""

    by: str
    admission: Admission | None = None
    slow_mode_s: int | None = None
    listed: bool | None = None
    has_password: bool | None = None


@dataclass(frozen=True, slots=True)
class Knock:
    by: str


@dataclass(frozen=True, slots=True)
class Admit:
    by: str
    user_id: str
    admit: bool


@dataclass(frozen=True, slots=True)
class Mute:
    by: str
    user_id: str
    muted: bool


@dataclass(frozen=True, slots=True)
class End:
    by: str | None  # None: not a member but the system (the party's media was deleted)
    reason: str = "ended"


@dataclass(frozen=True, slots=True)
class Tick:
    """Apply due deadlines; sent by the sweeper when no other command arrives."""


Command: TypeAlias = (
    Join
    | Leave
    | Disconnect
    | Reconnect
    | Play
    | Pause
    | Seek
    | SetRate
    | Buffering
    | Ready
    | ScreensGone
    | SetWaits
    | ReportRtt
    | TransferHost
    | Kick
    | SetControlMode
    | ChangeMedia
    | QueueAdd
    | QueueRemove
    | QueueMove
    | QueueAccept
    | Next
    | SetAutoplay
    | SetSeriesNext
    | CatchUp
    | SetCohost
    | SetRoom
    | Knock
    | Admit
    | Mute
    | End
    | Tick
)


# --- events ---------------------------------------------------------------------------------

RemovalReason: TypeAlias = Literal["left", "kicked", "expired"]


@dataclass(frozen=True, slots=True)
class PlaybackChanged:
    version: int
    phase: Phase
    position_ms: int
    anchor_server_ms: int
    rate: float
    media: Media
    waiting_for: frozenset[str]
    wait_deadline_ms: int | None


@dataclass(frozen=True, slots=True)
class MemberUpserted:
    version: int
    member: Member


@dataclass(frozen=True, slots=True)
class MemberRemoved:
    version: int
    user_id: str
    reason: RemovalReason


@dataclass(frozen=True, slots=True)
class RttReported:
    """Bookkeeping for the lead computation; not broadcast."""

    version: int
    user_id: str
    rtt_ms: int | None


@dataclass(frozen=True, slots=True)
class RolesChanged:
    version: int
    host_id: str
    control_mode: ControlMode


@dataclass(frozen=True, slots=True)
class PartyEnded:
    version: int
    reason: str


@dataclass(frozen=True, slots=True)
class QueueChanged:
    version: int
    queue: tuple[QueueItem, ...]
    queue_seq: int
    autoplay: bool
    series_next_for: int | None
    series_next: Media | None


@dataclass(frozen=True, slots=True)
class RoomChanged:
    version: int
    room: Room


Event: TypeAlias = (
    RoomChanged
    | PlaybackChanged
    | MemberUpserted
    | MemberRemoved
    | RttReported
    | RolesChanged
    | PartyEnded
    | QueueChanged
)


def is_public(event: Event) -> bool:
    """Whether members need to hear about it (an RTT refresh alone is bookkeeping)."""
    return not isinstance(event, RttReported)


# --- decide ---------------------------------------------------------------------------------

_Removals: TypeAlias = dict[str, RemovalReason]


def decide(state: PartyState, command: Command, now_ms: int) -> tuple[PartyState, list[Event]]:
    """The one transition function: raises a DomainError subclass on an illegal move."""
    if state.phase is Phase.ENDED:
        if isinstance(command, Tick):
            return state, []
        raise Gone("This party has ended", code="party_ended")
    removals: _Removals = {}
    new = _expire(state, now_ms, removals)
    if new.phase is not Phase.ENDED:
        handler = _HANDLERS[type(command)]
        new = handler(new, command, now_ms, removals)
    if new == state:
        return state, []
    new = replace(new, version=state.version + 1)
    events = _diff(state, new, removals)
    if any(isinstance(e, MemberUpserted | MemberRemoved) for e in events):
        new, events = _stamped(new, events)
    if any(isinstance(e, QueueChanged) for e in events):
        new = replace(new, queue_version=new.version)
    return new, events


def _expire(s: PartyState, now: int, removals: _Removals) -> PartyState:
    gone = [
        m.user_id
        for m in s.members
        if m.disconnected_at_ms is not None and now >= m.disconnected_at_ms + s.rules.grace_ms
    ]
    for user_id in gone:
        s = _remove(s, user_id, "expired", removals, now)
        if s.phase is Phase.ENDED:
            return s
    if s.phase is Phase.WAITING and s.wait_deadline_ms is not None and now >= s.wait_deadline_ms:
        # Go on without the stragglers; they catch up instead of freezing everyone.
        late = s.waiting_for
        s = replace(
            s,
            members=tuple(_let_go(m) if m.user_id in late else m for m in s.members),
            waiting_for=frozenset(),
        )
        s = _start(s, now)
    ends = s.ends_at_ms()
    if ends is not None and now >= ends and s.up_next()[1] is not None:
        s = _advance(s, now)
    return s


def _advance(s: PartyState, now: int) -> PartyState:
    """The current media is over (or skipped): everyone moves to what is up next, loads it,
    and starts it together at one scheduled instant once loaded (or at the wait timeout)."""
    item, media = s.up_next()
    assert media is not None
    queue = tuple(q for q in s.queue if item is None or q.id != item.id)
    members = tuple(
        _rolled_up(
            replace(m, catch_up_until_ms=None),
            tuple(
                replace(sc, ready=False, catching_up=not (m.connected and m.waits))
                for sc in m.screens
            ),
        )
        for m in s.members
    )
    s = replace(
        s,
        media=media,
        queue=queue,
        members=members,
        phase=Phase.WAITING,
        position_ms=0,
        anchor_server_ms=now,
        rate=s.rate,
    )
    blocking = _blocking(s)
    if not blocking:
        return _start(s, now)
    return replace(s, waiting_for=blocking, wait_deadline_ms=now + s.rules.wait_timeout_ms)


def _member(s: PartyState, user_id: str) -> Member:
    m = s.member(user_id)
    if m is None:
        raise Forbidden("You are not a member of this party", code="not_member")
    return m


def is_moderator(s: PartyState, user_id: str) -> bool:
    """The host and the co-hosts: they control playback and run the room."""
    return user_id == s.host_id or user_id in s.room.cohosts


def _require_control(s: PartyState, user_id: str) -> None:
    _member(s, user_id)
    if s.control_mode is ControlMode.HOST_ONLY and not is_moderator(s, user_id):
        raise Forbidden("Only the host controls playback in this party")


def _require_moderator(s: PartyState, user_id: str, what: str) -> None:
    _member(s, user_id)
    if not is_moderator(s, user_id):
        raise Forbidden(f"Only the host or a co-host can {what}")


def _require_host(s: PartyState, user_id: str, what: str) -> None:
    _member(s, user_id)
    if user_id != s.host_id:
        raise Forbidden(f"Only the host can {what}")


def _with_member(s: PartyState, m: Member) -> PartyState:
    return replace(s, members=tuple(m if x.user_id == m.user_id else x for x in s.members))


def _rolled_up(m: Member, screens: tuple[Screen, ...]) -> Member:
    """The member with these screens, their readiness summed up: waited for while a screen is
    neither ready nor catching up; catching up while every screen is (or none is known)."""
    catching_up = all(sc.catching_up for sc in screens)
    ready = not catching_up and not any(not (sc.ready or sc.catching_up) for sc in screens)
    return replace(m, screens=screens, ready=ready, catching_up=catching_up)


def _screen(m: Member, screen_id: str) -> Screen:
    for sc in m.screens:
        if sc.id == screen_id:
            return sc
    return Screen(screen_id)


def _put_screen(m: Member, screen: Screen) -> Member:
    if any(sc.id == screen.id for sc in m.screens):
        screens = tuple(screen if sc.id == screen.id else sc for sc in m.screens)
    else:
        screens = (*m.screens, screen)[-SCREENS_MAX:]
    return _rolled_up(m, screens)


def _let_go(m: Member) -> Member:
    """Past the waiting deadline: the member's screens still loading catch up on their own."""
    return _rolled_up(
        m, tuple(sc if sc.ready else replace(sc, catching_up=True) for sc in m.screens)
    )


def _clean_rtt(rtt_ms: int | None) -> int | None:
    if rtt_ms is None:
        return None
    if not 0 <= rtt_ms <= 60_000:
        raise InvalidInput("rtt_ms must be between 0 and 60000")
    return rtt_ms


def _or(new: int | None, old: int | None) -> int | None:
    return old if new is None else new


def _start(s: PartyState, now: int) -> PartyState:
    """Play from the held position at a server instant everyone can reach in time."""
    return replace(
        s,
        phase=Phase.PLAYING,
        anchor_server_ms=now + s.lead_ms(),
        waiting_for=frozenset(),
        wait_deadline_ms=None,
    )


def _hold(s: PartyState, now: int, phase: Phase) -> PartyState:
    """Freeze the position as of now (a scheduled start not reached yet holds where it is)."""
    return replace(
        s,
        phase=phase,
        position_ms=round(s.position_at(now)),
        anchor_server_ms=max(now, s.anchor_server_ms) if s.playing else now,
    )


def _blocking(s: PartyState) -> frozenset[str]:
    """Members the party waits for before it plays."""
    return frozenset(
        m.user_id
        for m in s.members
        if m.connected and m.waits and not m.catching_up and not m.ready
    )


def _settle(s: PartyState, now: int) -> PartyState:
    """Leave Waiting once nobody left in it is still worth waiting for."""
    if s.phase is not Phase.WAITING:
        return s
    still = s.waiting_for & _blocking(s)
    if still != s.waiting_for:
        s = replace(s, waiting_for=still)
    return _start(s, now) if not still else s


def _pick_host(s: PartyState) -> str | None:
    """The longest-present member, preferring those connected now."""
    if not s.members:
        return None
    best = min(s.members, key=lambda m: (not m.connected, m.joined_at_ms, m.user_id))
    return best.user_id


def _remove(
    s: PartyState, user_id: str, reason: RemovalReason, removals: _Removals, now: int
) -> PartyState:
    removals[user_id] = reason
    s = replace(
        s,
        members=tuple(m for m in s.members if m.user_id != user_id),
        waiting_for=s.waiting_for - {user_id},
    )
    if user_id in s.room.cohosts:
        s = replace(s, room=replace(s.room, cohosts=s.room.cohosts - {user_id}))
    if not s.members:
        return replace(
            s,
            phase=Phase.ENDED,
            position_ms=round(s.position_at(now)),
            anchor_server_ms=now,
            waiting_for=frozenset(),
            wait_deadline_ms=None,
            ended_reason="empty",
        )
    if s.host_id == user_id:
        s = replace(s, host_id=_pick_host(s) or s.host_id)
    return _settle(s, now)


# --- handlers: (state after expiry, command, now, removals) -> state ------------------------


def _join(s: PartyState, c: Join, now: int, removals: _Removals) -> PartyState:
    if c.by in s.banned:
        raise Forbidden("You were removed from this party", code="banned")
    rtt = _clean_rtt(c.rtt_ms)
    m = s.member(c.by)
    if m is not None:
        if m.connected:
            # Another device or tab of a member already present: a screen more, which catches
            # up like a late joiner (nothing moves).
            m = replace(m, rtt_ms=_or(rtt, m.rtt_ms))
            return _with_member(s, _put_screen(m, _screen(m, c.screen)))
        # Back within the grace period: same roles, same place in the host order; the screens
        # of before are gone.
        back = replace(m, connected=True, disconnected_at_ms=None, rtt_ms=_or(rtt, m.rtt_ms))
        return _with_member(s, _rolled_up(back, (Screen(c.screen),)))
    if len(s.members) >= s.rules.capacity:
        raise Conflict("This party is full", code="party_full")
    room = s.room
    if room.admission is Admission.KNOCK and not c.vetted:
        if c.by not in room.admitted:
            raise Forbidden(
                "This party admits people who knock (party:knock)", code="admission_required"
            )
        s = replace(s, room=replace(room, admitted=room.admitted - {c.by}))
    joined = Member(user_id=c.by, joined_at_ms=now, rtt_ms=rtt, screens=(Screen(c.screen),))
    return replace(s, members=(*s.members, joined))


def _leave(s: PartyState, c: Leave, now: int, removals: _Removals) -> PartyState:
    _member(s, c.by)
    return _remove(s, c.by, "left", removals, now)


def _disconnect(s: PartyState, c: Disconnect, now: int, removals: _Removals) -> PartyState:
    m = s.member(c.by)
    if m is None or not m.connected:
        return s  # a kicked member's socket closing, or a duplicate report
    s = _with_member(s, replace(m, connected=False, disconnected_at_ms=now))
    return _settle(s, now)


def _reconnect(s: PartyState, c: Reconnect, now: int, removals: _Removals) -> PartyState:
    m = s.member(c.by)
    if m is None or m.connected:
        return s
    # Their player never stopped following the party, so readiness stays as it was reported.
    return _with_member(s, replace(m, connected=True, disconnected_at_ms=None))


def _play(s: PartyState, c: Play, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    if s.phase is not Phase.PAUSED:
        return s
    blocking = _blocking(s)
    if blocking:
        return replace(
            s,
            phase=Phase.WAITING,
            anchor_server_ms=now,
            waiting_for=blocking,
            wait_deadline_ms=now + s.rules.wait_timeout_ms,
        )
    return _start(s, now)


def _pause(s: PartyState, c: Pause, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    if s.phase is Phase.PAUSED:
        return s
    s = _hold(s, now, Phase.PAUSED)
    return replace(s, anchor_server_ms=now, waiting_for=frozenset(), wait_deadline_ms=None)


def _seek(s: PartyState, c: Seek, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    duration = s.media.duration_ms
    if c.position_ms < 0 or (duration is not None and c.position_ms > duration):
        raise InvalidInput(f"position_ms must be between 0 and {duration or 'the end'}")
    if s.phase is Phase.PLAYING:
        lead = s.lead_ms() + s.rules.seek_extra_lead_ms
        return replace(s, position_ms=c.position_ms, anchor_server_ms=now + lead)
    return replace(s, position_ms=c.position_ms, anchor_server_ms=now)


def _set_rate(s: PartyState, c: SetRate, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    if not s.rules.min_rate <= c.rate <= s.rules.max_rate:
        raise InvalidInput(f"rate must be between {s.rules.min_rate} and {s.rules.max_rate}")
    if c.rate == s.rate:
        return s
    if s.phase is Phase.PLAYING and now > s.anchor_server_ms:
        # Re-anchor at now so the position stays continuous under the new rate.
        s = replace(s, position_ms=round(s.position_at(now)), anchor_server_ms=now)
    return replace(s, rate=c.rate)


def _buffering(s: PartyState, c: Buffering, now: int, removals: _Removals) -> PartyState:
    m = _member(s, c.by)
    screen = replace(_screen(m, c.screen), ready=False)
    m = _put_screen(replace(m, rtt_ms=_or(_clean_rtt(c.rtt_ms), m.rtt_ms)), screen)
    s = _with_member(s, m)
    if not (m.connected and m.waits and not screen.catching_up):
        return s
    if s.phase is Phase.PLAYING:
        s = _hold(s, now, Phase.WAITING)
        return replace(
            s,
            anchor_server_ms=now,
            waiting_for=frozenset({m.user_id}),
            wait_deadline_ms=now + s.rules.wait_timeout_ms,
        )
    if s.phase is Phase.WAITING:
        # The deadline stays: members taking turns cannot stretch the wait.
        return replace(s, waiting_for=s.waiting_for | {m.user_id})
    return s


def _ready(s: PartyState, c: Ready, now: int, removals: _Removals) -> PartyState:
    m = _member(s, c.by)
    m = replace(m, catch_up_until_ms=None, rtt_ms=_or(_clean_rtt(c.rtt_ms), m.rtt_ms))
    m = _put_screen(m, Screen(c.screen, ready=True, catching_up=False))
    # Still waited for if another of the member's screens is loading (_settle keeps them).
    return _settle(_with_member(s, m), now)


def _screens_gone(s: PartyState, c: ScreensGone, now: int, removals: _Removals) -> PartyState:
    m = s.member(c.by)
    if m is None:
        return s  # gone already
    kept = tuple(sc for sc in m.screens if sc.id not in c.screens)
    if kept == m.screens:
        return s
    return _settle(_with_member(s, _rolled_up(m, kept)), now)


def _set_waits(s: PartyState, c: SetWaits, now: int, removals: _Removals) -> PartyState:
    m = _member(s, c.by)
    s = _with_member(s, replace(m, waits=c.waits))
    return _settle(s, now)


def _report_rtt(s: PartyState, c: ReportRtt, now: int, removals: _Removals) -> PartyState:
    m = _member(s, c.by)
    return _with_member(s, replace(m, rtt_ms=_clean_rtt(c.rtt_ms)))


def _transfer_host(s: PartyState, c: TransferHost, now: int, removals: _Removals) -> PartyState:
    _require_host(s, c.by, "hand over the host role")
    if s.member(c.to) is None:
        raise NotFound("That user is not a member of this party", code="not_member")
    return replace(s, host_id=c.to, room=replace(s.room, cohosts=s.room.cohosts - {c.to}))


def _kick(s: PartyState, c: Kick, now: int, removals: _Removals) -> PartyState:
    _require_moderator(s, c.by, "remove members")
    if c.user_id == c.by:
        raise InvalidInput("The host cannot kick themselves; leave or hand over instead")
    if s.member(c.user_id) is None:
        raise NotFound("That user is not a member of this party", code="not_member")
    if c.by != s.host_id and is_moderator(s, c.user_id):
        raise Forbidden("Only the host can remove the host or a co-host")
    s = replace(s, banned=s.banned | {c.user_id})
    return _remove(s, c.user_id, "kicked", removals, now)


def _set_control_mode(
    s: PartyState, c: SetControlMode, now: int, removals: _Removals
) -> PartyState:
    _require_host(s, c.by, "change who controls playback")
    return replace(s, control_mode=c.mode)


def _change_media(s: PartyState, c: ChangeMedia, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    if c.media == s.media:
        return s
    # Everyone loads the new media; nobody is waited for until they report ready.
    return replace(
        s,
        media=c.media,
        phase=Phase.PAUSED,
        position_ms=0,
        anchor_server_ms=now,
        waiting_for=frozenset(),
        wait_deadline_ms=None,
        members=tuple(
            _rolled_up(m, tuple(replace(sc, ready=False, catching_up=True) for sc in m.screens))
            for m in s.members
        ),
    )


def _controls(s: PartyState, user_id: str) -> bool:
    return s.control_mode is ControlMode.EVERYONE or is_moderator(s, user_id)


def _queue_item(s: PartyState, item_id: int) -> QueueItem:
    for item in s.queue:
        if item.id == item_id:
            return item
    raise NotFound("No such item in the queue", code="queue_item_not_found")


def _queue_add(s: PartyState, c: QueueAdd, now: int, removals: _Removals) -> PartyState:
    _member(s, c.by)
    if not c.items:
        raise InvalidInput("Nothing to add", code="empty_queue_add")
    if len(s.queue) + len(c.items) > s.rules.queue_max:
        raise Conflict(f"A queue holds at most {s.rules.queue_max} items", code="queue_full")
    accepted = _controls(s, c.by)
    added = tuple(
        QueueItem(id=s.queue_seq + i, media=m, added_by=c.by, accepted=accepted)
        for i, m in enumerate(c.items, start=1)
    )
    return replace(s, queue=s.queue + added, queue_seq=s.queue_seq + len(added))


def _queue_remove(s: PartyState, c: QueueRemove, now: int, removals: _Removals) -> PartyState:
    _member(s, c.by)
    item = _queue_item(s, c.item_id)
    if item.added_by != c.by:
        _require_control(s, c.by)
    return replace(s, queue=tuple(q for q in s.queue if q.id != c.item_id))


def _queue_move(s: PartyState, c: QueueMove, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    item = _queue_item(s, c.item_id)
    if not 0 <= c.index < len(s.queue):
        raise InvalidInput(f"index must be between 0 and {len(s.queue) - 1}", code="invalid_index")
    rest = [q for q in s.queue if q.id != c.item_id]
    rest.insert(c.index, item)
    return replace(s, queue=tuple(rest))


def _queue_accept(s: PartyState, c: QueueAccept, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    item = _queue_item(s, c.item_id)
    return replace(
        s,
        queue=tuple(replace(q, accepted=True) if q.id == item.id else q for q in s.queue),
    )


def _next(s: PartyState, c: Next, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    if s.up_next()[1] is None:
        raise Conflict("Nothing is up next", code="queue_empty")
    return _advance(s, now)


def _set_autoplay(s: PartyState, c: SetAutoplay, now: int, removals: _Removals) -> PartyState:
    _require_control(s, c.by)
    return replace(s, autoplay=c.enabled)


def _set_series_next(s: PartyState, c: SetSeriesNext, now: int, removals: _Removals) -> PartyState:
    if s.media.kind != "episode" or s.media.id != c.for_id:
        return s  # the party moved on meanwhile; its own lookup follows
    return replace(s, series_next_for=c.for_id, series_next=c.media)


def _catch_up(s: PartyState, c: CatchUp, now: int, removals: _Removals) -> PartyState:
    m = _member(s, c.by)
    plan = plan_catch_up(s, c, now)
    if plan.mode != "rate":
        return s  # a seek, or nothing: the usual rules, nothing to record
    # Not waited for until back: their next Ready (sent when the plan ends) ends that.
    m = replace(m, catch_up_until_ms=plan.until_server_ms)
    return _with_member(s, _put_screen(m, Screen(c.screen, ready=False, catching_up=True)))


@dataclass(frozen=True, slots=True)
class CatchUpPlan:
    """How a member gets back on the party's timeline without anyone else moving.

    "rate": from `start_server_ms`, play from `from_position_ms` at `rate`; at
    `until_server_ms` (position `rejoin_position_ms`, where the party is then) go back to the
    party's rate and report ready. "seek": too far to catch up by rate, or the party is not
    playing: go to `rejoin_position_ms` as of `start_server_ms` (the normal rules follow).
    "none": within reach of drift correction already."""

    mode: Literal["rate", "seek", "none"]
    start_server_ms: int
    from_position_ms: int
    rate: float
    until_server_ms: int
    rejoin_position_ms: int


CATCH_UP_NEAR_MS = 300  # drift correction handles this much (sync.SEEK_THRESHOLD_MS)
CATCH_UP_CLOCK_SLACK_MS = 60_000  # how far from now the member's reported instant may be


def plan_catch_up(s: PartyState, c: CatchUp, now: int) -> CatchUpPlan:
    """The plan for `c`, at server time `now`: starts a lead ahead (the member's own round
    trip: nobody else is told to do anything), runs at most rules.catch_up_factor faster (or
    slower, if ahead) than the party, and ends exactly where the party is then."""
    rules = s.rules
    if c.position_ms < 0:
        raise InvalidInput("position_ms must not be negative")
    if abs(c.at_server_ms - now) > CATCH_UP_CLOCK_SLACK_MS:
        raise InvalidInput("at_server_ms is not near the server's clock", code="clock_unsynced")
    if c.rate != 0 and not rules.min_rate <= c.rate <= rules.max_rate * rules.catch_up_factor:
        raise InvalidInput("rate must be 0 (stalled) or a playback rate")
    m = _member(s, c.by)
    rtt = rules.default_rtt_ms if m.rtt_ms is None else m.rtt_ms
    lead = int(rtt * rules.lead_rtt_factor) + rules.lead_margin_ms
    start = now + max(rules.lead_min_ms, min(rules.lead_max_ms, lead))
    mine = c.position_ms + max(0, start - c.at_server_ms) * c.rate
    if s.phase is not Phase.PLAYING or start <= s.anchor_server_ms:
        # Held (paused, waiting, or a start still ahead): the exact spot is known, go there.
        target = round(s.position_at(start))
        return CatchUpPlan("seek", start, target, s.rate, start, target)
    party_rate = s.rate
    gap = s.position_at(start) - mine
    if abs(gap) <= CATCH_UP_NEAR_MS:
        target = round(s.position_at(start))
        return CatchUpPlan("none", start, round(mine), party_rate, start, target)
    fastest = party_rate * rules.catch_up_factor if gap > 0 else party_rate / rules.catch_up_factor
    duration = math.ceil(abs(gap) / abs(fastest - party_rate))
    if duration > rules.catch_up_max_ms:
        target = round(s.position_at(start))
        return CatchUpPlan("seek", start, target, party_rate, start, target)
    rate = party_rate + gap / duration  # exactly back on the timeline at start + duration
    until = start + duration
    return CatchUpPlan("rate", start, round(mine), rate, until, round(s.position_at(until)))


def _set_cohost(s: PartyState, c: SetCohost, now: int, removals: _Removals) -> PartyState:
    _require_host(s, c.by, "name co-hosts")
    if s.member(c.user_id) is None:
        raise NotFound("That user is not a member of this party", code="not_member")
    if c.user_id == s.host_id:
        raise InvalidInput("The host is more than a co-host already", code="is_host")
    cohosts = s.room.cohosts | {c.user_id} if c.enabled else s.room.cohosts - {c.user_id}
    return replace(s, room=replace(s.room, cohosts=cohosts))


def _set_room(s: PartyState, c: SetRoom, now: int, removals: _Removals) -> PartyState:
    _require_moderator(s, c.by, "change the room")
    room = s.room
    if c.slow_mode_s is not None:
        if not 0 <= c.slow_mode_s <= SLOW_MODE_MAX_S:
            raise InvalidInput(f"slow_mode_s must be between 0 and {SLOW_MODE_MAX_S}")
        room = replace(room, slow_mode_s=c.slow_mode_s)
    if c.admission is not None:
        room = replace(room, admission=c.admission)
        if c.admission is Admission.OPEN:
            # An open door: they may join now, and those turned away may knock again later.
            room = replace(room, knocking=(), turned_away=())
    if c.listed is not None:
        if c.by != s.host_id:
            raise Forbidden("Only the host can list the party for their friends")
        room = replace(room, listed=c.listed)
    if c.has_password is not None:
        room = replace(room, has_password=c.has_password)
    return replace(s, room=room)


KnockStatus: TypeAlias = Literal["member", "admitted", "waiting", "turned_away"]


def knock_status(s: PartyState, user_id: str) -> KnockStatus | None:
    """Where a knock of `user_id` stands (None: they have not knocked), so a knocker who missed
    party:admission (offline at the time) learns the answer by asking again."""
    room = s.room
    if s.member(user_id) is not None:
        return "member"
    if user_id in room.admitted:
        return "admitted"
    if user_id in room.knocking:
        return "waiting"
    if user_id in room.turned_away:
        return "turned_away"
    return None


def _knock(s: PartyState, c: Knock, now: int, removals: _Removals) -> PartyState:
    if c.by in s.banned:
        raise Forbidden("You were removed from this party", code="banned")
    room = s.room
    if knock_status(s, c.by) is not None:
        return s  # in already, admitted (join), waiting, or turned away: asked and answered
    if room.admission is not Admission.KNOCK:
        raise Conflict("This party does not ask anyone to knock: join", code="no_knocking")
    if len(s.members) >= s.rules.capacity:
        raise Conflict("This party is full", code="party_full")
    if len(room.knocking) >= KNOCKING_MAX:
        raise Conflict("Too many people are knocking; try later", code="too_many_knocking")
    return replace(s, room=replace(room, knocking=(*room.knocking, c.by)))


def _admit(s: PartyState, c: Admit, now: int, removals: _Removals) -> PartyState:
    _require_moderator(s, c.by, "admit people")
    room = s.room
    if c.user_id not in room.knocking:
        raise NotFound("That user is not knocking", code="not_knocking")
    knocking = tuple(u for u in room.knocking if u != c.user_id)
    if c.admit:
        room = replace(room, admitted=room.admitted | {c.user_id})
    else:
        room = replace(room, turned_away=(*room.turned_away, c.user_id)[-TURNED_AWAY_MAX:])
    return replace(s, room=replace(room, knocking=knocking))


def _mute(s: PartyState, c: Mute, now: int, removals: _Removals) -> PartyState:
    _require_moderator(s, c.by, "mute members")
    if s.member(c.user_id) is None:
        raise NotFound("That user is not a member of this party", code="not_member")
    if is_moderator(s, c.user_id) and c.by != s.host_id:
        raise Forbidden("Only the host can mute the host or a co-host")
    if c.user_id == s.host_id:
        raise InvalidInput("The host cannot be muted", code="is_host")
    muted = s.room.muted | {c.user_id} if c.muted else s.room.muted - {c.user_id}
    return replace(s, room=replace(s.room, muted=muted))


def _end(s: PartyState, c: End, now: int, removals: _Removals) -> PartyState:
    if c.by is not None:
        _require_host(s, c.by, "end the party")
    s = _hold(s, now, Phase.ENDED)
    return replace(s, waiting_for=frozenset(), wait_deadline_ms=None, ended_reason=c.reason)


def _tick(s: PartyState, c: Tick, now: int, removals: _Removals) -> PartyState:
    return s


_HANDLERS: dict[type[Any], Callable[[PartyState, Any, int, _Removals], PartyState]] = {
    Join: _join,
    Leave: _leave,
    Disconnect: _disconnect,
    Reconnect: _reconnect,
    Play: _play,
    Pause: _pause,
    Seek: _seek,
    SetRate: _set_rate,
    Buffering: _buffering,
    Ready: _ready,
    ScreensGone: _screens_gone,
    SetWaits: _set_waits,
    ReportRtt: _report_rtt,
    TransferHost: _transfer_host,
    Kick: _kick,
    SetControlMode: _set_control_mode,
    ChangeMedia: _change_media,
    QueueAdd: _queue_add,
    QueueRemove: _queue_remove,
    QueueMove: _queue_move,
    QueueAccept: _queue_accept,
    Next: _next,
    SetAutoplay: _set_autoplay,
    SetSeriesNext: _set_series_next,
    CatchUp: _catch_up,
    SetCohost: _set_cohost,
    SetRoom: _set_room,
    Knock: _knock,
    Admit: _admit,
    Mute: _mute,
    End: _end,
    Tick: _tick,
}


# --- events out, and back in ----------------------------------------------------------------


def _diff(old: PartyState, new: PartyState, removals: _Removals) -> list[Event]:
    v = new.version
    events: list[Event] = []
    old_members = {m.user_id: m for m in old.members}
    new_ids = {m.user_id for m in new.members}
    for user_id in old_members:
        # Removed, or expired and back within the same call (then re-added at the end).
        if user_id not in new_ids or user_id in removals:
            events.append(MemberRemoved(v, user_id, removals.get(user_id, "left")))
    for m in new.members:
        before = None if m.user_id in removals else old_members.get(m.user_id)
        if before == m:
            continue
        if before is not None and replace(before, rtt_ms=m.rtt_ms) == m:
            events.append(RttReported(v, m.user_id, m.rtt_ms))
        else:
            events.append(MemberUpserted(v, m))
    if (old.host_id, old.control_mode) != (new.host_id, new.control_mode):
        events.append(RolesChanged(v, new.host_id, new.control_mode))
    playback = (
        new.phase,
        new.position_ms,
        new.anchor_server_ms,
        new.rate,
        new.media,
        new.waiting_for,
        new.wait_deadline_ms,
    )
    previous = (
        old.phase,
        old.position_ms,
        old.anchor_server_ms,
        old.rate,
        old.media,
        old.waiting_for,
        old.wait_deadline_ms,
    )
    if new.room != old.room:
        events.append(RoomChanged(v, new.room))
    queue = (new.queue, new.queue_seq, new.autoplay, new.series_next_for, new.series_next)
    if queue != (old.queue, old.queue_seq, old.autoplay, old.series_next_for, old.series_next):
        events.append(QueueChanged(v, *queue))
    if new.phase is Phase.ENDED:
        events.append(PartyEnded(v, new.ended_reason or "ended"))
    if playback != previous:
        events.append(PlaybackChanged(v, *playback))
    return events


def _stamped(new: PartyState, events: list[Event]) -> tuple[PartyState, list[Event]]:
    """Mark the members this version changed, and the departures, with the version (the
    events carry the stamped records, so replaying them gives the same state)."""
    v = new.version
    out: list[Event] = []
    changed: dict[str, Member] = {}
    s = new
    for e in events:
        if isinstance(e, MemberUpserted):
            m = replace(e.member, changed_version=v)
            changed[m.user_id] = m
            e = MemberUpserted(e.version, m)
            s = _arrived(s, m.user_id)
        elif isinstance(e, MemberRemoved):
            s = _departed(s, Departure(e.user_id, v, e.reason))
        out.append(e)
    members = tuple(changed.get(m.user_id, m) for m in s.members)
    return replace(s, members=members, members_version=v), out


def _departed(s: PartyState, d: Departure) -> PartyState:
    kept = [x for x in s.departed if x.user_id != d.user_id]
    kept.append(d)
    floor = s.departed_floor
    while len(kept) > DEPARTED_MAX:
        floor = max(floor, kept.pop(0).version)
    return replace(s, departed=tuple(kept), departed_floor=floor)


def _arrived(s: PartyState, user_id: str) -> PartyState:
    if not any(x.user_id == user_id for x in s.departed):
        return s
    return replace(s, departed=tuple(x for x in s.departed if x.user_id != user_id))


def evolve(state: PartyState, event: Event) -> PartyState:
    """Fold one event into a state: what a client (or a replay) does with the stream."""
    if event.version < state.version:
        return state  # stale: a newer version already won
    s = replace(state, version=event.version)
    if isinstance(event, PlaybackChanged):
        return replace(
            s,
            phase=event.phase,
            position_ms=event.position_ms,
            anchor_server_ms=event.anchor_server_ms,
            rate=event.rate,
            media=event.media,
            waiting_for=event.waiting_for,
            wait_deadline_ms=event.wait_deadline_ms,
        )
    if isinstance(event, MemberUpserted):
        present = any(m.user_id == event.member.user_id for m in s.members)
        members = (
            tuple(event.member if m.user_id == event.member.user_id else m for m in s.members)
            if present
            else (*s.members, event.member)
        )
        s = _arrived(s, event.member.user_id)
        return replace(s, members=members, members_version=event.version)
    if isinstance(event, MemberRemoved):
        banned = s.banned | {event.user_id} if event.reason == "kicked" else s.banned
        s = _departed(s, Departure(event.user_id, event.version, event.reason))
        return replace(
            s,
            members=tuple(m for m in s.members if m.user_id != event.user_id),
            banned=banned,
            members_version=event.version,
        )
    if isinstance(event, RttReported):
        return replace(
            s,
            members=tuple(
                replace(m, rtt_ms=event.rtt_ms) if m.user_id == event.user_id else m
                for m in s.members
            ),
        )
    if isinstance(event, RolesChanged):
        return replace(s, host_id=event.host_id, control_mode=event.control_mode)
    if isinstance(event, RoomChanged):
        return replace(s, room=event.room)
    if isinstance(event, QueueChanged):
        return replace(
            s,
            queue=event.queue,
            queue_seq=event.queue_seq,
            autoplay=event.autoplay,
            series_next_for=event.series_next_for,
            series_next=event.series_next,
            queue_version=event.version,
        )
    return replace(s, phase=Phase.ENDED, ended_reason=event.reason)


def replay(state: PartyState, events: Iterable[Event]) -> PartyState:
    for event in events:
        state = evolve(state, event)
    return state


# --- storage codec (plain dicts; the service picks the JSON library) ------------------------


def dump_state(s: PartyState) -> dict[str, Any]:
    return {
        "party_id": s.party_id,
        "version": s.version,
        "phase": s.phase.value,
        "position_ms": s.position_ms,
        "anchor_server_ms": s.anchor_server_ms,
        "rate": s.rate,
        "media": _dump_media(s.media),
        "host_id": s.host_id,
        "control_mode": s.control_mode.value,
        "members": [_dump_member(m) for m in s.members],
        "rules": {
            "capacity": s.rules.capacity,
            "wait_timeout_ms": s.rules.wait_timeout_ms,
            "grace_ms": s.rules.grace_ms,
            "lead_rtt_factor": s.rules.lead_rtt_factor,
            "lead_margin_ms": s.rules.lead_margin_ms,
            "lead_min_ms": s.rules.lead_min_ms,
            "lead_max_ms": s.rules.lead_max_ms,
            "default_rtt_ms": s.rules.default_rtt_ms,
            "seek_extra_lead_ms": s.rules.seek_extra_lead_ms,
            "min_rate": s.rules.min_rate,
            "max_rate": s.rules.max_rate,
            "catch_up_factor": s.rules.catch_up_factor,
            "catch_up_max_ms": s.rules.catch_up_max_ms,
            "queue_max": s.rules.queue_max,
        },
        "banned": sorted(s.banned),
        "waiting_for": sorted(s.waiting_for),
        "wait_deadline_ms": s.wait_deadline_ms,
        "members_version": s.members_version,
        "ended_reason": s.ended_reason,
        "queue": [_dump_item(q) for q in s.queue],
        "queue_seq": s.queue_seq,
        "queue_version": s.queue_version,
        "autoplay": s.autoplay,
        "series_next_for": s.series_next_for,
        "series_next": None if s.series_next is None else _dump_media(s.series_next),
        "room": _dump_room(s.room),
        "departed": [[d.user_id, d.version, d.reason] for d in s.departed],
        "departed_floor": s.departed_floor,
    }


def load_state(d: dict[str, Any]) -> PartyState:
    return PartyState(
        party_id=d["party_id"],
        version=d["version"],
        phase=Phase(d["phase"]),
        position_ms=d["position_ms"],
        anchor_server_ms=d["anchor_server_ms"],
        rate=d["rate"],
        media=Media(**d["media"]),
        host_id=d["host_id"],
        control_mode=ControlMode(d["control_mode"]),
        members=tuple(_load_member(m) for m in d["members"]),
        rules=Rules(**d["rules"]),
        banned=frozenset(d["banned"]),
        waiting_for=frozenset(d["waiting_for"]),
        wait_deadline_ms=d["wait_deadline_ms"],
        members_version=d["members_version"],
        ended_reason=d["ended_reason"],
        # States stored before the queue existed have none of these.
        queue=tuple(_load_item(q) for q in d.get("queue", ())),
        queue_seq=d.get("queue_seq", 0),
        queue_version=d.get("queue_version", 0),
        autoplay=d.get("autoplay", True),
        series_next_for=d.get("series_next_for"),
        series_next=Media(**d["series_next"]) if d.get("series_next") else None,
        room=_load_room(d["room"]) if "room" in d else Room(),
        # States stored before departures were kept: no list older than now can be patched.
        departed=tuple(Departure(u, v, r) for u, v, r in d.get("departed", ())),
        departed_floor=d.get("departed_floor", d["members_version"]),
    )


def _dump_room(r: Room) -> dict[str, Any]:
    return {
        "cohosts": sorted(r.cohosts),
        "admission": r.admission.value,
        "has_password": r.has_password,
        "knocking": list(r.knocking),
        "admitted": sorted(r.admitted),
        "turned_away": list(r.turned_away),
        "muted": sorted(r.muted),
        "slow_mode_s": r.slow_mode_s,
        "listed": r.listed,
    }


def _load_room(d: dict[str, Any]) -> Room:
    return Room(
        cohosts=frozenset(d["cohosts"]),
        admission=Admission(d["admission"]),
        has_password=d["has_password"],
        knocking=tuple(d["knocking"]),
        admitted=frozenset(d["admitted"]),
        turned_away=tuple(d.get("turned_away", ())),
        muted=frozenset(d["muted"]),
        slow_mode_s=d["slow_mode_s"],
        listed=d["listed"],
    )


def _dump_item(q: QueueItem) -> dict[str, Any]:
    return {
        "id": q.id,
        "media": _dump_media(q.media),
        "added_by": q.added_by,
        "accepted": q.accepted,
    }


def _load_item(d: dict[str, Any]) -> QueueItem:
    return QueueItem(
        id=d["id"], media=Media(**d["media"]), added_by=d["added_by"], accepted=d["accepted"]
    )


def _dump_media(m: Media) -> dict[str, Any]:
    return {"kind": m.kind, "id": m.id, "duration_ms": m.duration_ms}


def _dump_member(m: Member) -> dict[str, Any]:
    return {
        "user_id": m.user_id,
        "joined_at_ms": m.joined_at_ms,
        "connected": m.connected,
        "disconnected_at_ms": m.disconnected_at_ms,
        "ready": m.ready,
        "catching_up": m.catching_up,
        "waits": m.waits,
        "rtt_ms": m.rtt_ms,
        "catch_up_until_ms": m.catch_up_until_ms,
        "changed_version": m.changed_version,
        "screens": [
            {"id": sc.id, "ready": sc.ready, "catching_up": sc.catching_up} for sc in m.screens
        ],
    }


def _load_member(d: dict[str, Any]) -> Member:
    # States stored before screens were kept have none: their members keep their readiness
    # until their screens next report.
    screens = tuple(Screen(**sc) for sc in d.get("screens", ()))
    return Member(**{**d, "screens": screens})
