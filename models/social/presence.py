"""Who is online, on any device, in any server process, without flapping.

A user's sockets are the socket layer's own records (realtime/connections.py): one sorted set
per user of live socket ids scored by each socket's last heartbeat, which every process
refreshes for its sockets and which a process found dead is taken out of at once
(realtime/liveness.py). Presence keeps no socket records of its own, only a flag "online", a
per-user version, and one global schedule of users whose state must be re-checked. A
disconnect only schedules a check after a grace delay, so a phone that reconnects within it
(switching from Wi-Fi to mobile data) never appears offline. A dead process's users are
checked when it is buried; should nobody bury it, each process pushes its users' checks past
their sockets' stale window in one command per heartbeat, so a process that stops beating
leaves checks that come due and turn its users offline. Every transition increments a
per-user version, carried by the pushed event, so a client drops an update older than one it
already has.
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

# KEYS: state, pending, version ; ARGV: now_ms, due_ms, user -> the new version, 0 if online
_CONNECT = """
redis.call('ZADD', KEYS[2], 'GT', ARGV[2], ARGV[3])
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return redis.call('INCR', KEYS[3])
"""

# KEYS: pending, sockets, state, version, seen ; ARGV: user, now_ms, stale_ms
# -> -1 not due (another process took it), 0 still online, else the new (offline) version
_CHECK = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if (not due) or tonumber(due) > tonumber(ARGV[2]) then return -1 end
redis.call('ZREM', KEYS[1], ARGV[1])
local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
if #last > 0 and tonumber(last[2]) + tonumber(ARGV[3]) > tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], tonumber(last[2]) + tonumber(ARGV[3]), ARGV[1])
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

    def sockets(self, user_id: object) -> str:
        """realtime/connections.py's live sockets of the user, scored by their last heartbeat."""
        return self._keys("sio", "user", user_id)

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


async def connected_devices(redis: Redis, keys: Keys, user_id: uuid.UUID, *, stale_ms: int) -> int:
    """Live sockets right now (no grace): zero means a message waits for the user."""
    return int(await redis.zcount(_Keys(keys).sockets(user_id), now_ms() - stale_ms, "+inf"))


def queue_connected_devices(
    pipe: Pipeline, keys: Keys, user_id: uuid.UUID, *, stale_ms: int
) -> None:
    """`connected_devices` queued in a pipeline (its result: the count)."""
    pipe.zcount(_Keys(keys).sockets(user_id), now_ms() - stale_ms, "+inf")


async def drop_sockets(
    redis: Redis, keys: Keys, sockets: Iterable[tuple[uuid.UUID, str]], *, grace_ms: int
) -> None:
    """Sockets of a process that died (already out of their users' sets), as if each had
    disconnected: a user with no socket left goes offline after the grace (whichever process
    sweeps first announces it)."""
    users = {str(user_id) for user_id, _ in sockets}
    if users:
        due = now_ms() + grace_ms
        await redis.zadd(_Keys(keys).pending, dict.fromkeys(users, due))


