"""1,000 concurrent rating writes to one title, then a fresh read of the average.

    .venv/bin/python -m bench.social_ratings [--raters 1000] [--concurrency 200]
        [--server-cores 0] [--client-cores 1] [--profile DIR]

Starts two real `cinema serve` processes (pinned to the server cores; this client to the
client cores) on a fresh database, makes `--raters` users with sessions, and has all of them
`PUT /titles/{id}/rating` at once (spread over both processes, at most `--concurrency`
requests in flight), then again with new scores (every write an edit). After each round it
reads `GET /titles/{id}/social` from both processes (the cached summary) and the catalog's
`GET /titles/{id}/rating`, and checks them against the true average of the scores that were
sent. Prints write throughput, latency and whether every read was exact.

The same-run baseline comes first: the same users rate `--raters` different titles, one each,
so no two writes share a counter row; the hot title's writes/s divided by the baseline's says
what the one title still costs (1.0: nothing). `--profile DIR` runs both servers under
cProfile (bench/traced.py) during the first hot round and prints their top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    DEFAULT_CLIENT_CORES,
    DEFAULT_SERVER_CORES,
    BenchEnv,
    machine,
    percentile,
    pin_self,
    print_profiles,
    setup,
    start_profiled_servers,
    teardown,
    toggle_profiles,
)
from models.catalog.tables import Title, TitleKind
from models.core.db import transaction


async def _titles(env: BenchEnv, n: int) -> list[int]:
    async with transaction(env.ctx.sessions) as session:
        titles = [Title(kind=TitleKind.film, title=f"Baseline {i}") for i in range(n)]
        session.add_all(titles)
        await session.flush()
        return [t.id for t in titles]


async def _baseline(
    client: httpx.AsyncClient,
    urls: list[str],
    title_ids: list[int],
    people: list[Any],
    concurrency: int,
) -> dict[str, Any]:
    """Each user rates a title of their own: the write path with no row shared."""
    sem = asyncio.Semaphore(concurrency)
    errors = 0

    async def rate(i: int, token: str) -> None:
        nonlocal errors
        async with sem:
            score = random.randint(1, 10)
            for _attempt in range(3):
                # A connection reset on a loaded machine: the same PUT again is idempotent.
                try:
                    r = await client.put(
                        f"{urls[i % len(urls)]}/api/v1/titles/{title_ids[i]}/rating",
                        json={"score": score},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    continue
                errors += r.status_code != 200
                break
            else:
                errors += 1

    start = time.perf_counter()
    await asyncio.gather(*(rate(i, tok) for i, (_, tok) in enumerate(people)))
    elapsed = time.perf_counter() - start
    return {"writes": len(people), "errors": errors, "writes_per_s": round(len(people) / elapsed)}


async def run(
    raters: int,
    concurrency: int,
    server_cores: str | None,
    client_cores: str | None,
    profile: Path | None = None,
) -> None:
    pin_self(client_cores)
    env = await setup(raters)
    dirs: list[Path] = []
    try:
        if profile is None:
            env.start_servers(2, cores=server_cores)
        else:
            dirs = start_profiled_servers(env, 2, cores=server_cores, out=profile)
        print(f"machine: {machine()}; two server processes on cores {server_cores}", flush=True)
        urls = [s.url for s in env.servers]
        people = list(zip(env.user_ids, env.tokens, strict=True))
        spread = await _titles(env, len(people))
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(limits=limits, timeout=60) as client:
            base = await _baseline(client, urls, spread, people, concurrency)
            print({"baseline": "one title per rater, no shared row", **base}, flush=True)
            for i, round_name in enumerate(("first ratings", "every rating changed")):
                if dirs and i == 0:
                    toggle_profiles(env)
                cpu0 = sum(s.cpu_seconds() for s in env.servers)
                result = await _round(client, urls, env.title_id, people, concurrency)
                cpu = sum(s.cpu_seconds() for s in env.servers) - cpu0
                if dirs and i == 0:
                    toggle_profiles(env)
                    await print_profiles(dirs)
                # Load-independent: both servers' CPU time per write (reads included, 4 of them).
                per = round(cpu * 1000 / len(people), 2)
                ratio = round(result["writes_per_s"] / max(1, base["writes_per_s"]), 2)
                print(
                    {
                        "round": round_name,
                        **result,
                        "server_cpu_ms_per_write": per,
                        "vs_baseline": ratio,
                    },
                    flush=True,
                )
    finally:
        await teardown(env)


async def _round(
    client: httpx.AsyncClient,
    urls: list[str],
    title_id: int,
    people: list[tuple[Any, str]],
    concurrency: int,
) -> dict[str, Any]:
    sem = asyncio.Semaphore(concurrency)
    scores = {uid: random.randint(1, 10) for uid, _ in people}
    latencies: list[float] = []
    errors = retries = 0

    async def rate(i: int, uid: Any, token: str) -> None:
        nonlocal errors, retries
        async with sem:
            t = time.perf_counter()
            for _attempt in range(3):
                # PUT of the same score is idempotent: a dropped connection is retried.
                try:
                    r = await client.put(
                        f"{urls[i % len(urls)]}/api/v1/titles/{title_id}/rating",
                        json={"score": scores[uid]},
                        headers={"Authorization": f"Bearer {token}"},
                    )
                except httpx.TransportError:
                    retries += 1
                    continue
                if r.status_code != 200:
                    errors += 1
                break
            else:
                errors += 1
            latencies.append(time.perf_counter() - t)

    start = time.perf_counter()
    await asyncio.gather(*(rate(i, u, t) for i, (u, t) in enumerate(people)))
    elapsed = time.perf_counter() - start
    truth = round(sum(scores.values()) / len(scores), 4)
    reads = []
    for url in urls:
        social = (await client.get(f"{url}/api/v1/titles/{title_id}/social")).json()
        catalog = (await client.get(f"{url}/api/v1/titles/{title_id}/rating")).json()
        reads.append(
            (social["average"], social["count"], catalog["rating_avg"], catalog["rating_count"])
        )
    n = len(people)
    exact = all(
        s_avg == truth and s_n == n and abs(c_avg - truth) < 0.01 and c_n == n
        for s_avg, s_n, c_avg, c_n in reads
    )
    ms = [x * 1000 for x in latencies]
    return {
        "writes": n,
        "errors": errors,
        "retried_after_connection_error": retries,
        "seconds": round(elapsed, 2),
        "writes_per_s": round(n / elapsed),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "true_average": truth,
        "reads (social avg, n, catalog avg, n) per process": reads,
        "exact": exact,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--profile", type=Path, default=None)
    args = ap.parse_args()
    asyncio.run(
        run(args.raters, args.concurrency, args.server_cores, args.client_cores, args.profile)
    )


if __name__ == "__main__":
    main()
