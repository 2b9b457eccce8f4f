"""The shared pipeline (models/core/redis.py, Coalescer): a lone caller sends at once, a
crowd shares round trips in the order it came, and one caller's failure is its own."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from redis.asyncio.client import Pipeline
from redis.exceptions import ResponseError

from models.core.context import Context
from models.core.redis import Coalescer, QueueCommands


async def test_a_crowd_shares_round_trips_in_order_and_errors_stay_with_their_caller(
    ctx: Context,
) -> None:
    key = ctx.keys("test", "coalescer", uuid.uuid4().hex)
    shared = Coalescer(ctx.redis, name="test")
    trips = 0
    original = shared._send

    async def counted(batch: Any) -> None:
        nonlocal trips
        trips += 1
        await original(batch)

    shared._send = counted  # type: ignore[method-assign]
    try:
        # Alone: one round trip, sent by the caller itself.
        assert await shared.run(lambda pipe: pipe.rpush(key, "lone")) == [1]
        assert trips == 1

        def push(n: int) -> QueueCommands:
            return lambda pipe: pipe.rpush(key, str(n))

        def bad(pipe: Pipeline) -> None:
            pipe.incr(key)  # a list is no counter: this caller's error only

        crowd = [shared.run(push(n)) for n in range(50)]
        results = await asyncio.gather(
            *crowd[:25], shared.run(bad), *crowd[25:], return_exceptions=True
        )
        assert isinstance(results[25], ResponseError)
        assert [r for i, r in enumerate(results) if i != 25] == [[n + 2] for n in range(50)]
        # The first went alone (nothing in flight), the others together behind it.
        assert trips <= 3
        assert await ctx.redis.lrange(key, 0, -1) == ["lone", *(str(n) for n in range(50))]
    finally:
        await ctx.redis.delete(key)


async def test_a_caller_cancelled_mid_flight_leaves_the_others_served(ctx: Context) -> None:
    key = ctx.keys("test", "coalescer", uuid.uuid4().hex)
    empty = ctx.keys("test", "coalescer", "empty", uuid.uuid4().hex)
    shared = Coalescer(ctx.redis, name="test")
    try:
        # A pipeline that stays in flight a while: a blocking pop on an empty list.
        first = asyncio.create_task(shared.run(lambda pipe: pipe.blpop([empty], timeout=1)))
        await asyncio.sleep(0.1)
        later = asyncio.create_task(shared.run(lambda pipe: pipe.set(key, "after")))
        await asyncio.sleep(0)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        assert await asyncio.wait_for(later, 5) == [True]
        assert await ctx.redis.get(key) == "after"
    finally:
        await ctx.redis.delete(key)
