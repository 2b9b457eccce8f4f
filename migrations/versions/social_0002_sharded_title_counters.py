"""title counters split over 16 rows per title; titles.rating_version

Raters of one hot title no longer queue on one counter row: each user's rating and like are
counted in the row of their shard (the UUID's last byte mod 16), and readers sum the rows.
The rows are recounted from the ratings and likes themselves, and every title's version sum
ends above the version any cache may hold.

Revision ID: social_0002
Revises: social_0001
Create Date: 2026-12-05 23:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "social_0002"
down_revision: str | Sequence[str] | None = "social_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = "catalog_0001"

# Frozen as of this revision (models/social/reviews/tables.py: SHARDS, shard_of).
_SHARDS = 16
_HIST = [f"r{s}" for s in range(1, 11)]
_COUNTERS = ["rating_count", "rating_sum", *_HIST, "like_count"]


def upgrade() -> None:
    op.add_column(
        "titles",
        sa.Column("rating_version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "title_social_stats",
        sa.Column("shard", sa.SmallInteger(), server_default=sa.text("0"), nullable=False),
    )
    op.drop_constraint(op.f("pk_title_social_stats"), "title_social_stats", type_="primary")
    op.create_primary_key(
        op.f("pk_title_social_stats"), "title_social_stats", ["title_id", "shard"]
    )
    op.create_check_constraint(
        op.f("ck_title_social_stats_shard_range"),
        "title_social_stats",
        f"shard >= 0 AND shard < {_SHARDS}",
    )
    # Every existing row is shard 0: empty it (its version goes up), then count each rating
    # and like again in its user's shard.
    op.execute(
        "UPDATE title_social_stats SET version = version + 1, "
        + ", ".join(f"{c} = 0" for c in _COUNTERS)
    )
    shard = f"get_byte(uuid_send(user_id), 15) % {_SHARDS}"
    hist = ", ".join(f"(score = {s})::int AS r{s}" for s in range(1, 11))
    zeros = ", ".join("0" for _ in _HIST)
    op.execute(
        f"""
        INSERT INTO title_social_stats AS s (title_id, shard, {", ".join(_COUNTERS)}, version)
        SELECT title_id, shard, {", ".join(f"sum({c})" for c in _COUNTERS)}, 1
        FROM (
            SELECT title_id, {shard} AS shard, 1 AS rating_count, score AS rating_sum,
                   {hist},
                   0 AS like_count
            FROM ratings
            UNION ALL
            SELECT title_id, {shard}, 0, 0, {zeros}, 1 FROM title_likes
        ) x
        GROUP BY title_id, shard
        ON CONFLICT (title_id, shard) DO UPDATE SET
            {", ".join(f"{c} = excluded.{c}" for c in _COUNTERS)}, version = s.version + 1
        """
    )
    op.execute(
        "UPDATE titles SET rating_version = v.version FROM"
        " (SELECT title_id, sum(version) AS version FROM title_social_stats GROUP BY title_id) v"
        " WHERE titles.id = v.title_id"
    )


def downgrade() -> None:
    op.execute(
        f"""
        WITH gone AS (
            DELETE FROM title_social_stats WHERE shard <> 0
            RETURNING title_id, {", ".join(_COUNTERS)}, version
        ), t AS (
            SELECT title_id, {", ".join(f"sum({c}) AS {c}" for c in _COUNTERS)},
                   sum(version) AS version
            FROM gone GROUP BY title_id
        )
        INSERT INTO title_social_stats AS s (title_id, shard, {", ".join(_COUNTERS)}, version)
        SELECT title_id, 0, {", ".join(_COUNTERS)}, version FROM t
        ON CONFLICT (title_id, shard) DO UPDATE SET
            {", ".join(f"{c} = s.{c} + excluded.{c}" for c in _COUNTERS)},
            version = s.version + excluded.version
        """
    )
    op.drop_constraint(
        op.f("ck_title_social_stats_shard_range"), "title_social_stats", type_="check"
    )
    op.drop_constraint(op.f("pk_title_social_stats"), "title_social_stats", type_="primary")
    op.drop_column("title_social_stats", "shard")
    op.create_primary_key(op.f("pk_title_social_stats"), "title_social_stats", ["title_id"])
    op.drop_column("titles", "rating_version")
