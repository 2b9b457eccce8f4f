"""Concurrent rating writes to one title, then a fresh read of the average.

    .venv/bin/python -m bench.social_ratings [--raters 1000] [--connections 64] [--changes 5]
        [--server-cores 0] [--client-cores 1] [--profile DIR]

Starts two real `cinema serve` processes (pinned to the server cores; this client to the
client cores) on a fresh database and makes `--raters` users with sessions (tokens made
beforehand, not timed). Every rater then `PUT /titles/{id}/rating`s the hot title (the
"first ratings" round), then changes that score `--changes` times (the "every rating
changed" round, each write a new score). The writes go over `--connections` keep-alive
connections spread over both processes, one request in flight on each, a rater always on the
same connection so their writes arrive in order; the client is bench/raw_http.py (prebuilt
request bytes, a few tens of microseconds of client CPU each), so one client core offers
several thousand writes a second and the servers are what is measured. After each round it
reads `GET /titles/{id}/social` from both processes (the cached summary) and the catalog's
`GET /titles/{id}/rating`, and checks them against the true average of the last scores sent.
Prints writes/s, latency, both servers' CPU time per write, the ratings each statement carried
(group commit, from /metrics) and whether every read was exact.

The same-run baseline comes first: the same raters, the same rounds, each on a title of their
own, so no two writes share a counter row; `vs_baseline` divides the hot title's writes/s by
the baseline's (1.0: the one title costs nothing), `cpu_vs_baseline` its CPU per write (which
suffers less from a contended machine). `--profile DIR` runs both servers under cProfile
(bench/traced.py) during the first hot round and prints their top functions.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import orjson

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
from bench.raw_http import Connection, Outcome, drive, request
from models.catalog.tables import Title, TitleKind
from models.core.db import transaction

SCORES = range(1, 11)


async def _titles(env: BenchEnv, n: int) -> list[int]:
    async with transaction(env.ctx.sessions) as session:
        titles = [Title(kind=TitleKind.film, title=f"Baseline {i}") for i in range(n)]
        session.add_all(titles)
        await session.flush()
        return [t.id for t in titles]


def _put(url: str, title_id: int, token: str, score: int) -> bytes:
    return request(
        "PUT",
        f"{url}/api/v1/titles/{title_id}/rating",
        body=orjson.dumps({"score": score}),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )


def _passes(
    conns: int,
    urls: list[str],
    tokens: list[str],
    title_of: Callable[[int], int],
    scores: list[list[int]],
) -> list[list[bytes]]:
    """Each connection's requests: its raters' writes, pass after pass (rater i always on
    connection i % conns, so a rater's writes arrive in the order they were made)."""
    queues: list[list[bytes]] = [[] for _ in range(conns)]
    for pass_scores in scores:
        for i, token in enumerate(tokens):
            c = i % conns
            queues[c].append(_put(urls[c % len(urls)], title_of(i), token, pass_scores[i]))
    return queues


def _changed(previous: list[int]) -> list[int]:
    return [random.choice([s for s in SCORES if s != old]) for old in previous]


_BATCHES = re.compile(r'^cinema_write_batch(es|_items)_total\{kind="ratings"\} ([0-9.e+]+)$', re.M)


async def _batches(url: str) -> tuple[float, float]:
    """Rating batches written and the ratings they carried so far, all server processes (one
    scrape of /metrics sums them); zeros from a server without group commit."""
    async with httpx.AsyncClient(timeout=60) as client:
        text = (await client.get(f"{url}/metrics")).text
    out = [0.0, 0.0]
    for kind, value in _BATCHES.findall(text):
        out[kind == "_items"] += float(value)
    return out[0], out[1]


async def _round(
    env: BenchEnv, conns: list[Connection], queues: list[list[bytes]]
) -> tuple[Outcome, float, float, float | None]:
    """Send the queues; the outcome, the seconds taken, both servers' CPU seconds and the
    ratings per statement (None without group commit)."""
    batches0, items0 = await _batches(env.servers[0].url)
    cpu0 = sum(s.cpu_seconds() for s in env.servers)
    start = time.perf_counter()
    outcome = await drive(conns, queues)
    elapsed = time.perf_counter() - start
    cpu = sum(s.cpu_seconds() for s in env.servers) - cpu0
    batches1, items1 = await _batches(env.servers[0].url)
    per_batch = (items1 - items0) / (batches1 - batches0) if batches1 > batches0 else None
    return outcome, elapsed, cpu, per_batch


def _figures(
    outcome: Outcome, elapsed: float, cpu: float, per_batch: float | None
) -> dict[str, Any]:
    writes = len(outcome.latencies)
    ms = [x * 1000 for x in outcome.latencies]
    return {
        "writes": writes,
        "errors": outcome.errors,
        "statuses": outcome.statuses,
        "retried_after_connection_error": outcome.retries,
        "seconds": round(elapsed, 2),
        "writes_per_s": round(writes / elapsed),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        # Load-independent: both servers' CPU time per write (the 4 reads are included).
        "server_cpu_ms_per_write": round(cpu * 1000 / max(1, writes), 3),
        # Group commit (models/core/batching.py): ratings written per statement.
        "ratings_per_statement": None if per_batch is None else round(per_batch, 1),
    }


async def _reads(urls: list[str], title_id: int, truth: float, n: int) -> dict[str, Any]:
    reads = []
    async with httpx.AsyncClient(timeout=60) as client:
        for url in urls:
            social = (await client.get(f"{url}/api/v1/titles/{title_id}/social")).json()
            catalog = (await client.get(f"{url}/api/v1/titles/{title_id}/rating")).json()
            reads.append(
                (social["average"], social["count"], catalog["rating_avg"], catalog["rating_count"])
            )
    exact = all(
        s_avg == truth and s_n == n and abs(c_avg - truth) < 0.01 and c_n == n
        for s_avg, s_n, c_avg, c_n in reads
    )
    return {
        "true_average": truth,
        "reads (social avg, n, catalog avg, n) per process": reads,
        "exact": exact,
    }


async def run(
    raters: int,
    connections: int,
    changes: int,
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
        print(
            f"machine: {machine()}; two server processes on cores {server_cores}, this client"
            f" on {client_cores}; {raters} raters over {connections} connections",
            flush=True,
        )
        urls = [s.url for s in env.servers]
        tokens = list(env.tokens)
        own = await _titles(env, raters)
        first = [random.choice(SCORES) for _ in tokens]
        later = [_changed(first)]
        for _ in range(changes - 1):
            later.append(_changed(later[-1]))
        rounds = (("first ratings", [first]), ("every rating changed", later))
        baseline: dict[str, dict[str, Any]] = {}
        for hot in (False, True):
            title_of: Callable[[int], int] = (lambda i: env.title_id) if hot else (lambda i: own[i])
            conns = [Connection(urls[c % len(urls)]) for c in range(connections)]
            try:
                for i, (name, scores) in enumerate(rounds):
                    queues = _passes(connections, urls, tokens, title_of, scores)
                    profiled = bool(dirs) and hot and i == 0
                    if profiled:
                        toggle_profiles(env)
                    figures = _figures(*await _round(env, conns, queues))
                    if profiled:
                        toggle_profiles(env)
                        await print_profiles(dirs)
                    if not hot:
                        baseline[name] = figures
                        print({"baseline": f"{name}, one title per rater", **figures}, flush=True)
                        continue
                    base = baseline[name]
                    truth = round(sum(scores[-1]) / len(scores[-1]), 4)
                    print(
                        {
                            "round": f"{name}, one title",
                            **figures,
                            "vs_baseline": round(figures["writes_per_s"] / base["writes_per_s"], 2),
                            "cpu_vs_baseline": round(
                                figures["server_cpu_ms_per_write"]
                                / base["server_cpu_ms_per_write"],
                                2,
                            ),
                            **await _reads(urls, env.title_id, truth, len(tokens)),
                        },
                        flush=True,
                    )
            finally:
                for c in conns:
                    await c.close()
    finally:
        await teardown(env)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--raters", type=int, default=1000)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--changes", type=int, default=5, help="passes of changed scores")
    ap.add_argument("--server-cores", default=DEFAULT_SERVER_CORES)
    ap.add_argument("--client-cores", default=DEFAULT_CLIENT_CORES)
    ap.add_argument("--profile", type=Path, default=None)
    args = ap.parse_args()
    asyncio.run(
        run(
            args.raters,
            args.connections,
            args.changes,
            args.server_cores,
            args.client_cores,
            args.profile,
        )
    )


if __name__ == "__main__":
    main()
