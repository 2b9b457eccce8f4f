from __future__ import annotations

import asyncio

import httpx
import pytest
import socketio

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import login, make_account, make_user
from tests.realtime_client import connected

pytestmark = pytest.mark.slow  # every test here starts server processes


async def test_socket_connects_with_token_and_acks_everything(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    acct = await make_account(ctx, client)
    async with connected(live_server.url, acct.access_token) as sock:
        who = await sock.call("session:whoami", {})
        assert who == {
            "ok": True,
            "data": {
                "user_id": str(acct.id),
                "session_id": who["data"]["session_id"],
                "role": "user",
            },
        }
        unknown = await sock.call("no:such:event", {"x": 1})
        assert unknown["ok"] is False and unknown["error"]["code"] == "unknown_event"
        bad = await sock.call("session:whoami", {"unexpected": True})
        assert bad["ok"] is False and bad["error"]["code"] == "invalid_payload"
        assert bad["error"]["details"][0]["loc"] == ["unexpected"]
        wrong_type = await sock.call("ping", "not an object")
        assert wrong_type["ok"] is False and wrong_type["error"]["code"] == "invalid_payload"
        # still healthy after all that
        pong = await sock.call("ping", {})
        assert pong["ok"] is True and pong["data"]["server_ms"] > 0


@pytest.mark.parametrize(
    ("auth", "code"),
    [
        (None, "missing_token"),
        ({"token": ""}, "missing_token"),
        ({"token": "garbage"}, "invalid_token"),
        ({"nope": 1}, "missing_token"),
    ],
)
async def test_bad_tokens_are_refused_with_a_reason(
    live_server: LiveServer, auth: object, code: str
) -> None:
    sio = socketio.AsyncClient(reconnection=False)
    errors: list[object] = []
    sio.on("connect_error", lambda data: errors.append(data))
    with pytest.raises(socketio.exceptions.ConnectionError):
        await sio.connect(live_server.url, auth=auth, transports=["websocket"], wait_timeout=5)
    assert errors, "no connect_error received"
    data = errors[0]
    assert isinstance(data, dict) and data["data"]["code"] == code, data


async def test_expired_and_refresh_tokens_are_refused(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    from datetime import timedelta

    from models.accounts import tokens
    from models.core.clock import now

    acct = await make_account(ctx, client)
    session_id = (await client.get("/api/v1/auth/sessions", headers=acct.headers)).json()[0]["id"]
    expired, _ = tokens.encode(
        ctx.settings.secret,
        typ="access",
        user_id=str(acct.id),
        session_id=session_id,
        now=now() - timedelta(hours=1),
        ttl_s=60,
    )
    for token, code in ((expired, "token_expired"), (acct.refresh_token, "invalid_token")):
        sio = socketio.AsyncClient(reconnection=False)
        errors: list[dict[str, dict[str, str]]] = []
        sio.on("connect_error", lambda data, errors=errors: errors.append(data))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await sio.connect(live_server.url, auth={"token": token}, transports=["websocket"])
        assert errors[0]["data"]["code"] == code


async def test_revoked_session_socket_is_disconnected_on_every_process(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    user = await make_user(ctx)
    tokens = await login(client, user.email)
    keeper = await login(client, user.email)
    a, b = two_servers
    async with (
        connected(a.url, tokens["access_token"]) as on_a,
        connected(b.url, tokens["access_token"]) as on_b,
        connected(b.url, keeper["access_token"]) as other_session,
    ):
        r = await client.post(
            "/api/v1/auth/logout", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert r.status_code == 204
        await asyncio.wait_for(on_a.disconnected.wait(), 10)
        await asyncio.wait_for(on_b.disconnected.wait(), 10)
        assert other_session.client.connected
        assert (await other_session.call("ping", {}))["ok"] is True


async def test_refresh_reuse_disconnects_the_sessions_sockets(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    acct = await make_account(ctx, client)

    async def refresh(token: str) -> httpx.Response:
        return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})

    async with connected(live_server.url, acct.access_token) as sock:
        r1 = await refresh(acct.refresh_token)
        assert r1.status_code == 200
        # A retry within the grace window (the answer was lost) leaves the session alone.
        assert (await refresh(acct.refresh_token)).status_code == 200
        assert (await sock.call("ping", {}))["ok"] is True
        assert (await refresh(r1.json()["refresh_token"])).status_code == 200
        r3 = await refresh(acct.refresh_token)  # two rotations back: reuse
        assert r3.status_code == 401 and r3.json()["error"]["code"] == "refresh_token_reused"
        await asyncio.wait_for(sock.disconnected.wait(), 10)


async def test_a_job_reaches_sockets_on_other_processes(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """The worker (this process) emits through the write-only Redis manager."""
    acct = await make_account(ctx, client)
    a, b = two_servers
    async with (
        connected(a.url, acct.access_token) as on_a,
        connected(b.url, acct.access_token) as on_b,
    ):
        r = await client.patch("/api/v1/me", json={"display_name": "Zoe"}, headers=acct.headers)
        assert r.status_code == 200
        for sock in (on_a, on_b):
            got = await sock.wait_event("account:updated")
            assert got[0]["display_name"] == "Zoe" and got[0]["id"] == str(acct.id)


async def test_event_floods_get_rate_limited_acks(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    acct = await make_account(ctx, client)
    async with connected(live_server.url, acct.access_token) as sock:
        acks = await asyncio.gather(*(sock.call("ping", {}) for _ in range(240)))
        limited = [a for a in acks if not a["ok"]]
        assert limited, "a burst of 240 events should exceed the per-socket budget"
        assert all(a["error"]["code"] == "rate_limited" for a in limited)
        assert limited[0]["error"]["details"]["retry_after"] >= 1
        await asyncio.sleep(1.0)
        assert (await sock.call("ping", {}))["ok"] is True
