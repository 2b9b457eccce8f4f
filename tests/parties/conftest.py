"""Party fixtures: two real server processes with short party timers, titles, accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from cinema.ports import free_port
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, make_account, make_title
from tests.realtime_client import Recorder, connected

# Short enough for tests to watch them pass, long enough for a reconnect to beat them.
GRACE_S = 2.0
WAIT_TIMEOUT_S = 1.5
PARTY_ENV = {
    "PARTY_GRACE_S": str(GRACE_S),
    "PARTY_WAIT_TIMEOUT_S": str(WAIT_TIMEOUT_S),
    "PARTY_CHAT_LIMIT": "5",
    "PARTY_CHAT_WINDOW_S": "60",
}


@pytest.fixture(scope="session")
def party_servers(settings: Settings, database_url: str) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two `cinema serve` processes sharing PostgreSQL and Redis, with short party timers."""
    servers = (
        LiveServer(settings, free_port(), PARTY_ENV),
        LiveServer(settings, free_port(), PARTY_ENV),
    )
    try:
        for s in servers:
            s.wait_ready()
        yield servers
    finally:
        for s in servers:
            s.stop()


@pytest.fixture
async def title_id(ctx: Context) -> int:
    return (await make_title(ctx, "The Party Film", runtime_minutes=120)).id


class Members:
    """Accounts connected to chosen servers; closed at the end of the test."""

    def __init__(self, ctx: Context, client: httpx.AsyncClient, stack: AsyncExitStack) -> None:
        self.ctx = ctx
        self.client = client
        self.stack = stack

    async def account(self) -> Account:
        return await make_account(self.ctx, self.client)

    async def connect(self, server: LiveServer, account: Account | None = None) -> Recorder:
        account = account or await self.account()
        rec = await self.stack.enter_async_context(connected(server.url, account.access_token))
        rec.account = account  # type: ignore[attr-defined]
        return rec


@pytest.fixture
async def members(ctx: Context, client: httpx.AsyncClient) -> AsyncIterator[Members]:
    async with AsyncExitStack() as stack:
        yield Members(ctx, client, stack)


def uid(rec: Recorder) -> str:
    return str(rec.account.id)  # type: ignore[attr-defined]


async def ok(rec: Recorder, event: str, data: object) -> Any:
    ack = await rec.call(event, data)
    assert ack["ok"], (event, ack)
    return ack["data"]


async def err(rec: Recorder, event: str, data: object) -> str:
    ack = await rec.call(event, data)
    assert not ack["ok"], (event, ack)
    code: str = ack["error"]["code"]
    return code
