"""messages: the queue of image files to remove once their rows are gone

Revision ID: dm_0002
Revises: dm_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dm_0002"
down_revision: str | Sequence[str] | None = "dm_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dm_attachment_purges",
        sa.Column("attachment_id", sa.Uuid(), nullable=False),
        sa.Column("store", sa.String(length=500), nullable=False),
        sa.Column(
            "queued_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("attachment_id", name=op.f("pk_dm_attachment_purges")),
    )
    op.create_index(
        "ix_dm_attachment_purges_store_queued", "dm_attachment_purges", ["store", "queued_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_dm_attachment_purges_store_queued", table_name="dm_attachment_purges")
    op.drop_table("dm_attachment_purges")
