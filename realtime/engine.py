"""Engine.IO sockets that cost little while idle and nothing per recipient of a broadcast.

python-engineio gives every WebSocket a send queue, a writer task, a reader task per message
wait (`wait_for`) and a sleeping task per ping: five tasks and three queues per idle socket,
and every message to every socket goes through a queue and a task switch. Here a WebSocket
socket writes straight to its transport (in order, never waiting: realtime/websocket.py cuts
off a peer that stops reading), reads in the connection's own task, and pings from a timer.
Messages to a room are encoded and framed once (`frame_message`) and the same bytes go to
every local member (`LeanSocket.send_frame`).

Long-polling sockets (SOCKETIO_POLLING=true), and WebSockets under a server that does not
offer the frames extension, keep python-engineio's own behaviour.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import engineio
import orjson
import socketio
from engineio import exceptions, packet
from engineio import json as engineio_json
from engineio.async_socket import AsyncSocket
from socketio import packet as sio_packet

from realtime.websocket import FRAMES_EXTENSION, text_frame


def frame_message(data: str) -> bytes:
    """The WebSocket frame of an Engine.IO MESSAGE carrying `data` (an encoded Socket.IO
    packet), to be written as is to any number of sockets."""
    return text_frame(("4" + data).encode())


_KEEP = frozenset(("REMOTE_ADDR", "HTTP_USER_AGENT", "HTTP_ORIGIN", "PATH_INFO", "QUERY_STRING"))


def slim_environ(environ: dict[str, Any]) -> None:
    """Keep of a connection's WSGI-style environ (which python-socketio holds for the
    connection's life, ~3.5 KiB with every header) what a connect handler reads; REMOTE_ADDR
    becomes the client as the ASGI server saw it (python-engineio says 127.0.0.1)."""
    client = (environ.get("asgi.scope") or {}).get("client")
    for key in [k for k in environ if k not in _KEEP]:
        del environ[key]
    if client:
        environ["REMOTE_ADDR"] = client[0]


class LeanSocket(AsyncSocket):  # type: ignore[misc]
    """A WebSocket-only Engine.IO socket (see the module docstring)."""

    def __init__(self, server: Any, sid: str, write: Any) -> None:
        # No super().__init__(): it makes the send queue this socket does not use.
        self.server = server
        self.sid = sid
        self.last_ping: float | None = time.time()
        self.connected = False
        self.upgrading = False
        self.upgraded = False
        self.closing = False
        self.closed = False
        self.session: dict[str, Any] = {}
        self._write = write  # realtime.websocket.LeanWebSocketProtocol.write_frame
        self._pending: list[bytes] | None = []  # frames sent before the WebSocket is open
        self._ws: Any = None
        self._ping_timer: asyncio.TimerHandle | None = None
        self._environ: dict[str, Any] | None = None

    def send_frame(self, frame: bytes) -> None:
        """Write an already framed message (see `frame_message`)."""
        if self.closed:
            return
        if self._pending is not None:
            self._pending.append(frame)
        elif not self._write(frame):
            self._lost()

    async def send(self, pkt: Any) -> None:
        self.send_frame(text_frame(pkt.encode().encode()))

    def _lost(self) -> None:
        """The transport refused a frame (closing, or the peer fell too far behind)."""
        if not self.closing and not self.closed:
            asyncio.get_running_loop().create_task(
                self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)
            )

    def schedule_ping(self) -> None:
        if self.last_ping:
            self.last_ping = None
            loop = asyncio.get_running_loop()
            self._ping_timer = loop.call_later(self.server.ping_interval, self._ping)

    def _ping(self) -> None:
        self._ping_timer = None
        if not self.closing and not self.closed:
            self.last_ping = time.time()
            self.send_frame(text_frame(b"2"))

    async def poll(self) -> list[Any]:  # only long-polling calls this
        raise exceptions.QueueEmpty()

    async def handle_get_request(self, environ: dict[str, Any]) -> Any:
        self._environ = environ
        return await self._upgrade_websocket(environ)

    async def _websocket_handler(self, ws: Any) -> None:
        self.connected = self.upgraded = True
        self._ws = ws
        if self._environ is not None:  # the WebSocket holds what it needs of it now
            slim_environ(self._environ)
            self._environ = None
        pending, self._pending = self._pending or [], None
        for frame in pending:
            self.send_frame(frame)
        limit = self.server.max_http_buffer_size
        while not self.closed:
            try:
                data = await ws.wait()
            except Exception:
                break
            if data is None or len(data) > limit:
                break
            try:
                await self.receive(packet.Packet(encoded_packet=data))
            except exceptions.UnknownPacketError:
                pass
            except exceptions.SocketIsClosedError:
                break
            except Exception:
                self.server.logger.exception("Unknown receive error")
        await self.close(wait=False, abort=True, reason=self.server.reason.TRANSPORT_CLOSE)

    async def close(self, wait: bool = True, abort: bool = False, reason: Any = None) -> None:
        if self.closed or self.closing:
            return
        self.closing = True
        if self._ping_timer is not None:
            self._ping_timer.cancel()
            self._ping_timer = None
        await self.server._trigger_event(
            "disconnect", self.sid, reason or self.server.reason.SERVER_DISCONNECT, run_async=False
        )
        if not abort and self._pending is None:
            self._write(text_frame(b"1"))
        self.closed = True
        if self._ws is not None:
            await self._ws.close()  # ends the read loop; the peer's close reply is not awaited


class LeanEngineServer(engineio.AsyncServer):  # type: ignore[misc]
    """python-engineio's server, with WebSocket connections on `LeanSocket`."""

    async def _handle_connect(
        self, environ: dict[str, Any], transport: str, jsonp_index: Any = None
    ) -> Any:
        scope = environ.get("asgi.scope") or {}
        frames = (scope.get("extensions") or {}).get(FRAMES_EXTENSION)
        if transport != "websocket" or frames is None:
            return await super()._handle_connect(environ, transport, jsonp_index)
        if self.start_service_task:  # type: ignore[has-type]  # checks ping timeouts
            self.start_service_task = False
            self.service_task_handle = self.start_background_task(self._service_task)
        sid = self.generate_id()
        s = LeanSocket(self, sid, frames["write"])
        self.sockets[sid] = s
        opened = packet.Packet(
            packet.OPEN,
            {
                "sid": sid,
                "upgrades": [],
                "pingTimeout": int(self.ping_timeout * 1000),
                "pingInterval": int(self.ping_interval + self.ping_interval_grace_period) * 1000,
                "maxPayload": self.max_http_buffer_size,
            },
        )
        await s.send(opened)
        ret = await self._trigger_event("connect", sid, environ, run_async=False)
        if ret is not None and ret is not True:
            del self.sockets[sid]
            self.logger.warning("Application rejected connection")
            return self._unauthorized(ret or None)
        s.schedule_ping()
        ret = await s.handle_get_request(environ)
        self.sockets.pop(sid, None)
        return ret

    def lean_socket(self, eio_sid: str) -> LeanSocket | None:
        s = self.sockets.get(eio_sid)
        return s if isinstance(s, LeanSocket) else None


