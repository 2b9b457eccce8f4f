"""Finding 1: whoever can write to Redis must not run code in the worker.

arq's default job format is pickle: a job payload written straight into Redis ran code on
`pickle.loads`. Jobs are JSON now, on both sides, and anything else is refused unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import pickle
import secrets
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from arq.constants import job_key_prefix
from redis import exceptions as redis_errors
from redis.asyncio import Redis

from cinema.context import build_context, close_context
from cinema.ports import free_port
from cinema.worker import create_worker
from jobs.queue import ArqQueue, dump_job, load_job
from models.core.context import Context
from models.core.settings import Settings


class _CreatesFile:
    """What an attacker pickles: unpickling it opens (creates) a file of their choosing."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (str(self.path), "w"))


async def test_a_pickled_job_written_into_redis_is_refused_not_run(
    ctx: Context, worker: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    marker = tmp_path / "pwned"
    job_id = f"attack-{uuid.uuid4().hex}"
    payload = pickle.dumps(
        {
            "t": 1,
            "f": "send_email",
            "a": (),
            "k": {"to": "x@example.com", "subject": "s", "text": _CreatesFile(marker)},
            "et": int(time.time() * 1000),
        }
    )
    caplog.set_level(logging.WARNING)
    # Exactly what arq's enqueue_job writes: the payload, then the id in the queue's sorted set.
    await ctx.redis.set(job_key_prefix + job_id, payload)
    await ctx.redis.zadd(ctx.keys.arq_queue, {job_id: int(time.time() * 1000)})
    deadline = time.monotonic() + 20
    while await ctx.redis.exists(job_key_prefix + job_id) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not await ctx.redis.exists(job_key_prefix + job_id), "the worker never took the job"
    assert not marker.exists(), "unpickling the payload ran the attacker's code"
    assert await ctx.redis.zscore(ctx.keys.arq_queue, job_id) is None
    refused = [r for r in caplog.records if "not a JSON job" in r.getMessage()]
    assert refused, "the refusal is logged"


def test_jobs_are_json_and_refuse_other_types() -> None:
    data = {"t": 1, "f": "send_email", "a": (), "k": {"ids": [1, 2], "live": True}, "et": 5}
    raw = dump_job(data)
    assert raw.startswith(b"{")
    assert load_job(raw) == {**data, "a": []}
    # A UUID or a datetime would arrive as a string: refused when enqueued, not mangled.
    with pytest.raises(TypeError, match="user_id"):
        dump_job({**data, "k": {"user_id": uuid.uuid4()}})
    with pytest.raises(ValueError, match="not a JSON job"):
        load_job(pickle.dumps(data))


def test_results_keep_no_arguments() -> None:
    """Results outlive their job and nobody reads their arguments (mail jobs carry links)."""
    result = {"t": 1, "f": "send_email", "a": (), "k": {"text": "reset: https://x/?token=s3"}}
    result.update(et=5, s=False, r=RuntimeError("smtp down"), st=6, ft=7, q="q", id="j")
    stored = load_job(dump_job(result))
    assert stored["k"] == {} and stored["a"] == []
    assert "smtp down" in stored["r"]


@pytest.fixture
def redis_with_password(tmp_path: Path) -> Iterator[str]:
    """A redis-server that requires a password, as docker-compose.yml runs it."""
    port, password = free_port(), secrets.token_hex(16)
    proc = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            password,
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield f"redis://:{password}@127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


async def test_every_redis_client_authenticates(
    settings: Settings, redis_with_password: str
) -> None:
    """The job queue, the worker, the app's client and the socket manager all use REDIS_URL's
    password: a Redis that requires one is usable, and refuses a client without it."""
    stranger = Redis.from_url("redis://127.0.0.1:" + redis_with_password.rsplit(":", 1)[1])
    with pytest.raises(redis_errors.AuthenticationError):
        await stranger.ping()
    await stranger.aclose()
    locked = settings.model_copy(update={"redis_url": redis_with_password})
    ctx = await build_context(locked)
    try:
        assert await ctx.redis.ping()
        await ctx.publisher.emit("test:ping", {}, room="nobody")
        await ctx.jobs.enqueue("announce_account_update", user_id=str(uuid.uuid4()))
        worker = create_worker(locked, handle_signals=False, burst=True, poll_delay=0.05)
        await asyncio.wait_for(worker.async_run(), 30)
        # Ours ran (the queue is empty, nothing failed); the crons due at second 0 or 30 may
        # have run beside it when the burst crossed one.
        assert worker.jobs_complete >= 1 and worker.jobs_failed == 0
        assert isinstance(ctx.jobs, ArqQueue)
        assert await ctx.redis.zcard(ctx.jobs.queue_name) == 0
        await worker.close()
    finally:
        await close_context(ctx)
