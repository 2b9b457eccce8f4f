"""Redis cache of catalog reads: TTL per kind, generation-based invalidation, stampede guard.

Keys carry generations: `catalog:gen` (bumped by any catalog write; lists, facets, people,
collections and title details depend on it) and `catalog:tgen:<id>` (bumped when one title
changes, including its rating). A read fetches the generations and the value in one Lua
call, so an invalidation is one INCR and a computation that raced with a write can only
store its result under a generation nobody reads any more: no stale page after an edit.
Ratings are the exception for lists: a title's details and rating follow each rating at
once, list pages within RATING_LIST_DELAY_S (one list invalidation per spell of ratings, not
one per rating).

List pages (and facets, term lists) are also held in process memory for a second
(`NEAR_TTL`), which spares the Redis round trip on the hottest pages; a write through this
process clears that memory, other processes catch up within the second (the same pages may
be reused by clients and CDNs for CLIENT_MAX_AGE anyway). Title details and ratings always
ask Redis, so they are never stale after an edit, whichever process served it.

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
from dataclasses import dataclass, replace
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from models.core import metrics
from models.core.context import Context, Slot
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

# Seconds a process may answer a list page from its own memory, without asking Redis. Lists
# already tolerate CLIENT_MAX_AGE at the edge; an edit made through this process clears its
# memory at once, other processes catch up within this time. Details are never held locally.
NEAR_TTL: dict[str, float] = {"list": 1.0, "facets": 1.0, "terms": 5.0}
NEAR_MAX_ENTRIES = 2_000

LOCK_MS = 5_000

# Lists show every title's average rating, but one rating must not empty every cached list
# page: on a busy site that would be every page, several times a second. A rating refreshes
# its own title's details and rating at once, and the list pages at most once per this many
# seconds: the first rating of a quiet spell at once, later ones at the end of the spell.
RATING_LIST_DELAY_S = 5.0
_WAIT_STEP_S = 0.005

_READ = """
local g = redis.call('GET', KEYS[1]) or '0'
local t = '0'
if KEYS[2] ~= KEYS[1] then t = redis.call('GET', KEYS[2]) or '0' end
local full = ARGV[1] .. ':' .. g .. ':' .. t
local v = redis.call('GET', full)
if tonumber(ARGV[3]) > 0 then
  redis.call('HINCRBY', KEYS[3], ARGV[2] .. ':hit', tonumber(ARGV[3]))
