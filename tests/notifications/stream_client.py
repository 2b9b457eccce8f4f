"""The client side of "no loss on reconnect", as apps should implement it.

Per stream keep the last applied cursor. A live event with cursor <= it is a duplicate
(drop); exactly one more is applied; a larger jump is a gap: resume. Resume (`sync:resume`)
on every connect, on a gap and on `sync:stale`; while it runs, hold live events and apply
them afterwards by the same rule. Replayed events only need to be newer: a replay is the
stream's current state, so a notification coalesced meanwhile appears once, at its latest
cursor."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import socketio


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
        self.stream = stream
        # With reconnection, the official client's jittered backoff (as the web app's client
        # does); each reconnect resumes like the first connect.
        self.sio = socketio.AsyncClient(
            reconnection=reconnection,
            reconnection_delay=0.5,
            reconnection_delay_max=3,
            randomization_factor=0.5,
        )
        self.refusals: list[Any] = []  # connect errors the server answered (not "unreachable")
        self.cursor = 0
        self.applied: list[int] = []
        self.live = 0
        self.replayed = 0
        self.duplicates = 0
        self.gaps = 0
        self.stale = 0
        self.resumes = 0
        self.failed_resumes = 0
        self._held: list[dict[str, Any]] = []
        self._resuming = False
        self._lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[None]] = set()
        self.sio.on("connect", self._on_connect)
        self.sio.on(event, self._on_live)
        self.sio.on("sync:stale", self._on_stale)
        self.sio.on("connect_error", self._on_connect_error)

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
        if self._resuming:
            self._held.append(data)
            return
        self._apply_live(data)

    def _apply_live(self, data: dict[str, Any]) -> None:
        cursor = int(data["cursor"])
        if cursor <= self.cursor:
            self.duplicates += 1
        elif cursor == self.cursor + 1:
            self.cursor = cursor
            self.applied.append(cursor)
            self.live += 1
        else:
            self.gaps += 1
            self._spawn_resume()

    async def resume(self) -> None:
        async with self._lock:
            self._resuming = True
            try:
                try:
                    ack = await self.sio.call(
                        "sync:resume", {"cursors": {self.stream: self.cursor}}, timeout=10
                    )
                except socketio.exceptions.SocketIOError:
                    # No answer in time (a crowded server) or the socket went away: try again
                    # while connected; a reconnect resumes anyway.
                    self.failed_resumes += 1
                    if self.sio.connected:
                        self._spawn_resume()
                    return
                assert ack["ok"], ack
                replay = ack["data"]["streams"][self.stream]
                assert replay["error"] is None, replay
                for data in replay["events"]:
                    cursor = int(data["cursor"])
                    if cursor > self.cursor:
                        self.cursor = cursor
                        self.applied.append(cursor)
                        self.replayed += 1
                    else:
                        self.duplicates += 1
                self.resumes += 1
                if replay["truncated"]:
                    self._spawn_resume()
            finally:
                self._resuming = False
                held, self._held = self._held, []
                for data in held:
                    self._apply_live(data)
