"""Which web processes are alive, and letting go at once of the sockets of one that died.

A killed process (SIGKILL, out of memory) never sees its sockets close: before this, its
watch-party members stayed "connected" until their socket heartbeats ran out (60-105 s with the
defaults). Every `process_beat_s` each process scores itself in `sio:procs` with the time it
becomes suspect (now + its `process_dead_after_s`: each process is judged by its own settings).
A suspect process is dead only if Redis no longer counts a subscriber on its own relay
channel: the kernel of a killed process closes its connections at once, while a process that
only stalls (a GC pause, a slow disk, SIGSTOP) keeps them open and keeps its sockets. A lost
machine closes nothing; Redis notices with its `tcp-keepalive` (a few seconds when set low,
docs/scaling.md), and otherwise it is dead once its own socket heartbeats run out
(`lost_at_ms` in its stats, as before).

Every process checks each beat (one sorted-set read; a PUBSUB NUMSUB only for the silent);
one wins each dead process (a compare-and-delete in Lua), drops its sockets from the users'
and sessions' sets and runs the `on_process_dead` hooks (parties: their members' Disconnect;
presence: offline after the grace). Checks wait until this process's own subscription link has
been up for `LINK_GRACE_S`, so a Redis failover or restart, after which every subscription is
briefly gone, is never taken for the death of every other process. A process taken for dead
while it lived (its Redis connections were cut) sees it at its next beat and puts everything
back (`on_revived`). Each beat also stores the process's relay counters, CPU and memory in
`sio:proc:<id>:stats`, for operators and benchmarks.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Awaitable, Callable
from typing import Any

from models.core.clock import now_ms
from models.core.context import Context
from realtime.connections import Conn, Connections
from realtime.relay import RoomRelay

log = logging.getLogger("cinema.liveness")

LINK_GRACE_S = 10.0  # a process's link is up this long before it judges others
STATS_TTL_MS = 3600 * 1000

# KEYS: procs ; ARGV: process id, the score it was judged dead on -> 1 if we take it
_CLAIM = """
local suspect = redis.call('ZSCORE', KEYS[1], ARGV[1])
if suspect and tonumber(suspect) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
"""

DeadHook = Callable[[Context, str, list[Conn]], Awaitable[None]]
_dead_hooks: list[DeadHook] = []


def on_process_dead(hook: DeadHook) -> DeadHook:
    """Aggregates register what to do for the sockets of a process found dead:
    `hook(ctx, process_id, sockets)` (they are already out of the user and session sets)."""
    _dead_hooks.append(hook)
    return hook


class Liveness:
    def __init__(
        self,
        ctx: Context,
        relay: RoomRelay,
        connections: Connections,
        *,
        on_revived: Callable[[], Awaitable[None]],
    ) -> None:
        self.ctx = ctx
        self.relay = relay
        self.connections = connections
        self.on_revived = on_revived
        self._claim = ctx.redis.register_script(_CLAIM)
        self._listed = False

    @property
    def procs_key(self) -> str:
        return self.ctx.keys("sio", "procs")

    def stats_key(self, proc: str) -> str:
        return self.ctx.keys("sio", "proc", proc, "stats")

    async def beat(self) -> bool:
        """Say this process is alive; True when it had been taken for dead meanwhile."""
        stamp = now_ms()
        settings = self.ctx.settings
        usage = resource.getrusage(resource.RUSAGE_SELF)
        stats: dict[str, Any] = {
            **self.relay.stats.as_dict(),
            "beat_ms": stamp,
            "lost_at_ms": stamp + settings.socket_stale_ms,
            "sockets": len(self.connections.local),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 3),
            "max_rss_kib": usage.ru_maxrss,
        }
        key = self.stats_key(self.relay.proc)
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            suspect_at = stamp + int(settings.process_dead_after_s * 1000)
            pipe.zadd(self.procs_key, {self.relay.proc: suspect_at})
            pipe.hset(key, mapping=stats)
            pipe.pexpire(key, STATS_TTL_MS)
            added, *_ = await pipe.execute()
        revived = bool(added) and self._listed
        self._listed = True
        return revived

    async def find_dead(self) -> list[str]:
        """Processes that died, each claimed by this process (no other one handles it)."""
        if self.relay.linked_for_s < LINK_GRACE_S:
            return []
        now = now_ms()
        suspects = await self.ctx.redis.zrangebyscore(
            self.procs_key, "-inf", now, start=0, num=100, withscores=True
        )
        dead = []
        for proc, suspect_at in suspects:
            proc = str(proc)
            if proc == self.relay.proc:
                continue
            lost_at = await self.ctx.redis.hget(self.stats_key(proc), "lost_at_ms")
            lost = lost_at is None or now >= int(lost_at)  # a lost machine, or no keepalive
            if not lost and await self.relay.subscribers(proc) > 0:
                continue  # silent but connected: it only stalls
            if await self._claim(keys=[self.procs_key], args=[proc, int(suspect_at)]):
                dead.append(proc)
        return dead

    async def bury(self, proc: str) -> None:
        conns = await self.connections.sockets_of(proc)
        await self.connections.forget_process(proc, conns)
        log.warning(
            "process %s is dead: letting go of its %d sockets",
            proc,
            len(conns),
            extra={"event": "process_dead", "count": len(conns)},
        )
        for hook in _dead_hooks:
            try:
                await hook(self.ctx, proc, conns)
            except Exception:
                log.exception("process-dead hook failed for %s", proc)

    async def run(self) -> None:
        interval = self.ctx.settings.process_beat_s
        while True:
            try:
                if await self.beat():
                    log.warning(
                        "this process was taken for dead: putting its sockets back",
                        extra={"event": "process_revived"},
                    )
                    await self.on_revived()
                for proc in await self.find_dead():
                    await self.bury(proc)
            except Exception:
                log.exception("liveness pass failed")
            await asyncio.sleep(interval)

    async def leave(self) -> None:
        """A clean shutdown: not dead, just gone (its sockets closed on their own)."""
        await self.ctx.redis.zrem(self.procs_key, self.relay.proc)
        await self.ctx.redis.delete(self.stats_key(self.relay.proc))
