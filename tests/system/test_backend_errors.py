"""What database failures mean for the client when they are not bugs."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, IntegrityError

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import Conflict, InvalidInput, Unavailable, from_backend


async def test_a_reference_deleted_meanwhile_is_a_conflict(ctx: Context) -> None:
    # What a write sees when what it checked a moment ago was deleted before its insert.
    with pytest.raises(IntegrityError) as caught:
        async with transaction(ctx.sessions) as session:
            await session.execute(
                text("INSERT INTO title_genres (title_id, genre_id) VALUES (:t, :g)"),
                {"t": 2**62, "g": 2**62},
            )
    translated = from_backend(caught.value)
    assert isinstance(translated, Conflict) and translated.status == 409
    assert translated.to_dict()["error"]["code"] == "gone_meanwhile"


async def test_other_integrity_errors_stay_bugs_and_bad_values_are_input(ctx: Context) -> None:
    with pytest.raises(IntegrityError) as caught:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("INSERT INTO genres (slug, name) VALUES (NULL, 'x')"))
    assert from_backend(caught.value) is None  # a NOT NULL violation is our mistake: a 500
    # The server refuses a value, or asyncpg refuses to encode a parameter: bad input.
    with pytest.raises(DBAPIError) as bad:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("SELECT CAST('not a number' AS integer)"))
    assert isinstance(from_backend(bad.value), InvalidInput)
    with pytest.raises(DBAPIError) as unencodable:
        async with transaction(ctx.sessions) as session:
            await session.execute(text("SELECT CAST(:v AS bigint)"), {"v": 2**70})
    assert isinstance(from_backend(unencodable.value), InvalidInput)


async def test_pool_pings_only_idle_connections_and_recovers_from_a_dead_one(
    database_url: str, ctx: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection used within PING_IDLE_S is not pinged (no round trips before each use);
    if the server dropped it meanwhile, that one request is a 503 to retry and the pool is
    renewed. An idle one is pinged and silently replaced."""
    from models.core import db

    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    sessions = db.make_sessionmaker(engine)

    async def backend_pid() -> int:
        async with sessions() as session:
            return int(await session.scalar(text("SELECT pg_backend_pid()")) or 0)

    async def kill(pid: int) -> None:
        async with ctx.sessions() as session:
            await session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid})

    try:
        first = await backend_pid()
        await kill(first)
        with pytest.raises(DBAPIError) as caught:
            await backend_pid()
        translated = from_backend(caught.value)
        assert translated is not None and translated.status == 503
        second = await backend_pid()  # a new connection, at once
        assert second != first
        monkeypatch.setattr(db, "PING_IDLE_S", 0.0)  # every connection counts as idle
        await kill(second)
        third = await backend_pid()  # pinged, found dead, replaced: no error
        assert third not in (first, second)
    finally:
        await engine.dispose()


async def test_plain_statements_take_named_parameters_and_fail_as_sqlalchemy_would(
    database_url: str, ctx: Context
) -> None:
    """models.core.db.PlainStatement: `:name` parameters (repeated, next to `::` casts and
    inside no string) become asyncpg's; bad values are input; a connection lost under it is a
    503 and is not handed out again."""
    from models.core import db

    echo = db.PlainStatement("SELECT CAST(:a AS bigint) + :a AS twice, (:b)::text AS b, 'x:y' AS s")
    assert echo.names == ("a", "b")
    async with db.autocommit(ctx.sessions) as session:
        row = await echo.row(session, {"a": 21, "b": "hi"})
        assert row is not None and (row["twice"], row["b"], row["s"]) == (42, "hi", "x:y")
        with pytest.raises(InvalidInput):
            await echo.row(session, {"a": 2**70, "b": "x"})
        series = db.PlainStatement("SELECT g FROM generate_series(1, :n) AS g ORDER BY g")
        assert [r["g"] for r in await series.rows(session, {"n": 3})] == [1, 2, 3]
        assert await series.rows(session, {"n": 0}) == []
        with pytest.raises(InvalidInput):
            await series.rows(session, {"n": 2**70})
        with pytest.raises(InvalidInput):
            await db.PlainStatement("SELECT CAST(:v AS integer)").row(session, {"v": "nope"})

    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    sessions = db.make_sessionmaker(engine)
    pid = db.PlainStatement("SELECT pg_backend_pid() AS pid")
    try:
        async with db.autocommit(sessions) as session:
            first = await pid.row(session, {})
        assert first is not None
        async with ctx.sessions() as session:
            await session.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first["pid"]})
        with pytest.raises(Unavailable):
            async with db.autocommit(sessions) as session:
                await pid.row(session, {})
        async with db.autocommit(sessions) as session:
            second = await pid.row(session, {})
        assert second is not None and second["pid"] != first["pid"]
    finally:
        await engine.dispose()


