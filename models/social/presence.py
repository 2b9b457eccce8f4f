"""Who is online, on any device, in any server process, without flapping.

Redis holds, per user, a sorted set of live socket ids scored by when each expires (each process
refreshes its own sockets' scores), a flag "online", and one global schedule of users whose
state must be re-checked. A disconnect only schedules a check after a grace delay, so a phone
that reconnects within it (switching from Wi-Fi to mobile data) never appears offline. A server
process that dies stops refreshing its sockets; they expire and the schedule turns the user
offline. Every transition increments a per-user version, carried by the pushed event, so a
client drops an update older than one it already has.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from models.core.clock import now_ms
from models.core.redis import Keys, QueueCommands

log = logging.getLogger(__name__)

# KEYS: conns, state, pending, version ; ARGV: sid, now_ms, expires_ms, user
_CONNECT = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
redis.call('PEXPIREAT', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[3], 'GT', ARGV[3], ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return redis.call('INCR', KEYS[4])
"""

# KEYS: conns, pending ; ARGV: sid, due_ms, user -> live connections left
_DISCONNECT = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return redis.call('ZCARD', KEYS[1])
"""

# KEYS: pending, conns, state, version, seen ; ARGV: user, now_ms
# -> -1 not due (another process took it), 0 still online, else the new (offline) version
_CHECK = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not due) or tonumber(due) > tonumber(ARGV[2]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[2])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #last > 0 then
  redis.call('ZADD', KEYS[1], last[2], ARGV[1])
  return 0
end
if redis.call('DEL', KEYS[3]) == 0 then return -1 end
redis.call('SET', KEYS[5], ARGV[2])
return redis.call('INCR', KEYS[4])
"""


@dataclass(frozen=True)
class PresenceChange:
    user_id: uuid.UUID
    online: bool
    version: int
    at_ms: int

    def to_event(self) -> dict[str, Any]:
        return {
            "user_id": str(self.user_id),
            "online": self.online,
            "version": self.version,
            "at_ms": self.at_ms,
        }


OnChange = Callable[[PresenceChange], Awaitable[None]]


class _Keys:
    def __init__(self, keys: Keys) -> None:
        self._keys = keys

    def conns(self, user_id: object) -> str:
        return self._keys("presence", "conns", user_id)

    def state(self, user_id: object) -> str:
        return self._keys("presence", "on", user_id)

    def version(self, user_id: object) -> str:
        return self._keys("presence", "ver", user_id)

    def seen(self, user_id: object) -> str:
        return self._keys("presence", "seen", user_id)

    @property
    def pending(self) -> str:
        return self._keys("presence", "pending")


async def is_online(redis: Redis, keys: Keys, user_id: uuid.UUID) -> bool:
    """Online on some device, counting the grace period after a last disconnect."""
    return bool(await redis.exists(_Keys(keys).state(user_id)))


async def online_map(
    redis: Redis, keys: Keys, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, bool]:
    ids = list(user_ids)
    if not ids:
        return {}
    k = _Keys(keys)
    values = await redis.mget([k.state(u) for u in ids])
    return {u: v is not None for u, v in zip(ids, values, strict=True)}


async def connected_devices(redis: Redis, keys: Keys, user_id: uuid.UUID) -> int:
    """Live sockets right now (no grace): zero means a message waits for the user."""
    return int(await redis.zcount(_Keys(keys).conns(user_id), now_ms(), "+inf"))


def queue_connected_devices(pipe: Pipeline, keys: Keys, user_id: uuid.UUID) -> None:
    """`connected_devices` queued in a pipeline (its result: the count)."""
    pipe.zcount(_Keys(keys).conns(user_id), now_ms(), "+inf")


async def drop_sockets(
    redis: Redis, keys: Keys, sockets: Iterable[tuple[uuid.UUID, str]], *, grace_ms: int
) -> None:
    """Sockets of a process that died, as if each had disconnected: a user with no socket
    left goes offline after the grace (whichever process sweeps first announces it)."""
    k = _Keys(keys)
    script = redis.register_script(_DISCONNECT)
    due = now_ms() + grace_ms
    for user_id, sid in sockets:
        await script(keys=[k.conns(user_id), k.pending], args=[sid, due, str(user_id)])


