"""Sign-in on a TV (RFC 8628): the code rules, the endpoints in process, and authlib, a
standard OAuth client library, playing the TV against a real server process. (The page where
the user enters the code is the web app's: tests/web/test_device_and_undo.py.)"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterator
from typing import Any

import authlib.deprecate  # installs an "always" filter for its warnings: ours goes after
import httpx
import pytest

with warnings.catch_warnings():
    # authlib asks for httpx2, a fork we do not use; its httpx client is the one it tests.
    warnings.simplefilter("ignore", authlib.deprecate.AuthlibDeprecationWarning)
    from authlib.integrations.base_client import OAuthError
    from authlib.integrations.httpx_client import AsyncOAuth2Client

from cinema.ports import free_port
from models.accounts.device_grant import (
    DEVICE_CODE_GRANT,
    USER_CODE_ALPHABET,
    format_user_code,
    new_user_code,
    normalize_user_code,
)
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, login, make_account, make_user, random_ip

TOKEN = "/api/v1/oauth/token"
DEVICE = "/api/v1/oauth/device_authorization"


def test_user_codes_are_short_unambiguous_and_forgiving() -> None:
    codes = {new_user_code() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
    assert not set(USER_CODE_ALPHABET) & set("AEIOUY01")  # no vowels (no words), no digits
    code = "BCDFGHJK"
    assert format_user_code(code) == "BCDF-GHJK"
    for typed in ("BCDF-GHJK", "bcdf ghjk", " bcdfghjk ", "bcd-fgh-jk"):
        assert normalize_user_code(typed) == code
    for wrong in ("BCDF-GHJ", "BCDF-GHJKL", "ABCD-EFGH", "BCDF-GHJ0", ""):
        assert normalize_user_code(wrong) is None


async def _device(client: httpx.AsyncClient, **form: str) -> dict[str, Any]:
    r = await client.post(DEVICE, data={"client_id": "tv-app", **form})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body: dict[str, Any] = r.json()
    return body


async def _poll(client: httpx.AsyncClient, device_code: str, client_id: str = "tv-app") -> Any:
    return await client.post(
        TOKEN,
        data={"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": client_id},
    )


def _oauth_error(r: httpx.Response) -> str:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"error", "error_description"}, body  # OAuth's shape, not ours
    return str(body["error"])


async def test_device_flow_in_process(client: httpx.AsyncClient, ctx: Context) -> None:
    user = await make_account(ctx, client)
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["device_authorization_endpoint"] == "http://testserver" + DEVICE
    assert meta["token_endpoint"] == "http://testserver" + TOKEN
    assert DEVICE_CODE_GRANT in meta["grant_types_supported"]

    d = await _device(client, device_name="Living room TV")
    assert d["verification_uri"] == "http://testserver/device"
    assert d["verification_uri_complete"] == f"http://testserver/device?user_code={d['user_code']}"
    assert d["interval"] == 5 and 0 < d["expires_in"] <= 600
    assert _oauth_error(await _poll(client, d["device_code"])) == "authorization_pending"
    # polled again at once: slow_down
    assert _oauth_error(await _poll(client, d["device_code"])) == "slow_down"
    # another client's poll with this code learns nothing
    assert _oauth_error(await _poll(client, d["device_code"], "other-tv")) == "invalid_grant"

    look = await client.post(
        "/api/v1/auth/device/lookup",
        json={"user_code": d["user_code"].lower().replace("-", " ")},
        headers=user.headers,
    )
    assert look.status_code == 200, look.text
    assert look.json()["device_name"] == "Living room TV"
    assert look.json()["client_id"] == "tv-app"
    ok = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": d["user_code"], "decision": "approve"},
        headers=user.headers,
    )
    assert ok.status_code == 200 and ok.json()["status"] == "approved", ok.text
    # the code is used up: a second approval finds nothing
    again = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": d["user_code"], "decision": "approve"},
        headers=user.headers,
    )
    assert again.status_code == 404 and again.json()["error"]["code"] == "device_code_not_found"

    r = await _poll(client, d["device_code"])
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"].lower() == "bearer" and tokens["refresh_token"]
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["id"] == str(user.id)
    sessions = (await client.get("/api/v1/auth/sessions", headers=user.headers)).json()
    assert "Living room TV" in {s["user_agent"] for s in sessions}
    # one device code, one session
    assert _oauth_error(await _poll(client, d["device_code"])) == "invalid_grant"

    denied = await _device(client)
    r = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": denied["user_code"], "decision": "deny"},
        headers=user.headers,
    )
    assert r.json()["status"] == "denied"
    assert _oauth_error(await _poll(client, denied["device_code"])) == "access_denied"


async def test_token_endpoint_speaks_oauth_errors(client: httpx.AsyncClient) -> None:
    r = await client.post(TOKEN, data={"grant_type": "password", "username": "x"})
    assert _oauth_error(r) == "unsupported_grant_type"
    assert _oauth_error(await client.post(TOKEN, data={})) == "invalid_request"
    r = await client.post(TOKEN, data={"grant_type": DEVICE_CODE_GRANT, "client_id": "tv"})
    assert _oauth_error(r) == "invalid_request"  # no device_code
    assert _oauth_error(await _poll(client, "made-up")) == "invalid_grant"
    r = await client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": "x.y.z"})
    assert _oauth_error(r) == "invalid_grant"
    r = await client.post(DEVICE, data={})
    assert _oauth_error(r) == "invalid_request"  # no client_id
    r = await client.post(DEVICE, data={"client_id": "tv app!"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_guessing_user_codes_is_rate_limited(client: httpx.AsyncClient, ctx: Context) -> None:
    guesser = await make_account(ctx, client)
    d = await _device(client)
    statuses = []
    for i in range(21):
        r = await client.post(
            "/api/v1/auth/device/lookup",
            json={"user_code": f"BCDF-GH{USER_CODE_ALPHABET[i % 20]}{USER_CODE_ALPHABET[i // 20]}"},
            headers={**guesser.headers, "X-Forwarded-For": random_ip()},
        )
        statuses.append(r.status_code)
    assert statuses[:20].count(404) >= 19 and statuses[20] == 429
    # past the limit even the right code is refused: the limit is no oracle
    r = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": d["user_code"], "decision": "approve"},
        headers=guesser.headers,
    )
    assert r.status_code == 429 and "Retry-After" in r.headers
    # and the owner of the TV, elsewhere, is not locked out by the guesser
    owner = await make_account(ctx, client)
    r = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": d["user_code"], "decision": "approve"},
        headers={**owner.headers, "X-Forwarded-For": random_ip()},
    )
    assert r.status_code == 200, r.text


# ---- authlib as the TV, against a real server process ----

TV_ENV = {"DEVICE_POLL_INTERVAL_S": "1", "DEVICE_CODE_TTL_S": "6"}


@pytest.fixture(scope="module")
def tv_server(settings: Settings, database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(settings, free_port(), TV_ENV)
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


async def _approve(url: str, person: Account, user_code: str, decision: str = "approve") -> None:
    async with httpx.AsyncClient(base_url=url) as web:
        r = await web.post(
            "/api/v1/auth/device/approve",
            json={"user_code": user_code, "decision": decision},
            headers=person.headers,
        )
        assert r.status_code == 200, r.text


async def _metadata(tv: AsyncOAuth2Client, url: str) -> dict[str, Any]:
    r = await tv.request(
        "GET", f"{url}/.well-known/oauth-authorization-server", withhold_token=True
    )
    meta: dict[str, Any] = r.json()
    return meta


async def _start(tv: AsyncOAuth2Client, meta: dict[str, Any]) -> dict[str, Any]:
    r = await tv.request(
        "POST",
        meta["device_authorization_endpoint"],
        data={"client_id": tv.client_id},
        withhold_token=True,
    )
    assert r.status_code == 200, r.text
    start: dict[str, Any] = r.json()
    return start


def _tv() -> AsyncOAuth2Client:
    return AsyncOAuth2Client(client_id="living-room-tv", token_endpoint_auth_method="none")


async def _wait_for_token(
    tv: AsyncOAuth2Client, meta: dict[str, Any], start: dict[str, Any]
) -> tuple[dict[str, Any] | None, list[str]]:
    """Poll as RFC 8628 §3.5 says: every `interval`, 5 s more after slow_down."""
    interval: int = start["interval"]
    seen: list[str] = []
    for _ in range(30):
        try:
            token = await tv.fetch_token(
                meta["token_endpoint"],
                grant_type=DEVICE_CODE_GRANT,
                device_code=start["device_code"],
            )
            return dict(token), seen
        except OAuthError as exc:
            seen.append(str(exc.error))
            if exc.error == "slow_down":
                interval += 5
            elif exc.error != "authorization_pending":
                return None, seen
        await asyncio.sleep(interval)
    return None, seen


@pytest.mark.slow
async def test_authlib_tv_signs_in_refreshes_and_hears_each_outcome(
    ctx: Context, tv_server: LiveServer
) -> None:
    url = tv_server.url
    user = await make_user(ctx)
    async with httpx.AsyncClient(base_url=url) as web:
        tokens = await login(web, user.email)
    person = Account(user, "", tokens["access_token"], tokens["refresh_token"])

    async with _tv() as tv:
        meta = await _metadata(tv, url)
        assert meta["issuer"] == url
        start = await _start(tv, meta)
        assert start["interval"] == 1 and start["verification_uri"] == f"{url}/device"

        async def approve_later() -> None:
            await asyncio.sleep(1.5)
            await _approve(url, person, start["user_code"])

        approving = asyncio.create_task(approve_later())
        token, seen = await _wait_for_token(tv, meta, start)
        await approving
        assert token is not None, seen
        assert seen and set(seen) <= {"authorization_pending", "slow_down"}
        me = await tv.get(f"{url}/api/v1/me")  # authlib sends its bearer token
        assert me.status_code == 200 and me.json()["id"] == str(user.id)
        # authlib renews at the token endpoint with the refresh token
        renewed = await tv.refresh_token(meta["token_endpoint"])
        assert renewed["access_token"] != token["access_token"]
        assert (await tv.get(f"{url}/api/v1/me")).status_code == 200

    async with _tv() as tv:
        start = await _start(tv, meta)
        await _approve(url, person, start["user_code"], "deny")
        token, seen = await _wait_for_token(tv, meta, start)
        assert token is None and seen[-1] == "access_denied"

    async with _tv() as tv:
        start = await _start(tv, meta)
        assert start["expires_in"] <= 6
        token, seen = await _wait_for_token(tv, meta, start)  # nobody approves
        assert token is None and seen[-1] == "expired_token", seen
        assert set(seen[:-1]) <= {"authorization_pending"}
