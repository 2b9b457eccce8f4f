"""What an idle socket costs: server memory per authenticated socket and the accept rate, ours
against bare python-socketio in the same run, with and without a browser's deflate offer.

    .venv/bin/python -m bench.socket_memory [--sockets 2000] [--idle 5]
        [--server-cores 0] [--client-cores 1] [--trace]

One fresh server process per row, pinned to the server cores; raw Engine.IO v4 WebSocket
clients (bench/eio_client.py) in a process pinned to the client cores connect `--sockets`
sockets, 50 in flight. Memory per socket is the server's RSS after `--idle` seconds minus its
RSS before the first socket (after one warm-up socket came and went), over the count: it does
not depend on how busy the machine is. The accept rate does (read it against the bare row of
the same run). `--trace` also runs ours under tracemalloc and prints which lines hold the
Python memory of a socket.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from bench.client_pool import ClientPool
from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    ROOT,
    BenchEnv,
    Server,
    machine,
    pinned,
    setup,
    teardown,
)
from bench.eio_client import EioClient
from cinema.ports import free_port

KIB = 1024


def start_bare(env: BenchEnv, cores: str | None) -> Server:
    port = free_port()
    proc = subprocess.Popen(
        pinned(
            [sys.executable, "-m", "uvicorn", "bench.bare_server:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            cores,
        ),
        env=env.env(CHANNEL=f"{env.settings.redis_prefix}:bare"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = Server(f"http://127.0.0.1:{port}", proc)
    _wait_socket(server)
    return server


def _wait_socket(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            asyncio.run(_one_socket(server.url, None))
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("bare server not up")


async def _one_socket(url: str, auth: Any, deflate: bool = False) -> None:
    c = EioClient()
    await c.connect(url, auth, deflate=deflate)
    await c.close()


def _snapshot(server: Server, trace_dir: Path, n: int) -> tracemalloc.Snapshot:
    """Ask the traced server for snapshot n and load it."""
    os.kill(server.proc.pid, signal.SIGUSR1)
    done = trace_dir / f"snap-{n}.done"
    for _ in range(600):
        if done.exists():
            break
        time.sleep(0.1)
    return tracemalloc.Snapshot.load(str(trace_dir / f"snap-{n}.pickle"))


def _profile(server: Server, trace_dir: Path, stop: bool) -> list[str]:
    """Start (stop=False) or stop the traced server's cProfile; the top functions when stopped."""
    os.kill(server.proc.pid, signal.SIGUSR2)
    if not stop:
        return []
    done = trace_dir / "profile-0.done"
    for _ in range(600):
        if done.exists():
            break
        time.sleep(0.1)
    out = io.StringIO()
    stats = pstats.Stats(str(trace_dir / "profile-0.pstats"), stream=out)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(40)
    return out.getvalue().splitlines()


def measure(
    server: Server,
    pool: ClientPool,
    auths: list[Any],
    *,
    deflate: bool,
    idle: float,
    trace_dir: Path | None = None,
    profile: bool = False,
) -> dict[str, Any]:
    asyncio.run(_one_socket(server.url, auths[0], deflate))  # warm-up: lazy imports, pools
    time.sleep(1)
    base = _snapshot(server, trace_dir, 0) if trace_dir and not profile else None
    rss0 = server.rss_bytes()
    cpu0 = server.cpu_seconds()
    if profile and trace_dir:
        _profile(server, trace_dir, stop=False)
    connected, errors, seconds = pool.connect([server.url], auths, deflate=deflate)
    cpu = server.cpu_seconds() - cpu0
    profiled = _profile(server, trace_dir, stop=True) if profile and trace_dir else []
    time.sleep(idle)
    rss1 = server.rss_bytes()
    top: list[str] = []
    if trace_dir and base is not None:
        after = _snapshot(server, trace_dir, 1)
        group = "traceback" if os.environ.get("TRACE_FRAMES", "1") != "1" else "lineno"
        stats = after.compare_to(base, group)
        total = sum(s.size_diff for s in stats)
        top.append(f"tracemalloc: {total / connected / KIB:.1f} KiB of Python objects per socket")
        for s in stats[:40]:
            where = " <- ".join(
                f"{Path(f.filename).parent.name}/{Path(f.filename).name}:{f.lineno}"
                for f in s.traceback
            )
            top.append(
                f"  {s.size_diff / connected:8.0f} B {s.count_diff / connected:6.2f} blocks {where}"
            )
    pool.close_all()
    return {
        "sockets": connected,
        "errors": errors,
        "accepts_per_s": connected / seconds if seconds else float("nan"),
        "server_cpu_ms_per_accept": cpu * 1000 / connected if connected else float("nan"),
        "kib_per_socket": (rss1 - rss0) / connected / KIB if connected else float("nan"),
        "rss_mib": rss1 / KIB / KIB,
        "trace": top or profiled,
    }


