"""The baseline: bare python-socketio with the same Redis manager, no app around it.

`uvicorn bench.bare_server:app` with REDIS_URL and CHANNEL set (stock uvicorn and
python-socketio settings, as a newcomer would run them). A connection is accepted without auth
and joins the room "lobby", as ours joins its user's room; clients `join` a room and a `fire`
event broadcasts the given payload to it. `stats` answers how many pub/sub messages this
process has read from Redis (bench/relay_scaling.py compares them with ours).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import socketio


class _CountingRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    """The stock manager, counting what it reads: every process reads every emit."""

    received = 0

    async def _listen(self) -> AsyncIterator[Any]:
        async for message in super()._listen():
            self.received += 1
            yield message


_manager = _CountingRedisManager(
    os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
    channel=os.environ.get("CHANNEL", "bench-bare"),
)
sio = socketio.AsyncServer(
    async_mode="asgi",
    client_manager=_manager,
    cors_allowed_origins=[],
    transports=["websocket"],
    logger=False,
    engineio_logger=False,
)


@sio.on("connect")  # type: ignore[untyped-decorator]
async def connect(sid: str, environ: dict[str, Any], auth: Any = None) -> None:
    await sio.enter_room(sid, "lobby")


@sio.on("join")  # type: ignore[untyped-decorator]
async def join(sid: str, room: str) -> bool:
    await sio.enter_room(sid, room)
    return True


@sio.on("fire")  # type: ignore[untyped-decorator]
async def fire(sid: str, data: dict[str, Any]) -> bool:
    await sio.emit("party:state", data["payload"], room=data["room"])
    return True


@sio.on("ping")  # type: ignore[untyped-decorator]
async def ping(sid: str, data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": {}}


@sio.on("stats")  # type: ignore[untyped-decorator]
async def stats(sid: str, data: Any = None) -> dict[str, Any]:
    return {"received": _manager.received}


app = socketio.ASGIApp(sio)
