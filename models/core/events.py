"""How services send live events without importing socketio.

Services collect events in an `Outbox` while their transaction runs; the door flushes it
through a `Publisher` only after the commit, so nobody hears of data that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID


class Publisher(Protocol):
    async def emit(self, event: str, data: Any, *, room: str) -> None: ...

    async def disconnect_session(self, session_id: str) -> None: ...


def user_room(user_id: UUID | str) -> str:
    return f"user:{user_id}"


def session_room(session_id: str) -> str:
    """Every socket of one signed-in device (session)."""
    return f"session:{session_id}"


def party_room(party_id: UUID | str) -> str:
    return f"party:{party_id}"


def staff_room() -> str:
    """Every socket of an editor or admin (the back office's live events)."""
    return "staff"


@dataclass(frozen=True)
class Outgoing:
    event: str
    data: Any
    room: str


class JobSink(Protocol):
    async def enqueue(self, function: str, /, *args: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True)
class PendingJob:
    function: str
    kwargs: dict[str, Any]


@dataclass
class Outbox:
    """Side effects (live events, jobs, socket disconnects) held until the commit."""

    items: list[Outgoing] = field(default_factory=list)
    revoked_sessions: list[str] = field(default_factory=list)
    jobs: list[PendingJob] = field(default_factory=list)

    def enqueue(self, function: str, **kwargs: Any) -> None:
        self.jobs.append(PendingJob(function, kwargs))

    def emit(self, event: str, data: Any, *, room: str) -> None:
        self.items.append(Outgoing(event, data, room))

    def disconnect_session(self, session_id: str) -> None:
        self.revoked_sessions.append(session_id)

    async def flush(self, publisher: Publisher, jobs: JobSink) -> None:
        items, self.items = self.items, []
        revoked, self.revoked_sessions = self.revoked_sessions, []
        pending, self.jobs = self.jobs, []
        for job in pending:
            await jobs.enqueue(job.function, **job.kwargs)
        for item in items:
            await publisher.emit(item.event, item.data, room=item.room)
        for session_id in revoked:
            await publisher.disconnect_session(session_id)
