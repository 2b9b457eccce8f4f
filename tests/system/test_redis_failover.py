"""Lose the Redis master, lose nothing: real redis-server (a master and a replica) and three
redis-sentinel processes; two servers and a worker use Redis only through the Sentinels. The
master is SIGKILLed; the Sentinels promote the replica and the service carries on: sessions
still valid, party state intact, sockets relinked (told `sync:stale`), jobs run."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from cinema.ports import free_port
from cinema.worker import create_worker
from models.core.context import Context
from models.core.redis import parse_sentinel_url, sentinel_url
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import login, make_title, make_user
from tests.mail import Mailbox
from tests.realtime_client import connected

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

MASTER = "cinema"
DOWN_AFTER_MS = 1000
# Detection (DOWN_AFTER_MS), the Sentinels' vote and the promotion: a few seconds here.
FAILOVER_BUDGET_S = 20


class RedisHA:
    """A master, a replica and three Sentinels (quorum 2) on free ports under `root`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []
        self.master_port = free_port()
        self.replica_port = free_port()
        self.sentinel_ports = [free_port() for _ in range(3)]
        server = shutil.which("redis-server")
        sentinel = shutil.which("redis-sentinel")
        if server is None or sentinel is None:
            pytest.skip("needs redis-server and redis-sentinel (apt-get install redis-sentinel)")
        common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.master = self._spawn([server, "--port", str(self.master_port), *common], "master")
        self._spawn(
            [
                server,
                "--port",
                str(self.replica_port),
                "--replicaof",
                "127.0.0.1",
                str(self.master_port),
                *common,
            ],
            "replica",
        )
        for i, port in enumerate(self.sentinel_ports):
            conf = root / f"sentinel-{i}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\ndir {root}\n"
                f"sentinel monitor {MASTER} 127.0.0.1 {self.master_port} 2\n"
                f"sentinel down-after-milliseconds {MASTER} {DOWN_AFTER_MS}\n"
                f"sentinel failover-timeout {MASTER} 5000\n"
                f"sentinel parallel-syncs {MASTER} 1\n"
            )
            self._spawn([sentinel, str(conf)], f"sentinel-{i}")

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen[bytes]:
        out = (self.root / f"{name}.log").open("wb")
        proc = subprocess.Popen(cmd, cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(proc)
        return proc

    @property
    def url(self) -> str:
        return sentinel_url(",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports), MASTER)

    async def master_addr(self) -> tuple[str, int] | None:
        for port in self.sentinel_ports:
            client = Redis(port=port, decode_responses=True, socket_timeout=1)
            try:
                host, found = await client.execute_command(
                    "SENTINEL", "get-master-addr-by-name", MASTER
                )
                return str(host), int(found)
            except Exception:
                continue
            finally:
                await client.aclose()
        return None

    async def wait_ready(self, timeout: float = 60) -> None:
        """Every Sentinel sees the master, its replica and the two other Sentinels."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = 0
            for port in self.sentinel_ports:
                client = Redis(port=port, decode_responses=True, socket_timeout=1)
                try:
                    info = await client.execute_command("SENTINEL", "MASTER", MASTER)
                    fields = dict(zip(info[::2], info[1::2], strict=True))
                    if int(fields["num-slaves"]) == 1 and int(fields["num-other-sentinels"]) == 2:
                        ready += 1
                except Exception:
                    pass
                finally:
                    await client.aclose()
            if ready == len(self.sentinel_ports):
                return
            await asyncio.sleep(0.2)
        raise AssertionError("the Sentinels never saw the whole set")

    async def replicated(self) -> None:
        """Everything written so far is on the replica (what an operator's WAIT would say)."""
        client = Redis(port=self.master_port, socket_timeout=5)
        try:
            assert int(await client.execute_command("WAIT", 1, 5000)) == 1
        finally:
            await client.aclose()

    def kill_master(self) -> None:
        self.master.kill()
        self.master.wait(10)

    async def wait_promoted(self, timeout: float) -> tuple[str, int]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            addr = await self.master_addr()
            if addr is not None and addr[1] == self.replica_port:
                return addr
            await asyncio.sleep(0.1)
        raise AssertionError("no failover within the budget")

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


@pytest.fixture
def redis_ha(tmp_path: Path) -> Iterator[RedisHA]:
    ha = RedisHA(tmp_path)
    try:
        yield ha
    finally:
        ha.stop()


def test_sentinel_urls_round_trip() -> None:
    url = sentinel_url("10.0.0.1:26379, 10.0.0.2:26380", "main", db=2, password="p@ss")
    target = parse_sentinel_url(url)
    assert target is not None
    assert target.sentinels == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]
    assert (target.master, target.db, target.password) == ("main", 2, "p@ss")
    assert parse_sentinel_url("redis://127.0.0.1:6379/0") is None
    # REDIS_SENTINELS and REDIS_SENTINEL_MASTER make every client's URL, keeping REDIS_URL's
    # password and database.
    s = Settings(
        env="test",
        redis_url="redis://:secret@ignored:6379/3",
        redis_sentinels="127.0.0.1:26379,127.0.0.1:26380",
        redis_sentinel_master="main",
        secret_key="x" * 40,
    )
    t = parse_sentinel_url(s.redis_url or "")
    assert t is not None and (t.master, t.db, t.password) == ("main", 3, "secret")
    assert len(t.sentinels) == 2


async def test_service_rides_out_a_redis_failover(
    settings: Settings, ctx: Context, mailbox: Mailbox, redis_ha: RedisHA
) -> None:
    await redis_ha.wait_ready()
    own = settings.model_copy(update={"redis_url": redis_ha.url})
    servers = [LiveServer(own, free_port()), LiveServer(own, free_port())]
    worker = create_worker(own, handle_signals=False, poll_delay=0.05)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        for server in servers:
            await asyncio.to_thread(server.wait_ready)
        a, b = servers
        title = await make_title(ctx)
        async with httpx.AsyncClient(base_url=a.url, timeout=30) as api:
            user = await make_user(ctx)
            token = (await login(api, user.email))["access_token"]
            me = {"Authorization": f"Bearer {token}"}
            r = await api.post("/api/v1/parties", json={"title_id": title.id}, headers=me)
            assert r.status_code == 201, r.text
            party = r.json()["party_id"]
            seek = await api.post(
                f"/api/v1/parties/{party}/commands",
                json={"type": "seek", "position_ms": 42_000},
                headers=me,
            )
            assert seek.status_code == 200, seek.text
            before = seek.json()
            await _register(api, mailbox)  # a job runs (the confirmation mail)

            async with connected(b.url, token) as rec:
                assert (await rec.call("session:whoami", {}))["ok"]
                await redis_ha.replicated()
                # A login the instant before the master dies: answered only once a replica
                # had the session (WAIT), so the failover cannot sign it out.
                fresh = (await login(api, user.email))["access_token"]
                killed = time.monotonic()
                redis_ha.kill_master()
                await redis_ha.wait_promoted(FAILOVER_BUDGET_S)

                # The sessions (written before the failover, replicated) are still valid.
                assert (await _until_ok(api, "/api/v1/me", me)).status_code == 200
                again = {"Authorization": f"Bearer {fresh}"}
                got = await _until_ok(api, "/api/v1/me", again)
                assert got.status_code == 200, got.text
                # The party's live state moved with the data set.
                state = (await _until_ok(api, f"/api/v1/parties/{party}", me)).json()
                assert state["version"] == before["version"]
                assert state["position_ms"] == before["position_ms"] == 42_000
                # B linked again to the new master and told its clients to resume.
                await rec.wait_event("sync:stale", timeout=FAILOVER_BUDGET_S)
                assert (await rec.call("session:whoami", {}))["ok"]
                recovered = time.monotonic() - killed
                # Jobs run again: the worker rode the failover out.
                await _register(api, mailbox)
                # The processes are linked again: ending the session on A closes B's socket.
                r = await api.post("/api/v1/auth/logout-all", headers=me)
                assert r.status_code == 204, r.text
                await asyncio.wait_for(rec.disconnected.wait(), 30)
        assert recovered < FAILOVER_BUDGET_S
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker_task
        await worker.close()
        for server in servers:
            server.stop()


async def _register(api: httpx.AsyncClient, mailbox: Mailbox) -> None:
    name = "u" + uuid.uuid4().hex[:12]
    email = f"{name}@example.com"
    r = await api.post(
        "/api/v1/auth/register",
        json={"email": email, "username": name, "password": "a long passphrase"},
    )
    assert r.status_code == 202, r.text
    await mailbox.wait_for(email, timeout=30)


async def _until_ok(api: httpx.AsyncClient, path: str, headers: dict[str, str]) -> httpx.Response:
    """A request during the switch may be a 503 to retry, as clients do; never a 401."""
    deadline = time.monotonic() + FAILOVER_BUDGET_S
    while True:
        r = await api.get(path, headers=headers)
        if r.status_code != 503 or time.monotonic() > deadline:
            return r
        await asyncio.sleep(0.2)
