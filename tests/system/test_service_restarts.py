"""The server rides out a PostgreSQL restart and a Redis restart: clear 503s while a service
is away, then everything works again without restarting the server."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import httpx
import pytest

from cinema import migrate
from cinema.embedded import start_postgres, start_redis
from cinema.ports import free_port
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.realtime_client import connected

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_server_rides_out_postgres_and_redis_restarts(
    settings: Settings, tmp_path: Path
) -> None:
    pgdata, redis_dir = tmp_path / "pg", tmp_path / "redis"
    db_url, stop_pg = await asyncio.to_thread(start_postgres, pgdata, "cinema")
    redis_url, stop_redis = await asyncio.to_thread(start_redis, redis_dir)
    assert stop_redis is not None
    servers: list[LiveServer] = []
    try:
        await asyncio.to_thread(migrate.upgrade, db_url)
        own = settings.model_copy(update={"database_url": db_url, "redis_url": redis_url})
        servers = [LiveServer(own, free_port()), LiveServer(own, free_port())]
        for server in servers:
            await asyncio.to_thread(server.wait_ready)
        a, b = servers
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
            name = "u" + uuid.uuid4().hex[:12]
            r = await api.post(
                "/api/v1/auth/register",
                json={"email": f"{name}@example.com", "username": name, "password": "a long pass"},
            )
            assert r.status_code == 202, r.text
            r = await api.post(
                "/api/v1/auth/token",
                data={"username": name, "password": "a long pass", "grant_type": "password"},
            )
            token = r.json()["access_token"]
            me = {"Authorization": f"Bearer {token}"}
            assert (await api.get("/api/v1/me", headers=me)).status_code == 200

            # PostgreSQL goes away: a clear, retryable answer, not a 500 or a hang.
            await asyncio.to_thread(stop_pg)
            down = await api.get("/api/v1/titles", params={"year_from": 1901})
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "service_unavailable"
            assert "retry-after" in down.headers
            db_again, stop_pg = await asyncio.to_thread(start_postgres, pgdata, "cinema")
            assert db_again == db_url
            assert (await api.get("/api/v1/me", headers=me)).status_code == 200
            assert (await api.get("/api/v1/titles", params={"year_from": 1902})).status_code == 200

            # Redis goes away (sessions, rate limits, the socket adapter live there) while a
            # socket on B is open.
            async with connected(b.url, token) as rec:
                assert (await rec.call("session:whoami", {}))["ok"]
                await asyncio.to_thread(stop_redis)
                down = await api.get("/api/v1/me", headers=me)
                assert down.status_code == 503, down.text
                assert down.json()["error"]["code"] == "service_unavailable"
                ack = await rec.call("session:whoami", {})
                assert ack["error"]["code"] == "service_unavailable", ack
                redis_again, stop_redis = await asyncio.to_thread(start_redis, redis_dir)
                assert redis_again == redis_url and stop_redis is not None
                # The session survived (the embedded Redis keeps an append-only file).
                assert (await api.get("/api/v1/me", headers=me)).status_code == 200
                # B subscribed again and told its clients that live events may have been
                # lost meanwhile (they resume from their cursors).
                await rec.wait_event("sync:stale", timeout=30)
                assert (await rec.call("session:whoami", {}))["ok"]
                # The processes are linked again: ending the session on A closes B's socket.
                r = await api.post("/api/v1/auth/logout-all", headers=me)
                assert r.status_code == 204, r.text
                await asyncio.wait_for(rec.disconnected.wait(), 30)
    finally:
        for server in servers:
            server.stop()
        if stop_redis is not None:
            await asyncio.to_thread(stop_redis)
        await asyncio.to_thread(stop_pg)
