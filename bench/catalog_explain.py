"""Which index serves each catalog filter and sort, on the 100k catalog (EXPLAIN ANALYZE).

    python bench/catalog_explain.py [--max-age 13]

Runs every browse variant through the real query builder, captures the SQL it sends, and
prints the scan nodes PostgreSQL chose for it with the time they took. `--max-age` runs them
as a child account with that maturity limit sees them (family controls: titles.min_age at
most the limit), to compare with the run without it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

from sqlalchemy import event, select

from models.catalog import browse, schemas
from models.catalog.tables import Credit, Genre, Tag
from models.core.db import make_engine, make_sessionmaker


def _scans(plan: dict[str, Any], out: list[str]) -> None:
    kind = plan["Node Type"]
    where = plan.get("Index Name") or plan.get("Relation Name") or ""
    if "Scan" in kind and kind not in ("Subquery Scan", "Function Scan", "Values Scan"):
        out.append(f"{kind} {where}".strip())
    for child in plan.get("Plans", []):
        _scans(child, out)


async def main(url: str, max_age: int | None = None) -> None:
    engine = make_engine(url, pool_size=1)
    sessions = make_sessionmaker(engine)
    async with sessions() as session:
        genre = (await session.scalars(select(Genre.slug).order_by(Genre.id).limit(1))).one()
        tag = (await session.scalars(select(Tag.slug).order_by(Tag.id).limit(1))).one()
        person = (
            await session.scalars(select(Credit.person_id).order_by(Credit.id.desc()).limit(1))
        ).one()
    variants: list[tuple[str, dict[str, Any]]] = [
        ("sort=popular (default)", {}),
        ("sort=rating", {"sort": "rating"}),
        ("sort=newest", {"sort": "newest"}),
        ("sort=title", {"sort": "title"}),
        ("sort=added", {"sort": "added"}),
        ("genre", {"genre": [genre]}),
        ("tag", {"tag": [tag]}),
        ("category", {"category": ["kids"]}),
        ("kind=series", {"kind": "series"}),
        ("year range", {"year_from": 1990, "year_to": 1995}),
        ("rating range", {"rating_from": 7, "rating_to": 9}),
        ("person", {"person": person}),
        ("country", {"country": ["JP"]}),
        ("age_rating", {"age_rating": ["NC-17"]}),
        ("genre + sort=newest", {"genre": [genre], "sort": "newest"}),
        ("search q=godfathr", {"q": "godfathr"}),
        ("search q=dicaprio", {"q": "dicaprio"}),
        ("search q=star w + kind", {"q": "star w", "kind": "film"}),
        ("search q=sience fiction (broad word)", {"q": "sience fiction"}),
        ("search q=heist (broad word)", {"q": "heist"}),
        ("search q=river + genre", {"q": "river", "genre": ["drama"]}),
    ]
    print("| browse | plan: scans used | page ms |\n| --- | --- | --- |")
    for label, params in variants:
        captured: list[tuple[str, Any]] = []

        def capture(
            conn: Any,
            cursor: Any,
            statement: str,
            parameters: Any,
            *a: Any,
            captured: list[tuple[str, Any]] = captured,
        ) -> None:
            if statement.lstrip().upper().startswith(("SELECT", "WITH", "(SELECT")):
                captured.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", capture)
        try:
            async with sessions() as session:
                await browse.list_titles(
                    session, schemas.TitleQuery.model_validate(params), max_age=max_age
                )
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", capture)
        # The page query is the one that reads titles (parsing a search and loading the
        # page's genres are the others).
        statement, parameters = next((s, p) for s, p in reversed(captured) if "FROM titles" in s)
        async with engine.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection
            await driver.execute("SET plan_cache_mode = force_custom_plan")
            doc = await driver.fetchval(
                "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, *(parameters or ())
            )
        plan = (json.loads(doc) if isinstance(doc, str) else doc)[0]
        scans: list[str] = []
        _scans(plan["Plan"], scans)
        print(f"| {label} | {'; '.join(dict.fromkeys(scans))} | {plan['Execution Time']:.1f} |")
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--max-age", type=int, default=None, help="as a child with this limit")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("set DATABASE_URL or --database-url")
    asyncio.run(main(args.database_url, args.max_age))
