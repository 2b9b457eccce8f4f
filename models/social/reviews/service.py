"""Ratings with incremental aggregates, title likes, comments, comment likes."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

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
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.catalog.cache import queue_invalidate_rating, rating_invalidated
from models.core.clock import now
from models.core.context import Context
from models.core.db import PlainStatement, autocommit, transaction
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
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


async def _cache_put(ctx: Context, summary: RatingSummary, *, rating: bool = False) -> None:
    """Cache the summary (never over a newer one) and, after a rating, tell the catalog's
    caches: one round trip, shared with whatever else this process sends Redis meanwhile."""

    def queue(pipe: Pipeline) -> None:
        pipe.eval(
            _SET_IF_NEWER,
            1,
            _cache_key(ctx, summary.title_id),
            summary.version,
            summary.model_dump_json(),
            CACHE_TTL_S,
        )
        if rating:
            queue_invalidate_rating(ctx, pipe, summary.title_id)

    replies = await ctx.pipelined(queue)
    if rating:
        rating_invalidated(ctx, replies[1])


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


# A rating is one statement in autocommit (atomic on its own): the title's existence, the
# user's old score (its row locked), the rating written and the user's counter row moved by
# the deltas. Plain SQL built once: building the ORM statements was most of a rating's CPU,
# and a transaction of its own cost four more round trips. `synchronous_commit` is off for
# this statement's transaction only (see `_fast_commit`). If a second request of the same
# user inserted the rating between our lock and our insert, nothing is written (`retry`).
_SCORE_COLUMNS = ", ".join(f"r{s}" for s in SCORES)
_SCORE_DELTAS = ", ".join(f"(v.s = {s})::int - (delta.old = {s})::int" for s in SCORES)
_SCORE_SUMS = ", ".join(f"r{s} = st.r{s} + excluded.r{s}" for s in SCORES)
_RATE = PlainStatement(
    f"""
    WITH cfg AS (
        SELECT set_config('synchronous_commit', 'off', true)
    ), v AS (
        SELECT CAST(:u AS uuid) AS u, CAST(:t AS bigint) AS t, CAST(:s AS int) AS s,
               CAST(:shard AS int) AS shard
    ), title AS (
        SELECT titles.id FROM titles, v WHERE titles.id = v.t
    ), old AS (
        SELECT score FROM ratings, v WHERE user_id = v.u AND title_id = v.t FOR UPDATE OF ratings
    ), ins AS (
        INSERT INTO ratings (user_id, title_id, score)
        SELECT v.u, title.id, v.s FROM title, v WHERE NOT EXISTS (SELECT FROM old)
        ON CONFLICT DO NOTHING
        RETURNING score
    ), upd AS (
        UPDATE ratings SET score = v.s, updated_at = now() FROM v
        WHERE user_id = v.u AND title_id = v.t AND score <> v.s AND EXISTS (SELECT FROM old)
        RETURNING ratings.score
    ), delta AS (
        SELECT 1 AS n, CAST(ins.score AS int) AS d, 0 AS old FROM ins
        UNION ALL
        SELECT 0, upd.score - old.score, old.score FROM upd, old
    ), counted AS (
        INSERT INTO title_social_stats AS st
            (title_id, shard, rating_count, rating_sum, {_SCORE_COLUMNS}, like_count, version)
        SELECT v.t, v.shard, delta.n, delta.d, {_SCORE_DELTAS}, 0, 1 FROM delta, v
        ON CONFLICT (title_id, shard) DO UPDATE SET
            rating_count = st.rating_count + excluded.rating_count,
            rating_sum = st.rating_sum + excluded.rating_sum,
            {_SCORE_SUMS},
            version = st.version + 1
        RETURNING 1
    )
    SELECT EXISTS (SELECT FROM title), EXISTS (SELECT FROM old), EXISTS (SELECT FROM ins),
           EXISTS (SELECT FROM counted), (SELECT 1 FROM cfg)
    """
)


async def do_rate(ctx: Context, *, actor: Actor, title_id: int, score: int) -> RatingOut:
    """Set my rating; counters change by deltas in the same statement as the rating."""
    if not policy.can_rate(actor):
        raise Forbidden("Sign in to rate", code="forbidden")
    if score not in SCORES:
        raise InvalidInput("A rating is 1 to 10", code="invalid_score")
    user_id = actor.user_id
    assert user_id is not None
    params = {"u": user_id, "t": title_id, "s": score, "shard": shard_of(user_id)}
    async with autocommit(ctx.sessions) as session:
        for _attempt in range(3):
            row = await _RATE.row(session, params)
            assert row is not None
            found, had, inserted, changed = row[0], row[1], row[2], row[3]
            if not found:
                raise NotFound("No such title", code="title_not_found")
            if had or inserted:
                break
            # Our other request rated it meanwhile: now there is an old score to lock.
        else:
            raise Conflict("The rating changed meanwhile; try again", code="rating_conflict")
        # Committed: the next statement's snapshot holds it (see _after_change); on the same
        # connection, without another checkout.
        if not changed:
            summary = _summary(title_id, await _read_sums(session, title_id))
        else:
            summary = await _summarize_rating(session, title_id)
    if changed:
        await _cache_put(ctx, summary, rating=True)
    return RatingOut(title_id=title_id, user_id=user_id, score=score, summary=summary)


async def do_unrate(ctx: Context, *, actor: Actor, title_id: int) -> RatingOut:
    user_id = actor.user_id
    assert user_id is not None
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
