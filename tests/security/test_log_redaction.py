"""Finding 8: whoever reads our logs must not find working media grants or mailed tokens."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid

import httpx
import pytest
import websockets

from cinema.logsetup import redact
from models.core.settings import Settings
from models.media import signing
from tests.conftest import LiveServer


@pytest.mark.slow  # a real server process: its app.log is what we read
async def test_logs_keep_no_media_grant_or_token(
    settings: Settings, live_server: LiveServer
) -> None:
    """Request logs carried /media/<grant>/…: a playback URL anyone reading the log could
    replay for hours. The grant's signature and tokens in queries are redacted."""
    grant = signing.sign(
        signing.media_key(settings.secret),
        prefix="424242/r1",
        user_id=uuid.uuid4(),
        expires=int(time.time()) + 3600,
    )
    signature = grant.rsplit(".", 1)[1]
    token = secrets.token_urlsafe(32)
    async with httpx.AsyncClient(base_url=live_server.url) as http:
        await http.get(f"/media/{grant}/424242/r1/master.m3u8")
        await http.get("/api/v1/auth/confirm", params={"token": token})
    # A client that puts a token in the socket's query (some do) is logged by uvicorn.
    ws_token = secrets.token_urlsafe(32)
    port = live_server.url.rsplit(":", 1)[1]
    ws_url = f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket&token={ws_token}"
    async with websockets.connect(ws_url) as ws:
        await ws.recv()
    log_file = settings.log_dir / "app.log"
    marker = f"/media/{grant.rsplit('.', 1)[0]}."
    deadline = time.monotonic() + 20
    while marker not in log_file.read_text(errors="replace") and time.monotonic() < deadline:
        await asyncio.sleep(0.1)
    text = log_file.read_text(errors="replace")
    assert marker in text, "the media request was logged (with its grant redacted)"
    assert signature not in text
    assert token not in text and ws_token not in text


def test_redact() -> None:
    g = "18c0ffee." + "a" * 32 + "." + "S" * 22
    assert redact(f"GET /media/{g}/1/r2/v0/seg-1.m4s 200") == (
        f"GET /media/18c0ffee.{'a' * 32}.<redacted>/1/r2/v0/seg-1.m4s 200"
    )
    assert redact("GET /media/whatever-it-is/1/r2/x") == "GET /media/<redacted>/1/r2/x"
    assert redact('"WebSocket /socket.io/?EIO=4&token=abc.def&x=1"') == (
        '"WebSocket /socket.io/?EIO=4&token=<redacted>&x=1"'
    )
    assert redact("/reset-password?token=s3cr3t") == "/reset-password?token=<redacted>"
    assert redact("/api/v1/titles/5/media/source?filename=a.mkv") == (
        "/api/v1/titles/5/media/source?filename=a.mkv"
    )
