"""Everything a use case may touch, built once per process and passed down."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.core.events import Outbox, Publisher
from models.core.redis import Keys
from models.core.settings import Settings


class JobQueue(Protocol):
    async def enqueue(self, function: str, /, *args: Any, **kwargs: Any) -> None: ...

    async def close(self) -> None: ...


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: Keys
    publisher: Publisher
    jobs: JobQueue

    async def flush(self, outbox: Outbox) -> None:
        await outbox.flush(self.publisher, self.jobs)
