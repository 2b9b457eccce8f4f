"""Fan-out: a host's seek reaching every member of a 500-member party on two processes.

Two `cinema serve` processes share Redis; the members' Socket.IO clients run in two worker
processes, half connected to each server. Phase 0 (the party fills): every member connects,
then all join at once (up to 50 joins in flight per worker); counted are the party:state
messages delivered per join, the servers' CPU per join, and the time from the last join's
ack until every member holds the final state (for ours; `--batch-ms 0,50` runs the servers
with each PARTY_STATE_BATCH_MS in turn, `--rounds` times, alternated). Phase 1 (latency): the
host seeks every 200 ms;
each delivery's latency is receipt time minus the host's send time (one machine, one clock),
measured once the members have read the party:state every join sent them (no state heard
for 1 s): otherwise the last joiners' backlog shows up as the first seeks' latency.
Phase 2 (throughput): a burst of seeks, 8 in flight; deliveries per CPU-second of the two
server processes. The same two phases then run against bare python-socketio (two uvicorn
processes, the same Redis manager, `fire` -> room emit of a same-sized payload): the ratio of
deliveries per core-second is ours / bare.

    .venv/bin/python -m bench.party_fanout [--members 500] [--paced 30] [--burst 60]
        [--batch-ms 0,50] [--rounds 2] [--no-bare] [--json FILE]

`--members 100,200,500` runs each size in turn (both systems), for latency against load.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import socketio

from bench.common import ROOT, BenchEnv, Server, machine, percentile, setup, teardown
from cinema.ports import free_port


def now_ms() -> float:
    return time.time() * 1000


# --- worker processes: many clients each ---------------------------------------------------


def worker_main(conn: Connection, urls: list[str], tokens: list[str], mode: str, room: str) -> None:
    asyncio.run(_worker(conn, urls, tokens, mode, room))


async def _worker(
    conn: Connection, urls: list[str], tokens: list[str], mode: str, room: str
) -> None:
    received: list[tuple[int, float]] = []
    clients: list[socketio.AsyncClient] = []
    heard = [now_ms()]  # when the last party:state arrived, of any version
    # Per client: (version, time) of its join ack's state, and of each party:state it heard.
    acks: list[tuple[int, float]] = []
    states: list[list[tuple[int, float]]] = []

    def listener(i: int) -> Any:
        async def on_state(data: dict[str, Any]) -> None:
            heard[0] = now_ms()
            received.append((int(data["version"]), heard[0]))
            states[i].append((int(data["version"]), heard[0]))

        return on_state

    gate = asyncio.Semaphore(20)

    async def connect(i: int, c: socketio.AsyncClient, token: str) -> None:
        async with gate:
            await c.connect(
                urls[i % len(urls)],
                auth={"token": token},
                transports=["websocket"],
                wait_timeout=30,
            )

    joining = asyncio.Semaphore(50)

    async def join(c: socketio.AsyncClient) -> tuple[int, float]:
        async with joining:
            if mode == "ours":
                ack = await c.call("party:join", {"invite_code": room}, timeout=300)
                assert ack["ok"], ack
                return int(ack["data"]["state"]["version"]), now_ms()
            assert await c.call("join", room, timeout=300)
            return 0, now_ms()

    for i in range(len(tokens)):
        clients.append(socketio.AsyncClient(reconnection=False))
        clients[i].on("party:state", listener(i))
        states.append([])
    pairs = enumerate(zip(clients, tokens, strict=True))
    await asyncio.gather(*(connect(i, c, t) for i, (c, t) in pairs))
    conn.send(("connected", len(clients)))
    loop = asyncio.get_running_loop()
    msg = await loop.run_in_executor(None, conn.recv)
    assert msg[0] == "join"
    acks = list(await asyncio.gather(*(join(c) for c in clients)))
    conn.send(("ready", len(clients), max(t for _, t in acks)))
    while True:
        msg = await loop.run_in_executor(None, conn.recv)
        if msg[0] == "settle":
            # Each join sent every member a party:state: wait until that backlog is read.
            _, quiet_ms, timeout = msg
            deadline = time.monotonic() + timeout
            while now_ms() - heard[0] < quiet_ms and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            conn.send(("settled", now_ms() - heard[0] >= quiet_ms))
        elif msg[0] == "held":
            # When each client first held `final` (its ack, or a party:state), and how many
            # party:state the clients heard during the joins.
            _, final = msg
            held = [
                min(
                    [t for v, t in [ack, *heard_by] if v >= final],
                    default=float("inf"),
                )
                for ack, heard_by in zip(acks, states, strict=True)
            ]
            conn.send(("held", max(held, default=0.0), sum(len(x) for x in states)))
        elif msg[0] == "wait":
            _, first, last, timeout = msg
            expected = (last - first + 1) * len(clients)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                got = [t for v, t in received if first <= v <= last]
                if len(got) >= expected:
                    break
                await asyncio.sleep(0.01)
            conn.send(("got", len(got), max(got, default=0.0)))
        elif msg[0] == "stop":
            conn.send(("received", received))
            for c in clients:
                await c.disconnect()
            return


class Workers:
    def __init__(self, urls: list[str], tokens: list[str], mode: str, room: str, n: int = 2):
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for k in range(n):
            parent, child = ctx.Pipe()
            part = tokens[k::n]
            # Worker k starts on server k, so each worker and each server has both halves.
            order = urls[k % len(urls) :] + urls[: k % len(urls)]
            p = ctx.Process(target=worker_main, args=(child, order, part, mode, room), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)

    def connected(self) -> int:
        return sum(c.recv()[1] for c in self.conns)

    def join(self) -> tuple[int, float]:
        """All members join at once; (how many, when the last ack arrived)."""
        for c in self.conns:
            c.send(("join",))
        replies = [c.recv() for c in self.conns]
        return sum(r[1] for r in replies), max(r[2] for r in replies)

    def held(self, final: int) -> tuple[float, int]:
        """(When the last member came to hold version `final`, party:state heard so far.)"""
        for c in self.conns:
            c.send(("held", final))
        replies = [c.recv() for c in self.conns]
        return max(r[1] for r in replies), sum(r[2] for r in replies)

    def settle(self, quiet_ms: float = 1000, timeout: float = 120) -> bool:
        """True once no worker has heard a party:state for quiet_ms (the joins' backlog read)."""
        for c in self.conns:
            c.send(("settle", quiet_ms, timeout))
        return all([c.recv()[1] for c in self.conns])

    def wait(self, first: int, last: int, timeout: float = 120) -> tuple[int, float]:
        for c in self.conns:
            c.send(("wait", first, last, timeout))
        replies = [c.recv() for c in self.conns]
        return sum(r[1] for r in replies), max(r[2] for r in replies)

    def stop(self) -> list[tuple[int, float]]:
        out: list[tuple[int, float]] = []
        for c in self.conns:
            c.send(("stop",))
        for c in self.conns:
            out += c.recv()[1]
        for p in self.procs:
            p.join(30)
        return out


# --- the two systems under test ---------------------------------------------------------------


class Ours:
    def __init__(self, env: BenchEnv, servers: list[Server]) -> None:
        self.env = env
        self.servers = servers
        self.host = socketio.AsyncClient(reconnection=False)
        self.party_id = ""
        self.invite = ""
        self.position = 0

    async def start(self, capacity: int) -> str:
        await self.host.connect(
            self.servers[0].url, auth={"token": self.env.tokens[0]}, transports=["websocket"]
        )
        ack = await self.host.call(
            "party:create", {"title_id": self.env.title_id, "capacity": capacity}, timeout=30
        )
        assert ack["ok"], ack
        self.party_id, self.invite = ack["data"]["party_id"], ack["data"]["invite_code"]
        ack = await self.host.call("party:play", {"party_id": self.party_id}, timeout=30)
        assert ack["ok"], ack
        return self.invite

    async def _ensure_host(self) -> None:
        """The host's socket may time out while hundreds of members connect on a busy box."""
        if self.host.connected:
            return
        self.host = socketio.AsyncClient(reconnection=False)
        await self.host.connect(
            self.servers[0].url, auth={"token": self.env.tokens[0]}, transports=["websocket"]
        )
        ack = await self.host.call("party:join", {"party_id": self.party_id}, timeout=30)
        assert ack["ok"], ack

    async def broadcast(self) -> tuple[int, float]:
        await self._ensure_host()
        self.position += 1_000
        sent = now_ms()
        ack = await self.host.call(
            "party:seek", {"party_id": self.party_id, "position_ms": self.position}, timeout=30
        )
        assert ack["ok"], ack
        return int(ack["data"]["version"]), sent

    async def final_version(self) -> int | None:
        await self._ensure_host()
        ack = await self.host.call("party:snapshot", {"party_id": self.party_id}, timeout=30)
        assert ack["ok"], ack
        return int(ack["data"]["version"])

    async def stop(self) -> None:
        await self.host.disconnect()


class Bare:
    def __init__(self, servers: list[Server], payload: dict[str, Any]) -> None:
        self.servers = servers
        self.payload = payload
        self.host = socketio.AsyncClient(reconnection=False)
        self.version = 0

    async def start(self, capacity: int) -> str:
        await self.host.connect(self.servers[0].url, transports=["websocket"])
        return "bench-room"

    async def broadcast(self) -> tuple[int, float]:
        self.version += 1
        version = self.version
        sent = now_ms()
        payload = dict(self.payload, version=version)
        assert await self.host.call("fire", {"room": "bench-room", "payload": payload}, timeout=30)
        return version, sent

    async def final_version(self) -> int | None:
        return None  # bare joins send nothing

    async def stop(self) -> None:
        await self.host.disconnect()


def start_bare(env: BenchEnv, count: int) -> list[Server]:
    servers = []
    channel = f"{env.settings.redis_prefix}:bare"
    for _ in range(count):
        port = free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_server:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            env=env.env(CHANNEL=channel),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        servers.append(Server(f"http://127.0.0.1:{port}", proc))
    for s in servers:
        _wait_socket(s)
    return servers


def _wait_socket(server: Server, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{server.url}/socket.io/?EIO=4&transport=polling", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("bare server not up")


async def measure(
    system: Ours | Bare,
    servers: list[Server],
    urls: list[str],
    tokens: list[str],
    mode: str,
    paced: int,
    burst: int,
) -> dict[str, Any]:
    room = await system.start(len(tokens) + 1)
    workers = Workers(urls, tokens, mode, room)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, workers.connected)
    cpu0 = sum(s.cpu_seconds() for s in servers)
    joined, last_ack = await loop.run_in_executor(None, workers.join)
    # Each join's party:state reaches every member already in: they are read before the first
    # measured seek, or the last members' backlog is counted as seek latency.
    settled = await loop.run_in_executor(None, workers.settle)
    assert settled, "the members still heard the joins' party:state after 120 s"
    join_cpu = sum(s.cpu_seconds() for s in servers) - cpu0  # with the settle's idle second
    final = await system.final_version()
    joins: dict[str, Any] = {}
    if final is not None:
        held_at, heard = await loop.run_in_executor(None, workers.held, final)
        joins = {
            "join_states": heard,
            "join_states_per_join": heard / joined,
            "join_cpu_ms_per_join": join_cpu * 1000 / joined,
            "join_final_lag_ms": max(0.0, held_at - last_ack),
        }
    sent: dict[int, float] = {}
    first = last = 0
    for _i in range(paced):
        version, t = await system.broadcast()
        sent[version] = t
        first = first or version
        last = version
        await asyncio.sleep(0.2)
    await asyncio.get_running_loop().run_in_executor(None, workers.wait, first, last)
    # Throughput: a burst with 8 in flight, CPU of the server processes only.
    cpu0 = sum(s.cpu_seconds() for s in servers)
    t0 = now_ms()
    queue = list(range(burst))
    versions: list[int] = []

    async def firing() -> None:
        while queue:
            queue.pop()
            v, _ = await system.broadcast()
            versions.append(v)

    await asyncio.gather(*(firing() for _ in range(8)))
    got, last_at = await asyncio.get_running_loop().run_in_executor(
        None, workers.wait, min(versions), max(versions)
    )
    cpu = sum(s.cpu_seconds() for s in servers) - cpu0
    wall = (last_at - t0) / 1000
    received = await asyncio.get_running_loop().run_in_executor(None, workers.stop)
    await system.stop()
    latencies = [t - sent[v] for v, t in received if v in sent]
    return {
        "members": joined,
        **joins,
        "latency_ms": latencies,
        "paced_expected": paced * joined,
        "burst_deliveries": got,
        "burst_expected": burst * joined,
        "burst_wall_s": wall,
        "burst_cpu_s": cpu,
        "per_core_s": got / cpu if cpu else float("nan"),
        "per_s": got / wall if wall else float("nan"),
    }


def describe(name: str, r: dict[str, Any]) -> str:
    lat = r["latency_ms"]
    return (
        f"| {name} | {r['members']} | {len(lat)}/{r['paced_expected']} | "
        f"{percentile(lat, 50):.1f} | {percentile(lat, 99):.1f} | {max(lat):.1f} | "
        f"{r['burst_deliveries']}/{r['burst_expected']} | {r['per_s']:.0f} | "
        f"{r['burst_cpu_s']:.2f} | {r['per_core_s']:.0f} |"
    )


def _summary(system: str, r: dict[str, Any]) -> dict[str, Any]:
    lat = r["latency_ms"]
    return {
        "system": system,
        **{k: v for k, v in r.items() if k != "latency_ms"},
        "p50_ms": percentile(lat, 50),
        "p95_ms": percentile(lat, 95),
        "p99_ms": percentile(lat, 99),
        "max_ms": max(lat, default=float("nan")),
    }


SAMPLE_STATE = {
    "party_id": "00000000-0000-0000-0000-000000000000",
    "version": 0,
    "phase": "playing",
    "playing": True,
    "position_ms": 1_000,
    "anchor_server_ms": 0,
    "rate": 1.0,
    "media": {"kind": "title", "id": 1, "duration_ms": None},
    "host_id": "00000000-0000-0000-0000-000000000000",
    "control_mode": "host_only",
    "waiting_for": [],
    "wait_deadline_ms": None,
    "capacity": 501,
    "members_version": 501,
    "members": None,
    "members_delta": None,
    "members_base_version": None,
    "cause": "seek",
    "by": "00000000-0000-0000-0000-000000000000",
    "server_ms": 0,
    "ended_reason": None,
}


def _progress(members: int, name: str, r: dict[str, Any]) -> None:
    """One line per run as it ends (a later run failing loses nothing)."""
    joins = (
        f"; joins: {r['join_states_per_join']:.1f} states/join, "
        f"{r['join_cpu_ms_per_join']:.2f} CPU ms/join, final held {r['join_final_lag_ms']:.0f} ms "
        "after the last ack"
        if "join_states" in r
        else ""
    )
    lat = r["latency_ms"]
    print(
        f"[{members} {name}] seeks p50 {percentile(lat, 50):.1f} p99 {percentile(lat, 99):.1f} ms, "
        f"burst {r['per_core_s']:.0f} deliveries per core-s{joins}",
        flush=True,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members", default="500", help="party sizes, e.g. 100,200,500 (latency against load)"
    )
    parser.add_argument("--paced", type=int, default=30)
    parser.add_argument("--burst", type=int, default=60)
    parser.add_argument(
        "--batch-ms",
        default="",
        help="PARTY_STATE_BATCH_MS values to run ours with, in turn (e.g. 0,50; default: the "
        "server's default)",
    )
    parser.add_argument("--rounds", type=int, default=1, help="repeat, alternating the systems")
    parser.add_argument("--no-bare", action="store_true", help="skip bare python-socketio")
    parser.add_argument("--json", type=Path, help="also write the results here (bench/plots.py)")
    args = parser.parse_args()
    sizes = [int(m) for m in args.members.split(",")]
    batches = [b for b in args.batch_ms.split(",") if b] or [""]
    env = await setup(max(sizes) + 1)
    runs: list[tuple[int, str, dict[str, Any]]] = []  # (members, system, result)
    try:
        for members in sizes:
            tokens = env.tokens[1 : members + 1]
            for _round in range(args.rounds):
                for batch in batches:
                    extra = {"PARTY_STATE_BATCH_MS": batch} if batch else {}
                    servers = env.start_servers(2, SOCKETIO_MAX_PAYLOAD_BYTES="65536", **extra)
                    urls = [s.url for s in servers]
                    ours = await measure(
                        Ours(env, servers), servers, urls, tokens, "ours", args.paced, args.burst
                    )
                    for s in servers:
                        s.stop()
                    env.servers = []
                    name = f"ours, batch {batch} ms" if batch else "ours"
                    runs.append((members, name, ours))
                    _progress(members, name, ours)
                if args.no_bare:
                    continue
                bare_servers = start_bare(env, 2)
                env.servers = bare_servers
                sample = dict(SAMPLE_STATE, anchor_server_ms=int(now_ms()), server_ms=int(now_ms()))
                bare = await measure(
                    Bare(bare_servers, sample),
                    bare_servers,
                    [s.url for s in bare_servers],
                    tokens,
                    "bare",
                    args.paced,
                    args.burst,
                )
                for s in bare_servers:
                    s.stop()
                env.servers = []
                runs.append((members, "bare", bare))
    finally:
        await teardown(env)
    print(f"machine: {machine()}")
    print(
        "| system | members | paced deliveries | p50 ms | p99 ms | max ms | burst deliveries "
        "| per s (wall) | server CPU s | per core-second |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for _, name, r in runs:
        print(describe("bare python-socketio" if name == "bare" else f"parties ({name})", r))
    print()
    print(
        "| system | members | party:state heard while joining | per join "
        "| server CPU ms per join | last join ack -> all hold the final state (ms) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for members, name, r in runs:
        if "join_states" in r:
            print(
                f"| {name} | {members} | {r['join_states']} | {r['join_states_per_join']:.1f} "
                f"| {r['join_cpu_ms_per_join']:.2f} | {r['join_final_lag_ms']:.0f} |"
            )
    bares = {m: r for m, name, r in runs if name == "bare"}
    for members, name, r in runs:
        if name != "bare" and members in bares:
            print(
                f"{members} members, {name}: ratio per core-second (ours / bare): "
                f"{r['per_core_s'] / bares[members]['per_core_s']:.2f}"
            )
    if args.json:
        rows = [_summary("bare" if n == "bare" else "ours", r) | {"label": n} for _, n, r in runs]
        args.json.write_text(
            json.dumps({"bench": "party_fanout", "machine": machine(), "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    asyncio.run(main())