async def test_plain_work_runs_past_the_orm_and_hands_its_connection_over(
    database_url: str, ctx: Context
) -> None:
    """models.core.db.plain_autocommit: plain statements on a pooled connection without a
    session, the same errors as on a session's, and `session()` for an ORM step gives the
    plain connection back first (a pool of one is enough), then runs the rest in it."""
    from models.core import db

    echo = db.PlainStatement("SELECT CAST(:a AS bigint) + :a AS twice")
    pid = db.PlainStatement("SELECT pg_backend_pid() AS pid")
    engine = db.make_engine(database_url, pool_size=1, max_overflow=0)
    sessions = db.make_sessionmaker(engine)
    try:
        async with db.plain_autocommit(sessions) as work:
            row = await echo.row(work, {"a": 21})
            assert row is not None and row["twice"] == 42
            with pytest.raises(InvalidInput):
                await echo.row(work, {"a": 2**70})
            first = await pid.row(work, {})
            assert first is not None
            session = await work.session()  # the only connection: handed back, taken again
            assert await session.scalar(text("SELECT pg_backend_pid()")) == first["pid"]
            again = await pid.row(work, {})  # now in the session, autocommit
            assert again is not None and again["pid"] == first["pid"]
            assert await session.scalar(text("SELECT current_setting('transaction_isolation')"))
            assert engine.sync_engine.pool.checkedout() == 1  # type: ignore[attr-defined]
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        async with ctx.sessions() as other:
            await other.execute(text("SELECT pg_terminate_backend(:p)"), {"p": first["pid"]})
        with pytest.raises(Unavailable):
            async with db.plain_autocommit(sessions) as work:
                await pid.row(work, {})
        async with db.plain_autocommit(sessions) as work:
            second = await pid.row(work, {})
        assert second is not None and second["pid"] != first["pid"]
        # A caller cancelled while it holds the connection (a server shutting down) hands it
        # back all the same.
        held = asyncio.Event()

        async def hold() -> None:
            async with db.plain_autocommit(sessions) as work:
                await pid.row(work, {})
                held.set()
                await asyncio.sleep(60)

        holder = asyncio.create_task(hold())
        await held.wait()
        holder.cancel()
        with pytest.raises(asyncio.CancelledError):
            await holder
        assert engine.sync_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        # Each statement is a transaction of its own: nothing left open on the connection.
        tx = db.PlainStatement("SELECT txid_current() AS tx")
        async with db.plain_autocommit(sessions) as work:
            one, two = await tx.row(work, {}), await tx.row(work, {})
        assert one is not None and two is not None and one["tx"] != two["tx"]
        # With more holders than the pool keeps, the one over it is closed on its way back.
        wide = db.make_engine(database_url, pool_size=1, max_overflow=1)
        try:
            both = asyncio.Barrier(2)

            async def one() -> int:
                async with db.plain_autocommit(db.make_sessionmaker(wide)) as work:
                    row = await pid.row(work, {})
                    await both.wait()
                    assert row is not None
                    return int(row["pid"])

            assert len(set(await asyncio.gather(one(), one()))) == 2
            pool = wide.sync_engine.pool
            assert (pool.checkedout(), pool.checkedin()) == (0, 1)  # type: ignore[attr-defined]
        finally:
            await wide.dispose()
    finally:
        await engine.dispose()
