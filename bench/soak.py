"""Soak: mixed traffic for many minutes; server memory, latency and errors minute by minute.

    .venv/bin/python -m bench.soak [--minutes 30] [--sockets 200] [--scale 1]
        [--server-cores 0] [--client-cores 1] [--csv FILE] [--json FILE]

Two `cinema serve` processes (pinned to the server cores) sharing PostgreSQL and Redis; this
process (pinned to the client cores) drives, every second, `--scale` times:

- sockets: `--sockets` idle authenticated sockets held throughout, plus one socket that
  connects and leaves every 2 s (the connect path, and whatever a leaving socket leaves behind);
- parties: 4 parties of 5 members over both processes, each host seeking every 2 s
  (`party:seek` ack latency; every member must get every state);
- DMs: 2 a second between friends on different processes (`dm:send` ack latency; every
  message must reach its receiver);
- browsing: 5 requests a second, the first catalog page, a title, a search;
- ratings: 1 a second, `PUT /titles/{id}/rating` over 50 titles.

Every 10 s it samples each server's RSS and CPU time. Each minute it prints (and writes to the
CSV) per operation the count, errors and latency p50/p95/p99, the servers' RSS and CPU; at the
end, deliveries missed. Flat RSS and latency over the minutes are what a soak should show;
contended machines make latency noisy, RSS is not affected.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import random
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert

from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    BenchEnv,
    machine,
    percentile,
    pin_self,
    setup,
    teardown,
)
from bench.eio_client import EioClient
from models.catalog.tables import Title, TitleKind
from models.core.db import transaction
from models.social.friends.tables import Friendship

PARTIES, MEMBERS, DM_PAIRS, TITLES = 4, 5, 20, 50
SEARCH_WORDS = ["soak", "film", "night", "river", "storm", "film 1", "sok"]


class Recorder:
    """Latencies and errors per operation, bucketed by minute since the start."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()
        self.lat: dict[tuple[int, str], list[float]] = defaultdict(list)
        self.err: dict[tuple[int, str], int] = defaultdict(int)
        self.errors_by_kind: dict[str, int] = defaultdict(int)

    def minute(self) -> int:
        return int((time.perf_counter() - self.t0) // 60)

    async def timed(self, op: str, call: Any) -> Any:
        m = self.minute()
        t = time.perf_counter()
        try:
            out = await call
        except Exception as exc:
            self.err[(m, op)] += 1
            self.errors_by_kind[f"{op}: {type(exc).__name__}"] += 1
            return None
        self.lat[(m, op)].append((time.perf_counter() - t) * 1000)
        if isinstance(out, dict) and out.get("ok") is False:
            self.err[(m, op)] += 1
            self.errors_by_kind[f"{op}: {out.get('error', {}).get('code')}"] += 1
        if isinstance(out, httpx.Response) and out.status_code >= 400:
            self.err[(m, op)] += 1
            self.errors_by_kind[f"{op}: HTTP {out.status_code}"] += 1
        return out


async def _titles(env: BenchEnv) -> list[int]:
    async with transaction(env.ctx.sessions) as session:
        rows = [
            {"kind": TitleKind.film, "title": f"Soak Film {i}", "runtime_minutes": 90 + i}
            for i in range(TITLES)
        ]
        ids = (await session.execute(insert(Title).returning(Title.id), rows)).scalars().all()
    return [env.title_id, *ids]


async def _befriend(env: BenchEnv, pairs: list[tuple[str, str]]) -> None:
    rows: list[dict[str, Any]] = []
    for a, b in pairs:
        rows += [
            {"user_id": uuid.UUID(a), "friend_id": uuid.UUID(b)},
            {"user_id": uuid.UUID(b), "friend_id": uuid.UUID(a)},
        ]
    async with transaction(env.ctx.sessions) as session:
        await session.execute(insert(Friendship).values(rows))


async def _ok(c: EioClient, event: str, data: Any) -> Any:
    ack = await c.call(event, data, timeout=60)
    if not (isinstance(ack, dict) and ack.get("ok")):
        raise RuntimeError(f"{event}: {ack}")
    return ack["data"]


async def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--sockets", type=int, default=200, help="idle sockets held throughout")
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every rate")
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--csv", type=Path, help="per-minute rows")
    ap.add_argument("--json", type=Path, help="everything, with the 10 s samples")
    args = ap.parse_args()
    pin_self(args.client_cores)
    party_users = PARTIES * MEMBERS
    n_users = args.sockets + party_users + 2 * DM_PAIRS + 50
    env = await setup(n_users)
    tokens = list(zip(env.user_ids, env.tokens, strict=True))
    idle_users = tokens[: args.sockets]
    party_people = tokens[args.sockets : args.sockets + party_users]
    dm_people = tokens[args.sockets + party_users : args.sockets + party_users + 2 * DM_PAIRS]
    raters = tokens[args.sockets + party_users + 2 * DM_PAIRS :]
    title_ids = await _titles(env)
    senders, receivers = dm_people[:DM_PAIRS], dm_people[DM_PAIRS:]
    await _befriend(env, [(s[0], r[0]) for s, r in zip(senders, receivers, strict=True)])
    servers = env.start_servers(2, cores=args.server_cores)
    urls = [s.url for s in servers]
    rec = Recorder()
    clients: list[EioClient] = []
    delivered: dict[str, int] = defaultdict(int)
    expected: dict[str, int] = defaultdict(int)
    samples: list[dict[str, Any]] = []
    stop = asyncio.Event()
    http = httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=64))

    def counting(kind: str) -> Any:
        def on_event(name: str, data: Any) -> None:
            if name == kind:
                delivered[kind] += 1

        return on_event

    async def connect(url: str, token: str, on_event: Any = None) -> EioClient:
        c = EioClient(on_event)
        await c.connect(url, {"token": token}, timeout=60)
        clients.append(c)
        return c

    try:
        gate = asyncio.Semaphore(25)

        async def idle(i: int, token: str) -> None:
            async with gate:
                await connect(urls[i % 2], token)

        await asyncio.gather(*(idle(i, t) for i, (_, t) in enumerate(idle_users)))
        hosts: list[tuple[EioClient, str]] = []
        for p in range(PARTIES):
            people = party_people[p * MEMBERS : (p + 1) * MEMBERS]
            host = await connect(urls[p % 2], people[0][1], counting("party:state"))
            made = await _ok(host, "party:create", {"title_id": env.title_id, "capacity": 20})
            await _ok(host, "party:play", {"party_id": made["party_id"]})
            for k, (_, token) in enumerate(people[1:]):
                m = await connect(urls[(p + k + 1) % 2], token, counting("party:state"))
                await _ok(m, "party:join", {"invite_code": made["invite_code"]})
            hosts.append((host, made["party_id"]))
        outs = [await connect(urls[0], t) for _, t in senders]
        for _, t in receivers:
            await connect(urls[1], t, counting("dm:message"))
        print(
            f"{len(clients)} sockets up on 2 processes; soaking {args.minutes:g} min",
            flush=True,
        )
        await asyncio.sleep(2)
        delivered.clear()  # the states the joins caused are not the soak's
        rec.t0 = time.perf_counter()
        end = rec.t0 + args.minutes * 60

        async def every(period: float, work: Any) -> None:
            period /= args.scale
            next_at = time.perf_counter() + random.uniform(0, period)
            tasks: set[asyncio.Task[Any]] = set()
            while not stop.is_set():
                await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
                next_at += period
                if time.perf_counter() >= end:
                    break
                task = asyncio.create_task(work())
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            await asyncio.gather(*tasks, return_exceptions=True)

        def seek_party(host: EioClient, party_id: str) -> Any:
            position = [0]

            async def seek() -> None:
                position[0] += 1000
                expected["party:state"] += MEMBERS
                await rec.timed(
                    "party_seek",
                    host.call(
                        "party:seek",
                        {"party_id": party_id, "position_ms": position[0]},
                        timeout=60,
                    ),
                )

            return seek

        async def dm() -> None:
            k = random.randrange(DM_PAIRS)
            expected["dm:message"] += 1
            payload = {
                "to_user_id": receivers[k][0],
                "client_msg_id": uuid.uuid4().hex,
                "text": "soak",
            }
            await rec.timed("dm_send", outs[k].call("dm:send", payload, timeout=60))

        browse_n = [0]

        async def browse() -> None:
            browse_n[0] += 1
            url = urls[browse_n[0] % 2]
            kind = browse_n[0] % 3
            headers = {"Authorization": f"Bearer {random.choice(raters)[1]}"}
            if kind == 0:
                await rec.timed("browse_list", http.get(f"{url}/api/v1/titles", headers=headers))
            elif kind == 1:
                tid = random.choice(title_ids)
                await rec.timed(
                    "browse_title", http.get(f"{url}/api/v1/titles/{tid}", headers=headers)
                )
            else:
                q = random.choice(SEARCH_WORDS)
                await rec.timed(
                    "search", http.get(f"{url}/api/v1/titles", params={"q": q}, headers=headers)
                )

        async def rate() -> None:
            _, token = random.choice(raters)
            await rec.timed(
                "rating",
                http.put(
                    f"{random.choice(urls)}/api/v1/titles/{random.choice(title_ids)}/rating",
                    json={"score": random.randint(1, 10)},
                    headers={"Authorization": f"Bearer {token}"},
                ),
            )

        async def churn() -> None:
            _, token = random.choice(idle_users)

            async def once() -> None:
                c = EioClient()
                await c.connect(random.choice(urls), {"token": token}, timeout=60)
                await c.close()

            await rec.timed("socket_churn", once())

        async def sample() -> None:
            while not stop.is_set() and time.perf_counter() < end:
                samples.append(
                    {
                        "t_s": round(time.perf_counter() - rec.t0, 1),
                        "rss_mib": [round(s.rss_bytes() / 2**20, 1) for s in servers],
                        "cpu_s": [s.cpu_seconds() for s in servers],
                    }
                )
                if sys.stdout.isatty():
                    done = (time.perf_counter() - rec.t0) / (end - rec.t0)
                    print(
                        f"\r{done:6.1%}  RSS {samples[-1]['rss_mib']} MiB  "
                        f"ETA {end - time.perf_counter():.0f} s   ",
                        end="",
                        flush=True,
                    )
                await asyncio.sleep(10)

        jobs = [
            *(every(2.0, seek_party(h, p)) for h, p in hosts),
            every(0.5, dm),
            every(0.2, browse),
            every(1.0, rate),
            every(2.0, churn),
            sample(),
        ]
        await asyncio.gather(*jobs)
        await asyncio.sleep(5)  # the last deliveries
        samples.append(
            {
                "t_s": round(time.perf_counter() - rec.t0, 1),
                "rss_mib": [round(s.rss_bytes() / 2**20, 1) for s in servers],
                "cpu_s": [s.cpu_seconds() for s in servers],
            }
        )
    finally:
        stop.set()
        await http.aclose()
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
        await teardown(env)
    if sys.stdout.isatty():
        print()

    rows = _minutes(rec, samples)
    print(
        f"machine: {machine()}; server cores {args.server_cores}, client cores {args.client_cores}"
    )
    ops = sorted({op for _, op in rec.lat} | {op for _, op in rec.err})
    print("| minute | RSS MiB (A, B) | CPU s (A+B) | " + " | ".join(ops) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in ops) + " |")
    for r in rows:
        cells = []
        for op in ops:
            o = r["ops"].get(op)
            cells.append(
                f"{o['count']}, {o['errors']} err, p50 {o['p50_ms']:.0f} / p99 {o['p99_ms']:.0f} ms"
                if o
                else "-"
            )
        print(
            f"| {r['minute']} | {r['rss_mib'][0]:.0f}, {r['rss_mib'][1]:.0f} "
            f"| {r['cpu_s']:.1f} | " + " | ".join(cells) + " |"
        )
    missed = {k: expected[k] - delivered[k] for k in expected}
    print(f"deliveries expected {dict(expected)}, received {dict(delivered)}, missed {missed}")
    if rec.errors_by_kind:
        print(f"errors: {dict(rec.errors_by_kind)}")
    if args.csv:
        with args.csv.open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["minute", "rss_a_mib", "rss_b_mib", "cpu_s", "op", "count", "errors",
                        "p50_ms", "p95_ms", "p99_ms"])  # fmt: skip
            for r in rows:
                for op, o in sorted(r["ops"].items()):
                    w.writerow(
                        [r["minute"], *r["rss_mib"], round(r["cpu_s"], 2), op, o["count"],
                         o["errors"], *(round(o[k], 1) for k in ("p50_ms", "p95_ms", "p99_ms"))]
                    )  # fmt: skip
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "soak",
                    "machine": machine(),
                    "minutes": args.minutes,
                    "sockets": len(clients),
                    "scale": args.scale,
                    "per_minute": rows,
                    "samples": samples,
                    "deliveries": {"expected": expected, "received": delivered, "missed": missed},
                    "errors": rec.errors_by_kind,
                },
                indent=2,
            )
        )


