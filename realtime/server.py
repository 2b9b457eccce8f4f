"""The Socket.IO server: token auth on connect, rooms per user and session, one dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from typing import Any

from redis.asyncio.client import Pipeline
from socketio.exceptions import ConnectionRefusedError as Refused

from models.accounts.service import access_principal_and, sessions_of
from models.accounts.tables import Role
from models.core import metrics
from models.core.context import Context
from models.core.errors import DomainError, RateLimited, Unauthorized
from models.core.events import Outbox, user_room
from models.core.redis import QueueCommands
from models.core.settings import Settings
from realtime.connections import Conn, Connections
from realtime.engine import Server
from realtime.liveness import Liveness
from realtime.registry import EventSpec, Registry, SocketCall, dispatch, error_ack, events
from realtime.relay import RoomRelay, relay_redis

log = logging.getLogger("cinema.socket")

# Per-socket flood guard, checked in memory before any work: a steady 20 events/s with bursts
# of 60 covers playback control, chat and typing; floods get `rate_limited` acks.
EVENTS_PER_S = 20.0
EVENT_BURST = 60.0
HEARTBEAT_RETRY_S = 1.0  # after a failed heartbeat
# A socket's session is looked up in Redis before an event at most this often: a chatty socket
# (a DM conversation, a party's beats) no longer pays a round trip per event. A revoked
# session's sockets are closed at once on every process (a published disconnect); this check
# is the backstop if that message was lost, now within a second.
SESSION_CHECK_S = 1.0


class TokenBucket:
    def __init__(self, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self.tokens, self.stamp = burst, time.monotonic()

    def take(self) -> float:
        """Take one token; 0 if granted, else seconds until one is available."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


def make_server(settings: Settings, redis_url: str, channel: str) -> Server:
    return Server(
        async_mode="asgi",
        client_manager=RoomRelay(relay_redis(redis_url, channel), channel),
        # The web app is served from PUBLIC_URL: its own origin is always allowed, besides
        # CORS_ORIGINS (other front-ends).
        cors_allowed_origins=sorted({*settings.cors_origins, settings.public_origin}),
        transports=["polling", "websocket"] if settings.socketio_polling else ["websocket"],
        max_http_buffer_size=settings.socketio_max_payload_bytes,
        ping_interval=settings.socketio_ping_interval_s,
        ping_timeout=settings.socketio_ping_timeout_s,
        logger=False,
        engineio_logger=False,
    )


