"""Redis client and the key namespace every key and channel lives under.

Every client in the code base (cache, sessions, rate limits, live state, the Socket.IO relay,
arq) comes from `make_redis`, so one URL decides whether they talk to one Redis or to the
master a set of Sentinels names: `redis+sentinel://[user:password@]host:port,host:port/
<master name>[/<db>]` (what `REDIS_SENTINELS` and `REDIS_SENTINEL_MASTER` build). Through
Sentinel every new connection asks the Sentinels for the current master, and a command that
fails on a lost connection is retried with backoff for a while, so a failover is ridden out:
commands wait for the new master instead of failing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelManagedConnection
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import DataError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:
    import hiredis
except ImportError:  # pragma: no cover (redis-py packs in Python then)
    hiredis = None  # type: ignore[assignment]

from models.core import metrics

SENTINEL_SCHEME = "redis+sentinel"
# How long a command keeps retrying through Sentinel (failure detection, the election, the
# switch): the backoff doubles from 50 ms up to 1 s between tries.
FAILOVER_RETRIES = 8  # ~5 s: a request then answers 503 rather than hanging
WORKER_FAILOVER_RETRIES = 40  # ~35 s: a job worker waits out a slow failover


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    master: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def sentinel_url(
    sentinels: str,
    master: str,
    *,
    db: int = 0,
    username: str | None = None,
    password: str | None = None,
) -> str:
    """The URL for `REDIS_SENTINELS` ("host:port,host:port") and the master's name."""
    auth = ""
    if password is not None or username is not None:
        auth = f"{username or ''}:{password or ''}@"
    hosts = ",".join(h.strip() for h in sentinels.split(",") if h.strip())
    return f"{SENTINEL_SCHEME}://{auth}{hosts}/{master}/{db}"


def parse_sentinel_url(url: str) -> SentinelTarget | None:
    """The Sentinels and master a `redis+sentinel://` URL names; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme != SENTINEL_SCHEME:
        return None
    auth, _, hosts = parts.netloc.rpartition("@")
    username, _, password = auth.partition(":") if auth else ("", "", "")
    sentinels = []
    for item in hosts.split(","):
        host, _, port = item.strip().rpartition(":")
        if not host:
            host, port = port, "26379"
        sentinels.append((host.strip("[]"), int(port)))
    path = [p for p in parts.path.split("/") if p]
    if not sentinels or not path:
        raise ValueError(f"{SENTINEL_SCHEME} URL needs host:port[,host:port]/<master>[/<db>]")
    return SentinelTarget(
        sentinels=sentinels,
        master=unquote(path[0]),
        db=int(path[1]) if len(path) > 1 else 0,
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


class _HiredisPacking:
    """Commands packed by hiredis (C), as redis-py's synchronous client does when hiredis is
    installed; its asyncio client (5.x) packs every argument in Python, which was a tenth of
    a socket connect's server CPU under cProfile. Same splitting of a command name with a
    space ("SCRIPT LOAD"), same error for an argument of a type it cannot send."""

    def pack_command(self, *args: Any) -> list[bytes]:
        if hiredis is None:  # optional, as for redis-py (it comes with it in the lock files)
            packed: list[bytes] = super().pack_command(*args)
            return packed
        if isinstance(args[0], str):
            args = tuple(args[0].encode().split()) + args[1:]
        elif b" " in args[0]:
            args = tuple(args[0].split()) + args[1:]
        try:
            return [hiredis.pack_command(args)]
        except TypeError as exc:
            raise DataError(str(exc)) from exc


class _Connection(_HiredisPacking, Connection):  # type: ignore[misc]
    pass


class _SSLConnection(_HiredisPacking, SSLConnection):  # type: ignore[misc]
    pass


class _UnixConnection(_HiredisPacking, UnixDomainSocketConnection):  # type: ignore[misc]
    pass


_PACKED: dict[type, type] = {
    Connection: _Connection,
    SSLConnection: _SSLConnection,
    UnixDomainSocketConnection: _UnixConnection,
}


class _SentinelConnection(_HiredisPacking, SentinelManagedConnection):  # type: ignore[misc]
    """Each connection attempt asks the Sentinels where the master is. The base class retries
    the address it got as many times as a command (its retry wraps the plain connect too), so
    a client that asked during the failover kept knocking at the dead master for the whole
    retry budget before asking again."""

    async def connect_to(self, address: tuple[str, int]) -> None:
        retry: Retry = getattr(self, "retry")  # noqa: B009 (the base class is untyped)
        self.retry = Retry(NoBackoff(), 0)
        try:
            await super().connect_to(address)
        finally:
            self.retry = retry


def make_redis(
    url: str, *, redis_class: type[Redis] = Redis, retries: int = FAILOVER_RETRIES, **options: Any
) -> Redis:
    """A client for `url`; `options` override the defaults (text replies, a health check of
    idle connections every 30 s). A `redis+sentinel://` URL gives a client of the current
    master whose commands retry through a failover (`retries`)."""
    kwargs: dict[str, Any] = {"decode_responses": True, "health_check_interval": 30, **options}
    target = parse_sentinel_url(url)
    if target is None:
        client = redis_class.from_url(url, **kwargs)
        pool = client.connection_pool
        pool.connection_class = _PACKED.get(pool.connection_class, pool.connection_class)
        return client
    sentinel = Sentinel(
        target.sentinels,
        # Sentinels need no password of their own here; a short timeout finds a live one fast.
        sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0},
        socket_connect_timeout=2.0,
    )
    client = sentinel.master_for(
        target.master,
        redis_class=redis_class,
        db=target.db,
        username=target.username,
        password=target.password,
        connection_class=_SentinelConnection,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries),
        retry_on_error=[RedisConnectionError, RedisTimeoutError, OSError],
        **kwargs,
    )
    return cast(Redis, client)


class Keys:
    """All Redis key names in one place, under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    @property
    def socketio_channel(self) -> str:
        return self("socketio")

    @property
    def arq_queue(self) -> str:
        return self("arq", "queue")


