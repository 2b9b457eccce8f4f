"""No loss on reconnect: `sync:resume` replays every stream past the client's cursors.

Socket.IO and Redis pub/sub deliver at most once, so every stream a client relies on is
persisted with a monotonic cursor and each live event carries `{"stream", "cursor"}`. A
client resumes on every (re)connect, whenever it sees a cursor gap, and when the server says
`sync:stale` (its pub/sub listener was cut off, so events may have been dropped in between).

Aggregates register one replayer per stream: `@replayer("dm")` for a fixed name, or
`@replayer("party_chat:", prefix=True)` for a family (it gets the full stream name). A
replayer authorizes the user (raise a DomainError) and returns at most `limit` payloads with
a cursor above `cursor`, oldest first, exactly as the live events carried them."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.core.context import Context
from models.core.errors import DomainError, NotFound
from realtime.registry import SocketCall, events
from realtime.relay import STALE_EVENT

log = logging.getLogger("cinema.resume")

REPLAY_LIMIT = 200
MAX_STREAMS = 32


class Replayer(Protocol):
    def __call__(
        self, ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, /, *, stream: str
    ) -> Awaitable[list[dict[str, Any]]]: ...


_exact: dict[str, Replayer] = {}
_prefixes: dict[str, Replayer] = {}


def replayer(name: str, *, prefix: bool = False) -> Callable[[Replayer], Replayer]:
    def register(fn: Replayer) -> Replayer:
        table = _prefixes if prefix else _exact
        if name in table:
            raise ValueError(f"stream {name!r} has a replayer already")
        table[name] = fn
        return fn

    return register


def find_replayer(stream: str) -> Replayer | None:
    if stream in _exact:
        return _exact[stream]
    for prefix, fn in _prefixes.items():
        if stream.startswith(prefix) and len(stream) > len(prefix):
            return fn
    return None


class ResumeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursors: dict[str, int] = Field(max_length=MAX_STREAMS)

    @field_validator("cursors")
    @classmethod
    def _sane(cls, v: dict[str, int]) -> dict[str, int]:
        for name, cursor in v.items():
            if not 0 < len(name) <= 100:
                raise ValueError("stream names are 1 to 100 characters")
            if not 0 <= cursor < 2**63:
                raise ValueError(f"cursor of {name} must be a non-negative bigint")
        return v


class StreamReplay(BaseModel):
    # The payloads the client missed, oldest first, as the live events carried them.
    events: list[dict[str, Any]] = Field(default_factory=list)
    # The cursor to keep: the last replayed one, or the one sent if nothing was missed.
    cursor: int
    # More than the bound was missed: apply these, then refetch the rest over HTTP.
    truncated: bool = False
    error: dict[str, Any] | None = None


class ResumeOut(BaseModel):
    streams: dict[str, StreamReplay]


async def resume(ctx: Context, user_id: uuid.UUID, cursors: dict[str, int]) -> ResumeOut:
    async def one(stream: str, cursor: int) -> StreamReplay:
        fn = find_replayer(stream)
        try:
            if fn is None:
                raise NotFound(f"Unknown stream {stream}", code="unknown_stream")
            items = await fn(ctx, user_id, cursor, REPLAY_LIMIT + 1, stream=stream)
        except DomainError as exc:
            return StreamReplay(cursor=cursor, error=exc.to_dict()["error"])
        truncated = len(items) > REPLAY_LIMIT
        items = items[:REPLAY_LIMIT]
        last = int(items[-1]["cursor"]) if items else cursor
        return StreamReplay(events=items, cursor=last, truncated=truncated)

    names = list(cursors)
    results = await asyncio.gather(*(one(n, cursors[n]) for n in names))
    return ResumeOut(streams=dict(zip(names, results, strict=True)))


@events.on(
    "sync:resume",
    payload=ResumeIn,
    ack=ResumeOut,
    doc=(
        "Replay every stream past the given cursors (`{cursors: {notifications: 12, dm: 340,"
        " 'party_chat:<id>': 77}}`). Send it after each (re)connect, on a cursor gap and on "
        "`sync:stale`; apply `events`, keep `cursor`, refetch over HTTP when `truncated`."
    ),
)
async def on_resume(ev: SocketCall) -> ResumeOut:
    payload: ResumeIn = ev.payload
    out = await resume(ev.ctx, ev.user_id, payload.cursors)
    replayed = sum(len(s.events) for s in out.streams.values())
    log.info(
        "resume %d streams, %d events replayed",
        len(out.streams),
        replayed,
        extra={"event": "sync_resume", "user_id": str(ev.user_id), "replayed": replayed},
    )
    return out


class StaleEvent(BaseModel):
    reason: str


events.emits(
    STALE_EVENT,
    payload=StaleEvent,
    doc="Live events may have been lost on this server (its pub/sub link dropped): resume now.",
)
