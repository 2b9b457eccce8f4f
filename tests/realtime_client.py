"""Real socketio.AsyncClient connections for tests."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio


class Recorder:
    """A connected client that records every server event it receives."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.events: dict[str, list[Any]] = defaultdict(list)
        self.disconnected = asyncio.Event()
        self.connect_error: Any = None

        self.client.on("*", self._any)
        self.client.on("connect_error", self._error)
        self.client.on("disconnect", self._gone)

    async def _any(self, event: str, data: Any = None) -> None:
        self.events[event].append(data)

    async def _error(self, data: Any) -> None:
        self.connect_error = data

    async def _gone(self, *args: Any) -> None:
        self.disconnected.set()

    async def call(self, event: str, data: Any = None, timeout: float = 10) -> Any:
        return await self.client.call(event, data, timeout=timeout)

    async def wait_event(self, event: str, count: int = 1, timeout: float = 10) -> list[Any]:
        async def until() -> None:
            while len(self.events[event]) < count:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(until(), timeout)
        return self.events[event]


@asynccontextmanager
async def connected(url: str, token: str) -> AsyncIterator[Recorder]:
    rec = Recorder()
    await rec.client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=10)
    try:
        yield rec
    finally:
        if rec.client.connected:
            await rec.client.disconnect()
