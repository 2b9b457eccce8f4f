"""Where the tests find PostgreSQL and Redis: TEST_* URLs, else local ones, else embedded."""

from __future__ import annotations

import os
import socket
import tempfile
from pathlib import Path

from cinema.embedded import start_postgres, start_redis

LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/test"
LOCAL_REDIS = "redis://127.0.0.1:6379/0"


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def resolve() -> tuple[str, str, list[object]]:
    """(admin database URL, redis URL, stop callbacks)."""
    stops: list[object] = []
    db = os.environ.get("TEST_DATABASE_URL") or (LOCAL_PG if _answers(5432) else None)
    rd = os.environ.get("TEST_REDIS_URL") or (LOCAL_REDIS if _answers(6379) else None)
    scratch = Path(tempfile.gettempdir()) / "cinema-test-services"
    if db is None:
        db, stop = start_postgres(scratch / "postgres", database="postgres")
        stops.append(stop)
    if rd is None:
        rd, stop_redis = start_redis(scratch / "redis")
        if stop_redis:
            stops.append(stop_redis)
    return db, rd, stops
