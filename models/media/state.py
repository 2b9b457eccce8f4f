"""Viewing progress as a pure transition: a heartbeat in, the new progress and events out."""

from __future__ import annotations

from dataclasses import dataclass, replace

from models.core.errors import InvalidInput

WATCHED_FRACTION = 0.9
# Players report a little past the end (rounding, the last frame); further is a bad client.
END_SLACK_MS = 5_000
# A jump forward this far past where playing would have got to is a skip...
MIN_SKIP_MS = 10_000
# ... when the heartbeat before it is this recent (else it is a new viewing session).
SKIP_WINDOW_MS = 120_000
MAX_RATE = 2.0  # players play at most this fast


class IllegalHeartbeat(InvalidInput):
    code = "invalid_heartbeat"


@dataclass(frozen=True)
class Progress:
    position_ms: int
    duration_ms: int | None
    completed: bool  # this viewing reached WATCHED_FRACTION
    watched_at_ms: int | None  # the first time it ever did: watched stays watched
    updated_at_ms: int
    version: int


@dataclass(frozen=True)
class Heartbeat:
    position_ms: int
    duration_ms: int | None  # the media's own duration when known, else the player's
    credits_ms: int | None = None  # where the credits start, when known


def watched_from_ms(duration_ms: int | None, credits_ms: int | None) -> int | None:
    """From where a viewing counts as watched: the credits when known, else 90 %."""
    if credits_ms is not None and (duration_ms is None or credits_ms < duration_ms):
        return credits_ms
    return round(WATCHED_FRACTION * duration_ms) if duration_ms is not None else None


def detect_skip(previous: Progress | None, position_ms: int, now_ms: int) -> tuple[int, int] | None:
    """(from, to) when this heartbeat jumped forward past where playing would have got to
    since the last one: the viewer skipped. Jumps back, slow networks and a viewing
    resumed the next day are not skips."""
    if previous is None:
        return None
    elapsed = now_ms - previous.updated_at_ms
    if not 0 <= elapsed <= SKIP_WINDOW_MS:
        return None
    reached = previous.position_ms + round(elapsed * MAX_RATE)
    if position_ms - reached < MIN_SKIP_MS:
        return None
    # Playing on at 1x until the seek is the best guess of where the skip started.
    return min(previous.position_ms + elapsed, position_ms), position_ms


@dataclass(frozen=True)
class ProgressSaved:
    position_ms: int
    duration_ms: int | None
    completed: bool
    version: int


@dataclass(frozen=True)
class Watched:
    watched_at_ms: int
    version: int


Event = ProgressSaved | Watched


def decide(state: Progress | None, cmd: Heartbeat, now_ms: int) -> tuple[Progress, list[Event]]:
    if cmd.position_ms < 0:
        raise IllegalHeartbeat("position_ms must not be negative")
    duration = (
        cmd.duration_ms if cmd.duration_ms is not None else (state.duration_ms if state else None)
    )
    if duration is not None and duration <= 0:
        raise IllegalHeartbeat("duration_ms must be positive")
    position = cmd.position_ms
    if duration is not None:
        if position > duration + END_SLACK_MS:
            raise IllegalHeartbeat("position_ms is past the end of the video")
        position = min(position, duration)
    threshold = watched_from_ms(duration, cmd.credits_ms)
    completed = threshold is not None and position >= threshold
    newly_watched = completed and (state is None or not state.completed)
    watched_at = state.watched_at_ms if state and state.watched_at_ms is not None else None
    if completed and watched_at is None:
        watched_at = now_ms
    version = (state.version if state else 0) + 1
    new = Progress(
        position_ms=position,
        duration_ms=duration,
        completed=completed,
        watched_at_ms=watched_at,
        updated_at_ms=now_ms,
        version=version,
    )
    events: list[Event] = [ProgressSaved(position, duration, completed, version)]
    if newly_watched:
        events.append(Watched(now_ms, version))
    return new, events


def apply(state: Progress | None, event: Event, now_ms: int) -> Progress | None:
    """Rebuild progress from its events (tests check decide() against this)."""
    if isinstance(event, ProgressSaved):
        base = state or Progress(0, None, False, None, now_ms, 0)
        return replace(
            base,
            position_ms=event.position_ms,
            duration_ms=event.duration_ms,
            completed=event.completed,
            updated_at_ms=now_ms,
            version=event.version,
        )
    assert state is not None
    if state.watched_at_ms is None:
        return replace(state, watched_at_ms=event.watched_at_ms)
    return state


def resume_position_ms(progress: Progress | None) -> int:
    """Where playback restarts: where it stopped, or the beginning once it was finished."""
    if progress is None or progress.completed:
        return 0
    return progress.position_ms
