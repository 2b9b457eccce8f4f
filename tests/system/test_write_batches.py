"""Group commit (models/core/batching.py, Batcher): a lone caller is written at once, a crowd
shares one statement per batch in the order it came, each caller gets its own item's outcome,
and a batch's failure fails only that batch's callers."""

from __future__ import annotations

import asyncio

import pytest

from models.core.batching import Batcher
from models.core.context import Context
from models.core.db import PlainStatement, autocommit

# One statement for the whole batch: each item doubled, by PostgreSQL.
_DOUBLE = PlainStatement("SELECT x * 2 AS y FROM unnest(CAST(:xs AS int[])) AS x")


class _Doubler:
    """Writes each batch as one statement; records the batches. An item of -1 is refused
    alone; a batch holding 999 fails as a whole."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.batches: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(items)
        if 999 in items:
            raise RuntimeError("the whole batch failed")
        async with autocommit(self.ctx.sessions) as session:
            rows = await _DOUBLE.rows(session, {"xs": items})
        return [
            ValueError("refused") if x == -1 else int(row["y"])
            for x, row in zip(items, rows, strict=True)
        ]


async def test_a_crowd_shares_statements_in_order_and_outcomes_stay_with_their_caller(
    ctx: Context,
) -> None:
    write = _Doubler(ctx)
    batcher: Batcher[int, int] = Batcher(write, name="test", max_size=4)
    # Alone: written at once, in a batch of its own.
    assert await batcher.submit(21) == 42
    assert write.batches == [[21]]

    # A crowd: the first goes alone, the others wait for it and go in batches of at most 4,
    # in the order they came.
    write.batches.clear()
    results = await asyncio.gather(*(batcher.submit(n) for n in range(10)))
    assert results == [n * 2 for n in range(10)]
    assert write.batches == [[0], [1, 2, 3, 4], [5, 6, 7, 8], [9]]

    # One refused item fails alone; a failed batch fails its callers, not the next batch's.
    write.batches.clear()
    outcomes = await asyncio.gather(
        *(batcher.submit(n) for n in (1, -1, 3, 999, 5, 6, 7, 8)), return_exceptions=True
    )
    assert write.batches == [[1], [-1, 3, 999, 5], [6, 7, 8]]
    assert outcomes[0] == 2
    assert all(isinstance(o, RuntimeError) for o in outcomes[1:5])
    assert outcomes[5:] == [12, 14, 16]


async def test_a_refused_item_fails_alone(ctx: Context) -> None:
    write = _Doubler(ctx)
    batcher: Batcher[int, int] = Batcher(write, name="test")
    outcomes = await asyncio.gather(
        *(batcher.submit(n) for n in (1, 2, -1, 4)), return_exceptions=True
    )
    assert write.batches == [[1], [2, -1, 4]]
    assert outcomes[0] == 2 and outcomes[1] == 4 and outcomes[3] == 8
    assert isinstance(outcomes[2], ValueError)


async def test_a_caller_that_gives_up_leaves_the_others_their_results(ctx: Context) -> None:
    write = _Doubler(ctx)
    batcher: Batcher[int, int] = Batcher(write, name="test")
    first = asyncio.create_task(batcher.submit(1))
    await asyncio.sleep(0)  # the first is being written; the next ones queue behind it
    waiting = [asyncio.create_task(batcher.submit(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    assert await first == 2
    assert await waiting[0] == 4 and await waiting[2] == 8
    with pytest.raises(asyncio.CancelledError):
        await waiting[1]
    # its item was written with its batch all the same (a write is not taken back)
    assert write.batches == [[1], [2, 3, 4]]
