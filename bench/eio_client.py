"""A minimal Socket.IO v5 client over a raw WebSocket (Engine.IO v4), for holding thousands of
sockets from one benchmark process.

python-socketio's client costs ~100 KiB and a few tasks per connection; this one is one
`websockets` connection and one reader task, so 10,000 sockets fit in one client process and
the client side does not eat the core the server is measured on. It speaks just what the
benchmarks need: connect with `auth`, answer pings, emit with an ack, record events.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed


class RefusedError(RuntimeError):
    """The server answered the Socket.IO connect with CONNECT_ERROR (`data` has its reason)."""

    def __init__(self, data: Any) -> None:
        super().__init__(f"connect refused: {data}")
        self.data = data


class EioClient:
    """One socket. `on_event(name, data)` gets every server event."""

    def __init__(self, on_event: Callable[[str, Any], None] | None = None) -> None:
        self.ws: ClientConnection | None = None
        self.sid = ""
        self.on_event = on_event
        self.closed = asyncio.Event()
        self._acks: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count(1)
        self._reader: asyncio.Task[None] | None = None
        self.bytes_in = 0  # WebSocket payload bytes received (after inflating, if any)

    async def connect(
        self, url: str, auth: dict[str, Any] | None, *, deflate: bool = False, timeout: float = 30
    ) -> None:
        ws_url = url.replace("http://", "ws://").rstrip("/")
        self.ws = await asyncio.wait_for(
            connect(
                f"{ws_url}/socket.io/?EIO=4&transport=websocket",
                compression="deflate" if deflate else None,
                ping_interval=None,  # Engine.IO pings on its own
                max_size=2**20,
                open_timeout=timeout,
            ),
            timeout,
        )
        opened = await asyncio.wait_for(self.ws.recv(), timeout)
        if not isinstance(opened, str) or not opened.startswith("0"):
            raise RuntimeError(f"expected an Engine.IO open packet, got {opened!r}")
        await self.ws.send("40" + (orjson.dumps(auth).decode() if auth is not None else ""))
        while True:
            reply = await asyncio.wait_for(self.ws.recv(), timeout)
            assert isinstance(reply, str)
            if reply == "2":
                await self.ws.send("3")
                continue
            break
        if reply.startswith("44"):
            await self.ws.close()
            raise RefusedError(orjson.loads(reply[2:]))
        if not reply.startswith("40"):
            raise RuntimeError(f"expected CONNECT, got {reply[:80]!r}")
        self.sid = orjson.loads(reply[2:])["sid"]
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for message in self.ws:
                if not isinstance(message, str):
                    continue
                self.bytes_in += len(message)
                kind = message[:1]
                if kind == "2":  # Engine.IO ping
                    await self.ws.send("3")
                elif kind == "4":
                    self._packet(message[1:])
                elif kind == "1":  # Engine.IO close
                    break
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            for fut in self._acks.values():
                if not fut.done():
                    fut.set_exception(ConnectionError("socket closed"))

    def _packet(self, packet: str) -> None:
        kind, rest = packet[:1], packet[1:]
        if kind == "2":  # EVENT, maybe with an ack id before the JSON
            body = rest.lstrip("0123456789")
            name, *args = orjson.loads(body)
            if self.on_event is not None:
                self.on_event(name, args[0] if args else None)
        elif kind == "3":  # ACK
            digits = len(rest) - len(rest.lstrip("0123456789"))
            ack_id, body = int(rest[:digits]), rest[digits:]
            fut = self._acks.pop(ack_id, None)
            if fut is not None and not fut.done():
                values = orjson.loads(body)
                fut.set_result(values[0] if values else None)
        elif kind == "1":  # DISCONNECT from the server
            if self.ws is not None:
                asyncio.get_running_loop().create_task(self.ws.close())

    async def call(self, event: str, data: Any = None, timeout: float = 30) -> Any:
        assert self.ws is not None
        ack_id = next(self._ids)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = fut
        await self.ws.send(f"42{ack_id}" + orjson.dumps([event, data]).decode())
        return await asyncio.wait_for(fut, timeout)

    async def emit(self, event: str, data: Any = None) -> None:
        assert self.ws is not None
        await self.ws.send("42" + orjson.dumps([event, data]).decode())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            await asyncio.gather(self._reader, return_exceptions=True)
