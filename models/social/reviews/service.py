"""Ratings with incremental aggregates, title likes, comments, comment likes."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from asyncpg import PostgresError
from asyncpg.exceptions import DeadlockDetectedError
from redis.asyncio.client import Pipeline
from sqlalchemy import (
    ColumnElement,
    and_,
    delete,
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.catalog.cache import queue_invalidate_rating, rating_invalidated
from models.core.batching import Batcher
from models.core.clock import now
from models.core.context import Context, Slot
from models.core.db import PlainStatement, autocommit, transaction
from models.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unavailable,
)
from models.core.events import Outbox
from models.core.pagination import Page
from models.core.ratelimit import Limit, RateLimiter
from models.core.settings import Settings
from models.notifications.service import do_notify
from models.notifications.tables import NotificationType
from models.social import policy
from models.social.friends.schemas import UserBrief
from models.social.friends.tables import Block
from models.social.lists.service import access_title
from models.social.paging import id_page
from models.social.policy import Actor
from models.social.relations import relation
from models.social.reviews.schemas import (
    CommentIn,
    CommentLikeOut,
    CommentOut,
    CommentPatch,
    RatingOut,
    RatingSummary,
    TitleSocialOut,
)
from models.social.reviews.tables import (
    SCORES,
    Comment,
    CommentLike,
    Rating,
    TitleLike,
    TitleSocialStats,
    shard_of,
)


def comment_limit(settings: Settings) -> Limit:
    """Comments (and replies) a user may post: COMMENT_LIMIT per COMMENT_WINDOW_S."""
    return Limit("comment_post", settings.comment_limit, settings.comment_window_s)


CACHE_TTL_S = 3600
_T = TitleSocialStats.__table__

# Writers and readers race to fill the cache; the higher version always wins, so a slow reader
# can never put back a summary older than the last write.
_SET_IF_NEWER = """
local cur = redis.call('HGET', KEYS[1], 'v')
if cur and tonumber(cur) >= tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'd', ARGV[2])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""


# Aggregates ---------------------------------------------------------------------------------

_COUNTERS = ("rating_count", "rating_sum", *(f"r{s}" for s in SCORES), "like_count", "version")


# A title's counters: the sums over its shard rows, all from one snapshot. Plain SQL built
# once: it runs after every rating, and building the select was a large part of its CPU.
_SUM_COLUMNS = ", ".join(f"CAST(coalesce(sum({c}), 0) AS bigint) AS {c}" for c in _COUNTERS)
_SUMS = text(f"SELECT {_SUM_COLUMNS} FROM title_social_stats WHERE title_id = :t")

# The sums, and the catalog's copy of the rating (`titles.rating_avg/count`, which the catalog
# sorts and filters by) moved to them unless it already holds as new a version: one statement
# in autocommit, its own snapshot, after the rating committed. The copy's rule is the one of
# catalog.service.do_set_rating_summary (only over an older version, so whoever commits last
# the row holds the newest summary); the title's row is locked by this statement alone.
_SUMS_TO_TITLE = PlainStatement(
    f"""
    WITH cfg AS (
        SELECT set_config('synchronous_commit', 'off', true)
    ), s AS (
        SELECT {_SUM_COLUMNS} FROM title_social_stats WHERE title_id = :t
    ), copied AS (
        UPDATE titles SET
            rating_avg = CASE WHEN s.rating_count > 0
                THEN CAST(s.rating_sum AS double precision) / s.rating_count ELSE 0 END,
            rating_count = s.rating_count,
            rating_version = s.version
        FROM s
        WHERE titles.id = :t AND titles.rating_version < s.version AND EXISTS (SELECT FROM cfg)
        RETURNING 1
    )
    SELECT s.* FROM s
    """
)


async def _read_sums(session: AsyncSession, title_id: int) -> Mapping[Any, Any]:
    return (await session.execute(_SUMS, {"t": title_id})).one()._mapping


def _summary(title_id: int, row: Mapping[Any, Any]) -> RatingSummary:
    count = int(row["rating_count"])
    return RatingSummary(
        title_id=title_id,
        average=round(row["rating_sum"] / count, 4) if count else None,
        count=count,
        distribution={str(s): int(row[f"r{s}"]) for s in SCORES},
        likes=int(row["like_count"]),
        version=int(row["version"]),
    )


