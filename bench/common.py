"""Benchmark scaffolding: a fresh database, users with tokens, real server processes.

Everything runs on this machine against the local PostgreSQL and Redis (or BENCH_DATABASE_URL
/ BENCH_REDIS_URL); servers are `cinema serve` processes, as in production.
"""

from __future__ import annotations

import asyncio
import io
import os
import platform
import pstats
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import insert

from cinema import migrate
from cinema.context import build_context, close_context
from cinema.ports import free_port, wait_ready
from models.accounts import passwords, tokens
from models.accounts.service import sessions_of
from models.accounts.tables import Role, User
from models.catalog.tables import Title, TitleKind
from models.core.clock import now
from models.core.context import Context
from models.core.db import transaction
from models.core.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ADMIN_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET = "bench-secret-" + "y" * 40
SERVE_ARGS = ["-m", "cinema.cli", "serve", "--host", "127.0.0.1"]
PY_SERVE = [sys.executable, *SERVE_ARGS]
# Servers and clients on different cores (`taskset -c`), so client CPU never counts as server
# latency; the benchmarks take --server-cores / --client-cores (cpu lists such as "0" or "2-5").
DEFAULT_SERVER_CORES = "0"
DEFAULT_CLIENT_CORES = "1"


def pinned(cmd: list[str], cores: str | None) -> list[str]:
    """`cmd` run on `cores` only (no pinning when None or empty)."""
    return ["taskset", "-c", cores, *cmd] if cores else cmd


def pin_self(cores: str | None) -> None:
    """Keep this process (a client worker) on `cores`."""
    if cores:
        os.sched_setaffinity(0, _cpu_list(cores))


def _cpu_list(cores: str) -> set[int]:
    out: set[int] = set()
    for part in cores.split(","):
        lo, _, hi = part.partition("-")
        out.update(range(int(lo), int(hi or lo) + 1))
    return out


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def cpu_seconds(self) -> float:
        """User+system CPU time of the server process so far (Linux /proc)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def rss_bytes(self) -> int:
        """Resident memory of the server process now (Linux /proc)."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError("no VmRSS")


