"""Presence across devices and server processes, with a grace delay against flapping."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import httpx
import pytest

from models.core.context import Context
from models.core.redis import Keys
from models.social.presence import (
    PresenceChange,
    PresenceTracker,
    connected_devices,
    is_online,
)
from realtime.connections import Conn, Connections
from tests.conftest import LiveServer
from tests.factories import Account, login
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend


async def _online(client: httpx.AsyncClient, viewer: Account, user_id: object) -> bool:
    items = (await client.get("/api/v1/friends", headers=viewer.headers)).json()["items"]
    return bool(next(f["online"] for f in items if f["user"]["id"] == str(user_id)))


@pytest.mark.slow
async def test_friends_see_presence_across_processes_without_flapping(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    a, b = await accounts(ctx, client, 2)
    a_phone = (await login(client, a.user.email))["access_token"]
    await befriend(client, a, b)
    stranger = (await accounts(ctx, client, 1))[0]
    assert await _online(client, b, a.id) is False
    async with (
        connected(two.url, b.access_token) as watcher,
        connected(one.url, stranger.access_token) as outsider,
    ):
        async with connected(one.url, a.access_token):
            first = (await watcher.wait_event("presence:update"))[0]
            assert first["user_id"] == str(a.id) and first["online"] is True
            assert await _online(client, b, a.id) is True
            # a second device on the other process: still one "online", no new event
            async with connected(two.url, a_phone):
                await asyncio.sleep(0.2)
            assert await _online(client, b, a.id) is True
        # the laptop's network drops and it comes back within the grace delay
        await asyncio.sleep(0.5)
        async with connected(two.url, a.access_token):
            await asyncio.sleep(0.2)
        grace = ctx.settings.presence_grace_ms / 1000
        offline = (await watcher.wait_event("presence:update", count=2, timeout=grace + 5))[1]
        assert offline["online"] is False and offline["version"] > first["version"]
        assert len(watcher.events["presence:update"]) == 2, watcher.events["presence:update"]
        assert await _online(client, b, a.id) is False
        assert outsider.events["presence:update"] == []


async def test_a_dead_process_sockets_expire_and_the_user_goes_offline(ctx: Context) -> None:
    """Two processes' socket records and trackers, as realtime/server.py drives them; one stops
    heartbeating (it died and nobody buried it): its socket goes stale and the user offline."""
    keys = Keys(f"{ctx.keys.prefix}:presence-unit")
    stale_ms = 1000
    changes: list[PresenceChange] = []

    async def record(change: PresenceChange) -> None:
        changes.append(change)

    class Process:
        def __init__(self) -> None:
            self.sockets = Connections(ctx.redis, keys, stale_ms=stale_ms)
            self.presence = PresenceTracker(
                ctx.redis, keys, on_change=record, stale_ms=stale_ms, grace_ms=200, tick_ms=50
            )
            self.presence.start()
            self.beats = asyncio.create_task(self._beat())

        async def _beat(self) -> None:
            while True:
                await asyncio.sleep(0.15)
                await self.sockets.heartbeat()
                await self.presence.refresh()

        async def connect(self, user: uuid.UUID, sid: str) -> None:
            await self.sockets.add(Conn(sid, str(user), "session"))
            await self.presence.connected(user, sid)

        async def disconnect(self, user: uuid.UUID, sid: str) -> None:
            await self.sockets.remove(sid)
            await self.presence.disconnected(user, sid)

        async def die(self) -> None:
            self.beats.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.beats
            await self.presence.stop()

    alive, doomed = Process(), Process()
    user = uuid.uuid4()
    try:
        await doomed.connect(user, "sid-1")
        await alive.connect(user, "sid-2")
        assert await connected_devices(ctx.redis, keys, user, stale_ms=stale_ms) == 2
        await alive.disconnect(user, "sid-2")
        await asyncio.sleep(0.6)  # past the grace: sid-1 is still alive, so still online
        assert await is_online(ctx.redis, keys, user)
        assert [c.online for c in changes] == [True]
        await doomed.die()  # no disconnect, no more heartbeats
        for _ in range(80):
            if len(changes) == 2:
                break
            await asyncio.sleep(0.05)
        assert [c.online for c in changes] == [True, False]
        assert not await is_online(ctx.redis, keys, user)
        assert await connected_devices(ctx.redis, keys, user, stale_ms=stale_ms) == 0
        assert changes[1].version == changes[0].version + 1
    finally:
        await alive.die()
        await doomed.die()
