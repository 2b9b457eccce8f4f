"""Cross-process Socket.IO delivery by room: each process hears only its own rooms.

python-socketio's Redis manager publishes every emit on one channel that every process
receives and decodes, so with P processes each pays for all the traffic. Here an emit to a
room is published on that room's channel, and a process subscribes to a room's channel while
it has a member in the room (as socket.io's sharded Redis adapter does in its "dynamic"
mode): the cost of a process follows its own rooms. Besides, every process listens on
  - `<channel>:all`, for emits to everyone (rare), and
  - `<channel>:p:<process>`, for what targets one of its sockets (a disconnect, a room change
    asked by another process: socket ids start with their process's id). Redis counting a
    subscriber on it is also how other processes tell it is alive (realtime/liveness.py).

Messages are encoded once by the emitter (the Socket.IO packet as the clients will read it),
published as `<host id>|<kind>|<JSON>`, and written as one pre-built frame to every local
member (realtime/engine.py). A process skips its own echoes by their prefix without decoding
them. Entering a room waits until the subscription is confirmed, so nothing published after
`enter_room` returns is missed. When the subscription link drops, the process subscribes
again to everything it needs and tells its clients `sync:stale` (they resume from their
cursors: pub/sub delivers at most once).

With `sharded=True` the commands are SPUBLISH/SSUBSCRIBE (Redis 7 sharded pub/sub): on a
single Redis or through Sentinel they behave the same; on a Redis Cluster they keep a room's
messages on the node that owns its channel instead of broadcasting them to every node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from socketio import packet as sio_packet
from socketio.async_manager import AsyncManager

from models.core import metrics
from models.core.redis import Coalescer, make_redis
from realtime.engine import frame_message

try:  # redis-py's hiredis parser, and what its reader answers for "no complete reply yet"
    from redis._parsers.hiredis import NOT_ENOUGH_DATA as _NOT_ENOUGH_DATA
    from redis._parsers.hiredis import _AsyncHiredisParser

    _HIREDIS: tuple[type, ...] = (_AsyncHiredisParser,)
except ImportError:  # pragma: no cover (another redis-py layout: no fast path)
    _HIREDIS = ()

log = logging.getLogger("cinema.relay")

STALE_EVENT = "sync:stale"
PROC_ID_LEN = 8  # socket ids are <process id><random>
SUBSCRIBE_WAIT_S = 5.0  # enter_room gives up waiting for a confirmation after this
KEEPALIVE_S = 2.0  # a quiet link is pinged this often; silent twice as long, it is re-made
_PUBLISH_RETRIES = (0.05, 0.2, 0.5, 1.0)


def relay_redis(redis_url: str, channel: str) -> Redis:
    """The relay's own client: bytes, no health-check pings (the relay pings its pub/sub link
    itself and never shares its reads), named after the channel (`CLIENT LIST` shows whose).
    No retries inside the client, even through Sentinel: a pub/sub connection that silently
    reconnected would come back without its subscriptions; the relay links again itself (and
    tells its clients `sync:stale`) and retries its publishes."""
    return make_redis(
        redis_url,
        retries=0,
        decode_responses=False,
        health_check_interval=0,
        client_name=f"{channel}-sio",
    )


def new_process_id() -> str:
    return secrets.token_urlsafe(6)  # 8 characters of [A-Za-z0-9_-]


def encode_event(namespace: str, data: list[Any]) -> str:
    """A Socket.IO EVENT packet as clients read it, encoded once for every recipient (orjson:
    several times faster than the json module python-socketio uses, same wire format)."""
    try:
        body = orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:
        encoded = sio_packet.Packet(sio_packet.EVENT, namespace=namespace, data=data).encode()
        if not isinstance(encoded, str):
            raise TypeError("binary payloads are not relayed between processes") from None
        return str(encoded)
    return "2" + body if namespace == "/" else f"2{namespace},{body}"


class RelayStats:
    """What this process's relay did, for benchmarks and operators (see liveness.py)."""

    def __init__(self) -> None:
        self.published = 0  # messages this process published
        self.received = 0  # messages read from Redis, own echoes included
        self.received_bytes = 0
        self.echoes = 0  # of which our own (skipped undecoded)
        self.delivered = 0  # frames written to local sockets for emits
        self.subscriptions = 0  # channels subscribed now

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


