"""Delivery: Web Push through a local push service that decrypts like a browser, and live
events sent by a job reaching a socket held by another server process."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from models.core.context import Context
from models.core.jobs import Job
from models.notifications.push import application_server_key
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.notifications.helpers import eventually, make_actors, notify, notify_many
from tests.notifications.push_endpoint import LocalPushService
from tests.realtime_client import connected


@pytest.fixture
async def push_service(ctx: Context) -> AsyncIterator[LocalPushService]:
    service = LocalPushService(application_server_key(ctx.settings))
    await service.start()
    yield service
    await service.stop()


async def test_push_is_encrypted_for_the_device_and_dead_subscriptions_are_pruned(
    ctx: Context, client: httpx.AsyncClient, push_service: LocalPushService
) -> None:
    me = await make_account(ctx, client)
    r = await client.get("/api/v1/push/vapid-public-key")
    assert r.json()["public_key"] == push_service.vapid_public_key
    phone, laptop = push_service.device(), push_service.device()
    for device in (phone, laptop):
        r = await client.post(
            "/api/v1/push/subscriptions",
            json={**device.subscription(push_service.origin), "user_agent": "test"},
            headers=me.headers,
        )
        assert r.status_code == 201, r.text
    # Registering again is idempotent.
    r = await client.post(
        "/api/v1/push/subscriptions",
        json=phone.subscription(push_service.origin),
        headers=me.headers,
    )
    assert r.status_code == 201
    assert len((await client.get("/api/v1/push/subscriptions", headers=me.headers)).json()) == 2

    (ann,) = await make_actors(ctx, 1)
    found = await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=ann.id)
    assert found is not None
    await eventually(lambda: len(phone.received) == 1 and len(laptop.received) == 1)
    payload = phone.received[0]
    assert payload["body"] == f"{ann.username} sent you a friend request"
    assert payload["data"]["id"] == found.id
    assert payload["data"]["cursor"] == found.seq
    got = push_service.received[0]
    assert got.claims["sub"] == ctx.settings.vapid_subject
    assert int(got.headers["ttl"]) > 0 and got.headers["topic"] == f"n{found.id}"
    assert push_service.rejected == []

    # The laptop's browser dropped the subscription: the push service answers 410.
    laptop.gone = True
    await notify(ctx, user_id=me.id, type="friend_accepted", data={}, actor_id=ann.id)
    await eventually(lambda: len(phone.received) == 2)

    async def pruned() -> bool:
        r = await client.get("/api/v1/push/subscriptions", headers=me.headers)
        return [s["endpoint"] for s in r.json()] == [
            phone.subscription(push_service.origin)["endpoint"]
        ]

    await eventually(pruned)


async def test_push_registration_is_checked(
    ctx: Context, client: httpx.AsyncClient, push_service: LocalPushService
) -> None:
    me = await make_account(ctx, client)
    other = await make_account(ctx, client)
    sub = push_service.device().subscription(push_service.origin)
    # Our server POSTs to the endpoint: only known push services, never an internal URL.
    for endpoint in ("http://10.0.0.1/push/x", "https://evil.example/push", "ftp://127.0.0.1/x"):
        r = await client.post(
            "/api/v1/push/subscriptions", json={**sub, "endpoint": endpoint}, headers=me.headers
        )
        assert r.status_code == 422, endpoint
        assert r.json()["error"]["code"] == "invalid_push_endpoint"
    r = await client.post(
        "/api/v1/push/subscriptions",
        json={**sub, "keys": {"p256dh": "short", "auth": sub["keys"]["auth"]}},
        headers=me.headers,
    )
    assert r.status_code == 422
    r = await client.post("/api/v1/push/subscriptions", json=sub)
    assert r.status_code == 401
    r = await client.post("/api/v1/push/subscriptions", json=sub, headers=me.headers)
    sub_id = r.json()["id"]
    r = await client.delete(f"/api/v1/push/subscriptions/{sub_id}", headers=other.headers)
    assert r.status_code == 404
    r = await client.delete(f"/api/v1/push/subscriptions/{sub_id}", headers=me.headers)
    assert r.status_code == 204


@pytest.mark.slow
async def test_a_jobs_live_event_reaches_a_socket_on_another_process(
    ctx: Context,
    client: httpx.AsyncClient,
    two_servers: tuple[LiveServer, LiveServer],
    push_service: LocalPushService,
) -> None:
    online = await make_account(ctx, client)
    offline = await make_account(ctx, client)
    device = push_service.device()
    await client.post(
        "/api/v1/push/subscriptions",
        json=device.subscription(push_service.origin),
        headers=offline.headers,
    )
    async with connected(two_servers[1].url, online.access_token) as sock:
        # The fan-out runs in the arq worker, whose publisher is python-socketio's
        # write-only Redis manager; the socket is held by another server process.
        await ctx.jobs.enqueue(
            Job.fan_out_notification,
            user_ids=[str(online.id), str(offline.id)],
            type="new_release",
            data={"title_id": 1, "title": "Dune"},
            dedupe_key="new_release:t1",
        )
        (event,) = await sock.wait_event("notification")
        assert event["stream"] == "notifications"
        assert event["notification"]["text"] == "New release: Dune"
        assert event["cursor"] == event["notification"]["cursor"] == 1
        # The one not connected gets a push instead.
        await eventually(lambda: len(device.received) == 1)
        assert device.received[0]["body"] == "New release: Dune"
        # Once per user and title, however often it runs.
        assert (
            await notify_many(
                ctx,
                [online.id, offline.id],
                type="new_release",
                data={"title_id": 1, "title": "Dune"},
                dedupe_key="new_release:t1",
            )
            == []
        )
        assert len(sock.events["notification"]) == 1
