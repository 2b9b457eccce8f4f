"""Erasing an account: everything personal goes, the counters it fed are corrected, and what
others' threads need stays, pointing at a "deleted user" tombstone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import Role, User
from models.core.clock import now
from models.privacy.footprint import KEPT, references
from models.social.reviews.tables import shard_of

TOMBSTONE_NAME = "Deleted user"
_HIST = ", ".join(f"count(*) FILTER (WHERE score = {s}) AS r{s}" for s in range(1, 11))
_HIST_SET = ", ".join(f"r{s} = t.r{s} - agg.r{s}" for s in range(1, 11))


@dataclass
class Erased:
    titles: list[int] = field(default_factory=list)  # whose rating/like summaries changed
    export_ids: list[uuid.UUID] = field(default_factory=list)  # whose files must go
    attachment_ids: list[uuid.UUID] = field(default_factory=list)  # images: their files too


async def erase_account(session: AsyncSession, *, user_id: uuid.UUID) -> Erased:
    """In the caller's transaction. Idempotent: erasing a tombstone again changes nothing."""
    erased = Erased()
    params = {"u": user_id}
    # The account's own row of each title's counters (models/social/reviews: SHARDS rows).
    mine = params | {"shard": shard_of(user_id)}
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        return erased
    erased.export_ids = list(
        (
            await session.execute(text("SELECT id FROM data_exports WHERE user_id = :u"), params)
        ).scalars()
    )
    # Its images (sent or never sent): the rows go below, the files once this commits. Read
    # under the account's lock, which keeps an upload from adding one meanwhile.
    erased.attachment_ids = list(
        (
            await session.execute(text("SELECT id FROM dm_attachments WHERE owner_id = :u"), params)
        ).scalars()
    )
    # Counters fed by this account (its shard of each title's rows, models/social/reviews),
    # in the order rating writes lock them (by title).
    titles = list(
        (
            await session.execute(
                text(
                    "SELECT title_id FROM title_social_stats WHERE shard = :shard AND title_id IN ("
                    " SELECT title_id FROM ratings WHERE user_id = :u"
                    " UNION SELECT title_id FROM title_likes WHERE user_id = :u)"
                    " ORDER BY title_id FOR UPDATE"
                ),
                mine,
            )
        ).scalars()
    )
    await session.execute(
        text(
            f"""
            WITH gone AS (DELETE FROM ratings WHERE user_id = :u RETURNING title_id, score),
            agg AS (SELECT title_id, count(*) AS n, sum(score) AS total, {_HIST}
                    FROM gone GROUP BY title_id)
            UPDATE title_social_stats t SET rating_count = t.rating_count - agg.n,
                rating_sum = t.rating_sum - agg.total, {_HIST_SET}, version = t.version + 1
            FROM agg WHERE t.title_id = agg.title_id AND t.shard = :shard
            """
        ),
        mine,
    )
    await session.execute(
        text(
            """
            WITH gone AS (DELETE FROM title_likes WHERE user_id = :u RETURNING title_id)
            UPDATE title_social_stats t SET like_count = t.like_count - 1,
                version = t.version + 1
            FROM gone WHERE t.title_id = gone.title_id AND t.shard = :shard
            """
        ),
        mine,
    )
    if titles:
        await session.execute(
            text(
                """
                UPDATE titles SET rating_count = s.n,
                    rating_avg = CASE WHEN s.n > 0 THEN s.total::float / s.n ELSE 0 END
                FROM (SELECT title_id, sum(rating_count) AS n, sum(rating_sum) AS total
                      FROM title_social_stats WHERE title_id = ANY(:ids)
                      GROUP BY title_id) s
                WHERE s.title_id = titles.id
                """
            ),
            {"ids": titles},
        )
    erased.titles = titles
    await session.execute(
        text(
            """
            WITH gone AS (DELETE FROM comment_likes WHERE user_id = :u RETURNING comment_id)
            UPDATE comments c SET like_count = c.like_count - 1
            FROM gone WHERE c.id = gone.comment_id
            """
        ),
        params,
    )
    # Others' notifications about what this account did: it leaves the group ("Ann and 2
    # others"); a notification about it alone goes.
    await session.execute(
        text(
            "DELETE FROM notifications WHERE user_id <> :u"
            " AND (actor_id = :u OR :u = ANY(actor_ids))"
            " AND cardinality(array_remove(actor_ids, :u)) = 0"
        ),
        params,
    )
    await session.execute(
        text(
            """
            UPDATE notifications SET actor_ids = array_remove(actor_ids, :u),
                actor_count = greatest(actor_count - 1, 0),
                actor_id = CASE WHEN actor_id = :u
                    THEN (array_remove(actor_ids, :u))[1] ELSE actor_id END
            WHERE :u = ANY(actor_ids) OR actor_id = :u
            """
        ),
        params,
    )
    # Everything else that points at the account, found in the metadata: rows it owns go
    # (their own children with them), references it left in others' rows are cleared.
    for ref in references():
        if ref.key in KEPT or ref.table.name == "users":
            continue  # (accounts linked to this one are not erased with it)
        table, column = ref.table.name, ref.column.name
        if ref.ondelete == "SET NULL":
            await session.execute(
                text(f'UPDATE "{table}" SET "{column}" = NULL WHERE "{column}" = :u'), params
            )
        else:
            await session.execute(text(f'DELETE FROM "{table}" WHERE "{column}" = :u'), params)
    # A conversation neither side has any more (both accounts deleted) goes with its messages.
    await session.execute(
        text(
            "DELETE FROM dm_conversations c WHERE (c.user_low = :u OR c.user_high = :u)"
            " AND NOT EXISTS (SELECT 1 FROM dm_members m WHERE m.conversation_id = c.id)"
        ),
        params,
    )
    _tombstone(user)
    await session.flush()
    return erased


def _tombstone(user: User) -> None:
    """The row others' comments and messages point at: nothing of the person is left in it.
    Every nullable column is cleared (so one added later, a PIN or a birth date, goes too),
    then the few the row needs are set."""
    for column in User.__table__.columns:
        if column.nullable and column.key != "deleted_at":
            setattr(user, column.key, None)
    tag = user.id.hex[:12]
    user.email = f"deleted-{user.id.hex}@deleted.invalid"
    user.username = f"deleted-{tag}"
    user.display_name = TOMBSTONE_NAME
    user.password_hash = "!"  # matches no password: no argon2 hash starts so
    user.role = Role.user
    user.is_active = False
    user.deleted_at = now()