QueueCommands = Callable[[Pipeline], None]


class Coalescer:
    """Small pipelines asked for at the same moment go to Redis as one.

    A connect needs a few commands here and there (the session check, the socket's records,
    presence); each round trip costs the process a send, a wake-up and a read whatever it
    carries. When many arrive at once (a reconnect storm) their commands share round trips:
    one pipeline is in flight at a time and whatever was queued meanwhile goes out next, so a
    lone caller waits no longer than before and a crowd pays per batch, not per caller."""

    def __init__(self, redis: Redis, *, name: str = "context") -> None:
        self._redis = redis
        self._queue: list[tuple[QueueCommands, asyncio.Future[list[Any]], bool]] = []
        self._task: asyncio.Task[None] | None = None
        self._sending = False  # a caller is sending its own pipeline (see run)
        # Round trips and the callers they carried (metrics: what sharing saves under load).
        self._trips = metrics.redis_shared_pipelines.labels(name)
        self._calls = metrics.redis_shared_calls.labels(name)

    async def run(self, queue: QueueCommands) -> list[Any]:
        """Queue commands with `queue(pipe)`; their replies, in order (the first error raised)."""
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        if self._task is None and not self._sending:
            # Nothing in flight: ours goes now, from this task (no task to start and switch
            # to for a lone caller); whoever comes meanwhile goes out with the next batch.
            self._sending = True
            try:
                await self._send([(queue, fut, False)])
            finally:
                self._sending = False
                if self._queue and self._task is None:
                    self._task = asyncio.create_task(self._drain())
                if fut.done() and not fut.cancelled():
                    fut.exception()  # retrieved here even when this caller was cancelled
            return fut.result()
        # A pipeline is in flight: the caller that sent it, or the drain, sends ours next.
        self._queue.append((queue, fut, False))
        return await fut

    def submit(self, queue: QueueCommands, *, raw: bool = False) -> asyncio.Future[list[Any]]:
        """`run` without a coroutine: the commands join the next pipeline at once and the
        future gets their replies; with `raw`, a command's error is its reply instead of
        the future's exception (the caller handles each command's outcome)."""
        fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._queue.append((queue, fut, raw))
        if self._task is None and not self._sending:
            self._task = asyncio.create_task(self._drain())
        return fut

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                await self._send(batch)
        finally:
            # Empty unless the drain was cancelled (shutdown): nobody is left waiting forever.
            self._task = None
            left, self._queue = self._queue, []
            for _, fut, _ in left:
                if not fut.done():
                    fut.set_exception(ConnectionError("Redis pipeline cancelled"))

    async def _send(
        self, batch: list[tuple[QueueCommands, asyncio.Future[list[Any]], bool]]
    ) -> None:
        spans: list[tuple[int, int]] = []
        self._trips.inc()
        self._calls.inc(len(batch))
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for queue, _, _ in batch:
                    start = len(pipe)
                    queue(pipe)
                    spans.append((start, len(pipe)))
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as exc:
            for _, fut, _ in batch:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else ConnectionError())
            if not isinstance(exc, Exception):
                raise
            return
        for (start, end), (_, fut, raw) in zip(spans, batch, strict=True):
            if fut.done():
                continue  # its caller gave up
            part = replies[start:end]
            error = None if raw else next((r for r in part if isinstance(r, Exception)), None)
            if error is not None:
                fut.set_exception(error)
            else:
                fut.set_result(part)
