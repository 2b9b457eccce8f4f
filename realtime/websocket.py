"""uvicorn's WebSocket protocol, lean: no compression, no second keepalive, and a way to write
one pre-built frame to many sockets.

Measured (bench/socket_memory.py, docs/scaling.md): accepting a browser's permessage-deflate
offer doubles what an idle socket holds (two zlib contexts, ~50 KiB) while our messages are
small JSON that deflate shrinks by a few dozen bytes (bench/ws_deflate.py); Socket.IO's own
server turned it off by default for the same reason. Engine.IO already pings every socket, so
the WebSocket-level ping uvicorn adds is a second timer per socket for nothing.

A broadcast is the same bytes for every recipient once compression is off, so
`write_frame` lets realtime/engine.py frame a message once and hand the bytes to each socket's
transport: no per-socket encoding, task or queue. A socket whose peer does not read (its
transport buffer past `MAX_BUFFERED`) is closed rather than allowed to grow without bound.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

# The ASGI scope extension under which the protocol offers `write_frame` to the app.
FRAMES_EXTENSION = "cinema.frames"
# A reader this far behind (slow network, stopped tab) is cut off: 1 MiB is thousands of
# party updates; the client reconnects and resumes from its cursors.
MAX_BUFFERED = 1024 * 1024
_TRY_AGAIN_LATER = 1013


def text_frame(payload: bytes) -> bytes:
    """A final, unmasked, uncompressed text frame (what a server sends) carrying `payload`."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return struct.pack("!BBH", 0x81, 126, n) + payload
    return struct.pack("!BBQ", 0x81, 127, n) + payload


class _Inbox:
    """What uvicorn's protocol needs of its receive queue (one reader: the app), at a tenth of
    an asyncio.Queue's size (which holds three deques and an Event: ~3 KiB per socket)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] = []
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.pop(0)


class _Flag:
    """asyncio.Event's set/clear/wait without its waiter deque (~0.6 KiB per socket)."""

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiters, self._waiters = self._waiters, None
        for w in waiters or ():
            if not w.done():
                w.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> None:
        if self._set:
            return
        w = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(w)
        await w


class LeanWebSocketProtocol(WebSocketsSansIOProtocol):
    """`uvicorn --ws realtime.websocket:LeanWebSocketProtocol` (what `cinema serve` runs)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        if getattr(self, "scope", None) is not None:
            self.scope["extensions"][FRAMES_EXTENSION] = {"write": self.write_frame}
        # The handshake's parsed request and prepared response are not needed once answered
        # (the scope keeps the headers the app reads).
        self.request = None  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if message["type"] == "websocket.accept":
            self.response = None  # type: ignore[assignment]
            # The app read the request's headers before accepting; the list is shared by the
            # scope copies middleware made, which live as long as the connection.
            headers = self.scope["headers"]
            if isinstance(headers, list):
                headers.clear()

    def write_frame(self, frame: bytes) -> bool:
        """Queue a frame built by `text_frame` on the transport; False once the socket is
        closing. Never waits: a peer too far behind is disconnected instead."""
        if self.close_sent or self.disconnected or self.transport.is_closing():
            return False
        self.transport.write(frame)
        if self.transport.get_write_buffer_size() > MAX_BUFFERED:
            self.conn.send_close(_TRY_AGAIN_LATER, "too slow")
            self.transport.write(b"".join(self.conn.data_to_send()))
            self.close_sent = True
            self.transport.close()
            return False
        return True
