"""Party fixtures: two real server processes with short party timers, titles, accounts; the
browser party tests' page server and video."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

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


@pytest.fixture(scope="session")
def video_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A 30 s WebM served with byte ranges, which the browser party tests' pages play."""
    folder = tmp_path_factory.mktemp("video")
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=30:size=160x120:rate=25",
            "-c:v",
            "libvpx",
            "-b:v",
            "100k",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-g",
            "25",
            str(folder / "film.webm"),
        ],
        check=True,
        timeout=100,
    )
    # Starlette's static files answer byte ranges, which a <video> needs to seek.
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            Starlette(routes=[Mount("/", StaticFiles(directory=folder))]),
            host="127.0.0.1",
            port=port,
            log_level="warning",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/film.webm"
    server.should_exit = True
    thread.join(10)


def page_process(settings: Settings, **env: str) -> LiveServer:
    """`cinema serve` whose CORS list has its own origin (browsers send Origin on WebSockets)."""
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    return LiveServer(settings, port, {"CORS_ORIGINS": json.dumps([origin]), **PARTY_ENV, **env})


@pytest.fixture(scope="session")
def page_server(settings: Settings, database_url: str) -> Iterator[str]:
    """A `cinema serve` serving the reference client's page, up for the run's browser party
    tests (test_browser_client, test_browser_queue_catch_up): none stops it."""
    server = page_process(settings)
    try:
        server.wait_ready()
        yield server.url
    finally:
        server.stop()