async def _apply_delta(
    session: AsyncSession,
    title_id: int,
    user_id: uuid.UUID,
    *,
    d_count: int = 0,
    d_sum: int = 0,
    d_likes: int = 0,
    inc: int | None = None,
    dec: int | None = None,
) -> None:
    """Add deltas to the user's shard of a title's counters in this transaction (that row is
    locked until commit; raters in other shards do not wait)."""
    values: dict[str, Any] = {
        "title_id": title_id,
        "shard": shard_of(user_id),
        "rating_count": d_count,
        "rating_sum": d_sum,
        "like_count": d_likes,
        "version": 1,
    }
    for s in SCORES:
        values[f"r{s}"] = (s == inc) - (s == dec)
    changes = {k: _T.c[k] + v for k, v in values.items() if k not in ("title_id", "shard")}
    if all(v >= 0 for v in values.values()):
        stmt = insert(TitleSocialStats).values(**values)
        write: Any = stmt.on_conflict_do_update(
            index_elements=[_T.c.title_id, _T.c.shard],
            set_={k: _T.c[k] + stmt.excluded[k] for k in changes},
        )
    else:
        # Something is taken away, so the user's row exists (its ratings are counted there).
        write = (
            update(TitleSocialStats)
            .where(_T.c.title_id == title_id, _T.c.shard == values["shard"])
            .values(**changes)
        )
    await session.execute(write)


def _cache_key(ctx: Context, title_id: int) -> str:
    return ctx.keys("social", "title-stats", title_id)


def _queue_set_if_newer(ctx: Context, pipe: Pipeline, summary: RatingSummary) -> None:
    """Queue caching the summary, never over a newer one."""
    pipe.eval(
        _SET_IF_NEWER,
        1,
        _cache_key(ctx, summary.title_id),
        summary.version,
        summary.model_dump_json(),
        CACHE_TTL_S,
    )


async def _cache_put(ctx: Context, summary: RatingSummary, *, rating: bool = False) -> None:
    """Cache the summary (never over a newer one) and, after a rating, tell the catalog's
    caches: one round trip, shared with whatever else this process sends Redis meanwhile."""

    def queue(pipe: Pipeline) -> None:
        _queue_set_if_newer(ctx, pipe, summary)
        if rating:
            queue_invalidate_rating(ctx, pipe, summary.title_id)

    replies = await ctx.pipelined(queue)
    if rating:
        rating_invalidated(ctx, replies[1])


async def _cache_put_many(ctx: Context, summaries: list[RatingSummary]) -> None:
    """`_cache_put` after a rating of each of these titles, all in one round trip."""

    def queue(pipe: Pipeline) -> None:
        for summary in summaries:
            _queue_set_if_newer(ctx, pipe, summary)
            queue_invalidate_rating(ctx, pipe, summary.title_id)

    replies = await ctx.pipelined(queue)
    for n in range(len(summaries)):
        rating_invalidated(ctx, replies[2 * n + 1])


async def _summarize_rating(session: AsyncSession, title_id: int) -> RatingSummary:
    """In an autocommit session, after a rating change committed: the title's summary, its
    catalog copy stored (one statement)."""
    row = await _SUMS_TO_TITLE.row(session, {"t": title_id})
    assert row is not None  # sums without GROUP BY: always one row
    return _summary(title_id, row)


async def _after_change(ctx: Context, title_id: int, *, rating: bool) -> RatingSummary:
    """After the change committed: read the title's sums from a snapshot that holds it, cache
    them, and for a rating store them on the catalog's title.

    A summary read inside the writer's transaction would not do: two raters in different
    shards each see their own change and not the other's, under the same version sum. A
    snapshot taken after commit sees every change committed before it, so of two snapshots
    the later has the greater version sum whenever they differ: the cache and the title
    keep the greater, and the last writer's snapshot holds everything.
    """
    if not rating:
        async with ctx.sessions() as session:
            summary = _summary(title_id, await _read_sums(session, title_id))
        await _cache_put(ctx, summary)
        return summary
    async with autocommit(ctx.sessions) as session:
        summary = await _summarize_rating(session, title_id)
    await _cache_put(ctx, summary, rating=True)
    return summary