class Realtime:
    """Binds the registry's handlers to a server and keeps connection bookkeeping."""

    def __init__(self, sio: Server, ctx: Context, registry: Registry = events) -> None:
        self.sio = sio
        self.ctx = ctx
        self.registry = registry
        relay: RoomRelay = sio.manager
        self.connections = Connections(
            ctx.redis,
            ctx.keys,
            stale_ms=ctx.settings.socket_stale_ms,
            proc=relay.proc,
        )
        self.liveness = Liveness(ctx, relay, self.connections, on_revived=self._revived)
        self._buckets: dict[str, TokenBucket] = {}
        self._checked: dict[str, tuple[float, str]] = {}  # sid -> (monotonic time, role)
        self._task: asyncio.Task[None] | None = None
        self._beats: asyncio.Task[None] | None = None
        self._hook_tasks: list[asyncio.Task[None]] = []
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on("*", self._unknown)
        for spec in registry.client_events():
            sio.on(spec.name, self._bind(spec))

    def start(self) -> None:
        # The relay subscribes at start, not at the first connection as python-socketio would:
        # other processes tell this one is alive by its subscription (realtime/liveness.py).
        if not self.sio.manager_initialized:
            self.sio.manager_initialized = True
            self.sio.manager.initialize()
        self._task = asyncio.create_task(self._housekeeping())
        self._beats = asyncio.create_task(self.liveness.run())
        for hook in _start_hooks:
            self._hook_tasks.append(asyncio.create_task(hook(self.ctx, self.sio)))

    async def stop(self) -> None:
        for task in self._hook_tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for own in (self._task, self._beats):
            if own:
                own.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await own
        with contextlib.suppress(Exception):
            await self.liveness.leave()
        await self.sio.manager.close()

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any) -> None:
        client = environ.get("REMOTE_ADDR", "")
        token = auth.get("token") if isinstance(auth, dict) else None
        if not isinstance(token, str) or not token:
            metrics.socket_connects.labels("missing_token").inc()
            log.info(
                "socket refused: missing token",
                extra={"event": "socket_refused", "sid": sid, "client": client},
            )
            raise Refused(
                "Authentication required",
                {"code": "missing_token", "message": 'Send {"token": "<access token>"} as auth'},
            )
        try:
            # One round trip: the session's check and the user's socket count.
            principal, (count,) = await access_principal_and(
                self.ctx, token=token, also=self.connections.queue_count_for_user
            )
        except DomainError as exc:
            metrics.socket_connects.labels(exc.code).inc()
            log.info(
                "socket refused: %s",
                exc.code,
                extra={"event": "socket_refused", "sid": sid, "client": client},
            )
            raise Refused(exc.message, {"code": exc.code, "message": exc.message}) from None
        user_id = str(principal.user_id)
        cap = self.ctx.settings.socketio_max_connections_per_user
        if int(count) >= cap:
            metrics.socket_connects.labels("too_many_connections").inc()
            raise Refused(
                "Too many connections",
                {"code": "too_many_connections", "message": f"At most {cap} sockets per user"},
            )
        await self.sio.save_session(
            sid,
            {"user_id": user_id, "session_id": principal.session_id, "role": principal.role.value},
        )
        # Sessions are reached through their sockets' ids (Connections, realtime/publisher.py),
        # users through a room, subscribed while the socket is recorded in Redis: its records
        # and the hooks' commands (presence) queued at once in one pipeline
        # (Context.submit_pipelined), with no task of their own.
        conn = Conn(sid, user_id, principal.session_id)
        relay: RoomRelay = self.sio.manager
        parts = [self.connections.queue_add(conn)]
        thens: list[tuple[Any, str]] = []
        for command_hook in _connect_commands:
            made = self._connect_commands(command_hook, sid, conn)
            if made is not None:
                parts.append(made[0])
                thens.append((made[1], made[2]))
        spans: list[tuple[int, int]] = []

        def queue(pipe: Pipeline) -> None:
            spans.clear()
            base = len(pipe)
            for part in parts:
                start = len(pipe) - base
                part(pipe)
                spans.append((start, len(pipe) - base))

        written = self.ctx.submit_pipelined(queue, raw=True)
        try:
            await relay.enter_room(sid, "/", user_room(user_id))
        finally:
            replies = await written
        (first, _), *hooked = spans
        await self.connections.added(conn, replies[first])
        for (then, hook_name), (start, end) in zip(thens, hooked, strict=True):
            try:
                await then(replies[start:end])
            except Exception:
                log.exception("connect hook %s failed", hook_name)
        for hook in _connect_hooks:
            await self._connect_hook(hook, sid, conn)
        metrics.socket_connects.labels("ok").inc()
        metrics.socket_connections.inc()
        log.info(
            "socket connected",
            extra={"event": "socket_connect", "sid": sid, "user_id": user_id, "client": client},
        )

    def _connect_commands(
        self, hook: ConnectCommandsHook, sid: str, conn: Conn
    ) -> tuple[QueueCommands, Any, str] | None:
        try:
            made = hook(self.ctx, sid, conn)
        except Exception:
            log.exception("connect hook failed")
            return None
        if made is None:
            return None
        queue, then = made
        return queue, then, getattr(hook, "__name__", "?")

    async def _connect_hook(self, hook: DisconnectHook, sid: str, conn: Conn) -> None:
        try:
            await hook(self.ctx, self.sio, sid, conn)
        except Exception:
            log.exception("connect hook failed")

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        self._buckets.pop(sid, None)
        self._checked.pop(sid, None)
        if sid in self.connections.local:
            metrics.socket_connections.dec()
        conn = await self.connections.remove(sid)
        log.info(
            "socket disconnected",
            extra={
                "event": "socket_disconnect",
                "sid": sid,
                "user_id": conn.user_id if conn else None,
                "reason": str(reason),
            },
        )
        for hook in _disconnect_hooks:
            try:
                await hook(self.ctx, self.sio, sid, conn)
            except Exception:
                log.exception("disconnect hook failed")

    async def _unknown(self, event: str, sid: str, *args: Any) -> dict[str, Any]:
        metrics.socket_events.labels("(unknown)", "unknown_event").inc()  # any name: one label
        log.info(
            "unknown socket event %s",
            event[:64],
            extra={"event": "socket_event", "sid": sid, "code": "unknown_event"},
        )
        return error_ack(DomainError(f"Unknown event {event[:64]!r}", code="unknown_event"))

    def _bind(self, spec: EventSpec) -> Any:
        async def handler(sid: str, *args: Any) -> dict[str, Any]:
            wait = self._buckets.setdefault(sid, TokenBucket(EVENTS_PER_S, EVENT_BURST)).take()
            if wait > 0:
                metrics.socket_events.labels(spec.name, "rate_limited").inc()
                return error_ack(RateLimited(math.ceil(wait), "Too many socket events"))

            async def make_call(_: Any) -> SocketCall:
                return await self._call(sid, spec.name)

            return await dispatch(spec, make_call, args[0] if args else None)

        return handler

    async def _call(self, sid: str, event: str) -> SocketCall:
        session = await self.sio.get_session(sid)
        if not session:
            raise Unauthorized("Not connected", code="unauthorized")
        t = time.monotonic()
        checked = self._checked.get(sid)
        if checked is not None and t - checked[0] < SESSION_CHECK_S:
            role = checked[1]
        else:
            # Shared with the other sockets' Redis commands of the moment (Context.pipelined).
            store = sessions_of(self.ctx)
            (alive,) = await self.ctx.pipelined(
                lambda pipe: store.queue_role(pipe, session["session_id"])
            )
            if alive is None:
                self._checked.pop(sid, None)
                await self.sio.disconnect(sid)
                raise Unauthorized(
                    "Session has been revoked or has expired", code="session_revoked"
                )
            role = alive
            self._checked[sid] = (t, role)
        return SocketCall(
            ctx=self.ctx,
            server=self.sio,
            sid=sid,
            user_id=uuid.UUID(session["user_id"]),
            session_id=session["session_id"],
            role=Role(role),
            event=event,
            payload=None,
            outbox=Outbox(),
        )

    async def _housekeeping(self) -> None:
        """Heartbeat our sockets and close those whose session ended some other way."""
        store = sessions_of(self.ctx)
        interval = self.ctx.settings.socket_heartbeat_s
        while True:
            try:
                await self.connections.heartbeat()
            except Exception:
                # Redis unreachable: try again soon, so our sockets are back before anyone
                # takes them for dead (and members wrongly disconnected meanwhile come back).
                log.exception("socket heartbeat failed")
                await asyncio.sleep(min(interval, HEARTBEAT_RETRY_S))
                continue
            await self._after_heartbeat()
            try:
                for conn in list(self.connections.local.values()):
                    if await store.role_if_alive(conn.session_id) is None:
                        await self.sio.disconnect(conn.sid)
            except Exception:
                log.exception("socket housekeeping failed")
            await asyncio.sleep(interval)

    async def _after_heartbeat(self) -> None:
        for hook in _heartbeat_hooks:
            try:
                await hook(self.ctx, self.sio, self.connections)
            except Exception:
                log.exception("heartbeat hook failed")

    async def _revived(self) -> None:
        """This process was taken for dead (its Redis connections were cut while it lived):
        put its sockets, their parties and their presence back now, not at the next
        heartbeat."""
        await self.connections.heartbeat()
        await self._after_heartbeat()
        for hook in _revived_hooks:
            try:
                await hook(self.ctx, self.sio)
            except Exception:
                log.exception("revive hook failed")


