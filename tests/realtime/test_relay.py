"""Cross-process delivery by room (realtime/relay.py): a process subscribes to a room's channel
only while it has a member in the room, and a message reaches every member exactly once."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account, make_title
from tests.notifications.helpers import eventually
from tests.parties.conftest import ok
from tests.realtime_client import connected
from tests.social.helpers import befriend

pytestmark = pytest.mark.slow


async def _subscribers(ctx: Context, room: str) -> int:
    channel = f"{ctx.keys.socketio_channel}:r:{room}"
    ((_, count),) = await ctx.redis.pubsub_numsub(channel)
    return int(count)


async def test_a_process_hears_only_the_rooms_it_has_members_in(
    ctx: Context, client: httpx.AsyncClient, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    a, b = two_servers
    host, guest, late = [await make_account(ctx, client) for _ in range(3)]
    title_id = (await make_title(ctx)).id
    async with connected(a.url, host.access_token) as h, connected(a.url, guest.access_token) as g:
        created = await ok(h, "party:create", {"title_id": title_id})
        party, code = created["party_id"], created["invite_code"]
        await ok(g, "party:join", {"invite_code": code})
        room = f"party:{party}"
        assert await _subscribers(ctx, room) == 1  # A only: B has nobody in the party
        async with connected(b.url, late.access_token) as lt:
            assert await _subscribers(ctx, f"user:{late.id}") == 1
            await ok(lt, "party:join", {"invite_code": code})
            assert await _subscribers(ctx, room) == 2
            state = await ok(h, "party:seek", {"party_id": party, "position_ms": 61_000})

            def seen(rec: Any) -> bool:
                return any(s["version"] == state["version"] for s in rec.events["party:state"])

            await eventually(lambda: seen(lt) and seen(g))
        # B's only member left: B lets go of the party's and the user's channels.
        await eventually(lambda: _count_is(ctx, f"user:{late.id}", 0))
        await eventually(lambda: _count_is(ctx, room, 1))


async def _count_is(ctx: Context, room: str, n: int) -> bool:
    return await _subscribers(ctx, room) == n


async def test_a_message_to_several_rooms_reaches_each_socket_once(
    ctx: Context, client: httpx.AsyncClient, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    a, b = two_servers
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    await befriend(client, me, friend)
    # My message goes to the rooms of both users; B has a socket in each, so it hears the
    # one message on two channels and must deliver it once per socket.
    async with (
        connected(a.url, me.access_token) as sender,
        connected(b.url, me.access_token) as my_phone,
        connected(b.url, friend.access_token) as theirs,
    ):
        cid = uuid.uuid4().hex
        ack = await sender.call(
            "dm:send", {"to_user_id": str(friend.id), "client_msg_id": cid, "text": "hi"}
        )
        assert ack["ok"], ack
        await theirs.wait_event("dm:message")
        await my_phone.wait_event("dm:message")
        await asyncio.sleep(0.5)  # a duplicate would have arrived by now
        assert [m["client_msg_id"] for m in theirs.events["dm:message"]] == [cid]
        assert [m["client_msg_id"] for m in my_phone.events["dm:message"]] == [cid]
        assert sender.events["dm:message"] == []  # it has the message in its ack
