"""Everything a use case may touch, built once per process and passed down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from models.core.events import Outbox, Publisher
from models.core.redis import Coalescer, Keys, QueueCommands
from models.core.settings import Settings

T = TypeVar("T")


class JobQueue(Protocol):
    async def enqueue(self, function: str, /, *args: Any, **kwargs: Any) -> None: ...

    async def close(self) -> None: ...


class Slot(Generic[T]):
    """The name of one per-process value kept on the Context, and its type."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"Slot({self.name!r})"


class Local:
    """What this process keeps beside its Context (live stores, caches, socket rooms,
    trackers), one value per `Slot`; it lives and dies with the Context it belongs to."""

    def __init__(self) -> None:
        self._values: dict[Slot[Any], Any] = {}

    def get(self, slot: Slot[T]) -> T | None:
        value: T | None = self._values.get(slot)
        return value

    def get_or_make(self, slot: Slot[T], make: Callable[[], T]) -> T:
        if slot not in self._values:
            self._values[slot] = make()
        value: T = self._values[slot]
        return value

    def set(self, slot: Slot[T], value: T) -> None:
        self._values[slot] = value

    def pop(self, slot: Slot[T]) -> None:
        self._values.pop(slot, None)


_COALESCER = Slot[Coalescer]("redis.coalescer")


@dataclass
class Context:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    keys: Keys
    publisher: Publisher
    jobs: JobQueue
    local: Local = field(default_factory=Local, init=False, repr=False, compare=False)

    async def flush(self, outbox: Outbox) -> None:
        await outbox.flush(self.publisher, self.jobs)

    async def pipelined(self, queue: QueueCommands) -> list[Any]:
        """`queue(pipe)`'s commands in a pipeline shared with whoever else asks at the same
        moment (models/core/redis.py, Coalescer); their replies."""
        return await self.submit_pipelined(queue)

    def submit_pipelined(
        self, queue: QueueCommands, *, raw: bool = False
    ) -> asyncio.Future[list[Any]]:
        """`pipelined` queued at once, its replies in the future (`Coalescer.submit`): the
        caller does something else meanwhile without a task of its own."""
        coalescer = self.local.get_or_make(_COALESCER, lambda: Coalescer(self.redis))
        return coalescer.submit(queue, raw=raw)
