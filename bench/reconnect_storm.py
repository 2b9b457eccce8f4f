"""Reconnect storm: a server process holding N clients restarts; every client comes back and
no stream event is lost.

    .venv/bin/python -m bench.reconnect_storm [--clients 10000] [--workers 2]
        [--server-cores 0] [--client-cores 1] [--json FILE]

One `cinema serve` process (pinned to the server cores) holds `--clients` authenticated
sockets, raw Socket.IO clients (bench/eio_client.py) in `--workers` processes pinned to the
client cores. Each client keeps its notifications cursor as the web app does (the rule of
cinema/stream_cursor.py, shared with the tests' client): it applies a live `notification`
whose cursor is the next one, drops older ones, resumes (`sync:resume`) on a gap, on
`sync:stale` and after every connect. Then:

1. every user gets a release notification (live);
2. the server gets SIGTERM, as a deploy does; every client retries with the official
   clients' backoff (1 s doubling to 5 s, each delay randomized +-50 %);
3. while it is down, two more releases are stored for every user (no one hears them live);
4. the same port is served again by a fresh process; the storm: how long until every client
   is connected and has resumed to the third release, the accept rate and the server's CPU
   per reconnect meanwhile, and every refusal the server answered;
5. a fourth release goes out live; each client must have applied exactly four.

The server's CPU is read from /proc, so it does not depend on how busy the machine is; the
wall-clock durations do (the storm lasts about N / accept rate plus the backoff spread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import random
import subprocess
import sys
import time
import uuid
from collections import Counter
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    ROOT,
    SERVE_ARGS,
    BenchEnv,
    Server,
    machine,
    percentile,
    pin_self,
    pinned,
    setup,
    teardown,
)
from bench.eio_client import EioClient, RefusedError
from cinema.ports import free_port, wait_ready
from cinema.stream_cursor import StreamCursor
from models.core.db import transaction
from models.core.events import Outbox
from models.notifications import service as notifications

STREAM, STREAM_EVENT = "notifications", "notification"
FIRST_DELAY_S, MAX_DELAY_S = 1.0, 5.0  # socket.io-client's reconnectionDelay / ...DelayMax


# --- client side (worker processes) ---------------------------------------------------------


class StormClient:
    """One user's socket that reconnects forever and keeps its stream cursor (the rule of
    cinema/stream_cursor.py, as the tests' python-socketio client does)."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.auth = url, {"token": token}
        self.state = StreamCursor(STREAM)
        self.stale = 0
        self.connected = False
        self.connects = 0
        self.connected_at = 0.0  # wall clock of the last connect
        self.resumed_at = 0.0  # ... and of the last resume that finished
        self.refusals: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self._client: EioClient | None = None

    def _on_event(self, name: str, data: Any) -> None:
        if name == "sync:stale":
            # The server's pub/sub link was re-made (it happens on a loaded machine): live
            # events may have been dropped meanwhile, resume.
            self.stale += 1
            self._spawn_resume()
        elif name == STREAM_EVENT and self.state.on_live(data):
            self._spawn_resume()  # a gap: what is missing comes with a resume

    def _spawn_resume(self) -> None:
        if self._client is not None:
            asyncio.get_running_loop().create_task(self._resume(self._client))

    async def _resume(self, client: EioClient) -> None:
        payload = self.state.begin_resume()
        if payload is None:
            return  # one runs; another follows it
        again = False
        try:
            error = self.state.on_resumed(await client.call("sync:resume", payload, 60))
            if error is not None:
                self.failures[f"resume: {error}"] += 1
            else:
                self.resumed_at = time.time()
        except Exception as exc:
            # No answer in time (a crowded server): again in a second while this socket
            # lives; a reconnect resumes anyway.
            self.failures[f"resume: {type(exc).__name__}"] += 1
            if not client.closed.is_set():
                asyncio.get_running_loop().call_later(
                    1.0, lambda: asyncio.ensure_future(self._resume(client))
                )
        finally:
            again = self.state.end_resume()
        if again and not client.closed.is_set():
            await self._resume(client)

    async def run(self, first: bool) -> None:
        attempt = 0
        while True:
            if not first or attempt:
                delay = min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, attempt - 1))
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            first = False
            attempt += 1
            client = EioClient(self._on_event)
            try:
                await client.connect(self.url, self.auth, timeout=30)
            except RefusedError as exc:
                code = exc.data.get("code") if isinstance(exc.data, dict) else str(exc.data)
                self.refusals[str(code)] += 1
                continue
            except Exception as exc:  # not listening (yet), or a timeout in the crowd
                self.failures[type(exc).__name__] += 1
                continue
            attempt = 0
            self._client = client
            self.connected, self.connects, self.connected_at = True, self.connects + 1, time.time()
            await self._resume(client)
            await client.closed.wait()
            self.connected = False
            self._client = None