async def refresh_summaries(ctx: Context, title_ids: list[int]) -> None:
    """After a repair of these titles' aggregates committed: cache their summaries under
    their new versions (a reader holding an older one cannot put it back) and refresh the
    catalog's copies."""
    for title_id in title_ids:
        async with ctx.sessions() as session:
            summary = _summary(title_id, await _read_sums(session, title_id))
        await _cache_put(ctx, summary, rating=True)


async def title_summary(ctx: Context, *, title_id: int) -> RatingSummary:
    """From the cache; on a miss, one read of the title's shard rows (never a scan of the
    ratings)."""
    cached: str | None = await ctx.redis.hget(_cache_key(ctx, title_id), "d")
    if cached is not None:
        return RatingSummary.model_validate(json.loads(cached))
    async with ctx.sessions() as session:
        await access_title(session, title_id=title_id)
        summary = _summary(title_id, await _read_sums(session, title_id))
    await _cache_put(ctx, summary)
    return summary


async def title_social(ctx: Context, *, actor: Actor, title_id: int) -> TitleSocialOut:
    summary = await title_summary(ctx, title_id=title_id)
    out = TitleSocialOut(**summary.model_dump())
    if actor.user_id is not None:
        async with ctx.sessions() as session:
            out.my_score = await session.scalar(
                select(Rating.score).where(
                    Rating.user_id == actor.user_id, Rating.title_id == title_id
                )
            )
            out.liked_by_me = await session.get(TitleLike, (actor.user_id, title_id)) is not None
    return out


async def _fast_commit(session: AsyncSession) -> None:
    """Release the counter row (and the title's row) as soon as the commit is in the WAL buffer.

    Each rating updates a counter row whose lock is held until commit; waiting for the disk
    flush there would serialize that row's raters at the disk's pace. A crash can lose the
    last fraction of a second of ratings (rating and counters together, never one without the
    other), which is an acceptable trade for votes.
    """
    await session.execute(text("SET LOCAL synchronous_commit = off"))


# Ratings -------------------------------------------------------------------------------------


# Ratings are group-committed: the ratings that arrive while a batch is being written go
# together in the next (models.core.batching.Batcher), as ONE statement in autocommit (atomic
# on its own) that, for each of them, checks the title, locks the user's old score, writes the
# rating and moves the counter rows by the deltas, summed per (title, shard) row; then one
# statement reads the batch's titles' sums and stores their catalog copies, and one Redis
# round trip caches them. Each request is answered after its batch committed, with the
# summary read after that commit. Plain SQL built once: building ORM statements was most of a
# rating's CPU. `synchronous_commit` is off for these statements' transactions only (see
# `_fast_commit`). Rows are locked in one order (ratings by user and title, then counter rows
# by title and shard, then titles by id), so two processes' batches never wait on each other
# in a cycle. A rating whose old row appeared between the lock and the insert (a second
# request of the same user) is written again in the next statement (`retry`).
_SCORE_COLUMNS = ", ".join(f"r{s}" for s in SCORES)
_SCORE_DELTAS = ", ".join(
    f"CAST(sum((delta.new = {s})::int - (delta.old = {s})::int) AS bigint)" for s in SCORES
)
_SCORE_SUMS = ", ".join(f"r{s} = st.r{s} + excluded.r{s}" for s in SCORES)
_RATE_MANY = PlainStatement(
    f"""
    WITH cfg AS (
        SELECT set_config('synchronous_commit', 'off', true)
    ), v AS (
        SELECT * FROM unnest(
            CAST(:u AS uuid[]), CAST(:t AS bigint[]), CAST(:s AS int[]), CAST(:shard AS int[])
        ) WITH ORDINALITY AS v(u, t, s, shard, i)
    ), found AS (
        SELECT v.i FROM v JOIN titles ON titles.id = v.t
    ), old AS (
        SELECT v.i, r.score FROM ratings r JOIN v ON r.user_id = v.u AND r.title_id = v.t
        ORDER BY r.user_id, r.title_id
        FOR UPDATE OF r
    ), ins AS (
        INSERT INTO ratings (user_id, title_id, score)
        SELECT v.u, v.t, v.s FROM v JOIN found ON found.i = v.i
        -- (one subquery over all of `old`, so every old score is locked before an insert)
        WHERE v.i <> ALL (ARRAY(SELECT old.i FROM old))
        ORDER BY v.u, v.t
        ON CONFLICT DO NOTHING
        RETURNING user_id, title_id, score
    ), upd AS (
        UPDATE ratings r SET score = v.s, updated_at = now() FROM v JOIN old ON old.i = v.i
        WHERE r.user_id = v.u AND r.title_id = v.t AND r.score <> v.s
        RETURNING v.i, CAST(r.score AS int) AS new, CAST(old.score AS int) AS old
    ), delta AS (
        SELECT v.i, v.t, v.shard, 1 AS n, CAST(ins.score AS int) AS new, 0 AS old
        FROM ins JOIN v ON v.u = ins.user_id AND v.t = ins.title_id
        UNION ALL
        SELECT v.i, v.t, v.shard, 0, upd.new, upd.old FROM upd JOIN v ON v.i = upd.i
    ), counted AS (
        INSERT INTO title_social_stats AS st
            (title_id, shard, rating_count, rating_sum, {_SCORE_COLUMNS}, like_count, version)
        SELECT delta.t, delta.shard, sum(delta.n), sum(delta.new - delta.old), {_SCORE_DELTAS},
               0, 1
        FROM delta GROUP BY delta.t, delta.shard ORDER BY delta.t, delta.shard
        ON CONFLICT (title_id, shard) DO UPDATE SET
            rating_count = st.rating_count + excluded.rating_count,
            rating_sum = st.rating_sum + excluded.rating_sum,
            {_SCORE_SUMS},
            version = st.version + 1
        RETURNING 1
    )
    SELECT v.i, found.i IS NOT NULL AS found, old.i IS NOT NULL AS had,
           coalesce(delta.n = 1, false) AS inserted, delta.i IS NOT NULL AS changed,
           (SELECT count(*) FROM counted) + (SELECT count(*) FROM cfg) AS _
    FROM v
        LEFT JOIN found ON found.i = v.i
        LEFT JOIN old ON old.i = v.i
        LEFT JOIN delta ON delta.i = v.i
    """
)

