"""Group commit: requests that arrive while a batch is being written go together in the next."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from models.core import metrics

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")

# What a batch's writer gives back for each item, in order: its result or its own error.
WriteBatch = Callable[[list[ItemT]], Awaitable[list[ResultT | BaseException]]]


class Batcher(Generic[ItemT, ResultT]):
    """One batch in flight at a time; whatever is submitted meanwhile goes out next, as one.

    A lone caller is written at once from its own task (no task to start and switch to), so at
    a low rate nothing waits longer than before; under load, N requests cost one statement
    and one checkout instead of N. Each caller gets its own item's outcome: the writer
    decides per item (a bad one fails alone), and an error of the whole batch fails each of
    its callers with it. The same pattern as the shared Redis pipelines
    (models.core.redis.Coalescer)."""

    def __init__(
        self, write: WriteBatch[ItemT, ResultT], *, name: str, max_size: int = 256
    ) -> None:
        self._write = write
        self._max = max_size
        self._queue: list[tuple[ItemT, asyncio.Future[ResultT]]] = []
        self._task: asyncio.Task[None] | None = None
        self._sending = False
        self._batches = metrics.write_batches.labels(name)
        self._items = metrics.write_batch_items.labels(name)

    async def submit(self, item: ItemT) -> ResultT:
        """`item` written (alone or with others); its result, or its error raised."""
        fut: asyncio.Future[ResultT] = asyncio.get_running_loop().create_future()
        if self._task is None and not self._sending:
            self._sending = True
            try:
                await self._send([(item, fut)])
            finally:
                self._sending = False
                self._start_drain()
                if fut.done() and not fut.cancelled():
                    fut.exception()  # retrieved here even when this caller was cancelled
            return fut.result()
        self._queue.append((item, fut))
        return await fut

    def _start_drain(self) -> None:
        if self._queue and self._task is None:
            self._task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max], self._queue[self._max :]
                await self._send(batch)
        finally:
            self._task = None
            # Empty unless the drain was cancelled (shutdown): nobody is left waiting forever.
            left, self._queue = self._queue, []
            for _, fut in left:
                if not fut.done():
                    fut.set_exception(ConnectionError("write batch cancelled"))

    async def _send(self, batch: list[tuple[ItemT, asyncio.Future[ResultT]]]) -> None:
        self._batches.inc()
        self._items.inc(len(batch))
        try:
            outcomes = await self._write([item for item, _ in batch])
        except BaseException as exc:
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else ConnectionError())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, fut), outcome in zip(batch, outcomes, strict=True):
            if fut.done():
                continue  # its caller gave up; the write stands
            if isinstance(outcome, BaseException):
                fut.set_exception(outcome)
            else:
                fut.set_result(outcome)
