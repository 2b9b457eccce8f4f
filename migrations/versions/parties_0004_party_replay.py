"""party replay: chat and reactions kept with the media position they happened at

Revision ID: parties_0004
Revises: parties_0003
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "parties_0004"
down_revision: str | Sequence[str] | None = "parties_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("party_messages", sa.Column("media_kind", sa.String(length=8), nullable=True))
    op.add_column("party_messages", sa.Column("media_id", sa.BigInteger(), nullable=True))
    op.add_column("party_messages", sa.Column("position_ms", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_party_messages_replay",
        "party_messages",
        ["party_id", "media_kind", "media_id", "position_ms"],
    )
    op.create_table(
        "party_reactions",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("party_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("emoji", sa.String(length=32), nullable=False),
        sa.Column("media_kind", sa.String(length=8), nullable=False),
        sa.Column("media_id", sa.BigInteger(), nullable=False),
        sa.Column("position_ms", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["party_id"],
            ["parties.id"],
            name=op.f("fk_party_reactions_party_id_parties"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_party_reactions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_party_reactions")),
    )
    op.create_index(
        "ix_party_reactions_replay",
        "party_reactions",
        ["party_id", "media_kind", "media_id", "position_ms"],
    )


def downgrade() -> None:
    op.drop_index("ix_party_reactions_replay", table_name="party_reactions")
    op.drop_table("party_reactions")
    op.drop_index("ix_party_messages_replay", table_name="party_messages")
    for col in ("position_ms", "media_id", "media_kind"):
        op.drop_column("party_messages", col)