end
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
        self._pending = ctx.redis.register_script(_PENDING)
        self._trailing: asyncio.Task[None] | None = None
        self._release = ctx.redis.register_script(_RELEASE)
        self._inflight: dict[str, asyncio.Future[CachedBody]] = {}
        self._near: dict[tuple[str, str], tuple[float, CachedBody]] = {}
        # Local hits, added to the shared counters with the next Redis read of that kind.
        self._local_hits: dict[str, int] = {}

    def forget_local(self) -> None:
        self._near.clear()

    async def invalidate_rating(self, title_id: int) -> None:
        replies = await self.ctx.pipelined(lambda pipe: self.queue_rating(pipe, title_id))
        self.rating_invalidated(replies[0])

    def queue_rating(self, pipe: Pipeline, title_id: int) -> None:
        """`invalidate_rating`'s script queued in a pipeline (one round trip with the caller's
        other commands); pass its reply to `rating_invalidated`. EVAL, not EVALSHA: a
        pipeline with scripts would first ask Redis whether it has them."""
        keys = self.ctx.keys
        pipe.eval(
            _RATING,
            4,
            keys("catalog", "tgen", title_id),
            keys("catalog", "gen"),
            keys("catalog", "rating-lists", "quiet"),
            keys("catalog", "rating-lists", "pending"),
            int(RATING_LIST_DELAY_S * 1000),
        )

    def rating_invalidated(self, bumped: Any) -> None:
        delay_ms = int(RATING_LIST_DELAY_S * 1000)
        if bumped:
            self.forget_local()
        elif self._trailing is None or self._trailing.done():
            # Whichever process's timer fires first bumps once for all the pending ratings;
            # if every process died first, the list TTL bounds how stale a page gets.
            self._trailing = asyncio.create_task(self._bump_pending(delay_ms / 1000))

    async def _bump_pending(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        keys = self.ctx.keys
        try:
            if await self._pending(
                keys=[
                    keys("catalog", "rating-lists", "pending"),
                    keys("catalog", "gen"),
                    keys("catalog", "rating-lists", "quiet"),
                ],
                args=[int(delay_s * 1000)],
            ):
                self.forget_local()
        except RedisError as exc:
            log.warning("could not refresh list pages after ratings: %s", exc)

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
        near_ttl = NEAR_TTL.get(kind, 0.0)
        if near_ttl:
            near = self._near.get((kind, key))
            if near is not None and near[0] > time.monotonic():
                self._local_hits[kind] = self._local_hits.get(kind, 0) + 1
                metrics.cache_requests.labels(kind, "hit").inc()
                return near[1]
        result = await self._get_or_compute(kind, key, compute, title_id, global_gen)
        metrics.cache_requests.labels(kind, "hit" if result.hit else "miss").inc()
        if near_ttl and result.etag:
            if len(self._near) >= NEAR_MAX_ENTRIES:
                self._near.pop(next(iter(self._near)))
            self._near[(kind, key)] = (time.monotonic() + near_ttl, replace(result, hit=True))
        return result

    async def _get_or_compute(
        self,
        kind: str,
        key: str,
        compute: Callable[[], Awaitable[Any]],
        title_id: int | None,
        global_gen: bool,
    ) -> CachedBody:
        gen_key = self._k("gen") if global_gen else self._k("tgen", title_id)
        tgen_key = self._k("tgen", title_id) if title_id is not None else gen_key
        local_hits = self._local_hits.pop(kind, 0)
        try:
            full, value = await self._read(
                keys=[gen_key, tgen_key, self._k("stats")],
                args=[self._k(kind, key), kind, local_hits],
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


_CACHE = Slot[CatalogCache]("catalog.cache")


def cache_for(ctx: Context) -> CatalogCache:
    return ctx.local.get_or_make(_CACHE, lambda: CatalogCache(ctx))


async def invalidate_title(ctx: Context, title_id: int) -> None:
    """Call after a title (or its rating summary) changed and the transaction committed."""
    cache_for(ctx).forget_local()
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.incr(ctx.keys("catalog", "tgen", title_id))
        pipe.incr(ctx.keys("catalog", "gen"))
        await pipe.execute()


async def invalidate_rating(ctx: Context, title_id: int) -> None:
    """Call after a title's rating summary changed and the transaction committed: its
    details and rating at once, list pages within RATING_LIST_DELAY_S."""
    await cache_for(ctx).invalidate_rating(title_id)


def queue_invalidate_rating(ctx: Context, pipe: Pipeline, title_id: int) -> None:
    """`invalidate_rating` queued in a caller's pipeline; its reply goes to
    `rating_invalidated`."""
    cache_for(ctx).queue_rating(pipe, title_id)


def rating_invalidated(ctx: Context, reply: Any) -> None:
    """What follows `queue_invalidate_rating`'s reply in this process."""
    cache_for(ctx).rating_invalidated(reply)


async def invalidate_catalog(ctx: Context) -> None:
    """Call after any catalog write that is not about one title (genres, people, ...)."""
    cache_for(ctx).forget_local()
    await bump_generation(ctx.redis, ctx.keys)


async def bump_generation(redis: Redis, keys: Keys) -> None:
    await redis.incr(keys("catalog", "gen"))


async def stats(ctx: Context) -> dict[str, dict[str, float]]:
    """Hits and misses per kind, all processes (each adds its local hits on its next read)."""
    cache = cache_for(ctx)
    pending, cache._local_hits = cache._local_hits, {}
    for kind, hits in pending.items():
        await ctx.redis.hincrby(ctx.keys("catalog", "stats"), f"{kind}:hit", hits)
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


# KEYS: title generation, list generation, quiet-spell marker, pending marker; ARGV: delay ms.
# Returns 1 when the list generation moved now, 0 when it is left to the trailing bump.
_RATING = """
redis.call('INCR', KEYS[1])
if redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[1]) then
  redis.call('INCR', KEYS[2])
  redis.call('DEL', KEYS[4])
  return 1
end
redis.call('SET', KEYS[4], '1', 'PX', tonumber(ARGV[1]) * 4)
return 0
"""

# KEYS: pending marker, list generation, quiet-spell marker; ARGV: delay ms. Exactly one
# caller sees the marker and bumps, which starts a new quiet spell.
_PENDING = """
if redis.call('DEL', KEYS[1]) == 1 then
  redis.call('INCR', KEYS[2])
  redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
  return 1
end
return 0
"""