class PresenceTracker:
    """One per server process: turns its users online, schedules their checks and sweeps the
    checks that come due (of any process)."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        on_change: OnChange,
        stale_ms: int,
        grace_ms: int = 5_000,
        tick_ms: int = 500,
    ) -> None:
        self._redis = redis
        self._k = _Keys(keys)
        self._on_change = on_change
        self.grace_ms = grace_ms
        self.stale_ms = stale_ms  # a socket not heartbeated for this long is dead
        self.tick_ms = tick_ms
        self._local: dict[str, uuid.UUID] = {}
        self._connect = redis.register_script(_CONNECT)
        self._check = redis.register_script(_CHECK)
        self._task: asyncio.Task[None] | None = None

    async def connected(self, user_id: uuid.UUID, sid: str) -> None:
        """The socket `sid` of the user is recorded (realtime/connections.py): online."""
        self._local[sid] = user_id
        await self._online(user_id)

    def queue_connected(
        self, user_id: uuid.UUID, sid: str
    ) -> tuple[QueueCommands, Callable[[list[Any]], Awaitable[None]]]:
        """`connected` as one command to queue in a pipeline (a connect sends it with the
        socket's records), and what to run with its replies."""
        self._local[sid] = user_id
        t = now_ms()
        keys, args = self._online_call(user_id, t)
        sha = self._connect.sha

        def queue(pipe: Pipeline) -> None:
            pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)

        async def then(replies: list[Any]) -> None:
            await self.settle(user_id, t, replies[0])

        return queue, then

    async def settle(self, user_id: uuid.UUID, t: int, reply: Any) -> None:
        """Act on `queue_connected`'s reply: the user's friends told when they came online."""
        if isinstance(reply, NoScriptError):  # not loaded yet (or Redis restarted)
            keys, args = self._online_call(user_id, t)
            reply = await self._connect(keys=keys, args=args)
        elif isinstance(reply, Exception):
            raise reply
        version = int(reply)
        if version:
            await self._notify(PresenceChange(user_id, True, version, t))

    def _online_call(self, user_id: uuid.UUID, t: int) -> tuple[list[str], list[Any]]:
        user = str(user_id)  # once: a UUID's str() costs more than the key's join
        keys = [self._k.state(user), self._k.pending, self._k.version(user)]
        return keys, [t, t + self.stale_ms, user]

    async def _online(self, user_id: uuid.UUID) -> None:
        t = now_ms()
        keys, args = self._online_call(user_id, t)
        await self.settle(user_id, t, await self._connect(keys=keys, args=args))

    async def disconnected(self, user_id: uuid.UUID, sid: str) -> None:
        """The socket is out of the user's set: check the user once the grace is over."""
        self._local.pop(sid, None)
        await self._redis.zadd(self._k.pending, {str(user_id): now_ms() + self.grace_ms})

    async def reassert(self) -> None:
        """This process was taken for dead and its sockets dropped, then put back in their
        users' sets: users who went offline meanwhile come back online."""
        for user_id in set(self._local.values()):
            await self._online(user_id)

    async def sweep(self) -> None:
        """Turn offline every user whose check is due (any process may do it; one wins)."""
        t = now_ms()
        due = await self._redis.zrangebyscore(self._k.pending, "-inf", t, start=0, num=500)
        if not due:
            return
        # All due checks in one round trip (each still one atomic script): after a process
        # restart, its thousands of users come due together while they reconnect.
        async with self._redis.pipeline(transaction=False) as pipe:
            for raw in due:
                user_id = uuid.UUID(raw)
                await self._check(
                    keys=[
                        self._k.pending,
                        self._k.sockets(user_id),
                        self._k.state(user_id),
                        self._k.version(user_id),
                        self._k.seen(user_id),
                    ],
                    args=[raw, t, self.stale_ms],
                    client=pipe,
                )
            versions = await pipe.execute()
        for raw, version in zip(due, versions, strict=True):
            if int(version) > 0:
                await self._notify(PresenceChange(uuid.UUID(raw), False, int(version), t))

    async def refresh(self) -> None:
        """Push this process's users' checks past their sockets' stale window, all in one
        command (call it right after the sockets' heartbeat): while the process lives their
        checks never come due; when it stops beating they do."""
        users = {str(u) for u in self._local.values()}
        if users:
            await self._redis.zadd(
                self._k.pending, dict.fromkeys(users, now_ms() + self.stale_ms), gt=True
            )

    async def _notify(self, change: PresenceChange) -> None:
        try:
            await self._on_change(change)
        except Exception:  # a failed fan-out must not stop presence itself
            log.exception("presence fan-out failed for %s", change.user_id)

    async def run(self) -> None:
        """Sweep due checks until cancelled."""
        while True:
            try:
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
