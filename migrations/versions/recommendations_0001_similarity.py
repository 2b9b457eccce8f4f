"""recommendations: title similarity (rebuilt hourly) and titles hidden from a user's picks

Revision ID: recommendations_0001
Revises: 0001_foundation
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "recommendations_0001"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("recommendations",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "title_similarity",
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column("rank", sa.SmallInteger(), nullable=False),
        sa.Column("similar_id", sa.BigInteger(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("audience", sa.Float(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "computed_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["similar_id"],
            ["titles.id"],
            name=op.f("fk_title_similarity_similar_id_titles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_similarity_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "rank", name=op.f("pk_title_similarity")),
    )
    op.create_index("ix_title_similarity_similar", "title_similarity", ["similar_id"])
    op.create_table(
        "recommendation_hidden",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_recommendation_hidden_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recommendation_hidden_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "title_id", name=op.f("pk_recommendation_hidden")),
    )
    op.create_index(
        op.f("ix_recommendation_hidden_title_id"), "recommendation_hidden", ["title_id"]
    )


def downgrade() -> None:
    op.drop_table("recommendation_hidden")
    op.drop_table("title_similarity")
