"""Group-committed ratings (models.core.batching): the ratings arriving while a batch is
written go together in one statement, yet each request keeps its own outcome, a user's
racing writes stay counted once, and two processes' batches racing on the same titles keep
every count exact."""

from __future__ import annotations

import asyncio
import dataclasses
import random
import uuid
from collections import Counter

import pytest
from sqlalchemy import func, select

from models.catalog.tables import Title
from models.core import metrics
from models.core.context import Context
from models.core.errors import Conflict, NotFound
from models.social.policy import Actor
from models.social.reviews import service
from models.social.reviews.schemas import RatingOut
from models.social.reviews.tables import Rating, TitleSocialStats, shard_of
from tests.factories import make_title
from tests.social.helpers import bulk_users


def _batched() -> tuple[float, float]:
    return (
        metrics.write_batches.labels("ratings")._value.get(),
        metrics.write_batch_items.labels("ratings")._value.get(),
    )


async def _check_exact(ctx: Context, title_id: int) -> int:
    """The summary (fresh and cached), the shard rows and the catalog's copy all agree with
    the ratings table; the number of ratings."""
    async with ctx.sessions() as session:
        rows = (
            await session.execute(
                select(Rating.score, func.count())
                .where(Rating.title_id == title_id)
                .group_by(Rating.score)
            )
        ).all()
        shards = dict(
            (
                await session.execute(
                    select(TitleSocialStats.shard, TitleSocialStats.rating_count).where(
                        TitleSocialStats.title_id == title_id
                    )
                )
            ).all()
        )
        raters = (
            await session.scalars(select(Rating.user_id).where(Rating.title_id == title_id))
        ).all()
        stored = (
            await session.execute(
                select(Title.rating_avg, Title.rating_count).where(Title.id == title_id)
            )
        ).one()
    truth = {int(s): int(n) for s, n in rows}
    count = sum(truth.values())
    average = round(sum(s * n for s, n in truth.items()) / count, 4)
    cached = await service.title_summary(ctx, title_id=title_id)
    await ctx.redis.delete(ctx.keys("social", "title-stats", title_id))
    fresh = await service.title_summary(ctx, title_id=title_id)
    assert cached == fresh
    assert (fresh.count, fresh.average) == (count, average)
    assert {int(k): v for k, v in fresh.distribution.items() if v} == truth
    assert {k: v for k, v in shards.items() if v} == dict(Counter(shard_of(u) for u in raters))
    assert stored.rating_count == count and abs(stored.rating_avg - average) < 1e-4
    return count


async def test_a_batch_keeps_each_rating_s_outcome_its_own(ctx: Context) -> None:
    """One statement carries many ratings; a rating of a title that does not exist, and one by
    a user who is gone, fail alone; the same user's two ratings of a title in one batch are
    both written, in order."""
    hot, other = await make_title(ctx), await make_title(ctx)
    users = await bulk_users(ctx, 60)
    ghost = uuid.uuid4()  # no such user: its row cannot be written (foreign key)
    twice = users[0]
    jobs: list[tuple[uuid.UUID, int, int]] = [
        (u, hot.id if n % 3 else other.id, random.randint(1, 10)) for n, u in enumerate(users)
    ]
    jobs.insert(10, (users[5], 987654321, 4))  # no such title
    jobs.insert(20, (ghost, hot.id, 7))
    jobs.append((twice, hot.id, 2))  # twice's first is in `jobs` already (n = 0: other)
    jobs.append((twice, other.id, 9))  # and a second write of the same title

    batches0, items0 = _batched()
    results = await asyncio.gather(
        *(service.do_rate(ctx, actor=Actor(u), title_id=t, score=s) for u, t, s in jobs),
        return_exceptions=True,
    )
    batches1, items1 = _batched()
    # they did share statements: fewer batches than ratings
    assert items1 - items0 == len(jobs) and batches1 - batches0 < len(jobs) / 4

    for (u, t, s), result in zip(jobs, results, strict=True):
        if t == 987654321:
            assert isinstance(result, NotFound) and result.code == "title_not_found"
        elif u == ghost:
            assert isinstance(result, Conflict) and result.code == "gone_meanwhile"
        else:
            assert isinstance(result, RatingOut), result
            assert (result.score, result.summary.title_id) == (s, t)
            # each answer's summary was read after its own rating committed
            assert result.summary.count >= 1
    async with ctx.sessions() as session:
        mine = dict(
            (
                await session.execute(
                    select(Rating.title_id, Rating.score).where(Rating.user_id == twice)
                )
            ).all()
        )
    assert mine == {other.id: 9, hot.id: 2}  # the later of the two writes of `other`
    assert await _check_exact(ctx, hot.id) == sum(1 for n in range(60) if n % 3) + 1
    assert await _check_exact(ctx, other.id) == sum(1 for n in range(60) if not n % 3)


@pytest.mark.parametrize("rounds", [4])
async def test_two_processes_batches_racing_keep_the_counts_exact(
    ctx: Context, rounds: int
) -> None:
    """Two processes' batches (each its own group commit) race on the same titles: first
    ratings, changes, the same user's writes in both at once, and removals; every count, the
    cache and the catalog's copies stay exact, and none of the racing writes fails."""
    other_process = dataclasses.replace(ctx)  # its own Local: its own batcher
    titles = [await make_title(ctx) for _ in range(3)]
    users = await bulk_users(ctx, 80)
    batches0, items0 = _batched()
    for _ in range(rounds):
        writes = [
            (random.choice((ctx, other_process)), u, random.choice(titles).id)
            for u in users
            for _ in range(2)
        ]
        random.shuffle(writes)
        results = await asyncio.gather(
            *(
                service.do_rate(c, actor=Actor(u), title_id=t, score=random.randint(1, 10))
                for c, u, t in writes
            ),
            *(service.do_unrate(ctx, actor=Actor(u), title_id=titles[0].id) for u in users[::7]),
            return_exceptions=True,
        )
        for r in results[: len(writes)]:
            assert isinstance(r, RatingOut), r  # never a conflict or a lock cycle
        for r in results[len(writes) :]:
            assert isinstance(r, RatingOut | NotFound), r  # not rated (yet): 404
    batches1, items1 = _batched()
    assert batches1 - batches0 < (items1 - items0) / 4
    for t in titles:
        await _check_exact(ctx, t.id)


async def test_with_batches_of_one_each_rating_is_written_alone(ctx: Context) -> None:
    """RATING_BATCH_MAX=1: no group commit (each request its own statements, concurrently);
    the counts stay exact all the same."""
    alone = dataclasses.replace(
        ctx, settings=ctx.settings.model_copy(update={"rating_batch_max": 1})
    )
    title = await make_title(ctx)
    users = await bulk_users(ctx, 30)
    batches0, items0 = _batched()
    results = await asyncio.gather(
        *(
            service.do_rate(alone, actor=Actor(u), title_id=title.id, score=random.randint(1, 10))
            for u in users
            for _ in range(2)
        ),
        service.do_rate(alone, actor=Actor(users[0]), title_id=987654321, score=5),
        return_exceptions=True,
    )
    assert all(isinstance(r, RatingOut) for r in results[:-1]), results
    assert isinstance(results[-1], NotFound)
    assert _batched() == (batches0, items0)  # no batcher involved
    assert await _check_exact(ctx, title.id) == len(users)
