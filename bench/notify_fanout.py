"""A release notification fanned out to 100k users: enqueue time, live delivery to the
connected ones, and emails per second through a local SMTP server.

Real components: PostgreSQL, Redis, two `cinema serve` processes, real Socket.IO clients, the
arq worker (in this process, as in tests), aiosmtpd as the SMTP server.

    .venv/bin/python -m bench.notify_fanout [--users 100000] [--connected 500] [--emails 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import socketio
from sqlalchemy import text

from bench.common import BenchEnv, machine, percentile, setup, teardown
from cinema.ports import free_port
from cinema.worker import create_worker
from models.core.db import transaction
from models.notifications import delivery
from models.notifications.service import do_fan_out

BATCH = 5000


async def add_users(env: BenchEnv, count: int) -> list[uuid.UUID]:
    """The users who are not connected: inserted set-based (no tokens needed)."""
    async with transaction(env.ctx.sessions) as session:
        rows = await session.execute(
            text(
                "INSERT INTO users (id, email, username, password_hash, role, is_active)"
                " SELECT gen_random_uuid(), 'f' || i || '@bench.local', 'f' || i, '!', 'user',"
                " true FROM generate_series(1, :n) AS i RETURNING id"
            ),
            {"n": count},
        )
        return [r[0] for r in rows]


async def _listen(spec: dict[str, Any]) -> None:
    """Child process: connect the clients, say READY, print arrival times (epoch s) as JSON.

    Clients live in their own process so the producer's CPU work cannot delay receipts."""
    arrivals: dict[str, float] = {}
    clients = []

    async def one(uid: str, token: str, url: str) -> Any:
        sio = socketio.AsyncClient(reconnection=False)

        async def _got(data: Any) -> None:
            arrivals.setdefault(uid, time.time())

        sio.on("notification", _got)
        for attempt in range(5):
            try:
                await sio.connect(
                    url, auth={"token": token}, transports=["websocket"], wait_timeout=30
                )
                return sio
            except socketio.exceptions.ConnectionError:
                if attempt == 4:
                    raise
                await asyncio.sleep(1 + attempt)
        return sio

    items = spec["clients"]
    for start in range(0, len(items), 20):
        clients += await asyncio.gather(*(one(*c) for c in items[start : start + 20]))
    print("READY", flush=True)
    deadline = time.monotonic() + spec["timeout"]
    while len(arrivals) < len(items) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    print(json.dumps(arrivals), flush=True)
    for c in clients:
        with contextlib.suppress(Exception):
            await c.disconnect()


def start_listeners(env: BenchEnv, timeout: float) -> subprocess.Popen[str]:
    spec = {
        "timeout": timeout,
        "clients": [
            [uid, tok, env.servers[i % len(env.servers)].url]
            for i, (uid, tok) in enumerate(zip(env.user_ids, env.tokens, strict=True))
        ],
    }
    path = Path(tempfile.mkdtemp(prefix="notify-bench-")) / "clients.json"
    path.write_text(json.dumps(spec))
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.notify_fanout", "--listen", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("READY"):
        raise RuntimeError(f"listeners failed: {line!r}")
    return proc


async def fan_out(env: BenchEnv, user_ids: list[uuid.UUID]) -> tuple[float, int]:
    """The new-release job's work: set-based inserts per batch, connected users first."""
    started = time.perf_counter()
    created = await do_fan_out(
        env.ctx,
        user_ids=user_ids,
        type="new_release",
        data={"title_id": env.title_id, "title": "Benchmark Film"},
        dedupe_key=f"new_release:{env.title_id}",
        batch=BATCH,
    )
    return time.perf_counter() - started, created


