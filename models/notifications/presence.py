"""Who is connected right now, from the realtime door's socket bookkeeping.

realtime/connections.py keeps each user's sockets in a sorted set scored by the last
heartbeat; entries older than three heartbeats belong to a process that died."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from models.core import clock
from models.core.context import Context

SOCKET_STALE_MS = 90_000
_CHUNK = 5000


# One round trip per chunk; returns only the (1-based) positions of connected users, which
# are few, instead of a count per user (parsing 5000 replies costs more than the lookups).
_ONLINE = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('ZCOUNT', key, ARGV[1], '+inf') > 0 then out[#out + 1] = i end
end
return out
"""


async def online_user_ids(ctx: Context, user_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Users with a live socket on any server process."""
    ids = list(user_ids)
    floor = clock.now_ms() - SOCKET_STALE_MS
    script = ctx.redis.register_script(_ONLINE)
    online: set[uuid.UUID] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        keys = [ctx.keys("sio", "user", str(uid)) for uid in chunk]
        positions = await script(keys=keys, args=[floor])
        online.update(chunk[int(p) - 1] for p in positions)
    return online