# After a batch committed: its titles' sums (one snapshot that holds the batch), and their
# catalog copies moved to them where older (the rule of _SUMS_TO_TITLE; the titles' rows
# locked in id order first, see above).
_SUMS_TO_TITLES = PlainStatement(
    f"""
    WITH cfg AS (
        SELECT set_config('synchronous_commit', 'off', true)
    ), s AS (
        SELECT title_id, {_SUM_COLUMNS} FROM title_social_stats
        WHERE title_id = ANY(CAST(:t AS bigint[])) GROUP BY title_id
    ), locked AS (
        SELECT titles.id FROM titles JOIN s ON s.title_id = titles.id
        WHERE titles.rating_version < s.version
        ORDER BY titles.id
        FOR UPDATE OF titles
    ), copied AS (
        UPDATE titles SET
            rating_avg = CASE WHEN s.rating_count > 0
                THEN CAST(s.rating_sum AS double precision) / s.rating_count ELSE 0 END,
            rating_count = s.rating_count,
            rating_version = s.version
        FROM s JOIN locked ON locked.id = s.title_id
        WHERE titles.id = s.title_id AND titles.rating_version < s.version
            AND EXISTS (SELECT FROM cfg)
        RETURNING 1
    )
    SELECT s.* FROM s
    """
)

_EMPTY = {c: 0 for c in _COUNTERS}


@dataclass(frozen=True, slots=True)
class _Rate:
    user_id: uuid.UUID
    title_id: int
    score: int


_Outcome = RatingSummary | BaseException


def _raters(ctx: Context) -> Batcher[_Rate, RatingSummary]:
    """This process's group commit of ratings."""

    async def write(items: list[_Rate]) -> list[_Outcome]:
        return await _write_ratings(ctx, items)

    return ctx.local.get_or_make(
        _RATINGS,
        lambda: Batcher(write, name="ratings", max_size=ctx.settings.rating_batch_max),
    )


_RATINGS = Slot[Batcher[_Rate, RatingSummary]]("social.ratings")


def _rounds(items: list[_Rate], pending: list[int]) -> list[list[int]]:
    """The pending ratings split so that no (user, title) is twice in one statement (a row
    can change once per statement), each user's writes of a title in their order."""
    rounds: list[list[int]] = []
    seen: dict[tuple[uuid.UUID, int], int] = {}
    for i in pending:
        key = (items[i].user_id, items[i].title_id)
        n = seen.get(key, 0)
        seen[key] = n + 1
        if n == len(rounds):
            rounds.append([])
        rounds[n].append(i)
    return rounds


