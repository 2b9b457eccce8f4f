"""DM delivery latency between two users on different server processes.

    .venv/bin/python -m bench.social_dm_latency [--duration 5] [--rates 10,100,1000]
        [--search 200,400,600,800,1200,1500] [--server-cores 0] [--client-cores 1]
        [--profile DIR]

Starts two real `cinema serve` processes on a scratch database (sharing Redis), makes sender
and receiver pairs of friends, connects every sender to process A and every receiver to process
B over WebSocket (python-socketio clients) and sends `dm:send` at a fixed rate. Latency runs
from the emit on the sender to the `dm:message` event at the receiver (one clock: every client
lives in this process). Each step has its own pairs, so the per-sender anti-spam limit (120 a
minute) never trips. Prints p50/p99/max per rate and the highest rate whose p99 stays under
100 ms with every message delivered. The servers run on the server cores, this client on the
client cores; `--profile DIR` runs each server under cProfile (bench/traced.py) during the
first rate only and prints the top functions by own time (the .pstats files stay in DIR).
Each rate also prints the round trips of the servers' shared Redis pipelines per message
(from /metrics: `context` carries the sends' rate-limit checks and the sockets' session
checks, `relay` the publishes) and how many callers each round trip carried.

`--baseline-root DIR` measures other code in the same run: two more servers run from DIR (a
checkout of the old commit, e.g. `git worktree add DIR <commit>`; same venv, same database),
and each rate runs `--rounds` times on each pair, alternating which goes first, then prints
the server CPU per message of both and their ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import socketio
from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert

from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    BenchEnv,
    Server,
    machine,
    percentile,
    pin_self,
    print_profiles,
    setup,
    start_profiled_servers,
    teardown,
    toggle_profiles,
)
from models.core.db import transaction
from models.social.friends.tables import Friendship

MSGS_PER_SENDER = 100
IDLE_S = 2.0  # the idle-CPU baseline before each rate


def _pairs_for(rate: int, duration: float) -> int:
    return max(5, math.ceil(rate * duration / MSGS_PER_SENDER))


async def _connect(url: str, token: str, on_message: Any = None) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    if on_message is not None:
        client.on("dm:message", on_message)
    await client.connect(url, auth={"token": token}, transports=["websocket"], wait_timeout=20)
    return client


async def _befriend(env: BenchEnv, pairs: list[tuple[str, str]]) -> None:
    rows: list[dict[str, Any]] = []
    for a, b in pairs:
        rows += [
            {"user_id": uuid.UUID(a), "friend_id": uuid.UUID(b)},
            {"user_id": uuid.UUID(b), "friend_id": uuid.UUID(a)},
        ]
    async with transaction(env.ctx.sessions) as session:
        await session.execute(insert(Friendship).values(rows).on_conflict_do_nothing())


async def step(
    env: BenchEnv,
    people: list[tuple[str, str]],
    rate: int,
    duration: float,
    profile: bool = False,
    servers: list[Server] | None = None,
) -> dict[str, Any]:
    """people: (user_id, token) for this step only; the first half send, the second receive.
    `servers`: the pair to use (senders on the first), default the first two started."""
    pair = servers or env.servers[:2]
    a_url, b_url = pair[0].url, pair[1].url
    n = len(people) // 2
    senders, receivers = people[:n], people[n:]
    await _befriend(env, [(s[0], r[0]) for s, r in zip(senders, receivers, strict=True)])
    total = int(rate * duration)
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    failed_acks = 0
    done = asyncio.Event()

    async def on_message(data: dict[str, Any]) -> None:
        t = sent_at.get(data.get("client_msg_id", ""))
        if t is not None:
            latencies.append(time.perf_counter() - t)
            if len(latencies) == total:
                done.set()

    def on_ack(ack: dict[str, Any]) -> None:
        nonlocal failed_acks
        if not ack.get("ok"):
            failed_acks += 1

    outs = [await _connect(a_url, tok) for _, tok in senders]
    ins = [await _connect(b_url, tok, on_message) for _, tok in receivers]
    await asyncio.sleep(0.5)
    # Same-run baseline: what the servers burn with these sockets connected and silent
    # (heartbeats, sweeps, pings), so a low rate's per-message figure can be read net of it.
    idle0, idle_t0 = sum(srv.cpu_seconds() for srv in pair), time.perf_counter()
    await asyncio.sleep(IDLE_S)
    idle_rate = (sum(srv.cpu_seconds() for srv in pair) - idle0) / (time.perf_counter() - idle_t0)
    if profile:
        toggle_profiles(env)
    trips0 = await _shared_round_trips(a_url)
    sessions0 = await _db_sessions(env)
    cpu0 = [srv.cpu_seconds() for srv in pair]
    start = time.perf_counter()
    i = 0
    while i < total:
        due = min(total, int((time.perf_counter() - start) * rate) + 1)
        while i < due:
            k = i % n
            cid = uuid.uuid4().hex
            sent_at[cid] = time.perf_counter()
            await outs[k].emit(
                "dm:send",
                {"to_user_id": receivers[k][0], "client_msg_id": cid, "text": f"m{i}"},
                callback=on_ack,
            )
            i += 1
        await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
    send_time = time.perf_counter() - start
    try:
        await asyncio.wait_for(done.wait(), 15)
    except TimeoutError:
        pass
    cpus = [srv.cpu_seconds() - c0 for srv, c0 in zip(pair, cpu0, strict=True)]
    window = time.perf_counter() - start
    cpu = sum(cpus)
    trips1 = await _shared_round_trips(a_url)
    await asyncio.sleep(1.0)  # PostgreSQL's session statistics are flushed within a second
    sessions = await _db_sessions(env) - sessions0
    if profile:
        toggle_profiles(env)
    for s in outs + ins:
        await s.disconnect()
    ms = [x * 1000 for x in latencies]
    return {
        "rate": rate,
        "sent": total,
        "achieved_rate": round(total / send_time),
        "received": len(latencies),
        "failed_acks": failed_acks,
        "p50_ms": round(percentile(ms, 50), 1),
        "p95_ms": round(percentile(ms, 95), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        # Load-independent: both servers' CPU time per delivered message (send + deliver).
        "server_cpu_ms_per_msg": round(cpu * 1000 / len(ms), 2) if ms else float("nan"),
        # Net of the idle burn measured just before (same sockets, nothing sent).
        "idle_cpu_ms_per_s": round(idle_rate * 1000, 1),
        "net_server_cpu_ms_per_msg": round((cpu - idle_rate * window) * 1000 / len(ms), 2)
        if ms
        else float("nan"),
        # The sender's process (store, fan out) and the recipient's (deliver) apart.
        "cpu_ms_per_msg_sender_receiver": [round(c * 1000 / len(ms), 2) for c in cpus]
        if ms
        else [],
        # Round trips of the shared Redis pipelines (both processes; the sends' rate-limit
        # checks and the relay's publishes) per message, and the callers each carried.
        **_trips_per_msg(trips0, trips1, total),
        # Database connections the servers opened meanwhile (a pool overflowing under load
        # opens and closes connections: each costs a connect's CPU).
        "db_connections_opened": sessions,
    }


async def _db_sessions(env: BenchEnv) -> int:
    """Sessions PostgreSQL has seen on the bench's database so far (pg_stat_database)."""
    async with env.ctx.engine.connect() as conn:
        n = await conn.scalar(
            text("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        )
    return int(n or 0)


def _trips_per_msg(
    before: dict[str, tuple[float, float]], after: dict[str, tuple[float, float]], msgs: int
) -> dict[str, Any]:
    per_msg, per_trip = {}, {}
    for name, (trips, calls) in after.items():
        trips0, calls0 = before.get(name, (0.0, 0.0))
        per_msg[name] = round((trips - trips0) / max(1, msgs), 3)
        per_trip[name] = round((calls - calls0) / max(1.0, trips - trips0), 2)
    return {"shared_redis_round_trips_per_msg": per_msg, "callers_per_round_trip": per_trip}


_TRIPS = re.compile(
    r'^cinema_redis_shared_(pipelines|pipeline_calls)_total\{pipeline="(\w+)"\} ([0-9.e+]+)$',
    re.M,
)


async def _shared_round_trips(url: str) -> dict[str, tuple[float, float]]:
    """Per shared pipeline: (round trips, callers carried) so far, all server processes (one
    scrape of /metrics sums them)."""
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            text = (await client.get(f"{url}/metrics")).text
    except httpx.HTTPError:
        return {}  # a server still drowning in a saturating step: no figure, not a crash
    out: dict[str, list[float]] = {}
    for kind, name, value in _TRIPS.findall(text):
        out.setdefault(name, [0.0, 0.0])[kind == "pipeline_calls"] += float(value)
    return {name: (v[0], v[1]) for name, v in out.items()}


async def _ping_baseline(env: BenchEnv, count: int = 50) -> dict[str, float]:
    """What the machine gives any socket event right now: `ping` acks at 10 a second."""
    sock = await _connect(env.servers[0].url, env.tokens[-1])
    ms = []
    try:
        for _ in range(count):
            t = time.perf_counter()
            await sock.call("ping", {}, timeout=30)
            ms.append((time.perf_counter() - t) * 1000)
            await asyncio.sleep(0.1)
    finally:
        await sock.disconnect()
    return {"p50_ms": round(percentile(ms, 50), 1), "p99_ms": round(percentile(ms, 99), 1)}


async def run(
    duration: float,
    rates: list[int],
    server_cores: str | None,
    profile: Path | None,
    json_out: Path | None = None,
    baseline_root: Path | None = None,
    rounds: int = 1,
) -> None:
    variants = 1 if baseline_root is None else 2
    per_rate = rounds * variants if baseline_root is not None else 1
    needed = sum(per_rate * 2 * _pairs_for(r, duration) for r in rates) + 1
    env = await setup(needed)
    dirs: list[Path] = []
    try:
        if profile is None:
            env.start_servers(2, cores=server_cores)
        else:
            dirs = start_profiled_servers(env, 2, cores=server_cores, out=profile)
        pairs: dict[str, list[Server]] = {"new": env.servers[:2]}
        if baseline_root is not None:
            pairs["baseline"] = env.start_servers(2, cores=server_cores, root=baseline_root)
        print(
            f"machine: {machine()}; two server processes on cores {server_cores};"
            f" {duration:g} s per rate"
            + ("" if baseline_root is None else f"; baseline {baseline_root}, {rounds} rounds"),
            flush=True,
        )
        people = list(zip(env.user_ids, env.tokens, strict=True))
        baseline = await _ping_baseline(env)
        print({"baseline": "ping ack round trip, 10/s", **baseline}, flush=True)
        results = []
        for i, rate in enumerate(rates):
            order = list(pairs)
            for r_i in range(rounds if baseline_root is not None else 1):
                # Alternated: each round the other code goes first.
                for label in order if r_i % 2 == 0 else order[::-1]:
                    n = 2 * _pairs_for(rate, duration)
                    mine, people = people[:n], people[n:]
                    first = bool(dirs) and i == 0 and r_i == 0 and label == "new"
                    r = await step(env, mine, rate, duration, profile=first, servers=pairs[label])
                    if first:
                        await print_profiles(dirs)
                    if baseline_root is not None:
                        r = {"code": label, "round": r_i + 1, **r}
                    results.append(r)
                    print(r, flush=True)
        if baseline_root is not None:
            _print_comparison(results, rates)
        ok = [
            r["rate"]
            for r in results
            if r.get("code", "new") == "new"
            and r["p99_ms"] < 100
            and r["received"] == r["sent"]
            and r["achieved_rate"] >= 0.95 * r["rate"]
        ]
        print(f"highest rate with p99 < 100 ms, all delivered: {max(ok) if ok else 'none'} msg/s")
        if json_out is not None:
            await asyncio.to_thread(
                json_out.write_text,
                json.dumps(
                    {
                        "bench": "social_dm_latency",
                        "machine": machine(),
                        "baseline_ping": baseline,
                        "rows": results,
                    },
                    indent=2,
                ),
            )
    finally:
        await teardown(env)


def _print_comparison(results: list[dict[str, Any]], rates: list[int]) -> None:
    """Per rate: server CPU per message of this code and of the baseline (mean of the rounds,
    and each round's), and the ratio of the means."""
    for rate in rates:
        cpu: dict[str, list[float]] = {}
        net: dict[str, list[float]] = {}
        lost: dict[str, int] = {}
        for r in results:
            if r["rate"] == rate:
                cpu.setdefault(r["code"], []).append(r["server_cpu_ms_per_msg"])
                net.setdefault(r["code"], []).append(r["net_server_cpu_ms_per_msg"])
                lost[r["code"]] = lost.get(r["code"], 0) + r["sent"] - r["received"]
        mean = {k: sum(v) / len(v) for k, v in cpu.items()}
        net_mean = {k: round(sum(v) / len(v), 2) for k, v in net.items()}
        print(
            {
                "rate": rate,
                "server_cpu_ms_per_msg": {k: round(m, 2) for k, m in mean.items()},
                "net_server_cpu_ms_per_msg": net_mean,
                "rounds": cpu,
                "undelivered": lost,
                "new_over_baseline": round(mean["new"] / mean["baseline"], 3),
            },
            flush=True,
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--rates", default="10,100,1000")
    ap.add_argument("--search", default="200,400,600,800,1200,1500")
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--profile", type=Path, default=None)
    ap.add_argument("--json", type=Path, help="also write the results here (bench/plots.py)")
    ap.add_argument(
        "--baseline-root", type=Path, help="a checkout of the old code, measured in the same run"
    )
    ap.add_argument("--rounds", type=int, default=2, help="with --baseline-root: runs per code")
    args = ap.parse_args()
    pin_self(args.client_cores)
    rates = sorted({int(r) for r in f"{args.rates},{args.search}".split(",") if r})
    asyncio.run(
        run(
            args.duration,
            rates,
            args.server_cores,
            args.profile,
            args.json,
            args.baseline_root,
            args.rounds,
        )
    )


if __name__ == "__main__":
    main()
