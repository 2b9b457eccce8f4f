"""Typo-tolerant search over HTTP: does a title typed with a slip come back in the top 3,
and how long does a search take when nothing is cached?

    cinema generate-catalog --titles 100000        # once, on DATABASE_URL
    .venv/bin/python -m bench.search_typos [--queries 2000] [--seed 7]
        [--load 1,2,4,8] [--json FILE]

`--load` then sends typo'd queries (fresh ones: every request a cache miss) from 1, 2, 4, 8
clients at once for `--load-seconds` each: latency against the request rate reached.

Starts the real app (one uvicorn process, every middleware) on DATABASE_URL / REDIS_URL
(a fresh Redis key prefix) and sends it, one at a time over one keep-alive connection,
`GET /api/v1/titles?q=...` (20 results, as a client asks) for a query set made by a seeded
random generator over the catalog's titles:
- pick a title at random; pick one of its words of 4+ Latin letters at random;
- apply one random typo to it (insertion, deletion, substitution of a letter, or two adjacent
  letters swapped), or two typos when the word has 9+ letters (half of those words);
- the query is the title with that word so changed (case and punctuation as written).
Every query is different, so every request is a cache miss (the X-Cache header is checked).
A query is a hit when the title is among the first three results; titles of identical text
(remakes, the same two words) cannot be told apart by a query, so one of those counts too
(both rates are printed). Also: titles in other scripts by their own script and by their
Latin transliteration, and the fixed cases ("oceans" -> Ocean's Eleven...).
Accuracy does not depend on the machine's load; latency does: take it on an idle machine.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import random
import re
import statistics
import string
import tempfile
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from bench.http_load import serve
from models.catalog.latin import latin_form
from models.core.db import make_engine

LOCAL_REDIS = "redis://127.0.0.1:6379/0"
LATIN_WORD = re.compile(r"[A-Za-z]{4,}")
FIXED = [
    ("oceans", "Ocean's Eleven"),
    ("oceans eleven", "Ocean's Eleven"),
    ("spiderman", "Spider-Man"),
    ("spider man", "Spider-Man"),
    ("rocky 2", "Rocky II"),
    ("rocky 3", "Rocky III"),
    ("ирония судьбы", "Ирония судьбы, или С лёгким паром!"),
    ("ironiya sudby", "Ирония судьбы, или С лёгким паром!"),
    ("stalker", "Сталкер"),
    ("기생충", "기생충"),
    ("gisaengchung", "기생충"),
    ("godfathr", "The Godfather"),
    ("spcae odyssey", None),  # no such title: nothing, with suggestions, never filler
]


@dataclass
class Title:
    id: int
    title: str
    latin: str


def typo(word: str, rng: random.Random) -> str:
    """One random slip of the four kinds."""
    for _ in range(20):
        kind = rng.choice(("insert", "delete", "substitute", "transpose"))
        i = rng.randrange(len(word))
        letter = rng.choice(string.ascii_lowercase)
        if kind == "insert":
            out = word[:i] + letter + word[i:]
        elif kind == "delete":
            out = word[:i] + word[i + 1 :]
        elif kind == "substitute":
            out = word[:i] + letter + word[i + 1 :]
        else:
            if i == len(word) - 1:
                continue
            out = word[:i] + word[i + 1] + word[i] + word[i + 2 :]
        if out.lower() != word.lower():
            return out
    return word


def make_queries(titles: list[Title], n: int, seed: int) -> list[tuple[str, Title, int]]:
    """(query, target, typos) for n distinct queries."""
    rng = random.Random(seed)
    seen: set[str] = set()
    out: list[tuple[str, Title, int]] = []
    while len(out) < n:
        target = rng.choice(titles)
        words = list(LATIN_WORD.finditer(target.title))
        if not words:
            continue
        m = rng.choice(words)
        word = m.group()
        slips = 2 if len(word) >= 9 and rng.random() < 0.5 else 1
        changed = word
        for _ in range(slips):
            changed = typo(changed, rng)
        query = target.title[: m.start()] + changed + target.title[m.end() :]
        if query in seen or changed == word:
            continue
        seen.add(query)
        out.append((query, target, slips))
    return out


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class Client:
    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self.misses = 0

    def search(self, q: str) -> tuple[list[dict[str, object]], list[str], float]:
        path = "/api/v1/titles?" + urllib.parse.urlencode({"q": q})
        t0 = time.perf_counter()
        self.conn.request("GET", path)
        response = self.conn.getresponse()
        body = response.read()
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status != 200:
            raise SystemExit(f"{q!r}: HTTP {response.status} {body[:300]!r}")
        if response.getheader("X-Cache") != "hit":
            self.misses += 1
        page = json.loads(body)
        return page["items"], page.get("did_you_mean", []), elapsed


def _load_step(
    url: str, queries: list[tuple[str, Title, int]], clients: int, seconds: float, seed: int
) -> dict[str, float]:
    """`clients` threads, each with its own connection, searching back to back for `seconds`;
    each query gets a random suffix so it misses the cache like a new query."""
    rng = random.Random(seed)
    picks = [q for q, _, _ in queries]
    latency: list[float] = []
    end = time.perf_counter() + seconds

    def run(k: int) -> list[float]:
        client = Client(url)
        mine: list[float] = []
        while time.perf_counter() < end:
            q = f"{rng.choice(picks)} {rng.choice(string.ascii_lowercase)}{k}"
            mine.append(client.search(q)[2])
        return mine

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for part in pool.map(run, range(clients)):
            latency += part
    wall = time.perf_counter() - t0
    return {
        "clients": clients,
        "searches": len(latency),
        "per_s": len(latency) / wall,
        "p50_ms": _pct(latency, 50),
        "p95_ms": _pct(latency, 95),
        "p99_ms": _pct(latency, 99),
    }


async def _load(url: str) -> list[Title]:
    engine = make_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(text("SELECT id, title, search_latin FROM titles"))
            return [Title(r.id, r.title, r.search_latin) for r in rows]
    finally:
        await engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--scripts", type=int, default=200, help="non-Latin titles to query")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--show", type=int, default=15, help="misses to print")
    ap.add_argument("--load", default="", help="concurrent clients to sweep, e.g. 1,2,4,8")
    ap.add_argument("--load-seconds", type=float, default=10)
    ap.add_argument("--json", type=Path, help="also write the results here (bench/plots.py)")
    args = ap.parse_args()
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        raise SystemExit("set DATABASE_URL to the database with the 100k catalog")
    titles = asyncio.run(_load(database_url))
    queries = make_queries(titles, args.queries, args.seed)
    rng = random.Random(args.seed)
    # One title per text: a text asked twice would be a cache hit.
    foreign = list(
        {t.title: t for t in titles if t.latin and not LATIN_WORD.search(t.title)}.values()
    )
    foreign = rng.sample(foreign, min(args.scripts, len(foreign)))
    by_text: dict[str, int] = {}
    for t in titles:
        by_text[t.title] = by_text.get(t.title, 0) + 1

    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "REDIS_URL": os.environ.get("REDIS_URL", LOCAL_REDIS),
            "REDIS_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
            "LOG_DIR": str(Path(tmp) / "logs"),
            "LOG_LEVEL": "WARNING",
        }
        proc, url = serve("cinema.app:asgi_factory", env)
        try:
            client = Client(url)
            for q in ("warm up", "godfather", "amelie"):  # connections, caches, plans
                client.search(q + " " + uuid.uuid4().hex[:6])
            client.misses = 0
            latency: list[float] = []
            hits_id = hits_text = 0
            by_slips: dict[int, list[int]] = {1: [0, 0], 2: [0, 0]}
            missed: list[str] = []
            for query, target, slips in queries:
                items, _, ms = client.search(query)
                latency.append(ms)
                top = items[:3]
                found_id = any(i["id"] == target.id for i in top)
                found_text = found_id or any(i["title"] == target.title for i in top)
                hits_id += found_id
                hits_text += found_text
                by_slips[slips][0] += found_text
                by_slips[slips][1] += 1
                if not found_text and len(missed) < args.show:
                    shown = " | ".join(str(i["title"]) for i in top) or "(nothing)"
                    missed.append(f"  {query!r} -> {shown}   (wanted {target.title!r})")
            script_hits = latin_hits = 0
            for t in foreign:
                items, _, ms = client.search(t.title)
                latency.append(ms)
                script_hits += any(i["title"] == t.title for i in items[:3])
                items, _, ms = client.search(latin_form(t.title))
                latency.append(ms)
                latin_hits += any(i["title"] == t.title for i in items[:3])
            fixed: list[str] = []
            for q, want in FIXED:
                items, suggestions, _ = client.search(q)
                names = [str(i["title"]) for i in items[:3]]
                ok = (want in names) if want else (not items and bool(suggestions))
                shown = " | ".join(names) if items else f"(nothing; did you mean {suggestions})"
                fixed.append(f"  {'ok  ' if ok else 'MISS'} {q!r} -> {shown}")
            total_misses = client.misses
            load = [
                _load_step(url, queries, int(c), args.load_seconds, args.seed + k)
                for k, c in enumerate(args.load.split(","))
                if c
            ]
        finally:
            proc.terminate()
            proc.wait()

    n = len(queries)
    print(f"{len(titles):,} titles; {n} typo'd queries (seed {args.seed}), one at a time")
    print(
        f"top-3 hit rate: {100 * hits_text / n:.1f} % "
        f"(the very title: {100 * hits_id / n:.1f} %; one typo "
        f"{100 * by_slips[1][0] / max(1, by_slips[1][1]):.1f} % of {by_slips[1][1]}, two typos "
        f"{100 * by_slips[2][0] / max(1, by_slips[2][1]):.1f} % of {by_slips[2][1]})"
    )
    shared = sum(1 for _, t, _ in queries if by_text[t.title] > 1)
    print(f"  targets whose exact text other titles share: {100 * shared / n:.1f} %")
    if foreign:
        print(
            f"non-Latin titles ({len(foreign)}): by their own script "
            f"{100 * script_hits / len(foreign):.1f} %, by transliteration "
            f"{100 * latin_hits / len(foreign):.1f} % in the top 3"
        )
    print(
        f"latency over {len(latency)} searches: p50 {_pct(latency, 50):.1f} ms, "
        f"p95 {_pct(latency, 95):.1f} ms, p99 {_pct(latency, 99):.1f} ms, "
        f"max {max(latency):.1f} ms, mean {statistics.mean(latency):.1f} ms; "
        f"cache misses {total_misses}/{len(latency) + len(FIXED)}; load average "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    if load:
        print("| clients at once | searches/s | p50 ms | p95 ms | p99 ms |")
        print("| --- | --- | --- | --- | --- |")
        for row in load:
            print(
                f"| {row['clients']} | {row['per_s']:.0f} | {row['p50_ms']:.1f} "
                f"| {row['p95_ms']:.1f} | {row['p99_ms']:.1f} |"
            )
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "bench": "search_typos",
                    "queries": n,
                    "top3_hit_rate": hits_text / n,
                    "single": {
                        "p50_ms": _pct(latency, 50),
                        "p95_ms": _pct(latency, 95),
                        "p99_ms": _pct(latency, 99),
                    },
                    "rows": load,
                },
                indent=2,
            )
        )
    print("fixed cases:")
    print("\n".join(fixed))
    if missed:
        print(f"first {len(missed)} misses:")
        print("\n".join(missed))


if __name__ == "__main__":
    main()
