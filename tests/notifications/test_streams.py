"""Streams other aggregates own, replayed through `sync:resume`: party chat (members only)."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from models.core.context import Context
from models.core.db import transaction
from models.core.streams import lock_stream
from tests.conftest import LiveServer
from tests.factories import make_account, make_title
from tests.realtime_client import connected


@pytest.mark.slow
async def test_party_chat_replays_to_members_only(
    ctx: Context, client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    title_id = (await make_title(ctx, "Chat night")).id
    host = await make_account(ctx, client)
    outsider = await make_account(ctx, client)
    r = await client.post("/api/v1/parties", json={"title_id": title_id}, headers=host.headers)
    assert r.status_code == 201, r.text
    party_id = r.json()["party_id"]
    url = f"/api/v1/parties/{party_id}/messages"
    ids = []
    for i in range(4):
        sent = await client.post(url, json={"text": f"m{i}"}, headers=host.headers)
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["message"]["id"])
    stream = f"party_chat:{party_id}"
    async with connected(live_server.url, host.access_token) as sock:
        ack = await sock.call("sync:resume", {"cursors": {stream: ids[1]}})
        assert ack["ok"], ack
        replay = ack["data"]["streams"][stream]
        assert [e["text"] for e in replay["events"]] == ["m2", "m3"]
        assert [e["cursor"] for e in replay["events"]] == ids[2:]
        assert all(e["stream"] == stream for e in replay["events"])
        assert replay["cursor"] == ids[3]
    async with connected(live_server.url, outsider.access_token) as sock:
        ack = await sock.call("sync:resume", {"cursors": {stream: 0}})
        replay = ack["data"]["streams"][stream]
        assert replay["events"] == [] and replay["error"] is not None


async def test_lock_stream_makes_id_order_the_commit_order(ctx: Context) -> None:
    """Two writers of one stream: the one that takes the lock second gets the larger id and
    commits second, so no reader ever sees 11 committed before 10."""
    from sqlalchemy import text

    order: list[str] = []
    first_locked = asyncio.Event()

    async def writer(name: str, hold: float) -> int:
        async with transaction(ctx.sessions) as session:
            if name == "b":
                await first_locked.wait()
            await lock_stream(session, "test-stream")
            if name == "a":
                first_locked.set()
            seq = (
                await session.execute(text("SELECT nextval('notifications_id_seq')"))
            ).scalar_one()
            await asyncio.sleep(hold)
            order.append(name)
            return int(seq)

    a, b = await asyncio.gather(writer("a", 0.3), writer("b", 0.0))
    assert a < b
    assert order == ["a", "b"]
