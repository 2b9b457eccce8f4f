"""Redis commands and PostgreSQL transactions per event: the units of docs/scaling.md.

    .venv/bin/python -m bench.redis_units [--sockets 200] [--seeks 50] [--dms 100]
        [--idle 31] [--json FILE]

Two `cinema serve` processes on a Redis of their own (a scratch `redis-server` this script
starts on a free port, so nobody else's commands are counted) and a scratch database. Redis's
`INFO commandstats` and PostgreSQL's `pg_stat_database` (transactions of the scratch database)
are read before and after each step; the servers' background work (liveness beats, presence
sweeps) is measured first with nothing connected and subtracted. Steps:

- connect: `--sockets` authenticated sockets, half on each process;
- idle: the same sockets held `--idle` seconds (covers one socket heartbeat, every 30 s,
  which also pushes the process's users' presence checks in one command); later steps
  subtract this per socket and second;
- party seek: a 20-member party over both processes, the host seeks `--seeks` times;
- DM: `--dms` messages between friends on different processes.

Counts do not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from sqlalchemy.dialects.postgresql import insert

import bench.common as common
from bench.common import BenchEnv, machine, setup, teardown
from bench.eio_client import EioClient
from cinema.ports import free_port
from models.core.db import transaction
from models.social.friends.tables import Friendship


async def _redis_calls(r: Redis) -> Counter[str]:
    info = await r.info("commandstats")
    return Counter({k.removeprefix("cmdstat_"): int(v["calls"]) for k, v in info.items()})


async def _pg_xacts(env: BenchEnv) -> int:
    # A backend's counts reach pg_stat_database when it next reports: at most every second
    # while busy, and within 10 s once it is idle.
    await asyncio.sleep(11)
    conn = await asyncpg.connect(common.ADMIN_DB)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = $1",
            env.db_name,
        )
        return int(row["n"]) if row else 0
    finally:
        await conn.close()


class Meter:
    def __init__(self, env: BenchEnv, redis: Redis) -> None:
        self.env, self.redis = env, redis
        self.background: Counter[str] = Counter()
        self.background_xacts = 0.0
        self.background_s = 0.0
        self.per_socket_second: dict[str, float] = {}

    async def snapshot(self) -> tuple[float, Counter[str], int]:
        xacts = await _pg_xacts(self.env)
        return time.perf_counter(), await _redis_calls(self.redis), xacts

    async def learn_background(self, seconds: float) -> None:
        t0, c0, x0 = await self.snapshot()
        await asyncio.sleep(seconds)
        t1, c1, x1 = await self.snapshot()
        self.background_s = t1 - t0
        self.background = c1 - c0
        self.background_xacts = x1 - x0

    def net(
        self,
        before: tuple[float, Counter[str], int],
        after: tuple[float, Counter[str], int],
        socket_seconds: float = 0.0,
    ) -> tuple[dict[str, float], float]:
        """Commands and transactions of a step, less the servers' background and, once it is
        known, what the sockets held meanwhile cost anyway (`socket_seconds` of them)."""
        share = (after[0] - before[0]) / self.background_s
        out: dict[str, float] = {}
        for cmd in set(after[1]) | set(before[1]):
            n = after[1][cmd] - before[1][cmd] - share * self.background[cmd]
            n -= socket_seconds * self.per_socket_second.get(cmd, 0.0)
            if n > 0.5:
                out[cmd] = n
        return out, max(0.0, after[2] - before[2] - share * self.background_xacts)


def _per(counts: dict[str, float], events: int) -> dict[str, float]:
    return {k: round(v / events, 2) for k, v in sorted(counts.items(), key=lambda kv: -kv[1])}


async def _ok(c: EioClient, event: str, data: Any) -> Any:
    ack = await c.call(event, data, timeout=60)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise RuntimeError(f"{event}: {ack}")
    return ack["data"]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sockets", type=int, default=200)
    ap.add_argument("--seeks", type=int, default=50)
    ap.add_argument("--dms", type=int, default=100)
    ap.add_argument("--idle", type=float, default=31)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    port = free_port()
    redis_proc = await asyncio.create_subprocess_exec(
        "redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    common.REDIS = f"redis://127.0.0.1:{port}/0"
    pairs = 20
    env: BenchEnv | None = None
    clients: list[EioClient] = []
    rows: dict[str, Any] = {}
    try:
        await asyncio.sleep(0.5)
        env = await setup(args.sockets + 20 + 2 * pairs)
        redis = Redis.from_url(common.REDIS, decode_responses=True)
        servers = env.start_servers(2)
        meter = Meter(env, redis)
        await asyncio.sleep(2)
        await meter.learn_background(10)
        rows["background_per_s"] = {
            "redis": _per(dict(meter.background), round(meter.background_s)),
            "pg_xacts": round(meter.background_xacts / meter.background_s, 2),
        }
        tokens = env.tokens

        async def connect(i: int, token: str) -> EioClient:
            c = EioClient()
            await c.connect(servers[i % 2].url, {"token": token}, timeout=60)
            clients.append(c)
            return c

        before = await meter.snapshot()
        gate = asyncio.Semaphore(20)

        async def one(i: int) -> None:
            async with gate:
                await connect(i, tokens[i])

        await asyncio.gather(*(one(i) for i in range(args.sockets)))
        connected = (before, await meter.snapshot())

        before = await meter.snapshot()
        await asyncio.sleep(args.idle)
        after = await meter.snapshot()
        redis_n, pg_n = meter.net(before, after)
        socket_s = args.sockets * (after[0] - before[0])
        meter.per_socket_second = {k: v / socket_s for k, v in redis_n.items()}
        # The connects, less what the sockets already in cost meanwhile (half of them on
        # average, as they came in one after another).
        span = connected[1][0] - connected[0][0]
        redis_n, pg_n = meter.net(*connected, args.sockets / 2 * span)
        rows["connect"] = {"redis": _per(redis_n, args.sockets), "pg_xacts": pg_n / args.sockets}
        rows["idle_socket_second"] = {
            "redis": {k: round(v, 3) for k, v in sorted(meter.per_socket_second.items())},
            "pg_xacts": 0.0,
        }

        base = args.sockets
        host = await connect(0, tokens[base])
        made = await _ok(host, "party:create", {"title_id": env.title_id, "capacity": 50})
        await _ok(host, "party:play", {"party_id": made["party_id"]})
        for k in range(1, 20):
            m = await connect(k, tokens[base + k])
            await _ok(m, "party:join", {"invite_code": made["invite_code"]})
        before = await meter.snapshot()
        for n in range(args.seeks):
            await _ok(host, "party:seek", {"party_id": made["party_id"], "position_ms": 1000 * n})
        after = await meter.snapshot()
        redis_n, pg_n = meter.net(before, after, len(clients) * (after[0] - before[0]))
        rows["party_seek_20_members"] = {
            "redis": _per(redis_n, args.seeks),
            "pg_xacts": pg_n / args.seeks,
        }

        base += 20
        people = list(zip(env.user_ids[base:], tokens[base:], strict=True))
        senders, receivers = people[:pairs], people[pairs : 2 * pairs]
        async with transaction(env.ctx.sessions) as session:
            friend_rows = []
            for (a, _), (b, _) in zip(senders, receivers, strict=True):
                friend_rows += [
                    {"user_id": uuid.UUID(a), "friend_id": uuid.UUID(b)},
                    {"user_id": uuid.UUID(b), "friend_id": uuid.UUID(a)},
                ]
            await session.execute(insert(Friendship).values(friend_rows))
        outs = [await connect(0, t) for _, t in senders]
        for _, t in receivers:
            await connect(1, t)
        for k in range(pairs):  # the first message of a pair opens the conversation
            first = {"to_user_id": receivers[k][0], "client_msg_id": uuid.uuid4().hex}
            await _ok(outs[k], "dm:send", {**first, "text": "hi"})
        before = await meter.snapshot()
        for n in range(args.dms):
            k = n % pairs
            payload = {"to_user_id": receivers[k][0], "client_msg_id": uuid.uuid4().hex}
            await _ok(outs[k], "dm:send", {**payload, "text": f"m{n}"})
        after = await meter.snapshot()
        redis_n, pg_n = meter.net(before, after, len(clients) * (after[0] - before[0]))
        rows["dm_send"] = {"redis": _per(redis_n, args.dms), "pg_xacts": pg_n / args.dms}
        await redis.aclose()
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        if env is not None:
            await teardown(env)
        redis_proc.terminate()
        await redis_proc.wait()
    print(f"machine: {machine()}")
    print("| event | Redis commands | of which | PostgreSQL transactions |")
    print("| --- | --- | --- | --- |")
    for name, r in rows.items():
        total = sum(r["redis"].values())
        top = ", ".join(f"{k} {v:g}" for k, v in list(r["redis"].items())[:6])
        print(f"| {name} | {total:.2f} | {top} | {r['pg_xacts']:.2f} |")
    if args.json:
        args.json.write_text(
            json.dumps({"bench": "redis_units", "machine": machine(), "rows": rows}, indent=2)
        )


if __name__ == "__main__":
    asyncio.run(main())
