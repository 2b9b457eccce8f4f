"""Who is connected right now, from the realtime door's socket bookkeeping.

realtime/connections.py keeps each user's sockets in a sorted set scored by the last
heartbeat (entries older than three heartbeats belong to a process that died), and one set
of the users it has seen connected."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from models.core import clock
from models.core.context import Context

_CHUNK = 5000


async def online_user_ids(ctx: Context, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Users with a live socket on any server process.

    The socket layer also keeps one sorted set of users seen connected (score: last
    heartbeat), so the candidates are the few connected users, not every id asked about;
    each candidate is then confirmed against its own socket set (it may have left since)."""
    wanted = {str(u): u for u in user_ids}
    if not wanted:
        return set()
    floor = clock.now_ms() - ctx.settings.socket_stale_ms
    everyone = ctx.keys("sio", "users")
    seen = await ctx.redis.zrangebyscore(everyone, floor, "+inf")
    candidates = [wanted[u] for u in seen if u in wanted]
    online: set[uuid.UUID] = set()
    for start in range(0, len(candidates), _CHUNK):
        chunk = candidates[start : start + _CHUNK]
        async with ctx.redis.pipeline(transaction=False) as pipe:
            for uid in chunk:
                pipe.zcount(ctx.keys("sio", "user", str(uid)), floor, "+inf")
            counts = await pipe.execute()
        online.update(uid for uid, n in zip(chunk, counts, strict=True) if n)
    # Forget users not seen for a while, so the set stays the size of who is connected.
    await ctx.redis.zremrangebyscore(everyone, "-inf", floor)
    return online