DisconnectHook = Any
_disconnect_hooks: list[DisconnectHook] = []


def on_disconnect(hook: DisconnectHook) -> DisconnectHook:
    """Aggregates (parties, presence) register what must happen when a socket goes away."""
    _disconnect_hooks.append(hook)
    return hook


_connect_hooks: list[DisconnectHook] = []


def on_connect(hook: DisconnectHook) -> DisconnectHook:
    """Aggregates (presence) register what must happen when an authenticated socket arrives."""
    _connect_hooks.append(hook)
    return hook


ConnectCommandsHook = Any
_connect_commands: list[ConnectCommandsHook] = []


def on_connect_commands(hook: ConnectCommandsHook) -> ConnectCommandsHook:
    """Aggregates whose work for an authenticated socket is Redis commands (presence) send
    them with the socket's records, in the same pipeline and round trip: `hook(ctx, sid,
    conn)` returns `(queue, then)` (or None): `queue(pipe)` queues the commands,
    `then(replies)` runs with their replies once back, errors included as replies."""
    _connect_commands.append(hook)
    return hook


HeartbeatHook = Any
_heartbeat_hooks: list[HeartbeatHook] = []


def on_heartbeat(hook: HeartbeatHook) -> HeartbeatHook:
    """Aggregates register what to do right after this process heartbeated its sockets:
    `hook(ctx, sio, connections)` (parties: put members wrongly taken for dead back)."""
    _heartbeat_hooks.append(hook)
    return hook


RevivedHook = Any
_revived_hooks: list[RevivedHook] = []


def on_revived(hook: RevivedHook) -> RevivedHook:
    """Aggregates register what to put back when this process learns it was taken for dead:
    `hook(ctx, sio)` (presence: its users online again). Heartbeat hooks run too."""
    _revived_hooks.append(hook)
    return hook


StartHook = Any
_start_hooks: list[StartHook] = []


def on_start(hook: StartHook) -> StartHook:
    """Aggregates register long-running per-process tasks (parties: deadline sweeper)."""
    _start_hooks.append(hook)
    return hook