@dataclass
class BenchEnv:
    settings: Settings
    db_name: str
    ctx: Context
    tokens: list[str] = field(default_factory=list)
    user_ids: list[str] = field(default_factory=list)
    servers: list[Server] = field(default_factory=list)
    title_id: int = 0

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "REDIS_"))}
        env.update(
            ENV="test",
            SECRET_KEY=SECRET,
            DATABASE_URL=self.settings.database_url or "",
            REDIS_URL=REDIS,
            REDIS_PREFIX=self.settings.redis_prefix,
            LOG_DIR=str(self.settings.log_dir),
            LOG_LEVEL="WARNING",  # per-event INFO logging is not what we measure
            CORS_ORIGINS='["http://127.0.0.1"]',
            SOCKETIO_MAX_CONNECTIONS_PER_USER="50",
            PARTY_MAX_CAPACITY="2000",
            PARTY_GRACE_S="600",  # a host reconnecting after a slow setup is still host
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def start_servers(
        self,
        count: int,
        *,
        cores: str | None = None,
        prefix: list[str] | None = None,
        ready_timeout: float = 60,
        root: Path | None = None,
        **extra: str,
    ) -> list[Server]:
        """`count` more `cinema serve` processes on `cores` (`prefix`: what runs `-m cinema.cli`
        instead of this Python, e.g. bench.traced; `root`: the checkout whose code they run,
        e.g. a worktree of the old commit for a same-run baseline, default this one)."""
        started = []
        for _ in range(count):
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            proc = subprocess.Popen(
                pinned([*(prefix or [sys.executable]), *SERVE_ARGS, "--port", str(port)], cores),
                env=self.env(PUBLIC_URL=url, **extra),
                cwd=root or ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started.append(Server(url, proc))
        self.servers += started
        for s in started:
            wait_ready(s.url, s.proc, timeout=ready_timeout, every_s=0.2)
        return started


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DB)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _with_db(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


async def setup(users: int) -> BenchEnv:
    """A migrated scratch database with `users` users (and a session token each) and a title."""
    name = f"cinema_bench_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = _with_db(ADMIN_DB, name)
    await asyncio.to_thread(migrate.upgrade, url)
    scratch = Path(tempfile.mkdtemp(prefix="cinema-bench-"))
    settings = Settings(
        env="test",
        secret_key=SECRET,
        database_url=url,
        redis_url=REDIS,
        redis_prefix=f"bench-{uuid.uuid4().hex[:8]}",
        log_dir=scratch / "logs",
        data_dir=scratch / "data",
    )
    ctx = await build_context(settings)
    env = BenchEnv(settings=settings, db_name=name, ctx=ctx)
    # One hash for everyone: hashing is not what we measure.
    hashed = await passwords.hash_password("bench-password-123")
    rows: list[dict[str, Any]] = []
    for _ in range(users):
        tag = uuid.uuid4().hex[:12]
        rows.append(
            {
                "id": uuid.uuid4(),
                "email": f"b{tag}@bench.local",
                "username": f"b{tag}",
                "password_hash": hashed,
                "role": Role.user,
                "email_confirmed_at": now(),
            }
        )
    async with transaction(ctx.sessions) as session:
        await session.execute(insert(User), rows)
        title = Title(kind=TitleKind.film, title="Benchmark Film", runtime_minutes=120)
        session.add(title)
        await session.flush()
        env.title_id = title.id
    store = sessions_of(ctx)
    for row in rows:
        user_id = str(row["id"])
        session_id = tokens.new_id()
        t = int(now().timestamp())
        await store.create(
            session_id=session_id,
            user_id=user_id,
            role="user",
            refresh_jti=tokens.new_id(),
            now=t,
            user_agent="bench",
            ip="127.0.0.1",
        )
        access, _ = tokens.encode(
            settings.secret,
            typ="access",
            user_id=user_id,
            session_id=session_id,
            now=now(),
            ttl_s=3600,
        )
        env.tokens.append(access)
        env.user_ids.append(user_id)
    return env


async def teardown(env: BenchEnv) -> None:
    for s in env.servers:
        s.stop()
    prefix = env.settings.redis_prefix
    async for key in env.ctx.redis.scan_iter(match=f"{prefix}:*", count=1000):
        await env.ctx.redis.delete(key)
    await close_context(env.ctx)
    await _admin(f'DROP DATABASE IF EXISTS "{env.db_name}" WITH (FORCE)')


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def toggle_profiles(env: BenchEnv) -> None:
    """Start (or stop and write) the cProfile of every server started under bench.traced."""
    for server in env.servers:
        os.kill(server.proc.pid, signal.SIGUSR2)


async def print_profiles(dirs: list[Path]) -> None:
    """Wait for each traced server's first profile and print its top functions."""
    for d in dirs:
        done = d / "profile-0.done"
        for _ in range(600):
            if done.exists():
                break
            await asyncio.sleep(0.1)
        out = io.StringIO()
        stats = pstats.Stats(str(d / "profile-0.pstats"), stream=out)
        stats.sort_stats("tottime").print_stats(25)
        stats.sort_stats("cumulative").print_stats(40)
        print(f"--- profile of the server traced in {d}", flush=True)
        print(out.getvalue(), flush=True)


def start_profiled_servers(
    env: BenchEnv, count: int, *, cores: str | None, out: Path
) -> list[Path]:
    """`count` servers under bench.traced (CPU profile only), each writing to a folder of
    `out`; toggle_profiles starts and stops their profiles."""
    os.environ.pop("TRACE_FRAMES", None)  # no allocation tracing: it would skew the profile
    dirs = []
    for i in range(count):
        dirs.append(out / chr(ord("a") + i))
        prefix = [sys.executable, "-m", "bench.traced", str(dirs[-1])]
        env.start_servers(1, cores=cores, prefix=prefix)
    return dirs
