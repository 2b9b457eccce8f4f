"""Redis cache of catalog reads: TTL per kind, generation-based invalidation, stampede guard.

Keys carry generations: `catalog:gen` (bumped by any catalog write; lists, facets, people,
collections and title details depend on it) and `catalog:tgen:<id>` (bumped when one title
changes, including its rating). A read fetches the generations and the value in one Lua
call, so an invalidation is one INCR and a computation that raced with a write can only
store its result under a generation nobody reads any more: no stale page after an edit.

On a miss one caller per key computes (an in-process single flight, then a Redis lock
across processes); the others wait for its result. Hits and misses are counted per kind
in one Redis hash (`stats()`), so the hit ratio is observable across all processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.exceptions import RedisError

from models.core.context import Context
from models.core.redis import Keys

log = logging.getLogger("cinema.catalog.cache")

# Seconds a computed value lives in Redis, per kind.
TTL: dict[str, int] = {
    "list": 60,
    "facets": 120,
    "title": 300,
    "rating": 30,
    "person": 300,
    "collection": 300,
    "terms": 600,
}
# Seconds clients and CDNs may reuse a response without asking (then they revalidate with
# If-None-Match and get a 304). Lists tolerate a few seconds; details are always revalidated.
CLIENT_MAX_AGE: dict[str, int] = {"list": 10, "facets": 10, "terms": 60}

LOCK_MS = 5_000
_WAIT_STEP_S = 0.005

_READ = """
local g = redis.call('GET', KEYS[1]) or '0'
local t = '0'
if KEYS[2] ~= KEYS[1] then t = redis.call('GET', KEYS[2]) or '0' end
local full = ARGV[1] .. ':' .. g .. ':' .. t
local v = redis.call('GET', full)
if v then
  redis.call('HINCRBY', KEYS[3], ARGV[2] .. ':hit', 1)
else
  redis.call('HINCRBY', KEYS[3], ARGV[2] .. ':miss', 1)
end
return {full, v}
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True)
class CachedBody:
    """A serialized JSON response and its validator."""

    body: bytes
    etag: str
    kind: str
    hit: bool

    @property
    def cache_control(self) -> str:
        max_age = CLIENT_MAX_AGE.get(self.kind, 0)
        if max_age:
            return f"public, max-age={max_age}, stale-while-revalidate={max_age * 3}"
        return "public, no-cache"


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _pack(body: bytes) -> str:
    return _etag(body) + "\n" + body.decode()


def _unpack(value: str, kind: str, *, hit: bool) -> CachedBody:
    etag, _, body = value.partition("\n")
    return CachedBody(body.encode(), etag, kind, hit)


def key_of(*parts: object) -> str:
    """A short stable key part for a query model or any JSON-able value."""
    raw = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.blake2b(raw, digest_size=12).hexdigest()


class CatalogCache:
    """One per process (held by `cache_for(ctx)`): the scripts and in-flight computations."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._read = ctx.redis.register_script(_READ)
        self._release = ctx.redis.register_script(_RELEASE)
        self._inflight: dict[str, asyncio.Future[CachedBody]] = {}

    def _k(self, *parts: object) -> str:
        return self.ctx.keys("catalog", *parts)

    async def get_or_compute(
        self,
        kind: str,
        key: str,
        compute: Callable[[], Awaitable[Any]],
        *,
        title_id: int | None = None,
        global_gen: bool = True,
    ) -> CachedBody:
        """The cached JSON of `compute()`; computed once per key across processes on a miss."""
        gen_key = self._k("gen") if global_gen else self._k("tgen", title_id)
        tgen_key = self._k("tgen", title_id) if title_id is not None else gen_key
        try:
            full, value = await self._read(
                keys=[gen_key, tgen_key, self._k("stats")], args=[self._k(kind, key), kind]
            )
        except RedisError as exc:
            # The cache is an optimization: without Redis, answer from PostgreSQL.
            log.warning("catalog cache unavailable (%s); reading from the database", exc)
            return CachedBody(orjson.dumps(await compute()), "", kind, hit=False)
        if value is not None:
            return _unpack(value, kind, hit=True)
        running = self._inflight.get(full)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[CachedBody] = asyncio.get_running_loop().create_future()
        self._inflight[full] = future
        try:
            result = await self._fill(kind, full, compute)
            future.set_result(result)
            return result
        except BaseException as exc:
            future.set_exception(exc)
            # Nobody else may be waiting; do not warn about an unretrieved exception.
            future.exception()
            raise
        finally:
            del self._inflight[full]

    async def _fill(
        self, kind: str, full: str, compute: Callable[[], Awaitable[Any]]
    ) -> CachedBody:
        redis = self.ctx.redis
        lock = full + ":lock"
        token = secrets.token_hex(8)
        deadline = time.monotonic() + LOCK_MS / 1000
        while True:
            if await redis.set(lock, token, nx=True, px=LOCK_MS):
                try:
                    # The previous holder may have stored the value just before we got here.
                    done = await redis.get(full)
                    if done is not None:
                        return _unpack(done, kind, hit=False)
                    body = orjson.dumps(await compute())
                    packed = _pack(body)
                    await redis.set(full, packed, ex=TTL[kind])
                    return _unpack(packed, kind, hit=False)
                finally:
                    await self._release(keys=[lock], args=[token])
            # Another process is computing this key: wait for its result.
            await asyncio.sleep(_WAIT_STEP_S)
            value = await redis.get(full)
            if value is not None:
                return _unpack(value, kind, hit=False)
            if time.monotonic() > deadline:
                # The holder is stuck; compute without caching rather than fail.
                return CachedBody(orjson.dumps(await compute()), "", kind, hit=False)


_CACHES: dict[int, CatalogCache] = {}


def cache_for(ctx: Context) -> CatalogCache:
    cache = _CACHES.get(id(ctx))
    if cache is None or cache.ctx is not ctx:
        cache = _CACHES[id(ctx)] = CatalogCache(ctx)
    return cache


async def invalidate_title(ctx: Context, title_id: int) -> None:
    """Call after a title (or its rating summary) changed and the transaction committed."""
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.incr(ctx.keys("catalog", "tgen", title_id))
        pipe.incr(ctx.keys("catalog", "gen"))
        await pipe.execute()


async def invalidate_catalog(ctx: Context) -> None:
    """Call after any catalog write that is not about one title (genres, people, ...)."""
    await bump_generation(ctx.redis, ctx.keys)


async def bump_generation(redis: Redis, keys: Keys) -> None:
    await redis.incr(keys("catalog", "gen"))


async def stats(ctx: Context) -> dict[str, dict[str, float]]:
    raw: dict[str, str] = await ctx.redis.hgetall(ctx.keys("catalog", "stats"))
    out: dict[str, dict[str, float]] = {}
    for field, count in raw.items():
        kind, _, what = field.rpartition(":")
        entry = out.setdefault(kind, {"hits": 0, "misses": 0, "hit_ratio": 0.0})
        entry["hits" if what == "hit" else "misses"] += int(count)
    for entry in out.values():
        total = entry["hits"] + entry["misses"]
        entry["hit_ratio"] = round(entry["hits"] / total, 4) if total else 0.0
    return out
