"""Async engine and sessions; accepts database URLs in their standard forms."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from asyncpg import Record
from asyncpg.exceptions import (
    AdminShutdownError,
    CannotConnectNowError,
    CrashShutdownError,
    DataError,
    ForeignKeyViolationError,
    InterfaceError,
    InternalClientError,
    PostgresConnectionError,
    TooManyConnectionsError,
)
from sqlalchemy import DateTime, MetaData, event, func
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.pool import QueuePool
from sqlalchemy.util.concurrency import greenlet_spawn

from models.core import metrics, tracing
from models.core.errors import Conflict, InvalidInput, Unavailable

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


def asyncpg_url(url: str) -> str:
    """`postgresql://u:p@h/db` (what platforms set) -> the asyncpg dialect URL."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be a postgresql:// URL, not {parts.scheme}://")
    query = dict(parse_qsl(parts.query))
    # libpq's sslmode is spelled ssl for asyncpg.
    if "sslmode" in query:
        query["ssl"] = query.pop("sslmode")
    return urlunsplit(("postgresql+asyncpg", parts.netloc, parts.path, urlencode(query), ""))


# A pooled connection idle longer than this is pinged before use; one used more recently is
# taken as alive. SQLAlchemy's pre-ping costs three round trips (BEGIN, a query, ROLLBACK) on
# every checkout, which was a third of a private message's database work. If the server went
# away meanwhile, the request fails with a 503 to retry and the whole pool is replaced.
PING_IDLE_S = 5.0


def make_engine(url: str, **kwargs: Any) -> AsyncEngine:
    ping = kwargs.pop("pool_pre_ping", True)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    engine = create_async_engine(asyncpg_url(url), **kwargs)
    event.listen(engine.sync_engine, "do_connect", _connect)
    _count_connections(engine)
    tracing.instrument_engine(engine.sync_engine)
    if ping:
        pool = engine.sync_engine.pool
        event.listen(pool, "connect", _mark_used)
        event.listen(pool, "checkin", _mark_used)
        event.listen(pool, "checkout", _ping_if_idle)
    return engine


def _count_connections(engine: AsyncEngine) -> None:
    """Pool use in the metrics: connections open, and checked out now."""
    sync = engine.sync_engine
    event.listen(sync, "connect", lambda *_: metrics.db_connections_open.inc())
    event.listen(sync, "close", lambda *_: metrics.db_connections_open.dec())
    event.listen(sync, "close_detached", lambda *_: metrics.db_connections_open.dec())
    event.listen(sync, "checkout", lambda *_: metrics.db_connections_in_use.inc())
    event.listen(sync, "checkin", lambda *_: metrics.db_connections_in_use.dec())