async def _rate_rows(session: AsyncSession, items: list[_Rate], idx: list[int]) -> list[Any]:
    return await _RATE_MANY.rows(
        session,
        {
            "u": [items[i].user_id for i in idx],
            "t": [items[i].title_id for i in idx],
            "s": [items[i].score for i in idx],
            "shard": [shard_of(items[i].user_id) for i in idx],
        },
    )


async def _write_ratings(ctx: Context, items: list[_Rate]) -> list[_Outcome]:
    """Write a batch of ratings; for each, its title's summary after the commit or its own
    error (a title that does not exist fails its rating, not its neighbours')."""
    outcomes: list[_Outcome | None] = [None] * len(items)
    written: set[int] = set()  # titles whose summary is wanted
    changed: set[int] = set()  # titles whose counters moved
    pending = list(range(len(items)))
    async with autocommit(ctx.sessions) as session:
        for _attempt in range(3):
            retry: list[int] = []
            blocked: set[tuple[uuid.UUID, int]] = set()
            for idx in _rounds(items, pending):
                # Behind a retried write of the same user and title: after it, in order.
                later = [i for i in idx if (items[i].user_id, items[i].title_id) in blocked]
                idx = [i for i in idx if (items[i].user_id, items[i].title_id) not in blocked]
                retry += later
                rows = await _rate_alone_on_error(session, items, idx, outcomes)
                for i, row in zip(idx, rows, strict=True):
                    if row is None:
                        continue  # failed alone: its error is its outcome
                    item = items[i]
                    if not row["found"]:
                        outcomes[i] = NotFound("No such title", code="title_not_found")
                    elif row["had"] or row["inserted"]:
                        written.add(item.title_id)
                        if row["changed"]:
                            changed.add(item.title_id)
                    else:
                        # Another request of this user rated it meanwhile: now there is an
                        # old score to lock.
                        retry.append(i)
                        blocked.add((item.user_id, item.title_id))
            pending = retry
            if not pending:
                break
        for i in pending:
            outcomes[i] = Conflict(
                "The rating changed meanwhile; try again", code="rating_conflict"
            )
        # Committed: the next statement's snapshot holds the batch (see _after_change); on the
        # same connection, without another checkout.
        sums = await _SUMS_TO_TITLES.rows(session, {"t": sorted(written)}) if written else []
    summaries = {int(row["title_id"]): _summary(int(row["title_id"]), row) for row in sums}
    for title_id in written - summaries.keys():
        summaries[title_id] = _summary(title_id, _EMPTY)
    if changed:
        await _cache_put_many(ctx, [summaries[t] for t in sorted(changed)])
    return [
        summaries[items[i].title_id] if outcome is None else outcome
        for i, outcome in enumerate(outcomes)
    ]


# A statement aborted in a lock cycle is sent again up to this many times in all.
DEADLOCK_TRIES = 5
DEADLOCK = "40P01"  # PostgreSQL's SQLSTATE for deadlock_detected


async def _rate_alone_on_error(
    session: AsyncSession, items: list[_Rate], idx: list[int], outcomes: list[_Outcome | None]
) -> list[Any]:
    """The statement's row for each rating (by position in `idx`). A statement that fails
    writes nothing; if it carried several ratings, each is written alone, so one that cannot
    be (its user deleted meanwhile) fails alone: None in its place, its error in `outcomes`.
    A statement that lost a lock cycle (PostgreSQL aborts one of the statements in it, which
    then wrote nothing: the order in which a statement's parts take their locks is not fixed,
    so a rating's, a removal's and the other process's batch can meet in a cycle) is sent
    again as it was, after a short random pause. A lost connection fails the batch."""
    if not idx:
        return []
    tries = 0
    while True:
        tries += 1
        try:
            rows = await _rate_rows(session, items, idx)
        except Unavailable:
            raise
        except (PostgresError, DomainError) as exc:
            if isinstance(exc, DeadlockDetectedError) and tries < DEADLOCK_TRIES:
                await asyncio.sleep(random.uniform(0, 0.02 * tries))
                continue
            if len(idx) > 1:
                alone: list[Any] = []
                for i in idx:
                    alone += await _rate_alone_on_error(session, items, [i], outcomes)
                return alone
            outcomes[idx[0]] = exc
            return [None]
        by_ordinal = {int(row["i"]): row for row in rows}
        return [by_ordinal[n] for n in range(1, len(idx) + 1)]