async def email_rate(env: BenchEnv, count: int, parallel: int) -> tuple[float, int]:
    async with env.ctx.sessions() as session:
        ids = list(
            (
                await session.execute(
                    text("SELECT id FROM notifications ORDER BY id LIMIT :n"), {"n": count}
                )
            ).scalars()
        )
    chunks = [ids[i : i + 500] for i in range(0, len(ids), 500)]
    queue: asyncio.Queue[list[int]] = asyncio.Queue()
    for c in chunks:
        queue.put_nowait(c)
    sent = 0

    async def worker() -> None:
        nonlocal sent
        while not queue.empty():
            chunk = queue.get_nowait()
            report = await delivery.send_emails(env.ctx, notification_ids=chunk)
            sent += report.sent

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(parallel)))
    return time.perf_counter() - started, sent


def smtp_server() -> tuple[subprocess.Popen[bytes], int]:
    """aiosmtpd in its own process (a sink: accepts and drops), like a local relay."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-c",
            "aiosmtpd.handlers.Sink",
            "-l",
            f"127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return proc, port
        time.sleep(0.05)
    raise RuntimeError("aiosmtpd did not start")


async def main(users: int, connected: int, emails: int) -> dict[str, Any]:
    smtp, smtp_port = smtp_server()
    env = await setup(connected)
    # Email is measured on its own below: keep the dispatch jobs from mailing meanwhile.
    env.settings = env.settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp_port, "notify_email_delay_s": 3600}
    )
    env.ctx.settings = env.settings
    worker = None
    try:
        others = await add_users(env, users - connected)
        all_ids = [uuid.UUID(u) for u in env.user_ids] + others
        env.start_servers(2, NOTIFY_EMAIL_DELAY_S="3600")
        worker = create_worker(env.settings, handle_signals=False, poll_delay=0.05, max_jobs=4)
        worker_task = asyncio.create_task(worker.async_run())
        listeners = await asyncio.to_thread(start_listeners, env, 300)
        await asyncio.sleep(1)  # the worker has started polling

        t0 = time.time()
        enqueue_s, created = await fan_out(env, all_ids)
        out, _ = await asyncio.to_thread(listeners.communicate)
        arrivals: dict[str, float] = json.loads(out.strip().splitlines()[-1])
        live_all_s = (max(arrivals.values()) - t0) if arrivals else float("nan")
        latencies = [(t - t0) * 1000 for t in arrivals.values()]
        deadline = time.monotonic() + 300
        # All dispatch jobs done (push/email scheduling for everyone)?
        while time.monotonic() < deadline:
            async with env.ctx.sessions() as session:
                left = await session.scalar(
                    text("SELECT count(*) FROM notifications WHERE delivered_at IS NULL")
                )
            if not left:
                break
            await asyncio.sleep(0.2)
        dispatched_s = time.time() - t0

        email_s, sent = await email_rate(env, emails, parallel=4)
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker_task
        return {
            "machine": machine(),
            "users": users,
            "notifications_created": created,
            "enqueue_s": round(enqueue_s, 2),
            "enqueue_per_s": round(created / enqueue_s),
            "connected": connected,
            "live_received": len(arrivals),
            "live_p50_ms": round(percentile(latencies, 50)),
            "live_p95_ms": round(percentile(latencies, 95)),
            "live_all_s": round(live_all_s, 2),
            "all_dispatched_s": round(dispatched_s, 2),
            "emails_sent": sent,
            "emails_s": round(email_s, 2),
            "emails_per_s": round(sent / email_s) if email_s else 0,
        }
    finally:
        if worker is not None:
            await worker.close()
        await teardown(env)
        smtp.terminate()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--connected", type=int, default=500)
    parser.add_argument("--emails", type=int, default=10_000)
    parser.add_argument("--listen", help=argparse.SUPPRESS)
    a = parser.parse_args()
    if a.listen:
        asyncio.run(_listen(json.loads(Path(a.listen).read_text())))
        sys.exit(0)
    result = asyncio.run(main(a.users, a.connected, a.emails))
    for k, v in result.items():
        print(f"{k:24} {v}")
