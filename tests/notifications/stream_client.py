"""A python-socketio client that keeps one stream's cursor by the rule of
cinema/stream_cursor.py (the benchmarks' raw client, bench/reconnect_storm.py, uses the same):
it resumes on every connect, on a gap and on `sync:stale`."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio

from cinema.stream_cursor import StreamCursor


class ResumingClient:
    def __init__(
        self,
        token: str,
        stream: str = "notifications",
        event: str = "notification",
        *,
        reconnection: bool = False,
    ):
        self.token = token
        self.state = StreamCursor(stream)
        # With reconnection, the official client's jittered backoff (as the web app's client
        # does); each reconnect resumes like the first connect.
        self.sio = socketio.AsyncClient(
            reconnection=reconnection,
            reconnection_delay=0.5,
            reconnection_delay_max=3,
            randomization_factor=0.5,
        )
        self.refusals: list[Any] = []  # connect errors the server answered (not "unreachable")
        self.stale = 0
        self.resumes = 0
        self.failed_resumes = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self._on_connect)
        self.sio.on(event, self._on_live)
        self.sio.on("sync:stale", self._on_stale)
        self.sio.on("connect_error", self._on_connect_error)

    # What the tests read of the stream.
    @property
    def cursor(self) -> int:
        return self.state.cursor

    @property
    def applied(self) -> list[int]:
        return self.state.applied

    @property
    def live(self) -> int:
        return self.state.live

    @property
    def replayed(self) -> int:
        return self.state.replayed

    async def connect(self, url: str) -> None:
        await self.sio.connect(
            url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )

    async def disconnect(self) -> None:
        await self.sio.disconnect()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.sio.connected:
            await self.sio.disconnect()

    def _spawn_resume(self) -> None:
        task = asyncio.ensure_future(self.resume())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_connect(self) -> None:
        self._spawn_resume()

    async def _on_connect_error(self, data: Any = None) -> None:
        if isinstance(data, dict) and "code" in data:
            self.refusals.append(data)

    async def _on_stale(self, data: Any = None) -> None:
        self.stale += 1
        self._spawn_resume()

    async def _on_live(self, data: dict[str, Any]) -> None:
        if self.state.on_live(data):
            self._spawn_resume()

    async def resume(self) -> None:
        payload = self.state.begin_resume()
        if payload is None:
            return  # one runs; another follows it
        again = False
        try:
            ack = await self.sio.call("sync:resume", payload, timeout=10)
        except socketio.exceptions.SocketIOError:
            # No answer in time (a crowded server) or the socket went away: try again while
            # connected; a reconnect resumes anyway.
            self.failed_resumes += 1
            again = self.sio.connected
        else:
            error = self.state.on_resumed(ack)
            assert error is None, ack
            self.resumes += 1
        finally:
            again = self.state.end_resume() or again
        if again:
            self._spawn_resume()