async def do_rate(ctx: Context, *, actor: Actor, title_id: int, score: int) -> RatingOut:
    """Set my rating; counters change by deltas in the same statement as the rating (with the
    ratings of other requests that arrived meanwhile, see `_RATE_MANY`)."""
    if not policy.can_rate(actor):
        raise Forbidden("Sign in to rate", code="forbidden")
    if score not in SCORES:
        raise InvalidInput("A rating is 1 to 10", code="invalid_score")
    user_id = actor.user_id
    assert user_id is not None
    item = _Rate(user_id, title_id, score)
    if ctx.settings.rating_batch_max > 1:
        summary = await _raters(ctx).submit(item)
    else:  # each alone, concurrently (as before group commit)
        (outcome,) = await _write_ratings(ctx, [item])
        if isinstance(outcome, BaseException):
            raise outcome
        summary = outcome
    return RatingOut(title_id=title_id, user_id=user_id, score=score, summary=summary)


async def do_unrate(ctx: Context, *, actor: Actor, title_id: int) -> RatingOut:
    user_id = actor.user_id
    assert user_id is not None
    for tries in range(1, DEADLOCK_TRIES + 1):
        try:
            async with transaction(ctx.sessions) as session:
                await _fast_commit(session)
                old = await session.scalar(
                    delete(Rating)
                    .where(Rating.user_id == user_id, Rating.title_id == title_id)
                    .returning(Rating.score)
                )
                if old is None:
                    raise NotFound("You have not rated this title", code="rating_not_found")
                await _apply_delta(session, title_id, user_id, d_count=-1, d_sum=-old, dec=old)
            break
        except DBAPIError as exc:
            # In a lock cycle with a batch of ratings (see _rate_alone_on_error): rolled back,
            # nothing written; again after a short random pause.
            if getattr(exc.orig, "sqlstate", None) != DEADLOCK or tries == DEADLOCK_TRIES:
                raise
            await asyncio.sleep(random.uniform(0, 0.02 * tries))
    summary = await _after_change(ctx, title_id, rating=True)
    return RatingOut(title_id=title_id, user_id=user_id, score=None, summary=summary)


# Title likes ---------------------------------------------------------------------------------


async def do_like_title(ctx: Context, *, actor: Actor, title_id: int, like: bool) -> TitleSocialOut:
    """Idempotent both ways: liking twice counts once."""
    user_id = actor.user_id
    assert user_id is not None
    async with transaction(ctx.sessions) as session:
        await access_title(session, title_id=title_id)
        if like:
            changed = await session.scalar(
                insert(TitleLike)
                .values(user_id=actor.user_id, title_id=title_id)
                .on_conflict_do_nothing()
                .returning(TitleLike.title_id)
            )
        else:
            changed = await session.scalar(
                delete(TitleLike)
                .where(TitleLike.user_id == actor.user_id, TitleLike.title_id == title_id)
                .returning(TitleLike.title_id)
            )
        if changed is not None:
            await _apply_delta(session, title_id, user_id, d_likes=1 if like else -1)
    if changed is not None:
        await _after_change(ctx, title_id, rating=False)
    return await title_social(ctx, actor=actor, title_id=title_id)


# Comments ------------------------------------------------------------------------------------


def _comment_out(c: Comment, author: User | None, liked: bool, hidden_replies: int) -> CommentOut:
    deleted = c.gone
    return CommentOut(
        id=c.id,
        title_id=c.title_id,
        parent_id=c.parent_id,
        author=None
        if deleted or author is None
        else UserBrief(id=author.id, username=author.username, display_name=author.display_name),
        body=None if deleted else c.body,
        spoiler=c.spoiler,
        deleted=deleted,
        hidden=c.hidden_at is not None,
        like_count=c.like_count,
        reply_count=c.reply_count - hidden_replies,
        liked_by_me=liked,
        created_at=c.created_at,
        edited_at=c.edited_at,
    )