def _minutes(rec: Recorder, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    minutes = sorted({m for m, _ in rec.lat} | {m for m, _ in rec.err})
    rows = []
    prev_cpu: float | None = None
    for m in minutes:
        in_minute = [s for s in samples if m * 60 <= s["t_s"] < (m + 1) * 60] or samples[-1:]
        last = in_minute[-1]
        cpu = sum(last["cpu_s"])
        ops = {}
        for (mm, op), lat in rec.lat.items():
            if mm == m:
                ops[op] = {
                    "count": len(lat),
                    "errors": rec.err.get((m, op), 0),
                    "p50_ms": percentile(lat, 50),
                    "p95_ms": percentile(lat, 95),
                    "p99_ms": percentile(lat, 99),
                }
        for (mm, op), n in rec.err.items():
            if mm == m and op not in ops:
                nan = float("nan")
                ops[op] = {"count": 0, "errors": n, "p50_ms": nan, "p95_ms": nan, "p99_ms": nan}
        rows.append(
            {
                "minute": m,
                "rss_mib": [max(s["rss_mib"][i] for s in in_minute) for i in range(2)],
                "cpu_s": cpu - prev_cpu if prev_cpu is not None else cpu - sum(samples[0]["cpu_s"]),
                "ops": ops,
            }
        )
        prev_cpu = cpu
    return rows


if __name__ == "__main__":
    asyncio.run(main())
