"""`cinema import-catalog FILE` and `cinema generate-catalog --titles N`."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

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
