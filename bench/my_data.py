"""How long an export and an erasure take for a heavy account.

    .venv/bin/python -m bench.my_data [--items 20000] [--others 200]

On a fresh database: one account with `--items` ratings, likes and favorites (each on its
own title) and `--items` comments, while `--others` other users rated the same titles (so
the counters erasure corrects are shared), then times the export (collect every row that
names the account, write the zip) and the erasure (one transaction: counters corrected,
rows deleted or cleared, the tombstone), and checks the rating counters afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

from sqlalchemy import text

from bench.common import machine, setup, teardown
from models.core.clock import now
from models.core.db import transaction
from models.privacy import erase, export


async def run(items: int, others: int) -> None:
    env = await setup(1 + others)
    ctx = env.ctx
    me = uuid.UUID(env.user_ids[0])
    rest = [uuid.UUID(u) for u in env.user_ids[1:]]
    try:
        print(f"machine: {machine()}; items={items} others={others}", flush=True)
        t = time.perf_counter()
        async with transaction(ctx.sessions) as session:
            ids = list(
                (
                    await session.execute(
                        text(
                            "INSERT INTO titles (kind, title) SELECT 'film', 'Bench ' || g"
                            " FROM generate_series(1, :n) g RETURNING id"
                        ),
                        {"n": items},
                    )
                ).scalars()
            )
            await session.execute(
                text(
                    "INSERT INTO ratings (user_id, title_id, score)"
                    " SELECT u, t, 1 + (abs(hashtext(u::text || t::text)) % 10)"
                    " FROM unnest(CAST(:users AS uuid[])) u, unnest(CAST(:ids AS bigint[])) t"
                ),
                {"users": [me, *rest[: max(1, others)]], "ids": ids[: max(1, items // 10)]},
            )
            await session.execute(
                text(
                    "INSERT INTO ratings (user_id, title_id, score) SELECT :me, t, 7"
                    " FROM unnest(CAST(:ids AS bigint[])) t ON CONFLICT DO NOTHING"
                ),
                {"me": me, "ids": ids},
            )
            for table in ("title_likes", "favorites"):
                await session.execute(
                    text(
                        f"INSERT INTO {table} (user_id, title_id) SELECT :me, t"
                        " FROM unnest(CAST(:ids AS bigint[])) t"
                    ),
                    {"me": me, "ids": ids},
                )
            await session.execute(
                text(
                    "INSERT INTO title_social_stats (title_id, rating_count, rating_sum,"
                    " r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, like_count, version)"
                    " SELECT title_id, count(*), sum(score),"
                    + ", ".join(f"count(*) FILTER (WHERE score = {s})" for s in range(1, 11))
                    + ", 1, 1 FROM ratings GROUP BY title_id"
                )
            )
            await session.execute(
                text(
                    "INSERT INTO comments (title_id, author_id, body)"
                    " SELECT :t, :me, 'Comment ' || g FROM generate_series(1, :n) g"
                ),
                {"t": ids[0], "me": me, "n": items},
            )
        print({"seeded_s": round(time.perf_counter() - t, 2)}, flush=True)

        t = time.perf_counter()
        async with transaction(ctx.sessions) as session:
            data = await export.collect(session, user_id=me)
        collected = time.perf_counter() - t
        t = time.perf_counter()
        size = export.write_zip(
            env.settings.data_dir / "bench-export.zip",
            site="bench",
            when=now(),
            profile={"id": str(me)},
            sessions=[],
            data=data,
        )
        rows = sum(len(v) for v in data.values())
        print(
            {
                "export_rows": rows,
                "collect_s": round(collected, 3),
                "zip_s": round(time.perf_counter() - t, 3),
                "zip_bytes": size,
            },
            flush=True,
        )

        t = time.perf_counter()
        async with transaction(ctx.sessions) as session:
            erased = await erase.erase_account(session, user_id=me)
        elapsed = time.perf_counter() - t
        async with ctx.sessions() as session:
            drift = await session.scalar(
                text(
                    "SELECT count(*) FROM title_social_stats s LEFT JOIN ("
                    " SELECT title_id, count(*) n, sum(score) total FROM ratings GROUP BY title_id"
                    ") r ON r.title_id = s.title_id"
                    " WHERE s.rating_count <> coalesce(r.n, 0)"
                    " OR s.rating_sum <> coalesce(r.total, 0) OR s.like_count <> 0"
                )
            )
        print(
            {
                "erase_s": round(elapsed, 3),
                "titles_corrected": len(erased.titles),
                "counters_wrong_after": drift,
            },
            flush=True,
        )
    finally:
        await teardown(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20000)
    parser.add_argument("--others", type=int, default=200)
    args = parser.parse_args()
    asyncio.run(run(args.items, args.others))


if __name__ == "__main__":
    main()