_BINARY = (sio_packet.BINARY_EVENT, sio_packet.BINARY_ACK)
_BYTES = (bytes, bytearray)


class _Json:
    """python-engineio's json module (integers over 100 digits refused), with its decoder
    made once: its `loads` passes a keyword, so the json module made a new decoder for every
    packet read (~3 % of a private message's CPU)."""

    _decoder = json.JSONDecoder(parse_int=engineio_json._safe_int)
    dumps = staticmethod(engineio_json.dumps)

    @classmethod
    def loads(cls, s: Any, **kwargs: Any) -> Any:
        if isinstance(s, str) and not kwargs:
            return cls._decoder.decode(s)
        return engineio_json.loads(s, **kwargs)


class Packet(sio_packet.Packet):  # type: ignore[misc]
    """python-socketio's packet, encoded with orjson (as relayed emits are: relay.py
    `encode_event`) and checked for binary parts in one pass. An ack went through
    python-socketio's binary check (a list built and reduced at every level of the data) and
    the json module: ~30 us of a socket event's CPU, now ~2. Data orjson cannot encode (an
    int over 64 bits) is encoded as before; decoding is python-socketio's."""

    json = _Json

    @classmethod
    def data_is_binary(cls, data: Any) -> bool:
        todo = [data]
        while todo:
            item = todo.pop()
            if isinstance(item, _BYTES):
                return True
            if isinstance(item, list):
                todo.extend(item)
            elif isinstance(item, dict):
                todo.extend(item.values())
        return False

    def encode(self) -> Any:
        if self.packet_type in _BINARY or self.data is None:
            return super().encode()
        try:
            body = orjson.dumps(self.data, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError:
            return super().encode()
        head = str(self.packet_type)
        if self.namespace is not None and self.namespace != "/":
            head += self.namespace + ","
        if self.id is not None:
            head += str(self.id)
        return head + body


class Server(socketio.AsyncServer):  # type: ignore[misc]
    """python-socketio's server on `LeanEngineServer`, with `Packet`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("serializer", Packet)
        super().__init__(*args, **kwargs)

    def _engineio_server_class(self) -> type[LeanEngineServer]:
        return LeanEngineServer
