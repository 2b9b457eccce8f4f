"""Builds the Context for a process: web (publisher = the Socket.IO server) or jobs."""

from __future__ import annotations

from typing import Any

from jobs.queue import ArqQueue
from models.core.context import Context
from models.core.db import make_engine, make_sessionmaker
from models.core.redis import Keys, make_redis
from models.core.settings import Settings
from realtime.publisher import SocketPublisher, write_only_manager


def require_urls(settings: Settings) -> tuple[str, str]:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError(
            "DATABASE_URL and REDIS_URL must be set (the `cinema` command starts embedded "
            "services and sets them when they are missing)"
        )
    return settings.database_url, settings.redis_url


async def build_context(
    settings: Settings, *, emitter: Any | None = None, **engine_kw: Any
) -> Context:
    db_url, redis_url = require_urls(settings)
    keys = Keys(settings.redis_prefix)
    redis = make_redis(redis_url)
    if "poolclass" not in engine_kw:
        engine_kw.setdefault("pool_size", settings.database_pool_size)
        engine_kw.setdefault("max_overflow", settings.database_max_overflow)
    engine = make_engine(db_url, **engine_kw)
    publisher = SocketPublisher(
        emitter or write_only_manager(redis_url, keys),
        redis,
        keys,
        stale_ms=settings.socket_stale_ms,
    )
    jobs = await ArqQueue.connect(redis_url, keys.arq_queue)
    return Context(
        settings=settings,
        engine=engine,
        sessions=make_sessionmaker(engine),
        redis=redis,
        keys=keys,
        publisher=publisher,
        jobs=jobs,
    )


async def close_context(ctx: Context) -> None:
    if isinstance(ctx.publisher, SocketPublisher):
        await ctx.publisher.close()
    await ctx.jobs.close()
    await ctx.redis.aclose()
    await ctx.engine.dispose()