def _buffered(pubsub: Any) -> Iterator[Any]:
    """The replies already read from the link's socket and waiting in its hiredis reader,
    parsed as `parse_response` would (none when the client does not parse with hiredis)."""
    parser = getattr(pubsub.connection, "_parser", None)
    reader = getattr(parser, "_reader", None) if isinstance(parser, _HIREDIS) else None
    if reader is None:
        return
    while True:
        reply = reader.gets()
        if reply is _NOT_ENOUGH_DATA:
            return
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, list) and reply and isinstance(reply[0], Exception):
            raise reply[0]
        yield reply


class _Confirmations:
    """The subscription confirmations one SUBSCRIBE command waits for."""

    __slots__ = ("future", "left")

    def __init__(self, count: int) -> None:
        self.future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.left = count

    def confirmed(self) -> None:
        self.left -= 1
        if self.left <= 0 and not self.future.done():
            self.future.set_result(None)

    def failed(self, exc: Exception) -> None:
        if not self.future.done():
            self.future.set_exception(exc)


class RoomRelay(AsyncManager):  # type: ignore[misc]
    name = "cinema-relay"

    def __init__(
        self,
        redis: Redis,
        channel: str,
        *,
        write_only: bool = False,
        sharded: bool = False,
        process_id: str | None = None,
    ) -> None:
        super().__init__()
        self.redis = redis  # decode_responses=False: messages stay bytes
        self.channel = channel
        self.write_only = write_only
        self.sharded = sharded
        self.proc = process_id or new_process_id()
        self.host_id = f"{self.proc}{uuid.uuid4().hex[:8]}"
        self._echo = self.host_id.encode() + b"|"
        self.stats = RelayStats()
        self._pubsub: Any = None
        self._wanted: set[str] = set()  # channels we need, whatever the link's state
        self._confirmations: dict[str, deque[_Confirmations]] = {}
        self._linked = asyncio.Event()
        self._linked_at = 0.0  # monotonic time the current link came up
        self._task: asyncio.Task[None] | None = None
        self._recent: OrderedDict[str, None] = OrderedDict()  # multi-room message ids seen
        self._pub = "SPUBLISH" if sharded else "PUBLISH"
        self._sub = "SSUBSCRIBE" if sharded else "SUBSCRIBE"
        self._unsub = "SUNSUBSCRIBE" if sharded else "UNSUBSCRIBE"
        self._publishes = Coalescer(redis, name="relay")

    # --- channels -----------------------------------------------------------------------

    def room_channel(self, namespace: str, room: str) -> str:
        ns = "" if namespace == "/" else f"{namespace}#"
        return f"{self.channel}:r:{ns}{room}"

    @property
    def all_channel(self) -> str:
        return f"{self.channel}:all"

    def process_channel(self, proc: str) -> str:
        return f"{self.channel}:p:{proc}"

    def process_of(self, sid: str) -> str | None:
        """The process holding a socket, from its id (None for ids made elsewhere)."""
        return sid[:PROC_ID_LEN] if len(sid) == PROC_ID_LEN + 16 else None

    def generate_id(self) -> str:
        return self.proc + secrets.token_urlsafe(12)

    # --- lifecycle -----------------------------------------------------------------------

    def set_server(self, server: Any) -> None:
        super().set_server(server)
        server.eio.generate_id = self.generate_id

    def initialize(self) -> None:
        super().initialize()
        if not self.write_only:
            self._wanted.update((self.all_channel, self.process_channel(self.proc)))
            self._task = asyncio.get_running_loop().create_task(self._listen())

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._drop_link()

    @property
    def linked(self) -> bool:
        return self._linked.is_set()

    @property
    def linked_for_s(self) -> float:
        """How long the current subscription link has been up (0 when down)."""
        return time.monotonic() - self._linked_at if self.linked else 0.0

    async def subscribers(self, proc: str) -> int:
        """How many connections Redis counts on a process's own channel: 0 once the process's
        kernel closed them (killed, out of memory), still 1 while it only stalls."""
        channel = self.process_channel(proc)
        if self.sharded:
            reply = await self.redis.execute_command("PUBSUB", "SHARDNUMSUB", channel)
            return int(reply[1])
        ((_, count),) = await self.redis.pubsub_numsub(channel)
        return int(count)

    # --- emitting ------------------------------------------------------------------------

    async def emit(
        self,
        event: str,
        data: Any,
        namespace: str | None = None,
        room: Any = None,
        skip_sid: Any = None,
        callback: Any = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        namespace = namespace or "/"
        room = to or room
        if callback is not None:
            # Acks from clients work only on the process holding the socket.
            if isinstance(room, str) and self.is_connected(room, namespace):
                await super().emit(event, data, namespace, room=room, callback=callback)
                return
            raise ValueError("emit with a callback needs a socket of this process")
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        encoded = encode_event(namespace, [event, *args])
        skip = [skip_sid] if isinstance(skip_sid, str) else list(skip_sid or [])
        if self.server is not None and not self.write_only:
            self._deliver(namespace, room, skip, encoded)
        if not kwargs.get("ignore_queue"):
            await self._publish_emit(namespace, room, skip, encoded)

    def _deliver(
        self, namespace: str, room: Any, skip: list[str], encoded: str, source: str = "local"
    ) -> None:
        """Write one frame to every local socket in the room(s)."""
        frame = frame_message(encoded)
        eio = self.server.eio
        lean = getattr(eio, "lean_socket", None)
        delivered = 0
        for sid, eio_sid in self.get_participants(namespace, room):
            if sid in skip:
                continue
            s = lean(eio_sid) if lean is not None else None
            if s is not None:
                s.send_frame(frame)
            else:  # long-polling, or a server without the frames extension
                self.server.start_background_task(eio.send, eio_sid, encoded)
            delivered += 1
        self.stats.delivered += delivered
        metrics.socket_fanout.labels(source).observe(delivered)

    async def _publish_emit(self, namespace: str, room: Any, skip: list[str], encoded: str) -> None:
        # "t": when it left (wall clock, ms), for the pub/sub lag other processes measure.
        message: dict[str, Any] = {
            "n": namespace,
            "r": room,
            "p": encoded,
            "t": time.time_ns() // 1_000_000,
        }
        if skip:
            message["x"] = skip
        if room is None:
            await self._publish(self.all_channel, "e", message)
            return
        rooms = list(dict.fromkeys([room] if isinstance(room, str) else room))
        if len(rooms) == 1:
            await self._publish(self._channel_for(namespace, rooms[0]), "e", message)
            return
        # One message id (a process in several of the rooms delivers it once) and one round
        # trip for all the rooms' channels (a DM goes to both users' rooms).
        message["i"] = uuid.uuid4().hex
        channels = dict.fromkeys(self._channel_for(namespace, r) for r in rooms)
        await self._publish_many(list(channels), "e", message)

    def _channel_for(self, namespace: str, room: str) -> str:
        """A room's channel, or its process's channel for a socket's own room."""
        proc = self.process_of(room)
        if proc is not None:
            return self.process_channel(proc)
        return self.room_channel(namespace, room)

    async def _publish(self, channel: str, kind: str, message: dict[str, Any]) -> None:
        await self._publish_many([channel], kind, message)

    async def _publish_many(self, channels: list[str], kind: str, message: dict[str, Any]) -> None:
        """Publish one message on one or several channels in one round trip, shared with the
        other publishes of this process at the same moment (a crowd of emits pays per batch,
        in the order they were made). A retry after a failure may publish again on a channel
        that had it: receivers drop the repeat of a multi-room message by its id."""
        body = self._echo + kind.encode() + b"|" + orjson.dumps(message)

        def queue(pipe: Pipeline) -> None:
            for channel in channels:
                pipe.execute_command(self._pub, channel, body)

        for pause in (*_PUBLISH_RETRIES, None):
            try:
                await self._publishes.run(queue)
                self.stats.published += len(channels)
                return
            except Exception as exc:
                if pause is None:
                    log.error(
                        "relay: publish to %s failed, giving up",
                        ", ".join(channels),
                        extra={"event": "relay_publish_lost", "redis_exception": str(exc)},
                    )
                    return
                await asyncio.sleep(pause)

    # --- rooms and sockets ---------------------------------------------------------------

    def _local(self, sid: str, namespace: str) -> bool:
        return bool(self.is_connected(sid, namespace) or self.is_pre_connected(sid, namespace))

    async def enter_room(
        self, sid: str, namespace: str, room: str, eio_sid: str | None = None
    ) -> None:
        if not self._local(sid, namespace) and eio_sid is None:
            await self._publish_to_socket(sid, "j", {"s": sid, "n": namespace, "r": room})
            return
        fresh = room is not None and room not in self.rooms.get(namespace, {})
        self.basic_enter_room(sid, namespace, room, eio_sid=eio_sid)
        if fresh and room != sid:
            await self._subscribe(self.room_channel(namespace, room))

    async def leave_room(self, sid: str, namespace: str, room: str) -> None:
        if not self._local(sid, namespace):
            await self._publish_to_socket(sid, "l", {"s": sid, "n": namespace, "r": room})
            return
        self.basic_leave_room(sid, namespace, room)
        await self._forget_rooms(namespace, [room])

    async def close_room(self, room: str, namespace: str | None = None) -> None:
        namespace = namespace or "/"
        await self._publish(self.room_channel(namespace, room), "c", {"n": namespace, "r": room})
        self.basic_close_room(room, namespace)
        await self._forget_rooms(namespace, [room])

    async def can_disconnect(self, sid: str, namespace: str) -> Any:
        if self._local(sid, namespace):
            return self.is_connected(sid, namespace)
        await self._publish_to_socket(sid, "d", {"s": sid, "n": namespace or "/"})
        return False

    async def disconnect(self, sid: str, namespace: str, **kwargs: Any) -> None:
        rooms = self.get_rooms(sid, namespace)
        self.basic_disconnect(sid, namespace)
        await self._forget_rooms(namespace, rooms)

    async def _forget_rooms(self, namespace: str, rooms: Iterable[Any]) -> None:
        present = self.rooms.get(namespace, {})
        for room in rooms:
            if room is not None and room not in present and self.process_of(room) is None:
                await self._unsubscribe(self.room_channel(namespace, room))

    async def _publish_to_socket(self, sid: str, kind: str, message: dict[str, Any]) -> None:
        proc = self.process_of(sid)
        channel = self.process_channel(proc) if proc is not None else self.all_channel
        await self._publish(channel, kind, message)

    # --- subscriptions -------------------------------------------------------------------

    async def _subscribe(self, *channels: str) -> None:
        """Subscribe to channels not subscribed yet, in one command, and wait until Redis has
        confirmed each of them."""
        if self.write_only:
            return
        new = [c for c in dict.fromkeys(channels) if c not in self._wanted]
        if not new:
            return
        self._wanted.update(new)
        self.stats.subscriptions = len(self._wanted)
        if not self.linked:
            return  # subscribed with everything else once the link is back (then sync:stale)
        # One waiter for the whole command, whatever the number of channels: a connect
        # subscribes two, and a future, a gather and a shield per channel cost it more than
        # the command itself.
        waiter = _Confirmations(len(new))
        for channel in new:
            self._confirmations.setdefault(channel, deque()).append(waiter)
        try:
            await self._pubsub.execute_command(self._sub, *new)
            async with asyncio.timeout(SUBSCRIBE_WAIT_S):
                await waiter.future
        except Exception as exc:
            # The link is failing: the listener re-makes it, subscribes to everything wanted
            # and sends sync:stale, so whatever this socket misses meanwhile is resumed.
            log.warning("relay: subscribing to %s not confirmed: %r", ", ".join(new), exc)
        finally:
            waiter.future.cancel()  # a later confirmation or link loss finds it done

    async def _unsubscribe(self, channel: str) -> None:
        if channel not in self._wanted:
            return
        self._wanted.discard(channel)
        self.stats.subscriptions = len(self._wanted)
        if self.linked:
            with contextlib.suppress(Exception):
                await self._pubsub.execute_command(self._unsub, channel)

    async def _drop_link(self) -> None:
        self._linked.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        for waiters in self._confirmations.values():
            for w in waiters:
                w.failed(ConnectionError("pub/sub link lost"))
        self._confirmations.clear()

    async def _link(self) -> None:
        """A fresh subscription connection with every channel we need (linked first: a room
        entered meanwhile subscribes itself, twice at worst)."""
        pubsub = self.redis.pubsub()
        await pubsub.connect()
        self._pubsub = pubsub
        self._linked_at = time.monotonic()
        self._linked.set()
        channels = sorted(self._wanted)
        for i in range(0, len(channels), 1000):
            await pubsub.execute_command(self._sub, *channels[i : i + 1000])

    async def _listen(self) -> None:
        retry = 0.1
        first = True
        while True:
            try:
                await self._link()
                if not first:
                    self.server.start_background_task(self._announce_stale)
                first = False
                retry = 0.1
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error(
                    "relay: pub/sub link lost, subscribing again in %.1f s",
                    retry,
                    extra={"event": "pubsub_lost", "redis_exception": str(exc)},
                )
            await self._drop_link()
            await asyncio.sleep(retry)
            retry = min(retry * 2, 5.0)

    async def _read(self) -> None:
        pubsub = self._pubsub
        heard = time.monotonic()
        pinged_at: float | None = None
        while True:
            reply = await pubsub.parse_response(block=False, timeout=KEEPALIVE_S / 2)
            now = time.monotonic()
            if reply is None:
                # Judged from the ping, not from the last message: after this process itself
                # stalled, everything is late at once, and the replies are waiting to be read.
                if pinged_at is None:
                    if now - heard > KEEPALIVE_S:
                        await pubsub.execute_command("PING")
                        pinged_at = now
                elif now - pinged_at > KEEPALIVE_S:
                    raise ConnectionError(f"pub/sub link silent for {now - heard:.1f} s")
                continue
            heard, pinged_at = now, None
            await self._on_reply(reply)
            # Whatever else the last read brought, without the client's per-reply path
            # (health check, retry wrapper, a timeout each): a connect's confirmation and a
            # room's message arrive by the dozen when busy.
            for reply in _buffered(pubsub):
                await self._on_reply(reply)

    async def _on_reply(self, reply: Any) -> None:
        kind = reply[0] if isinstance(reply, list) else reply
        if isinstance(kind, bytes):
            kind = kind.decode()
        if kind in ("message", "smessage"):
            await self._on_message(reply[2])
        elif kind in ("subscribe", "ssubscribe"):
            channel = reply[1].decode() if isinstance(reply[1], bytes) else reply[1]
            waiters = self._confirmations.get(channel)
            if waiters:
                waiters.popleft().confirmed()
                if not waiters:
                    del self._confirmations[channel]

    async def _on_message(self, body: bytes) -> None:
        self.stats.received += 1
        self.stats.received_bytes += len(body)
        if body.startswith(self._echo):
            self.stats.echoes += 1
            return
        try:
            _, kind, raw = body.split(b"|", 2)
            message = orjson.loads(raw)
            namespace = message.get("n") or "/"
            if kind == b"e":
                ident = message.get("i")
                if ident is not None:
                    if ident in self._recent:
                        return  # the same multi-room emit, through another of its rooms
                    self._recent[ident] = None
                    if len(self._recent) > 1024:
                        self._recent.popitem(last=False)
                sent_ms = message.get("t")
                if isinstance(sent_ms, int):
                    lag = max(0.0, time.time() - sent_ms / 1000)
                    metrics.pubsub_lag.labels("emit").observe(lag)
                self._deliver(
                    namespace, message.get("r"), message.get("x") or [], message["p"], "relay"
                )
            elif kind in (b"d", b"j", b"l", b"c"):
                # Not in this task: these wait on Redis, and this task reads the replies.
                self.server.start_background_task(self._control, kind, namespace, message)
        except Exception:
            log.exception("relay: bad message")

    async def _control(self, kind: bytes, namespace: str, message: dict[str, Any]) -> None:
        try:
            if kind == b"d":
                await self.server.disconnect(message["s"], namespace=namespace, ignore_queue=True)
            elif kind == b"j" and self._local(message["s"], namespace):
                await self.enter_room(message["s"], namespace, message["r"])
            elif kind == b"l" and self._local(message["s"], namespace):
                await self.leave_room(message["s"], namespace, message["r"])
            elif kind == b"c":
                self.basic_close_room(message["r"], namespace)
                await self._forget_rooms(namespace, [message["r"]])
        except Exception:
            log.exception("relay: %s failed", kind.decode())

    async def _announce_stale(self) -> None:
        log.warning("pub/sub resubscribed: telling local clients to resume")
        encoded = encode_event("/", [STALE_EVENT, {"reason": "pubsub_reconnected"}])
        self._deliver("/", None, [], encoded)