async def _outs(session: AsyncSession, actor: Actor, comments: list[Comment]) -> list[CommentOut]:
    """Comments as this reader sees them, in at most four queries whatever the count."""
    authors = (
        {
            u.id: u
            for u in await session.scalars(
                select(User).where(User.id.in_({c.author_id for c in comments}))
            )
        }
        if comments
        else {}
    )
    liked: set[int] = set()
    if actor.user_id is not None and comments:
        liked = set(
            (
                await session.scalars(
                    select(CommentLike.comment_id).where(
                        CommentLike.user_id == actor.user_id,
                        CommentLike.comment_id.in_([c.id for c in comments]),
                    )
                )
            ).all()
        )
    hidden = await _hidden_replies(session, actor, [c.id for c in comments if c.reply_count])
    return [
        _comment_out(c, authors.get(c.author_id), c.id in liked, hidden.get(c.id, 0))
        for c in comments
    ]


async def _hidden_replies(
    session: AsyncSession, actor: Actor, comment_ids: list[int]
) -> dict[int, int]:
    """How many replies to each comment the reader's reply lists leave out, so `reply_count`
    counts what they can read: one grouped query over the replies of the page's comments
    (none when no comment has replies or the reader hides nobody)."""
    listed = _listed_for(actor)
    if not comment_ids or not listed:
        return {}
    rows = await session.execute(
        select(Comment.parent_id, func.count())
        .where(Comment.parent_id.in_(comment_ids), ~and_(*listed))
        .group_by(Comment.parent_id)
    )
    return {parent: int(n) for parent, n in rows if parent is not None}


async def access_comment(
    session: AsyncSession, *, comment_id: int, lock: bool = False, reader: Actor | None = None
) -> Comment:
    """With a `reader`, a comment their lists leave out (policy.lists_comments_of) is not
    found either, the same 404 as a comment that does not exist."""
    q = select(Comment).where(Comment.id == comment_id)
    if reader is not None:
        q = q.where(*_listed_for(reader))
    if lock:
        q = q.with_for_update()
    c = await session.scalar(q)
    if c is None:
        raise NotFound("No such comment", code="comment_not_found")
    return c


async def do_post_comment(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    title_id: int,
    data: CommentIn,
) -> CommentOut:
    if not policy.can_comment(actor):
        raise Forbidden("Sign in to comment", code="forbidden")
    assert actor.user_id is not None
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        comment_limit(ctx.settings), str(actor.user_id), message="Too many comments"
    )
    await access_title(session, title_id=title_id)
    parent_id = None
    if data.parent_id is not None:
        parent = await access_comment(session, comment_id=data.parent_id, lock=True)
        if parent.parent_id is not None:
            parent = await access_comment(session, comment_id=parent.parent_id, lock=True)
        if parent.title_id != title_id:
            raise InvalidInput("The parent comment is on another title", code="wrong_title")
        rel = await relation(session, actor_id=actor.user_id, other_id=parent.author_id)
        if not policy.can_reply(actor, rel, parent.gone):
            raise Forbidden("You cannot reply to this comment", code="forbidden")
        parent.reply_count += 1
        parent_id = parent.id
    c = Comment(
        title_id=title_id,
        author_id=actor.user_id,
        parent_id=parent_id,
        body=data.body,
        spoiler=data.spoiler,
    )
    session.add(c)
    await session.flush()
    await session.refresh(c)
    return (await _outs(session, actor, [c]))[0]


async def do_edit_comment(
    session: AsyncSession, *, actor: Actor, comment_id: int, data: CommentPatch
) -> CommentOut:
    c = await access_comment(session, comment_id=comment_id, lock=True)
    rel = await relation(session, actor_id=actor.user_id, other_id=c.author_id)
    if not policy.can_edit_comment(actor, rel, c.gone):
        if c.gone:
            raise NotFound("This comment was deleted", code="comment_deleted")
        raise Forbidden("Only the author can edit a comment", code="forbidden")
    fields = data.model_dump(exclude_unset=True, exclude_none=True)
    if not fields:
        raise InvalidInput("Nothing to change", code="invalid_input")
    for key, value in fields.items():
        setattr(c, key, value)
    c.edited_at = now()
    await session.flush()
    return (await _outs(session, actor, [c]))[0]


