"""Test helpers for the social aggregate: friendships, blocks and messages via the real API."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from models.core.context import Context
from models.core.db import transaction
from tests.factories import Account
from tests.realtime_client import Recorder


async def befriend(client: httpx.AsyncClient, a: Account, b: Account) -> None:
    r = await client.post(
        "/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers
    )
    assert r.status_code == 201, r.text
    r = await client.post(f"/api/v1/friends/requests/{r.json()['id']}/accept", headers=b.headers)
    assert r.status_code == 200, r.text


async def block(client: httpx.AsyncClient, blocker: Account, blocked: Account) -> None:
    r = await client.post(
        "/api/v1/blocks", json={"user_id": str(blocked.id)}, headers=blocker.headers
    )
    assert r.status_code == 201, r.text


async def send_dm(
    client: httpx.AsyncClient,
    sender: Account,
    to: Account,
    text: str = "hi",
    client_msg_id: str | None = None,
    reply_to_id: int | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {
        "to_user_id": str(to.id),
        "client_msg_id": client_msg_id or uuid.uuid4().hex,
        "text": text,
    }
    if reply_to_id is not None:
        body["reply_to_id"] = reply_to_id
    return await client.post("/api/v1/messages", json=body, headers=sender.headers)


def ids(page: dict[str, Any]) -> list[Any]:
    return [item["id"] for item in page["items"]]


async def accounts(ctx: Context, client: httpx.AsyncClient, n: int, **kw: Any) -> list[Account]:
    from tests.factories import make_account

    return [await make_account(ctx, client, **kw) for _ in range(n)]


async def bulk_users(ctx: Context, n: int) -> list[uuid.UUID]:
    """Many users at once for load tests (no password: they never log in)."""
    from models.accounts.tables import User

    async with transaction(ctx.sessions) as session:
        users = []
        for _ in range(n):
            tag = uuid.uuid4().hex[:12]
            users.append(
                User(email=f"bulk{tag}@example.com", username=f"b{tag}", password_hash="!")
            )
        session.add_all(users)
    return [u.id for u in users]


async def notifications(client: httpx.AsyncClient, who: Account) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", headers=who.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def dm_received(rec: Recorder, pred: Any, timeout: float) -> dict[str, Any]:
    """The newest `dm:message` the socket heard that `pred` accepts, waiting up to `timeout`."""

    async def wait() -> dict[str, Any]:
        while True:
            for item in reversed(rec.events["dm:message"]):
                if pred(item):
                    return dict(item)
            await asyncio.sleep(0.01)

    return await asyncio.wait_for(wait(), timeout)