def worker_main(conn: Connection, url: str, tokens: list[str], cores: str | None) -> None:
    pin_self(cores)
    asyncio.run(_worker(conn, url, tokens))


async def _worker(conn: Connection, url: str, tokens: list[str]) -> None:
    clients = [StormClient(url, t) for t in tokens]
    gate = asyncio.Semaphore(50)

    async def first(c: StormClient) -> None:
        async with gate:  # the first connects: 50 in flight, as socket_memory does
            task = asyncio.get_running_loop().create_task(c.run(first=True))
            while not c.connected and not task.done():
                await asyncio.sleep(0.01)

    loop = asyncio.get_running_loop()
    await asyncio.gather(*(first(c) for c in clients))
    conn.send(("up",))
    while True:
        msg = await loop.run_in_executor(None, conn.recv)
        if msg[0] == "stats":
            conn.send(("stats", _stats(clients)))
        elif msg[0] == "stop":
            conn.send(("stopped",))
            return


def _stats(clients: list[StormClient]) -> dict[str, Any]:
    refusals: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for c in clients:
        refusals.update(c.refusals)
        failures.update(c.failures)
    return {
        "clients": len(clients),
        "connected": sum(c.connected for c in clients),
        "cursors": dict(Counter(c.state.cursor for c in clients)),
        "applied": dict(Counter(len(c.state.applied) for c in clients)),
        "replayed": sum(c.state.replayed for c in clients),
        "duplicates": sum(c.state.duplicates for c in clients),
        "stale": sum(c.stale for c in clients),
        "connected_at": [c.connected_at for c in clients],
        "resumed_at": [c.resumed_at for c in clients],
        "refusals": dict(refusals),
        "failures": dict(failures),
    }


class Workers:
    def __init__(self, url: str, tokens: list[str], count: int, cores: str | None) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for k in range(count):
            parent, child = ctx.Pipe()
            p = ctx.Process(
                target=worker_main, args=(child, url, tokens[k::count], cores), daemon=True
            )
            p.start()
            self.conns.append(parent)
            self.procs.append(p)

    def wait_up(self) -> None:
        for c in self.conns:
            assert c.recv() == ("up",)

    def stats(self) -> dict[str, Any]:
        for c in self.conns:
            c.send(("stats",))
        parts = [c.recv()[1] for c in self.conns]
        out: dict[str, Any] = {}
        for key in ("clients", "connected", "replayed", "duplicates", "stale"):
            out[key] = sum(p[key] for p in parts)
        for key in ("cursors", "applied", "refusals", "failures"):
            total: Counter[Any] = Counter()
            for p in parts:
                total.update(p[key])
            out[key] = dict(total)
        for key in ("connected_at", "resumed_at"):
            out[key] = [t for p in parts for t in p[key]]
        return out

    def stop(self) -> None:
        for c in self.conns:
            c.send(("stop",))
        for c in self.conns:
            c.recv()
        for p in self.procs:
            p.join(10)


# --- the benchmark -------------------------------------------------------------------------


def _spawn(env: BenchEnv, port: int, cores: str | None) -> Server:
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        pinned([sys.executable, *SERVE_ARGS, "--port", str(port)], cores),
        env=env.env(PUBLIC_URL=url, SOCKETIO_MAX_CONNECTIONS_PER_USER="5"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    server = Server(url, proc)
    wait_ready(url, proc, timeout=120, every_s=0.1)
    return server


async def _release(env: BenchEnv, n: int) -> float:
    """One new-release notification for every user; seconds it took (stored + published)."""
    t0 = time.perf_counter()
    ids = [uuid.UUID(u) for u in env.user_ids]
    for i in range(0, len(ids), 5000):
        outbox = Outbox()
        async with transaction(env.ctx.sessions) as session:
            await notifications.do_notify_many(
                env.ctx,
                session,
                outbox,
                user_ids=ids[i : i + 5000],
                type="new_release",
                data={"title_id": env.title_id, "title": f"Storm {n}"},
                dedupe_key=f"storm:{n}",
            )
        await env.ctx.flush(outbox)
    return time.perf_counter() - t0


async def _until(check: Any, timeout: float, what: str) -> float:
    t0 = time.perf_counter()
    while True:
        stats = await asyncio.to_thread(check)
        if stats is True:
            return time.perf_counter() - t0
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"{what}: not reached in {timeout:.0f} s ({stats})")
        await asyncio.sleep(0.5)


