"""Sliding-window rate limits in Redis: one Lua script, atomic across processes."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis

from models.core.clock import now_ms
from models.core.errors import RateLimited

_SLIDING_WINDOW = """
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count >= limit then
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', key, now, ARGV[4])
redis.call('PEXPIRE', key, window)
return 0
"""


def client_bucket(ip: str) -> str:
    """The key a per-client limit counts an address under: an IPv6 client is given a whole
    /64 (often more), so its addresses share one bucket; IPv4 (also IPv4-mapped) as is."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int
    window_s: int


class RateLimiter:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, limit: Limit, key: str, *, message: str | None = None) -> None:
        """Count one hit; raise RateLimited (with Retry-After) when over the limit."""
        wait_ms = int(
            await self._script(
                keys=[f"{self._prefix}:rl:{limit.name}:{key}"],
                args=[now_ms(), limit.window_s * 1000, limit.limit, secrets.token_hex(8)],
            )
        )
        if wait_ms > 0:
            raise RateLimited((wait_ms + 999) // 1000, message or "Too many requests")

    async def reset(self, limit: Limit, key: str) -> None:
        await self._redis.delete(f"{self._prefix}:rl:{limit.name}:{key}")