async def do_delete_comment(session: AsyncSession, *, actor: Actor, comment_id: int) -> None:
    """Soft: replies stay, the comment shows as deleted."""
    c = await access_comment(session, comment_id=comment_id, lock=True)
    rel = await relation(session, actor_id=actor.user_id, other_id=c.author_id)
    if not policy.can_delete_comment(actor, rel):
        raise Forbidden("You may not delete this comment", code="forbidden")
    if c.deleted_at is None:
        c.deleted_at = now()
        c.deleted_by = actor.user_id
        await session.flush()


async def do_like_comment(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    comment_id: int,
    like: bool,
) -> CommentLikeOut:
    c = await access_comment(session, comment_id=comment_id)
    assert actor.user_id is not None
    if like:
        rel = await relation(session, actor_id=actor.user_id, other_id=c.author_id)
        if not policy.can_like_comment(actor, rel, c.gone):
            raise Forbidden("You cannot like this comment", code="forbidden")
        changed = await session.scalar(
            insert(CommentLike)
            .values(comment_id=c.id, user_id=actor.user_id)
            .on_conflict_do_nothing()
            .returning(CommentLike.comment_id)
        )
    else:
        changed = await session.scalar(
            delete(CommentLike)
            .where(CommentLike.comment_id == c.id, CommentLike.user_id == actor.user_id)
            .returning(CommentLike.comment_id)
        )
    count = c.like_count
    if changed is not None and like:
        await do_notify(
            ctx,
            session,
            outbox,
            user_id=c.author_id,
            type=NotificationType.comment_liked,
            data={"comment_id": c.id, "title_id": c.title_id},
            actor_id=actor.user_id,
            group_key=f"comment_liked:{c.id}",
        )
    if changed is not None:
        count = (
            await session.scalar(
                update(Comment)
                .where(Comment.id == c.id)
                .values(like_count=Comment.like_count + (1 if like else -1))
                .returning(Comment.like_count)
            )
            or 0
        )
    return CommentLikeOut(comment_id=c.id, like_count=count, liked_by_me=like)


def _listed_for(actor: Actor) -> list[ColumnElement[bool]]:
    """policy.lists_comments_of as SQL: anti-joins on the blocks' primary key inside the page
    query, so a page is still full when more follow and the query count does not grow."""
    if actor.user_id is None:
        return []
    hidden: list[ColumnElement[bool]] = []
    if policy.HIDE_COMMENTS_BY_BLOCKED:
        hidden.append(
            ~exists().where(
                Block.blocker_id == actor.user_id, Block.blocked_id == Comment.author_id
            )
        )
    if policy.HIDE_COMMENTS_BY_BLOCKERS:
        hidden.append(
            ~exists().where(
                Block.blocker_id == Comment.author_id, Block.blocked_id == actor.user_id
            )
        )
    return hidden


async def list_comments(
    session: AsyncSession, *, actor: Actor, title_id: int, cursor: str | None, limit: int
) -> Page[CommentOut]:
    """Top-level comments, newest first, without those the actor's blocks hide."""
    await access_title(session, title_id=title_id)
    q = select(Comment).where(
        Comment.title_id == title_id, Comment.parent_id.is_(None), *_listed_for(actor)
    )
    rows, next_cursor = await id_page(session, q, Comment.id, cursor=cursor, limit=limit)
    return Page[CommentOut](items=await _outs(session, actor, rows), next_cursor=next_cursor)


async def list_replies(
    session: AsyncSession, *, actor: Actor, comment_id: int, cursor: str | None, limit: int
) -> Page[CommentOut]:
    """Replies to one comment, oldest first (a conversation reads downwards), without those
    the actor's blocks hide; a comment the actor's blocks hide has no replies to read."""
    parent = await access_comment(session, comment_id=comment_id, reader=actor)
    q = select(Comment).where(Comment.parent_id == parent.id, *_listed_for(actor))
    rows, next_cursor = await id_page(
        session, q, Comment.id, cursor=cursor, limit=limit, ascending=True
    )
    return Page[CommentOut](items=await _outs(session, actor, rows), next_cursor=next_cursor)


async def get_comment(session: AsyncSession, *, actor: Actor, comment_id: int) -> CommentOut:
    """One comment, unless the actor's blocks hide it from their lists (then 404)."""
    c = await access_comment(session, comment_id=comment_id, reader=actor)
    return (await _outs(session, actor, [c]))[0]
