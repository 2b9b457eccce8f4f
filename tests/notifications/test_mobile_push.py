"""Phones and tablets: FCM HTTP v1 and APNs (HTTP/2, token auth) beside Web Push, against
local servers that speak each provider's documented protocol; dead tokens are removed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from pydantic import SecretStr

from models.core.context import Context
from tests.factories import Account, make_account
from tests.notifications.helpers import eventually, make_actors, notify
from tests.notifications.mobile_endpoints import LocalApns, LocalFcm


@pytest.fixture
async def providers(
    ctx: Context, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[LocalFcm, LocalApns]]:
    fcm, apns = LocalFcm(), LocalApns(tmp_path)
    await fcm.start()
    await apns.start()
    # The worker shares this Settings object: point it at the local providers.
    s = ctx.settings
    monkeypatch.setattr(s, "fcm_service_account_json", SecretStr(fcm.service_account()))
    monkeypatch.setattr(s, "fcm_url", fcm.origin)
    monkeypatch.setattr(s, "apns_url", apns.origin)
    monkeypatch.setattr(s, "apns_ca_file", apns.ca_file)
    monkeypatch.setattr(s, "apns_key_id", apns.key_id)
    monkeypatch.setattr(s, "apns_team_id", apns.team_id)
    monkeypatch.setattr(s, "apns_topic", apns.topic)
    monkeypatch.setattr(s, "apns_private_key", SecretStr(apns.private_key_pem))
    try:
        yield fcm, apns
    finally:
        await fcm.stop()
        await apns.stop()


def _fcm_token() -> str:
    return f"{secrets.token_urlsafe(11)}:APA91b{secrets.token_urlsafe(100)}"


def _apns_token() -> str:
    return secrets.token_hex(32)


async def _register(
    client: httpx.AsyncClient, who: Account, platform: str, token: str, **extra: Any
) -> dict[str, Any]:
    r = await client.put(
        "/api/v1/push/devices",
        json={"platform": platform, "token": token, **extra},
        headers=who.headers,
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def test_registry_register_refresh_delete(ctx: Context, client: httpx.AsyncClient) -> None:
    me, other = await make_account(ctx, client), await make_account(ctx, client)
    token = _fcm_token()
    first = await _register(client, me, "fcm", token, app_version="2.1.0", locale="de-DE")
    assert first["app_version"] == "2.1.0" and first["locale"] == "de-DE"
    again = await _register(client, me, "fcm", token, app_version="2.2.0")
    assert again["id"] == first["id"] and again["app_version"] == "2.2.0"
    assert again["last_seen_at"] >= first["last_seen_at"]
    # The phone signed in as someone else: the token moves.
    moved = await _register(client, other, "fcm", token)
    assert moved["id"] == first["id"]
    assert (await client.get("/api/v1/push/devices", headers=me.headers)).json() == []
    for bad in (
        {"platform": "apns", "token": "not-hex-" * 8},
        {"platform": "fcm", "token": "short"},
        {"platform": "webos", "token": _fcm_token()},
        {"platform": "fcm", "token": _fcm_token(), "locale": "not a locale"},
    ):
        r = await client.put("/api/v1/push/devices", json=bad, headers=me.headers)
        assert r.status_code == 422, (bad, r.text)
    stolen = await client.delete(f"/api/v1/push/devices/{first['id']}", headers=me.headers)
    assert stolen.status_code == 404
    gone = await client.delete(f"/api/v1/push/devices/{first['id']}", headers=other.headers)
    assert gone.status_code == 204
    assert (await client.get("/api/v1/push/devices", headers=other.headers)).json() == []


async def test_fcm_and_apns_deliver_and_dead_tokens_are_removed(
    ctx: Context, client: httpx.AsyncClient, providers: tuple[LocalFcm, LocalApns]
) -> None:
    fcm, apns = providers
    me = await make_account(ctx, client)
    android, iphone, ipad = _fcm_token(), _apns_token(), _apns_token()
    await _register(client, me, "fcm", android, app_version="3.0", locale="en")
    await _register(client, me, "apns", iphone)
    await _register(client, me, "apns", ipad)
    (ann,) = await make_actors(ctx, 1)

    found = await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=ann.id)
    assert found is not None
    await eventually(lambda: len(fcm.sent) == 1 and len(apns.sent) == 2)
    text = f"{ann.username} sent you a friend request"

    # FCM HTTP v1: the OAuth2 token was bought with a service-account JWT; the message.
    assert fcm.rejected == [] and fcm.token_requests == 1 and fcm.sent[0].project == fcm.project
    message = fcm.sent[0].message
    assert message["token"] == android
    assert message["notification"] == {"title": "Cinema", "body": text}
    assert message["data"]["id"] == str(found.id) and message["data"]["type"] == "friend_request"
    assert all(isinstance(v, str) for v in message["data"].values())
    assert message["android"]["collapse_key"] == f"n{found.id}"
    assert message["android"]["ttl"] == "86400s"
    assert message["android"]["notification"]["notification_count"] == 1  # the unread count

    # APNs: HTTP/2, token auth, topic, push type, collapse id, expiration, badge.
    assert apns.rejected == []
    got = {s.token: s for s in apns.sent}
    assert set(got) == {iphone, ipad}
    sent = got[iphone]
    assert sent.http_version == "2"
    assert sent.headers["apns-topic"] == apns.topic
    assert sent.headers["apns-push-type"] == "alert"
    assert sent.headers["apns-collapse-id"] == f"n{found.id}"
    assert int(sent.headers["apns-expiration"]) > 0
    header = jwt.get_unverified_header(sent.headers["authorization"].split(" ", 1)[1])
    assert header == {"alg": "ES256", "kid": apns.key_id, "typ": "JWT"}
    assert sent.body["aps"]["alert"] == {"title": "Cinema", "body": text}
    assert sent.body["aps"]["badge"] == 1
    assert sent.body["id"] == str(found.id)

    # The next one: the badge counts two unread, the access and provider tokens are reused.
    await notify(ctx, user_id=me.id, type="friend_accepted", data={}, actor_id=ann.id)
    await eventually(lambda: len(fcm.sent) == 2 and len(apns.sent) == 4)
    assert fcm.sent[1].message["android"]["notification"]["notification_count"] == 2
    assert apns.sent[-1].body["aps"]["badge"] == 2
    assert fcm.token_requests == 1 and len(apns.provider_tokens) == 1

    # Read on the web: the phones' badges drop to 0 (no alert, no sound).
    r = await client.post("/api/v1/notifications/read-all", json={}, headers=me.headers)
    assert r.status_code == 200, r.text
    await eventually(lambda: len(fcm.sent) == 3 and len(apns.sent) == 6)
    badge = fcm.sent[2].message
    assert "notification" not in badge and badge["data"] == {"type": "unread", "unread": "0"}
    assert badge["android"]["collapse_key"] == "unread"
    quiet = apns.sent[-1]
    assert quiet.body["aps"] == {"badge": 0} and quiet.headers["apns-priority"] == "5"
    assert quiet.headers["apns-collapse-id"] == "unread"

    # FCM revoked our access token: a 401 buys a new one and the send goes through.
    fcm.access_tokens.clear()
    # The app was uninstalled (FCM 404 UNREGISTERED, APNs 410), or the token is bad (400).
    fcm.unregistered.add(android)
    apns.unregistered.add(iphone)
    apns.bad.add(ipad)
    await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=ann.id)

    async def removed() -> bool:
        r = await client.get("/api/v1/push/devices", headers=me.headers)
        return bool(r.json() == [])

    await eventually(removed)
    assert fcm.token_requests == 2


async def test_unconfigured_providers_keep_devices(ctx: Context, client: httpx.AsyncClient) -> None:
    """Without FCM or APNs credentials nothing is sent and no device is dropped."""
    assert ctx.settings.fcm_service_account_json is None
    me = await make_account(ctx, client)
    await _register(client, me, "fcm", _fcm_token())
    (ann,) = await make_actors(ctx, 1)
    found = await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=ann.id)
    assert found is not None

    async def delivered() -> bool:
        async with ctx.sessions() as session:
            from models.notifications.tables import Notification

            row = await session.get(Notification, found.id)
            return row is not None and row.delivered_at is not None

    await eventually(delivered)
    assert len((await client.get("/api/v1/push/devices", headers=me.headers)).json()) == 1
