"""`cinema import-catalog FILE` and `cinema generate-catalog --titles N`."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from models.catalog.cache import bump_generation
from models.core.redis import Keys, make_redis
from models.core.settings import Settings


async def _forget_cached_pages(settings: Settings) -> None:
    assert settings.redis_url
    redis = make_redis(settings.redis_url)
    try:
        await bump_generation(redis, Keys(settings.redis_prefix))
    finally:
        await redis.aclose()


def import_catalog_command(settings: Settings, args: argparse.Namespace) -> int:
    from models.catalog.importer import import_catalog
    from models.core.db import make_engine, make_sessionmaker

    path = Path(args.file)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 2

    async def work() -> int:
        assert settings.database_url
        engine = make_engine(settings.database_url, pool_size=2)
        try:
            report = await import_catalog(
                make_sessionmaker(engine), path, create_genres=getattr(args, "create_genres", False)
            )
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            print(f"error: {path} is neither JSON Lines nor a JSON array: {exc}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        await _forget_cached_pages(settings)
        if args.json:
            print(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
            return 0
        print("\n".join(report.lines()))
        return 0

    return asyncio.run(work())


class TerminalProgress:
    """Rows, rate and ETA on one line of a terminal; silent when the output is piped."""

    def __init__(self, stream: Any = None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.shown = ""

    def __call__(self, what: str, done: int, total: int, rows: int) -> None:
        if not self.live:
            return
        elapsed = self.elapsed()
        share = min(done / total, 1.0) if total else 0.0
        self.show(
            f"\r{what}: {rows:,} rows, {rows / elapsed:,.0f} rows/s overall, "
            f"{share:.0%}, ETA {self.eta(share, elapsed)}"
        )

    def elapsed(self) -> float:
        return max(time.monotonic() - self.started, 1e-6)

    @staticmethod
    def eta(share: float, elapsed: float) -> str:
        """The time left at this rate, as m:ss."""
        left = int(elapsed * (1 - share) / share) if share > 0 else 0
        return f"{left // 60}:{left % 60:02d}"

    def show(self, line: str) -> None:
        """Draw `line` over the one shown before (padded to cover a longer one)."""
        self.stream.write(line.ljust(len(self.shown)))
        self.stream.flush()
        self.shown = line

    def end(self) -> None:
        if self.live and self.shown:
            self.stream.write("\n")
            self.stream.flush()


def import_imdb_command(settings: Settings, args: argparse.Namespace) -> int:
    from models.catalog.imdb import ALL_KINDS, ImdbOptions, find_files, import_imdb
    from models.core.db import make_engine

    folder = Path(args.folder)
    try:
        find_files(folder)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    kinds = [k.strip() for k in args.kinds.split(",") if k.strip()]
    unknown = sorted(set(kinds) - set(ALL_KINDS))
    if unknown or not kinds:
        print(f"error: --kinds takes {', '.join(ALL_KINDS)}", file=sys.stderr)
        return 2
    options = ImdbOptions(
        kinds=kinds,
        year_from=args.year_from,
        year_to=args.year_to,
        min_votes=args.min_votes,
        limit=args.limit,
        create_genres=args.create_genres,
    )

    async def work() -> int:
        assert settings.database_url
        engine = make_engine(settings.database_url, pool_size=1)
        progress = TerminalProgress()
        try:
            report = await import_imdb(engine, folder, options, progress=progress)
        except ValueError as exc:
            progress.end()
            print(f"error: {exc}", file=sys.stderr)
            return 2
        finally:
            await engine.dispose()
        progress.end()
        await _forget_cached_pages(settings)
        if args.json:
            print(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode())
        else:
            print("\n".join(report.lines()))
        return 0

    return asyncio.run(work())


def generate_catalog_command(settings: Settings, args: argparse.Namespace) -> int:
    from models.catalog.generate import generate_catalog
    from models.core.db import make_engine

    if args.titles < 1:
        print("error: --titles must be at least 1", file=sys.stderr)
        return 2

    async def work() -> int:
        assert settings.database_url
        engine = make_engine(settings.database_url, pool_size=2)
        try:
            report = await generate_catalog(
                engine,
                titles=args.titles,
                people=args.people,
                seed=args.seed,
                progress=lambda msg: print(msg, flush=True),
            )
        finally:
            await engine.dispose()
        await _forget_cached_pages(settings)
        print(
            f"added {report.titles} titles, {report.people} people, {report.credits} credits, "
            f"{report.seasons} seasons, {report.episodes} episodes in {report.seconds} s"
        )
        return 0

    return asyncio.run(work())
