"""The Publisher behind models.core.events: python-socketio's server or write-only manager."""

from __future__ import annotations

from typing import Any

import socketio
from redis.asyncio import Redis

from models.core.events import session_room
from models.core.redis import Keys
from realtime.connections import Connections
from realtime.relay import RoomRelay, relay_redis

_SESSION = session_room("")


class SocketPublisher:
    """Emits through the Redis manager, so the event reaches every process."""

    def __init__(self, emitter: Any, redis: Redis, keys: Keys, *, stale_ms: int) -> None:
        # emitter: a socketio.AsyncServer (web) or a write-only AsyncRedisManager (jobs)
        self.emitter = emitter
        self.connections = Connections(redis, keys, stale_ms=stale_ms)

    async def emit(self, event: str, data: Any, *, room: str) -> None:
        if room.startswith(_SESSION):
            # A session's sockets are no subscribed room (a connect subscribes one channel
            # less): the event goes to each of them through its process's channel.
            sids = await self.connections.sids_of_session(room[len(_SESSION) :])
            if sids:
                await self.emitter.emit(event, data, room=sids, namespace="/")
            return
        await self.emitter.emit(event, data, room=room, namespace="/")

    async def disconnect_session(self, session_id: str) -> None:
        for sid in await self.connections.sids_of_session(session_id):
            if isinstance(self.emitter, socketio.AsyncServer):
                await self.emitter.disconnect(sid, namespace="/")
            else:
                # Write-only manager: not local, so this publishes a disconnect request.
                await self.emitter.can_disconnect(sid, "/")

    async def close(self) -> None:
        if isinstance(self.emitter, RoomRelay):
            await self.emitter.redis.aclose()


def write_only_manager(redis_url: str, keys: Keys) -> RoomRelay:
    channel = keys.socketio_channel
    return RoomRelay(relay_redis(redis_url, channel), channel, write_only=True)
