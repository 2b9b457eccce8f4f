"""How long `cinema import-imdb` takes for 100k titles with their principals, on files made
here in IMDb's published format (the real ones cannot be downloaded on this machine).

    .venv/bin/python -m bench.imdb_import [--titles 300000] [--pick 100000] [--seed 7]

Writes the five gzipped TSV files (IMDb's columns, `\\N` for none; a third of the titles are
episodes of the series, about 10 principals per title, 1.5 names per principal line), makes
a scratch database (BENCH_DATABASE_URL's server), and times `import_imdb` picking the
`--pick` most voted movies and series, then a second run (everything updated).
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import random
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg

from cinema import migrate
from models.catalog.imdb import ImdbOptions, import_imdb
from models.core.db import make_engine

ADMIN_DB = os.environ.get("BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
N = "\\N"
GENRES = ["Action", "Adventure", "Animation", "Biography", "Comedy", "Crime", "Documentary",
          "Drama", "Family", "Fantasy", "History", "Horror", "Music", "Musical", "Mystery",
          "Romance", "Sci-Fi", "Sport", "Thriller", "War", "Western"]  # fmt: skip
WORDS = "dark night river king lost city love war star game house blood dead man girl".split()


def write(folder: Path, titles: int, seed: int) -> int:
    """The files' size in bytes."""
    rng = random.Random(seed)
    people = titles * 2
    series = [f"tt{i:08d}" for i in range(titles // 10)]
    with (
        gzip.open(folder / "title.basics.tsv.gz", "wt", compresslevel=1) as basics,
        gzip.open(folder / "title.episode.tsv.gz", "wt", compresslevel=1) as episodes,
        gzip.open(folder / "title.ratings.tsv.gz", "wt", compresslevel=1) as ratings,
    ):
        basics.write("tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\t"
                     "endYear\truntimeMinutes\tgenres\n")  # fmt: skip
        episodes.write("tconst\tparentTconst\tseasonNumber\tepisodeNumber\n")
        ratings.write("tconst\taverageRating\tnumVotes\n")
        for i in range(titles):
            tconst = f"tt{i:08d}"
            if i < len(series):
                kind = "tvSeries"
            elif i < titles // 3:
                kind = "tvEpisode"
            else:
                kind = rng.choice(["movie", "movie", "short"])
            name = " ".join(rng.choice(WORDS).title() for _ in range(rng.randint(1, 4)))
            year = rng.randint(1920, 2025)
            genres = ",".join(rng.sample(GENRES, rng.randint(1, 3)))
            basics.write(f"{tconst}\t{kind}\t{name}\t{name}\t0\t{year}\t{N}\t"
                         f"{rng.randint(20, 180)}\t{genres}\n")  # fmt: skip
            if kind == "tvEpisode":
                episodes.write(f"{tconst}\t{rng.choice(series)}\t{rng.randint(1, 8)}\t"
                               f"{rng.randint(1, 24)}\n")  # fmt: skip
            elif rng.random() < 0.7:
                votes = int(rng.paretovariate(1.1) * 5)
                ratings.write(f"{tconst}\t{rng.randint(10, 95) / 10}\t{votes}\n")
    with gzip.open(folder / "title.principals.tsv.gz", "wt", compresslevel=1) as principals:
        principals.write("tconst\tordering\tnconst\tcategory\tjob\tcharacters\n")
        for i in range(titles):
            for n in range(1, rng.randint(6, 14)):
                cat = "director" if n == 1 else "writer" if n < 3 else rng.choice(
                    ["actor", "actress", "actor", "producer", "composer"])  # fmt: skip
                chars = f'["{rng.choice(WORDS).title()}"]' if cat in ("actor", "actress") else N
                principals.write(f"tt{i:08d}\t{n}\tnm{rng.randrange(people):08d}\t{cat}\t{N}\t"
                                 f"{chars}\n")  # fmt: skip
    with gzip.open(folder / "name.basics.tsv.gz", "wt", compresslevel=1) as names:
        names.write("nconst\tprimaryName\tbirthYear\tdeathYear\tprimaryProfession\t"
                    "knownForTitles\n")  # fmt: skip
        for p in range(people):
            names.write(f"nm{p:08d}\tPerson {p}\t{rng.randint(1900, 2000)}\t{N}\tactor\t{N}\n")
    return sum(p.stat().st_size for p in folder.iterdir())


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        t0 = time.monotonic()
        size = write(folder, args.titles, args.seed)
        print(f"files written in {time.monotonic() - t0:.0f} s ({size / 1e6:.0f} MB gzipped)")
        name = f"cinema_imdb_{uuid.uuid4().hex[:10]}"
        admin = await asyncpg.connect(ADMIN_DB)
        await admin.execute(f'CREATE DATABASE "{name}"')
        url = ADMIN_DB.rpartition("/")[0] + "/" + name
        try:
            await asyncio.to_thread(migrate.upgrade, url)
            engine = make_engine(url, pool_size=1)
            options = ImdbOptions(kinds=("movie", "tvSeries"), limit=args.pick, create_genres=True)
            for run in ("first", "again"):
                report = await import_imdb(engine, folder, options)
                print(
                    f"{run}: {report.rows:,} titles ({report.created:,} created, "
                    f"{report.updated:,} updated), {report.people:,} people, "
                    f"{report.credits:,} credits, {report.episodes:,} episodes in "
                    f"{report.seconds} s; staged {report.staged}"
                )
            await engine.dispose()
        finally:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.close()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--titles", type=int, default=300_000)
    ap.add_argument("--pick", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=7)
    asyncio.run(main(ap.parse_args()))