def run_row(
    env: BenchEnv,
    pool: ClientPool,
    args: argparse.Namespace,
    system: str,
    deflate: bool,
    traced: bool = False,
    profile: bool = False,
) -> dict[str, Any]:
    trace_dir = None
    if system == "ours":
        prefix = None
        if traced or profile:
            trace_dir = Path(tempfile.mkdtemp(prefix="cinema-trace-"))
            prefix = [sys.executable, "-m", "bench.traced", str(trace_dir)]
        if traced:
            os.environ.setdefault("TRACE_FRAMES", "1")
        elif profile:
            os.environ.pop("TRACE_FRAMES", None)
        (server,) = env.start_servers(
            1, cores=args.server_cores, prefix=prefix, ready_timeout=600 if traced else 60
        )
        auths: list[Any] = [{"token": t} for t in env.tokens]
    else:
        server = start_bare(env, args.server_cores)
        env.servers.append(server)
        auths = [None] * args.sockets
    try:
        return measure(
            server,
            pool,
            auths,
            deflate=deflate,
            idle=args.idle,
            trace_dir=trace_dir,
            profile=profile,
        )
    finally:
        server.stop()
        env.servers.remove(server)


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sockets", type=int, default=2000)
    ap.add_argument("--idle", type=float, default=5)
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--trace", action="store_true", help="also a tracemalloc breakdown of ours")
    ap.add_argument("--only", choices=["ours", "bare"], help="one system only")
    ap.add_argument("--profile", action="store_true", help="also cProfile ours while accepting")
    args = ap.parse_args()
    env = await setup(args.sockets)
    pool = ClientPool(args.client_cores)
    rows: list[tuple[str, bool, dict[str, Any]]] = []
    try:
        for deflate in (False, True):
            for system in ("ours", "bare"):
                if args.only and system != args.only:
                    continue
                r = await asyncio.to_thread(run_row, env, pool, args, system, deflate)
                rows.append((system, deflate, r))
                print(system, "deflate" if deflate else "plain", r, flush=True)
        if args.trace:
            traced = await asyncio.to_thread(run_row, env, pool, args, "ours", False, True)
        if args.profile:
            profiled = await asyncio.to_thread(run_row, env, pool, args, "ours", False, False, True)
    finally:
        pool.stop()
        await teardown(env)
    print(
        f"machine: {machine()}; server cores {args.server_cores}, client cores {args.client_cores}"
    )
    print(
        "| server | client offers permessage-deflate | sockets | accepts/s "
        "| server CPU ms/accept | KiB per idle socket | RSS MiB |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for system, deflate, r in rows:
        name = "ours (`cinema serve`)" if system == "ours" else "bare python-socketio"
        print(
            f"| {name} | {'yes' if deflate else 'no'} | {r['sockets']} | {r['accepts_per_s']:.0f} "
            f"| {r['server_cpu_ms_per_accept']:.2f} | {r['kib_per_socket']:.1f} "
            f"| {r['rss_mib']:.0f} |"
        )
    for system, deflate, r in rows:
        if r["errors"]:
            print(f"errors ({system}, deflate={deflate}): {r['errors']}")
    if args.trace:
        print("ours under tracemalloc, no deflate offered (its RSS is not comparable):")
        print("\n".join(traced["trace"]))
    if args.profile:
        print("ours under cProfile while accepting (its rates are not comparable):")
        print("\n".join(profiled["trace"]))


if __name__ == "__main__":
    asyncio.run(main())
