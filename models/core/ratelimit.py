"""Sliding-window rate limits in Redis: one Lua script, atomic across processes."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.commands.core import AsyncScript

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
        # Registered at the first `hit`: it hashes the script, and a limiter made for a
        # pipeline (`queue_hit`, a private message's send) never needs it.
        self._script: AsyncScript | None = None

    async def hit(self, limit: Limit, key: str, *, message: str | None = None) -> None:
        """Count one hit; raise RateLimited (with Retry-After) when over the limit."""
        if self._script is None:
            self._script = self._redis.register_script(_SLIDING_WINDOW)
        wait_ms = await self._script(
            keys=[self._key(limit, key)],
            args=[now_ms(), limit.window_s * 1000, limit.limit, secrets.token_hex(8)],
        )
        check_hit(wait_ms, message=message)

    def queue_hit(self, pipe: Pipeline, limit: Limit, key: str) -> None:
        """Queue one hit in a pipeline (one round trip with the caller's other commands);
        pass its result to `check_hit`. EVAL, not EVALSHA: a pipeline with scripts would
        first ask Redis whether it has them, a round trip of its own."""
        pipe.eval(
            _SLIDING_WINDOW,
            1,
            self._key(limit, key),
            now_ms(),
            limit.window_s * 1000,
            limit.limit,
            secrets.token_hex(8),
        )

    def _key(self, limit: Limit, key: str) -> str:
        return f"{self._prefix}:rl:{limit.name}:{key}"

    async def reset(self, limit: Limit, key: str) -> None:
        await self._redis.delete(self._key(limit, key))


def check_hit(wait_ms: object, *, message: str | None = None) -> None:
    """Raise RateLimited (with Retry-After) when a hit's result says it was over the limit."""
    wait = int(wait_ms)  # type: ignore[call-overload]
    if wait > 0:
        raise RateLimited((wait + 999) // 1000, message or "Too many requests")
