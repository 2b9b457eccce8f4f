"""No loss on reconnect: the stream replay, and the pub/sub-kill proof against two server
processes sharing Redis."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from redis.asyncio import Redis

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.notifications.helpers import eventually, make_actors, notify
from tests.notifications.stream_client import ResumingClient
from tests.realtime_client import connected

pytestmark = pytest.mark.slow  # every test here starts server processes


async def _kill_our_pubsub(ctx: Context) -> int:
    """`CLIENT KILL` for every pub/sub connection of this deployment's socket servers.

    The Redis is shared by other test runs, so rather than `CLIENT KILL TYPE pubsub` (which
    would cut everyone's) we kill the subscribers named after our channel."""
    redis: Redis = ctx.redis
    name = f"{ctx.keys.socketio_channel}-sio"
    killed = 0
    for client in await redis.client_list(_type="pubsub"):
        if client.get("name") == name:
            killed += int(await redis.execute_command("CLIENT", "KILL", "ID", client["id"]))
    return killed


async def test_resume_replays_in_order_and_reports_errors(
    ctx: Context, client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    me = await make_account(ctx, client)
    (friend,) = await make_actors(ctx, 1)
    for i in range(5):
        await notify(ctx, user_id=me.id, type="friend_request", data={"i": i}, actor_id=friend.id)
    async with connected(live_server.url, me.access_token) as sock:
        ack = await sock.call(
            "sync:resume", {"cursors": {"notifications": 2, "party_chat:nope": 0, "bogus": 1}}
        )
        assert ack["ok"], ack
        streams = ack["data"]["streams"]
        mine = streams["notifications"]
        assert [e["cursor"] for e in mine["events"]] == [3, 4, 5]
        assert [e["notification"]["data"]["i"] for e in mine["events"]] == [2, 3, 4]
        assert all(e["stream"] == "notifications" for e in mine["events"])
        assert mine["cursor"] == 5 and mine["truncated"] is False
        assert streams["bogus"]["error"]["code"] == "unknown_stream"
        assert streams["party_chat:nope"]["error"]["code"] == "party_not_found"
        assert streams["bogus"]["cursor"] == 1
        bad = await sock.call("sync:resume", {"cursors": {"notifications": -1}})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
        bad = await sock.call("sync:resume", {"cursors": "all"})
        assert bad["ok"] is False


async def test_client_ends_with_every_event_when_pubsub_is_killed(
    ctx: Context, client: httpx.AsyncClient, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    me = await make_account(ctx, client)
    (friend,) = await make_actors(ctx, 1)
    total = 100
    reader = ResumingClient(me.access_token)
    await reader.connect(two_servers[0].url)
    await eventually(lambda: reader.resumes >= 1)
    kills: list[int] = []

    async def produce() -> None:
        for i in range(total):
            await notify(
                ctx, user_id=me.id, type="message_while_away", data={"i": i}, actor_id=friend.id
            )
            if i in (15, 45, 75):
                kills.append(await _kill_our_pubsub(ctx))
            if i == 60:
                # The phone drops off for five events and comes back through the other
                # server process.
                await reader.disconnect()
            if i == 65:
                await reader.connect(two_servers[1].url)
            await asyncio.sleep(0.005)

    try:
        await produce()
        await eventually(lambda: reader.cursor >= total, timeout=20)
        # Nothing is missing, nothing is out of order, nothing applied twice.
        assert reader.applied == list(range(1, total + 1))
        # The test really lost live events: the kills hit our servers' subscriptions, the
        # servers said `sync:stale`, and replay filled in what pub/sub dropped.
        assert all(k >= 1 for k in kills), kills
        assert reader.stale >= 1
        assert reader.replayed >= 5
        assert reader.live + reader.replayed == total
    finally:
        await reader.close()
