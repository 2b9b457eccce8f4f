"""Many processes: what one server process pays for cross-process delivery, at 1, 2, 4 and 8
processes with parties spread over them, ours (realtime/relay.py, room channels) against bare
python-socketio's Redis manager (one channel that every process reads).

    .venv/bin/python -m bench.relay_scaling [--procs 1,2,4,8] [--parties-per-proc 3]
        [--members 6] [--spread 2] [--rate 2] [--seconds 10] [--server-cores 0]
        [--client-cores 1] [--json FILE]

The load per process is the same at every P: `--parties-per-proc` x P parties of `--members`
members, each party's members on `--spread` neighbouring processes (party j on processes j,
j+1, ... mod P), and every party's host seeks `--rate` times a second for `--seconds`. So the
total traffic grows with P while each process's own rooms do not. Per process we read the
pub/sub messages it took from Redis during the load (ours: the relay's counters that each
process writes to Redis every second; bare: a counter around its manager's reader) and its
CPU time (/proc). If the cost of a process follows its own rooms, both stay flat as P grows;
with one shared channel they grow with P.

The clients are raw Socket.IO clients (bench/eio_client.py) in this process, pinned to the
client cores; all servers share the server cores, so the wall-clock numbers are not the point:
messages and CPU seconds per process are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    ROOT,
    BenchEnv,
    Server,
    machine,
    pin_self,
    pinned,
    setup,
    teardown,
)
from bench.eio_client import EioClient
from cinema.ports import free_port

BEAT_WAIT_S = 1.6  # the relay's counters reach Redis once a second (realtime/liveness.py)


def _layout(procs: int, parties: int, members: int, spread: int) -> list[list[int]]:
    """For each party, the process index of each member (the host first)."""
    out = []
    for j in range(parties):
        home = j % procs
        out.append([(home + (m % min(spread, procs))) % procs for m in range(members)])
    return out


def _start_bare(env: BenchEnv, count: int, cores: str | None) -> list[Server]:
    channel = f"{env.settings.redis_prefix}:bare"
    servers = []
    for _ in range(count):
        port = free_port()
        proc = subprocess.Popen(
            pinned(
                [sys.executable, "-m", "uvicorn", "bench.bare_server:app", "--host",
                 "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"],
                cores,
            ),
            env=env.env(CHANNEL=channel),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        servers.append(Server(f"http://127.0.0.1:{port}", proc))
    return servers


async def _connect(url: str, auth: Any, tries: int = 120) -> EioClient:
    for _ in range(tries):
        c = EioClient()
        try:
            await c.connect(url, auth, timeout=30)
            return c
        except OSError:
            await asyncio.sleep(0.5)
    raise RuntimeError(f"{url} not accepting sockets")


async def _ok(c: EioClient, event: str, data: Any) -> Any:
    ack = await c.call(event, data, timeout=60)
    if isinstance(ack, dict) and ack.get("ok") is False:
        raise RuntimeError(f"{event}: {ack}")
    return ack.get("data") if isinstance(ack, dict) else ack


async def _ours_stats(env: BenchEnv) -> dict[str, dict[str, float]]:
    """Each live process's relay counters and CPU seconds, by process id."""
    out: dict[str, dict[str, float]] = {}
    redis = env.ctx.redis
    async for key in redis.scan_iter(match=env.ctx.keys("sio", "proc", "*", "stats")):
        h = await redis.hgetall(key)
        if h:
            out[key] = {k: float(v) for k, v in h.items() if k in ("received", "echoes", "cpu_s")}
    return out