class PresenceTracker:
    """One per server process: records its sockets and runs the refresh/sweep loop."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        on_change: OnChange,
        grace_ms: int = 5_000,
        ttl_ms: int = 30_000,
        tick_ms: int = 500,
        pipelined: Callable[[QueueCommands], Awaitable[list[Any]]] | None = None,
    ) -> None:
        self._redis = redis
        self._pipelined = pipelined  # Context.pipelined: connects share round trips
        self._k = _Keys(keys)
        self._on_change = on_change
        self.grace_ms = grace_ms
        self.ttl_ms = ttl_ms
        self.tick_ms = tick_ms
        self._local: dict[str, uuid.UUID] = {}
        self._connect = redis.register_script(_CONNECT)
        self._disconnect = redis.register_script(_DISCONNECT)
        self._check = redis.register_script(_CHECK)
        self._task: asyncio.Task[None] | None = None
        self._last_refresh = 0

    async def connected(self, user_id: uuid.UUID, sid: str) -> None:
        self._local[sid] = user_id
        t = now_ms()
        keys = [
            self._k.conns(user_id),
            self._k.state(user_id),
            self._k.pending,
            self._k.version(user_id),
        ]
        args = [sid, t, t + self.ttl_ms, str(user_id)]
        reply: Any = None
        if self._pipelined is not None:
            sha = self._connect.sha

            def queue(pipe: Pipeline) -> None:
                pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)

            with contextlib.suppress(NoScriptError):  # not loaded yet (or Redis restarted)
                (reply,) = await self._pipelined(queue)
        if reply is None:
            reply = await self._connect(keys=keys, args=args)
        version = int(reply)
        if version:
            await self._notify(PresenceChange(user_id, True, version, t))

    async def disconnected(self, user_id: uuid.UUID, sid: str) -> None:
        self._local.pop(sid, None)
        t = now_ms()
        await self._disconnect(
            keys=[self._k.conns(user_id), self._k.pending],
            args=[sid, t + self.grace_ms, str(user_id)],
        )

    async def reassert(self) -> None:
        """Record every local socket again (this process was taken for dead and its sockets
        dropped); users who went offline meanwhile come back online."""
        for sid, user_id in list(self._local.items()):
            await self.connected(user_id, sid)

    async def sweep(self) -> None:
        """Turn offline every user whose check is due (any process may do it; one wins)."""
        t = now_ms()
        due = await self._redis.zrangebyscore(self._k.pending, "-inf", t, start=0, num=500)
        for raw in due:
            user_id = uuid.UUID(raw)
            version = int(
                await self._check(
                    keys=[
                        self._k.pending,
                        self._k.conns(user_id),
                        self._k.state(user_id),
                        self._k.version(user_id),
                        self._k.seen(user_id),
                    ],
                    args=[raw, t],
                )
            )
            if version > 0:
                await self._notify(PresenceChange(user_id, False, version, t))

    async def refresh(self) -> None:
        """Push this process's sockets' expiry forward (a dead process stops doing this)."""
        t = now_ms()
        expires = t + self.ttl_ms
        pipe = self._redis.pipeline(transaction=False)
        for sid, user_id in list(self._local.items()):
            pipe.zadd(self._k.conns(user_id), {sid: expires}, xx=True)
            pipe.pexpireat(self._k.conns(user_id), expires)
            pipe.zadd(self._k.pending, {str(user_id): expires}, gt=True)
        await pipe.execute()
        self._last_refresh = t

    async def _notify(self, change: PresenceChange) -> None:
        try:
            await self._on_change(change)
        except Exception:  # a failed fan-out must not stop presence itself
            log.exception("presence fan-out failed for %s", change.user_id)

    async def run(self) -> None:
        """Refresh this process's sockets and sweep due checks until cancelled."""
        while True:
            try:
                if now_ms() - self._last_refresh >= self.ttl_ms // 3:
                    await self.refresh()
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("presence loop error")
            await asyncio.sleep(self.tick_ms / 1000)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="presence")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
