"""Search latency on the synthetic 100k catalog: p50/p95/p99 over a fixed query set.

    cinema generate-catalog --titles 100000          # once, on DATABASE_URL
    python bench/catalog_search.py --rounds 20

Each sample is one uncached `browse.list_titles` call (what `GET /api/v1/titles?q=` runs on
a cache miss): query parsing and typo correction, candidate search and ranking, and the page's
genres; one session per call, as the HTTP handler does.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from models.catalog import browse, schemas
from models.core.db import make_engine, make_sessionmaker

# Typos, prefixes as typed, accents, people, genres, several words, plus filters.
QUERIES: list[dict[str, object]] = [
    {"q": "avngers"},
    {"q": "the avengrs"},
    {"q": "godfathr"},
    {"q": "the godfather part"},
    {"q": "star w"},
    {"q": "star wars empire"},
    {"q": "amelie"},
    {"q": "AMÉLIE"},
    {"q": "leon the profesional"},
    {"q": "dicaprio"},
    {"q": "leonardo dicapro"},
    {"q": "tom hanks"},
    {"q": "nolan"},
    {"q": "pulp fictin"},
    {"q": "matrx"},
    {"q": "interstelar"},
    {"q": "lord of the rngs"},
    {"q": "spirited awy"},
    {"q": "crouching tigr"},
    {"q": "breking bad"},
    {"q": "game of throne"},
    {"q": "silent rivr"},
    {"q": "midnite empire"},
    {"q": "the broken swrd"},
    {"q": "frozen kingdom"},
    {"q": "comedy"},
    {"q": "sience fiction"},
    {"q": "heist"},
    {"q": "the"},
    {"q": "dragon", "kind": "series"},
    {"q": "river", "genre": ["drama"]},
    {"q": "ghost", "year_from": 1990, "year_to": 2010},
]


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def main(url: str, rounds: int) -> None:
    engine = make_engine(url, pool_size=2)
    sessions = make_sessionmaker(engine)
    queries = [schemas.TitleQuery.model_validate({**q, "limit": 20}) for q in QUERIES]
    per_query: dict[int, list[float]] = {i: [] for i in range(len(queries))}
    cpu: list[float] = []
    tops: dict[int, str] = {}
    for round_ in range(rounds + 1):  # round 0 warms caches and is not counted
        for i, q in enumerate(queries):
            async with sessions() as session:
                c0, t0 = time.process_time(), time.perf_counter()
                page = await browse.list_titles(session, q)
                elapsed = (time.perf_counter() - t0) * 1000
                used = (time.process_time() - c0) * 1000
            if round_:
                per_query[i].append(elapsed)
                cpu.append(used)
            tops[i] = page["items"][0]["title"] if page["items"] else "(nothing)"
    await engine.dispose()
    samples = [s for v in per_query.values() for s in v]
    print(f"{len(samples)} searches ({len(queries)} queries x {rounds} rounds)")
    print(
        f"p50 {_pct(samples, 50):.1f} ms   p95 {_pct(samples, 95):.1f} ms   "
        f"p99 {_pct(samples, 99):.1f} ms   max {max(samples):.1f} ms   "
        f"mean {statistics.mean(samples):.1f} ms"
    )
    print(
        f"Python CPU per search (this process): p50 {_pct(cpu, 50):.1f} ms, "
        f"p95 {_pct(cpu, 95):.1f} ms; load average {os.getloadavg()[0]:.1f} on "
        f"{os.cpu_count()} cores"
    )
    print("\n| query | p50 ms | p95 ms | first result |\n| --- | --- | --- | --- |")
    for i, raw in enumerate(QUERIES):
        label = ", ".join(f"{k}={v}" for k, v in raw.items())
        print(
            f"| {label} | {_pct(per_query[i], 50):.1f} | {_pct(per_query[i], 95):.1f} | {tops[i]} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url")
    asyncio.run(main(args.database_url, args.rounds))
