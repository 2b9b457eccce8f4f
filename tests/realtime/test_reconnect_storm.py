"""A server process restarts under its clients (a deploy, a crash): every client comes back
on its own, none is refused, and no stream event is lost or applied twice: what was sent
while the process was down arrives once, through `sync:resume`. The same at 10,000 clients
is `bench/reconnect_storm.py`."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter

import pytest

from cinema.ports import free_port
from models.accounts import tokens
from models.accounts.service import sessions_of
from models.core.clock import now
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.notifications.helpers import eventually, make_actors, notify_many
from tests.notifications.stream_client import ResumingClient

pytestmark = pytest.mark.slow

CLIENTS = 200


async def _access_token(ctx: Context, user_id: uuid.UUID) -> str:
    """A signed-in session without the password round (hashing 200 passwords is not the
    point here)."""
    session_id = tokens.new_id()
    await sessions_of(ctx).create(
        session_id=session_id,
        user_id=str(user_id),
        role="user",
        refresh_jti=tokens.new_id(),
        now=int(now().timestamp()),
        user_agent="storm",
        ip="127.0.0.1",
    )
    token, _ = tokens.encode(
        ctx.settings.secret,
        typ="access",
        user_id=str(user_id),
        session_id=session_id,
        now=now(),
        ttl_s=3600,
    )
    return token


async def _release(ctx: Context, user_ids: list[uuid.UUID], n: int) -> None:
    await notify_many(
        ctx,
        user_ids,
        type="new_release",
        data={"title_id": 9000 + n, "title": f"Storm {n}"},
        dedupe_key=f"storm:{uuid.uuid4()}:{n}",
    )


@pytest.mark.timeout(600)  # a server start, a restart and 400 connects on a shared machine
async def test_every_client_comes_back_after_a_restart_and_misses_nothing(
    ctx: Context, settings: Settings
) -> None:
    users = await make_actors(ctx, CLIENTS)
    ids = [u.id for u in users]
    clients = [ResumingClient(await _access_token(ctx, u), reconnection=True) for u in ids]
    server = LiveServer(settings, free_port())
    try:
        server.wait_ready()
        gate = asyncio.Semaphore(25)

        async def join(c: ResumingClient) -> None:
            async with gate:
                await c.connect(server.url)

        await asyncio.gather(*(join(c) for c in clients))
        await _release(ctx, ids, 1)
        await eventually(lambda: all(c.cursor == 1 for c in clients), timeout=60)

        server.stop()  # SIGTERM: the process closes its sockets, as a deploy does
        await eventually(lambda: not any(c.sio.connected for c in clients), timeout=30)
        await _release(ctx, ids, 2)  # nobody connected: stored, published to no one
        await _release(ctx, ids, 3)

        server.restart()
        server.wait_ready()
        # All of them back (the client's own backoff), each resumed past both events.
        try:
            await eventually(
                lambda: all(c.sio.connected and c.cursor == 3 for c in clients), timeout=240
            )
        except AssertionError:
            back = sum(c.sio.connected for c in clients)
            cursors = Counter(c.cursor for c in clients)
            raise AssertionError(f"{back}/{CLIENTS} back, cursors {dict(cursors)}") from None
        await _release(ctx, ids, 4)  # and live delivery works again on the new process
        await eventually(lambda: all(c.cursor == 4 for c in clients), timeout=60)

        for c in clients:
            assert c.refusals == []
            assert len(c.applied) == 4, c.applied
            assert c.applied == sorted(c.applied)
        # Events 2 and 3 came through the replay, not live: nothing was listening then.
        assert all(c.replayed >= 2 for c in clients)
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        server.stop()
