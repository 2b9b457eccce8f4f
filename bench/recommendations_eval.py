"""Offline evaluation of recommendations: hit rate @10 against a popularity baseline, on
synthetic interactions with a known structure.

    .venv/bin/python -m bench.recommendations_eval [--titles 10000] [--users 3000] [--seed 7]

Makes a scratch database (on BENCH_DATABASE_URL's server, default the local PostgreSQL),
generates a catalog (`generate_catalog`), then users whose tastes are known: each likes two
genres (70 / 30 %) and an era (a year, +-15 years), and picks titles of those genres near
that era in proportion to popularity^0.6, plus 10 % picks of any popular title (noise).
Each pick is a rating of 7-10, a like, a favorite or a finished viewing, in time order;
a few low ratings are mixed in. A fifth of the users (those with 10 positives or more) are
test users: their last positive is held out (never written). Then the real job
(`compute_similar_titles`) runs on what was written, and for each test user the real home
row (`for_you`, 10 titles) is asked; a hit is the held-out title among them. The baseline
recommends the 10 titles most liked in the training data that the user has not met.
The numbers do not depend on the machine's load (only the timings do).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import math
import os
import random
import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
from sqlalchemy import text

from cinema import migrate
from models.catalog.generate import generate_catalog
from models.core.db import make_engine, make_sessionmaker
from models.recommendations import service
from models.recommendations.similarity import compute_similar_titles

ADMIN_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
ERA_SD = 15.0
NOISE = 0.1
START = datetime(2026, 1, 1, tzinfo=UTC)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(ADMIN_DB)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _sampler(weights: list[float]) -> list[float]:
    cum, acc = [], 0.0
    for w in weights:
        acc += w
        cum.append(acc)
    return cum


def _pick(rng: random.Random, items: list[int], cum: list[float]) -> int:
    return items[bisect.bisect_left(cum, rng.random() * cum[-1])]


def make_interactions(
    titles: list[tuple[int, float, int | None, list[int]]], users: int, seed: int
) -> tuple[list[tuple[Any, ...]], dict[uuid.UUID, int], dict[uuid.UUID, set[int]]]:
    """(rows to write, held-out title per test user, titles each test user met)."""
    rng = random.Random(seed)
    by_genre: dict[int, list[tuple[int, float, int]]] = defaultdict(list)
    for tid, pop, year, genres in titles:
        for g in genres:
            by_genre[g].append((tid, pop, year or 1990))
    genres = sorted(g for g, items in by_genre.items() if len(items) >= 20)
    samplers: dict[tuple[int, int], tuple[list[int], list[float]]] = {}
    all_ids = [t[0] for t in titles]
    anywhere = _sampler([t[1] for t in titles])
    rows: list[tuple[Any, ...]] = []
    held: dict[uuid.UUID, int] = {}
    met: dict[uuid.UUID, set[int]] = {}
    for _ in range(users):
        user = uuid.uuid4()
        tastes = rng.sample(genres, 2)
        era = rng.randrange(1930, 2030, 5)
        n = rng.randint(15, 60)
        picks: list[int] = []
        seen: set[int] = set()
        for _ in range(n * 3):
            if len(picks) == n:
                break
            if rng.random() < NOISE:
                tid = _pick(rng, all_ids, anywhere)
            else:
                g = tastes[0] if rng.random() < 0.7 else tastes[1]
                key = (g, era)
                if key not in samplers:
                    items = by_genre[g]
                    samplers[key] = (
                        [t[0] for t in items],
                        _sampler(
                            [
                                (t[1] + 1) ** 0.6 * math.exp(-(((t[2] - era) / ERA_SD) ** 2) / 2)
                                + 1e-9
                                for t in items
                            ]
                        ),
                    )
                tid = _pick(rng, *samplers[key])
            if tid not in seen:
                seen.add(tid)
                picks.append(tid)
        test = len(picks) >= 10 and rng.random() < 0.2
        if test:
            held[user] = picks.pop()
            met[user] = set(picks)
        rows.append(("user", user))
        for i, tid in enumerate(picks):
            at = START + timedelta(hours=i)
            kind = rng.choices(("rate", "like", "favorite", "watched"), (4, 2, 1, 3))[0]
            rows.append((kind, user, tid, rng.randint(7, 10), at))
            if rng.random() < 0.1:  # a disliked title now and then
                bad = _pick(rng, all_ids, anywhere)
                if bad not in seen:
                    seen.add(bad)
                    if test:
                        met[user].add(bad)
                    rows.append(("rate", user, bad, rng.randint(1, 4), at))
    return rows, held, met


async def _write(pg: Any, rows: list[tuple[Any, ...]]) -> None:
    users = [
        (r[1], f"{r[1].hex[:16]}@eval.local", f"e{r[1].hex[:16]}", "x", "user")
        for r in rows
        if r[0] == "user"
    ]
    await pg.copy_records_to_table(
        "users", records=users, columns=["id", "email", "username", "password_hash", "role"]
    )
    ratings = [(r[1], r[2], r[3], r[4], r[4]) for r in rows if r[0] == "rate"]
    await pg.copy_records_to_table(
        "ratings",
        records=ratings,
        columns=["user_id", "title_id", "score", "created_at", "updated_at"],
    )
    for kind, table in (("like", "title_likes"), ("favorite", "favorites")):
        await pg.copy_records_to_table(
            table,
            records=[(r[1], r[2], r[4]) for r in rows if r[0] == kind],
            columns=["user_id", "title_id", "created_at"],
        )
    await pg.copy_records_to_table(
        "viewing_progress",
        records=[
            (r[1], r[2], 5_400_000, 5_400_000, True, r[4], r[4], 1)
            for r in rows
            if r[0] == "watched"
        ],
        columns=["user_id", "title_id", "position_ms", "duration_ms", "completed",
                 "watched_at", "updated_at", "version"],
    )  # fmt: skip


async def main(args: argparse.Namespace) -> None:
    name = f"cinema_receval_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = ADMIN_DB.rpartition("/")[0] + "/" + name
    engine = make_engine(url, pool_size=2)
    try:
        await asyncio.to_thread(migrate.upgrade, url)
        t0 = time.monotonic()
        await generate_catalog(engine, titles=args.titles, seed=args.seed, famous=False)
        async with engine.connect() as conn:
            found = await conn.execute(
                text(
                    "SELECT t.id, t.popularity, t.year, array_agg(g.genre_id) FROM titles t "
                    "JOIN title_genres g ON g.title_id = t.id GROUP BY t.id ORDER BY t.id"
                )
            )
            titles = [(r[0], float(r[1]), r[2], list(r[3])) for r in found]
        rows, held, met = make_interactions(titles, args.users, args.seed)
        async with engine.begin() as conn:
            await _write((await conn.get_raw_connection()).driver_connection, rows)
        made = time.monotonic() - t0
        job = await compute_similar_titles(engine)

        liked = Counter(r[2] for r in rows if r[0] != "user" and (r[0] != "rate" or r[3] >= 7))
        popularity = {t[0]: t[1] for t in titles}
        ranked = sorted(liked, key=lambda t: (-liked[t], -popularity[t]))
        sessions = make_sessionmaker(engine)
        hits = base_hits = 0
        asked = time.monotonic()
        kinds: Counter[str] = Counter()
        for user, target in held.items():
            async with sessions() as session:
                page = await service.for_you(session, user_id=user, limit=10)
            got = [i["title"]["id"] for i in page["items"]]
            kinds.update(i["reason"]["kind"] for i in page["items"])
            hits += target in got
            baseline = [t for t in ranked if t not in met[user]][:10]
            base_hits += target in baseline
        per_user = (time.monotonic() - asked) / max(1, len(held)) * 1000
        n = max(1, len(held))
        positives = sum(1 for r in rows if r[0] != "user" and (r[0] != "rate" or r[3] >= 7))
        print(
            f"{len(titles):,} titles, {args.users:,} users, {positives:,} positive "
            f"interactions (seed {args.seed}); {len(held):,} test users, last positive held out"
        )
        print(
            f"hit rate @10: recommendations {100 * hits / n:.1f} %, popularity baseline "
            f"{100 * base_hits / n:.1f} % ({hits / max(1, base_hits):.1f}x)"
        )
        print(f"home row reasons: {dict(kinds)}")
        print(
            f"similarity job: {job.titles:,} titles, {job.pairs:,} pairs "
            f"({job.audience_pairs:,} audience pairs) in {job.seconds} s; data made in "
            f"{made:.0f} s; home row {per_user:.1f} ms per user; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    finally:
        await engine.dispose()
        if not args.keep:
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        else:
            print(f"kept database {name}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--titles", type=int, default=10_000)
    ap.add_argument("--users", type=int, default=3_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--keep", action="store_true", help="keep the scratch database")
    asyncio.run(main(ap.parse_args()))