def _progress(label: str, done: int, total: int, t0: float) -> None:
    if sys.stdout.isatty():
        rate = done / max(time.perf_counter() - t0, 1e-9)
        eta = (total - done) / rate if rate else float("inf")
        print(f"\r{label}: {done}/{total} ({rate:.0f}/s, ETA {eta:.0f} s)   ", end="", flush=True)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2, help="client processes")
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--timeout", type=float, default=600, help="seconds to wait for each step")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    n = args.clients
    env = await setup(n)
    port = free_port()
    workers: Workers | None = None
    result: dict[str, Any] = {"bench": "reconnect_storm", "clients": n, "machine": machine()}
    try:
        server = _spawn(env, port, args.server_cores)
        env.servers.append(server)
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()
        workers = Workers(server.url, env.tokens, args.workers, args.client_cores)
        await asyncio.to_thread(workers.wait_up)
        first_s = time.perf_counter() - t0
        result["first_connect"] = {
            "seconds": first_s,
            "accepts_per_s": n / first_s,
            "server_cpu_ms_per_connect_and_resume": (server.cpu_seconds() - cpu0) * 1000 / n,
        }
        print(f"{n} clients connected in {first_s:.1f} s", flush=True)
        w = workers

        def all_at(cursor: int) -> bool | str:
            s = w.stats()
            _progress(f"cursor {cursor}", s["cursors"].get(cursor, 0), n, t0)
            at = s["cursors"].get(cursor, 0) == n and s["connected"] == n
            return True if at else f"{s['connected']} connected, cursors {s['cursors']}"

        await _release(env, 1)
        t0 = time.perf_counter()
        await _until(lambda: all_at(1), args.timeout, "release 1 live")

        # The restart: SIGTERM, two releases while down, the same port again.
        server.stop()
        env.servers.remove(server)
        down_at = time.time()
        await _until(
            lambda: w.stats()["connected"] == 0 or "still connected", 60, "clients see the stop"
        )
        await _release(env, 2)
        await _release(env, 3)
        server = _spawn(env, port, args.server_cores)
        env.servers.append(server)
        ready_at = time.time()
        cpu0 = server.cpu_seconds()
        t0 = time.perf_counter()

        def all_back() -> bool | str:
            s = w.stats()
            _progress("reconnected", s["connected"], n, t0)
            return all_at(3)

        storm_s = await _until(all_back, args.timeout, "every client back and resumed")
        cpu_s = server.cpu_seconds() - cpu0
        if sys.stdout.isatty():
            print()
        s = workers.stats()
        back = sorted(t - ready_at for t in s["connected_at"])
        resumed = sorted(t - ready_at for t in s["resumed_at"])
        await _release(env, 4)
        t0 = time.perf_counter()
        await _until(lambda: all_at(4), args.timeout, "release 4 live")
        if sys.stdout.isatty():
            print()
        s = workers.stats()
        lost = n - s["cursors"].get(4, 0)
        twice = sum(count for applied, count in s["applied"].items() if int(applied) != 4)
        result["storm"] = {
            "down_s": ready_at - down_at,
            "all_back_and_resumed_s": storm_s,
            "reconnected_p50_s": percentile(back, 50),
            "reconnected_p99_s": percentile(back, 99),
            "reconnected_max_s": back[-1] if back else float("nan"),
            "resumed_max_s": resumed[-1] if resumed else float("nan"),
            "accepts_per_s": n / back[-1] if back and back[-1] > 0 else float("nan"),
            "server_cpu_s": cpu_s,
            "server_cpu_ms_per_reconnect_and_resume": cpu_s * 1000 / n,
            "refusals": s["refusals"],
            "failed_attempts": s["failures"],
            "replayed_events": s["replayed"],
            "duplicates_dropped": s["duplicates"],
            "sync_stale_received": s["stale"],
            "clients_missing_an_event": lost,
            "clients_not_applying_exactly_4": twice,
        }
    finally:
        if workers is not None:
            workers.stop()
        await teardown(env)
    st = result["storm"]
    print(
        f"machine: {machine()}; server cores {args.server_cores}, client cores {args.client_cores}"
    )
    print(
        f"first connect: {n} in {result['first_connect']['seconds']:.1f} s "
        f"({result['first_connect']['accepts_per_s']:.0f}/s, "
        f"{result['first_connect']['server_cpu_ms_per_connect_and_resume']:.2f} ms server "
        "CPU each, with its resume)"
    )
    print(
        "| clients | down s | all back + resumed s | back p50 / p99 / max s | accepts/s "
        "| server CPU ms per reconnect + resume | refusals | replayed | missing an event "
        "| not exactly 4 |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {n} | {st['down_s']:.1f} | {st['all_back_and_resumed_s']:.1f} "
        f"| {st['reconnected_p50_s']:.1f} / {st['reconnected_p99_s']:.1f} / "
        f"{st['reconnected_max_s']:.1f} | {st['accepts_per_s']:.0f} "
        f"| {st['server_cpu_ms_per_reconnect_and_resume']:.2f} | {sum(st['refusals'].values())} "
        f"| {st['replayed_events']} | {st['clients_missing_an_event']} "
        f"| {st['clients_not_applying_exactly_4']} |"
    )
    print(f"failed attempts while down or crowded (retried): {st['failed_attempts']}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