async def run_ours(env: BenchEnv, args: argparse.Namespace, procs: int) -> dict[str, Any]:
    servers = env.start_servers(procs, cores=args.server_cores, ready_timeout=300)
    clients: list[EioClient] = []
    try:
        layout = _layout(procs, args.parties_per_proc * procs, args.members, args.spread)
        users = iter(range(len(env.tokens)))
        hosts: list[tuple[EioClient, str]] = []
        for where in layout:
            host = await _connect(servers[where[0]].url, {"token": env.tokens[next(users)]})
            clients.append(host)
            made = await _ok(host, "party:create", {"title_id": env.title_id, "capacity": 50})
            await _ok(host, "party:play", {"party_id": made["party_id"]})
            for p in where[1:]:
                m = await _connect(servers[p].url, {"token": env.tokens[next(users)]})
                clients.append(m)
                await _ok(m, "party:join", {"invite_code": made["invite_code"]})
            hosts.append((host, made["party_id"]))

        async def seek(host: EioClient, party_id: str, n: int) -> None:
            await _ok(host, "party:seek", {"party_id": party_id, "position_ms": 1000 * (n + 1)})

        return await _measure(
            args,
            servers,
            [(lambda n, h=h, p=p: seek(h, p, n)) for h, p in hosts],
            stats=lambda: _ours_stats(env),
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for s in servers:
            s.stop()
            env.servers.remove(s)


async def run_bare(env: BenchEnv, args: argparse.Namespace, procs: int) -> dict[str, Any]:
    servers = _start_bare(env, procs, args.server_cores)
    env.servers.extend(servers)
    clients: list[EioClient] = []
    try:
        layout = _layout(procs, args.parties_per_proc * procs, args.members, args.spread)
        hosts: list[tuple[EioClient, str]] = []
        for j, where in enumerate(layout):
            room = f"party-{j}"
            members = [await _connect(servers[p].url, None) for p in where]
            for m in members:
                await _ok(m, "join", room)
            clients += members
            hosts.append((members[0], room))
        # One more socket per process to ask it for its counter.
        askers = [await _connect(s.url, None) for s in servers]
        clients += askers

        async def fire(host: EioClient, room: str, n: int) -> None:
            payload = {"party_id": room, "version": n, "position_ms": 1000 * (n + 1)}
            await _ok(host, "fire", {"room": room, "payload": payload})

        async def stats() -> dict[str, dict[str, float]]:
            out = {}
            for i, a in enumerate(askers):
                got = await a.call("stats", None, timeout=30)
                out[str(i)] = {"received": float(got["received"]), "echoes": 0.0}
            return out

        return await _measure(
            args, servers, [(lambda n, h=h, r=r: fire(h, r, n)) for h, r in hosts], stats=stats
        )
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        for s in servers:
            s.stop()
            env.servers.remove(s)


async def _measure(
    args: argparse.Namespace, servers: list[Server], senders: list[Any], stats: Any
) -> dict[str, Any]:
    await asyncio.sleep(BEAT_WAIT_S)
    before = await stats()
    cpu0 = [s.cpu_seconds() for s in servers]
    count = int(args.rate * args.seconds)
    t0 = time.perf_counter()

    async def paced(send: Any, offset: float) -> None:
        for n in range(count):
            delay = t0 + offset + n / args.rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            await send(n)

    await asyncio.gather(
        *(paced(send, k / (args.rate * len(senders))) for k, send in enumerate(senders))
    )
    wall = time.perf_counter() - t0
    await asyncio.sleep(BEAT_WAIT_S)
    cpu = [s.cpu_seconds() - c for s, c in zip(servers, cpu0, strict=True)]
    after = await stats()
    received = [after[k]["received"] - before.get(k, {}).get("received", 0) for k in after]
    echoes = [after[k]["echoes"] - before.get(k, {}).get("echoes", 0) for k in after]
    return {
        "processes": len(servers),
        "parties": len(senders),
        "broadcasts": count * len(senders),
        "seconds": wall,
        "inbound_per_process": received,
        "own_echoes_per_process": echoes,
        "cpu_s_per_process": cpu,
    }


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else float("nan")


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", default="1,2,4,8")
    ap.add_argument("--parties-per-proc", type=int, default=3)
    ap.add_argument("--members", type=int, default=6)
    ap.add_argument("--spread", type=int, default=2, help="processes each party's members use")
    ap.add_argument("--rate", type=float, default=2.0, help="seeks per second per party")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--only", choices=["ours", "bare"])
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    pin_self(args.client_cores)
    procs = [int(p) for p in args.procs.split(",")]
    env = await setup(max(procs) * args.parties_per_proc * args.members)
    rows: list[dict[str, Any]] = []
    try:
        for p in procs:
            for system, run in (("ours", run_ours), ("bare", run_bare)):
                if args.only and system != args.only:
                    continue
                r = await run(env, args, p)
                r["system"] = system
                rows.append(r)
                print(
                    f"{system} P={p}: inbound/process {_mean(r['inbound_per_process']):.0f}, "
                    f"CPU s/process {_mean(r['cpu_s_per_process']):.2f}",
                    flush=True,
                )
    finally:
        await teardown(env)
    print(
        f"machine: {machine()}; server cores {args.server_cores}, client cores {args.client_cores}"
    )
    print(
        f"{args.parties_per_proc} parties per process of {args.members} members on "
        f"{args.spread} processes each, {args.rate:g} seeks/s per party for {args.seconds:g} s"
    )
    print(
        "| system | processes | parties | broadcasts | inbound msgs per process (mean / max) "
        "| of which own echoes | server CPU s per process (mean / max) |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        inbound, cpu = r["inbound_per_process"], r["cpu_s_per_process"]
        print(
            f"| {r['system']} | {r['processes']} | {r['parties']} | {r['broadcasts']} "
            f"| {_mean(inbound):.0f} / {max(inbound, default=0):.0f} "
            f"| {_mean(r['own_echoes_per_process']):.0f} "
            f"| {_mean(cpu):.2f} / {max(cpu, default=0):.2f} |"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"bench": "relay_scaling", "machine": machine(), "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    asyncio.run(main())
