"""The JobQueue behind models.core.context: arq's pool on our prefixed queue."""

from __future__ import annotations

from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings


class ArqQueue:
    def __init__(self, pool: ArqRedis, queue_name: str) -> None:
        self.pool = pool
        self.queue_name = queue_name

    @classmethod
    async def connect(cls, redis_url: str, queue_name: str) -> ArqQueue:
        pool = await create_pool(RedisSettings.from_dsn(redis_url), default_queue_name=queue_name)
        return cls(pool, queue_name)

    async def enqueue(self, function: str, /, *args: Any, **kwargs: Any) -> None:
        await self.pool.enqueue_job(function, *args, _queue_name=self.queue_name, **kwargs)

    async def close(self) -> None:
        await self.pool.aclose()
