"""The official socket.io-client (node) as a DM peer across two server processes: Bob on node,
connected to one process, gets Ann's message with a title card and an image that she sent
through the other (each in his own copy: the URLs signed for him, and they load), then,
while his client is away, her edit; sync:resume brings the edit once, as the message now is."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_title
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend
from tests.social.test_message_media import jpeg_with_gps

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed"),
]

PEER = Path(__file__).with_name("node_peer.mjs")


class NodePeer:
    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.seen: list[dict[str, Any]] = []

    async def say(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def until(self, key: str, pred: Any = None, timeout: float = 15) -> Any:
        """The first line (from now on, or kept) with `key` whose value passes `pred`."""

        async def read() -> Any:
            for item in self.seen:
                if key in item and (pred is None or pred(item[key])):
                    return item[key]
            assert self.proc.stdout is not None
            while True:
                raw = await self.proc.stdout.readline()
                assert raw, "the node peer ended"
                item = json.loads(raw)
                assert "error" not in item, item
                self.seen.append(item)
                if key in item and (pred is None or pred(item[key])):
                    return item[key]

        return await asyncio.wait_for(read(), timeout)


async def test_a_node_client_gets_a_card_an_image_and_the_edit(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    one, two = two_servers
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    film = await make_title(ctx, "Solaris", year=1972, age_rating="12")
    proc = await asyncio.create_subprocess_exec(
        "node",
        str(PEER),
        two.url,
        bob.access_token,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    peer = NodePeer(proc)
    try:
        await peer.until("ready")
        async with httpx.AsyncClient(base_url=one.url) as http:
            r = await http.post(
                "/api/v1/message-attachments",
                content=jpeg_with_gps(),
                headers={**ann.headers, "Content-Type": "image/jpeg"},
            )
        assert r.status_code == 201, r.text
        image = r.json()
        async with connected(one.url, ann.access_token) as ann_sock:
            ack = await ann_sock.call(
                "dm:send",
                {
                    "to_user_id": str(bob.id),
                    "client_msg_id": "node-1",
                    "text": "tonight",
                    "title_id": film.id,
                    "attachment_id": image["id"],
                },
            )
            assert ack["ok"], ack
            msg = ack["data"]
            got = await peer.until("event", lambda e: e["id"] == msg["id"])
            assert got["title"] == {
                "title_id": film.id,
                "available": True,
                "reason": None,
                "kind": "film",
                "name": "Solaris",
                "year": 1972,
                "poster_url": None,
                "playable": False,
            }
            assert got["attachment"]["id"] == image["id"]
            assert f".{bob.id.hex}." in got["attachment"]["url"]
            await peer.say(f"fetch {got['attachment']['url']}")
            fetched = await peer.until("fetched")
            assert fetched["status"] == 200 and fetched["type"] == "image/jpeg"
            assert fetched["bytes"] == got["attachment"]["size_bytes"]

            # Away: the edit happens while Bob's node client is gone.
            await peer.say("away")
            await peer.until("away")
            ack = await ann_sock.call("dm:edit", {"message_id": msg["id"], "text": "tomorrow?"})
            assert ack["ok"], ack
        await peer.say(f"back {two.url} {got['cursor']}")
        resumed = await peer.until("resumed")
        assert resumed["ok"], resumed
        events = resumed["data"]["streams"]["dm"]["events"]
        assert [e["id"] for e in events] == [msg["id"]]
        edit = events[0]
        assert edit["text"] == "tomorrow?" and edit["edited_at"] is not None
        assert edit["cursor"] > got["cursor"]
        assert edit["title"]["name"] == "Solaris" and edit["attachment"]["id"] == image["id"]
        await peer.say("bye")
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
