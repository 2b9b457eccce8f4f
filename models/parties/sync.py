"""Client-side sync rules, in Python: the same rules as `http_api/static/party-client.js`.

Used by the simulated members of the sync benchmark and by tests; a mobile client ports these.
Pure: every function takes the times it needs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

# Tuning shared with party-client.js (keep the two in step).
SYNC_BURST = 8  # clock samples taken at once on (re)connect
SYNC_SAMPLES = 16  # clock samples kept; the lowest round trip wins
RESYNC_EARLY_MS = 2_000  # one more sample this often during the first minute...
RESYNC_MS = 30_000  # ...then this often (the window forgets, so clock drift is followed)
DEAD_BAND_MS = 2.0  # drift this small is left alone (frame-level noise)
SEEK_THRESHOLD_MS = 300.0  # above: seek; below: nudge the playback rate
MAX_NUDGE = 0.05  # playback-rate nudges stay within +-5 %
FULL_NUDGE_AT_MS = 20.0  # a drift this large gets the full nudge (~0.4 s time constant)
PAUSED_TOLERANCE_MS = 1.0  # a paused member sits on the exact frame


@dataclass(frozen=True, slots=True)
class ClockSample:
    offset_ms: float  # server clock minus client clock
    delay_ms: float  # round trip minus the server's own processing time


def clock_sample(t0: float, t1: float, t2: float, t3: float) -> ClockSample:
    """NTP's four timestamps: client send, server receive, server send, client receive."""
    return ClockSample(offset_ms=((t1 - t0) + (t2 - t3)) / 2, delay_ms=(t3 - t0) - (t2 - t1))


class ClockSync:
    """Keeps the last samples; the one with the lowest delay has the least asymmetry error."""

    def __init__(self, size: int = SYNC_SAMPLES) -> None:
        self.size = size
        self.samples: list[ClockSample] = []

    def add(self, sample: ClockSample) -> None:
        self.samples.append(sample)
        del self.samples[: -self.size]

    @property
    def ready(self) -> bool:
        return bool(self.samples)

    @property
    def best(self) -> ClockSample:
        return min(self.samples, key=lambda s: s.delay_ms)

    @property
    def offset_ms(self) -> float:
        """Each sample bounds the offset to [offset - delay/2, offset + delay/2] (no path is
        faster than instant); the intersection of the bounds combines the fastest outbound and
        the fastest inbound trip, which the single lowest-delay sample rarely has together.
        Disjoint bounds (a clock stepped) fall back to the lowest-delay sample."""
        lo = max(s.offset_ms - s.delay_ms / 2 for s in self.samples)
        hi = min(s.offset_ms + s.delay_ms / 2 for s in self.samples)
        return (lo + hi) / 2 if lo <= hi else self.best.offset_ms

    @property
    def rtt_ms(self) -> int:
        # The server stamps whole milliseconds: a sub-millisecond round trip can come out < 0.
        return max(0, round(self.best.delay_ms))


@dataclass(frozen=True, slots=True)
class Playback:
    """The part of `party:state` a player needs."""

    version: int
    playing: bool
    position_ms: float
    anchor_server_ms: float
    rate: float


def target_position(p: Playback, server_now_ms: float) -> float:
    """Where the party is at a server instant (holding until a scheduled start)."""
    if not p.playing or server_now_ms <= p.anchor_server_ms:
        return p.position_ms
    return p.position_ms + (server_now_ms - p.anchor_server_ms) * p.rate


@dataclass(frozen=True, slots=True)
class Action:
    kind: Literal["none", "pause", "wait", "play", "seek", "rate"]
    position_ms: float = 0.0
    rate: float = 1.0
    start_in_ms: float = 0.0  # for "wait": when to start playing (local delay)


def correct(
    p: Playback,
    server_now_ms: float,
    local_position_ms: float,
    local_paused: bool,
    local_rate: float,
    seek_latency_ms: float = 0.0,
) -> Action:
    """What a player should do now to follow the party.

    Paused: sit on the exact position. Scheduled start ahead: sit on the position and start at
    the anchor. Playing: nudge the rate within +-MAX_NUDGE for small drift, seek (aiming ahead by
    the player's measured seek latency) when the drift passes SEEK_THRESHOLD_MS.
    """
    target = target_position(p, server_now_ms)
    if not p.playing:
        if not local_paused:
            return Action("pause", position_ms=target)
        if abs(local_position_ms - target) > PAUSED_TOLERANCE_MS:
            return Action("seek", position_ms=target)
        return Action("none")
    if server_now_ms < p.anchor_server_ms:
        if not local_paused or abs(local_position_ms - target) > PAUSED_TOLERANCE_MS:
            return Action("pause", position_ms=target)
        return Action("wait", start_in_ms=p.anchor_server_ms - server_now_ms)
    if local_paused:
        # Joined (or recovered) mid-play: jump in where the party will be once the seek lands.
        return Action("play", position_ms=target + seek_latency_ms * p.rate)
    drift = local_position_ms - target
    if abs(drift) > SEEK_THRESHOLD_MS:
        return Action("seek", position_ms=target + seek_latency_ms * p.rate)
    rate = nudged_rate(p.rate, drift)
    if rate != local_rate:
        return Action("rate", rate=rate)
    return Action("none")


def nudged_rate(rate: float, drift_ms: float) -> float:
    """Proportional correction: behind -> a little faster, ahead -> a little slower."""
    if abs(drift_ms) <= DEAD_BAND_MS:
        return rate
    nudge = max(-MAX_NUDGE, min(MAX_NUDGE, -drift_ms / FULL_NUDGE_AT_MS * MAX_NUDGE))
    # Quantised so a steady drift does not rewrite playbackRate on every tick.
    return math.floor(rate * (1 + nudge) * 10_000 + 0.5) / 10_000