def _mark_used(dbapi_connection: Any, record: Any, *_: Any) -> None:
    record.info["used_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    used = record.info.get("used_at")
    if used is not None and time.monotonic() - used < PING_IDLE_S:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        # The pool drops this connection and checks out another (a new one if need be).
        raise DisconnectionError() from exc


def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
    """Open a connection; a server that refuses or is starting up is `Unavailable` (a 503 to
    retry), where asyncpg would raise a bare OSError that reads like a bug."""
    try:
        return dialect.connect(*cargs, **cparams)
    except (OSError, CannotConnectNowError, TooManyConnectionsError) as exc:
        raise Unavailable() from exc


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose work commits on success and rolls back on any error."""
    async with sessions() as session, session.begin():
        yield session


@asynccontextmanager
async def autocommit(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session whose statements each commit on their own: no BEGIN and COMMIT round trips.
    Only for work that is reads plus at most one writing statement (atomic by itself)."""
    async with sessions() as session:
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        yield session


_PARAM = re.compile(r"(?<![:\w]):(\w+)")
# The connection is gone (closed under us, or the server shut it down) or its protocol state
# is broken (an operation still in progress on a killed backend): not to be reused.
_LOST = (
    PostgresConnectionError,
    InterfaceError,
    InternalClientError,
    AdminShutdownError,
    CrashShutdownError,
    CannotConnectNowError,
    OSError,
)


# Called with each plain statement's SQL before it is sent: what a test counting a use case's
# statements listens to besides SQLAlchemy's `before_cursor_execute`.
plain_statement_observers: list[Callable[[str], None]] = []


class PlainStatement:
    """A plain-SQL statement (`:name` parameters) sent on an autocommit session's asyncpg
    connection itself, for the few statements run on every hot write, where SQLAlchemy's
    execution (the greenlet hop, the compiled cache, the result machinery) cost more CPU than
    the statement's own round trip. asyncpg prepares it once per connection.

    Autocommit only (an `autocommit` session, or `plain_autocommit`): in a transaction
    SQLAlchemy begins lazily, so a statement sent past it would run outside. Errors are what
    SQLAlchemy would make of them: a lost connection is dropped from the pool and
    `Unavailable` (a 503 to retry), a value the server refuses as data is `InvalidInput`, a
    row it refers to that is gone a `Conflict`. These statements are not traced."""

    def __init__(self, sql: str) -> None:
        names: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match[1] not in names:
                names.append(match[1])
            return f"${names.index(match[1]) + 1}"

        self.sql = _PARAM.sub(number, sql)
        self.names = tuple(names)

    async def row(self, session: AsyncSession | PlainWork, params: dict[str, Any]) -> Record | None:
        """The statement's first row (None without one)."""
        rows = await self._run(session, params, first=True)
        return rows[0] if rows else None

    async def rows(self, session: AsyncSession | PlainWork, params: dict[str, Any]) -> list[Record]:
        """Every row of the statement."""
        return await self._run(session, params, first=False)

    async def _run(
        self, session: AsyncSession | PlainWork, params: dict[str, Any], *, first: bool
    ) -> list[Record]:
        if isinstance(session, PlainWork):
            return await session.fetch(self, params, first=first)
        conn = await session.connection()
        pg: Any = (await conn.get_raw_connection()).driver_connection
        try:
            return await self.fetch(pg, params, first=first)
        except Unavailable as exc:
            await conn.invalidate(exc.__cause__)
            raise

    async def fetch(self, pg: Any, params: dict[str, Any], *, first: bool) -> list[Record]:
        """Its rows (only the first when `first`) on an asyncpg connection; `Unavailable`
        when the connection is lost (its owner drops it), `InvalidInput` for a value the
        server refuses as data, `Conflict` for a row referred to that is gone."""
        for observe in plain_statement_observers:
            observe(self.sql)
        args = [params[n] for n in self.names]
        try:
            if first:
                row: Record | None = await pg.fetchrow(self.sql, *args)
                return [row] if row is not None else []
            rows: list[Record] = await pg.fetch(self.sql, *args)
            return rows
        except _LOST as exc:
            raise Unavailable() from exc
        except DataError as exc:
            raise InvalidInput(
                "A value is out of range or malformed", code="invalid_input"
            ) from exc
        except ForeignKeyViolationError as exc:  # as errors.from_backend says for SQLAlchemy's
            raise Conflict(
                "Something this refers to was removed meanwhile; reload and try again",
                code="gone_meanwhile",
            ) from exc


class PlainWork:
    """Autocommit work whose usual path is plain statements only (a private message's send):
    they go to a connection checked out of the engine's pool as it is, with no ORM session
    around it. An `autocommit` session with its connection cost about three times the CPU of
    two statements on asyncpg (the session, its transaction snapshot, three greenlet hops).
    A step that needs the ORM asks for `session()`: the plain connection goes back to the
    pool first (one unit of work never holds two connections), and the statements after it
    run in that autocommit session."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._engine: AsyncEngine = sessions.kw["bind"]
        self._conn: Any = None  # the pool's proxied connection, while checked out
        self._session: AsyncSession | None = None

    async def fetch(
        self, statement: PlainStatement, params: dict[str, Any], *, first: bool
    ) -> list[Record]:
        if self._session is not None:
            return await statement._run(self._session, params, first=first)
        if self._conn is None:
            self._conn = await self._engine.raw_connection()
        try:
            return await statement.fetch(self._conn.driver_connection, params, first=first)
        except Unavailable as exc:
            conn, self._conn = self._conn, None
            # Not handed out again: the pool opens a new connection in its place.
            await greenlet_spawn(conn.invalidate, exc.__cause__)
            await greenlet_spawn(conn.close)
            raise

    async def session(self) -> AsyncSession:
        """An autocommit session for the ORM steps (the same one for the rest of the work)."""
        if self._session is None:
            await self._release()
            session = self._sessions()
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            self._session = session
        return self._session

    async def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        pool = self._engine.sync_engine.pool
        if isinstance(pool, QueuePool) and pool.checkedin() < pool.size():
            # Back into a pool with room: nothing to await (no transaction to roll back, no
            # connection to close), so nothing a cancellation could cut halfway.
            conn.close()
        else:
            # The pool may close it (an overflow connection): to the end, even if cancelled.
            await _to_completion(greenlet_spawn(conn.close))

    async def close(self) -> None:
        try:
            await self._release()
        finally:
            if self._session is not None:
                await _to_completion(self._session.close())


@asynccontextmanager
async def plain_autocommit(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[PlainWork]:
    """`autocommit` for work that is mostly `PlainStatement`s (see PlainWork)."""
    work = PlainWork(sessions)
    try:
        yield work
    finally:
        await work.close()


async def _to_completion(cleanup: Coroutine[Any, Any, Any]) -> None:
    """Run `cleanup` in a task of its own to its end even if the caller is cancelled
    meanwhile (then re-raise the cancellation), as SQLAlchemy closes a session: a
    connection handed back halfway, or into a pool disposed of meanwhile, would be lost."""
    task = asyncio.ensure_future(cleanup)
    cancelled: asyncio.CancelledError | None = None
    while True:
        try:
            await asyncio.shield(task)
            break
        except asyncio.CancelledError as exc:
            if task.done():
                raise
            cancelled = exc
    if cancelled is not None:
        raise cancelled
