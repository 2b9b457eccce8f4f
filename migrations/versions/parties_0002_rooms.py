"""party rooms: a room password, listed for the host's friends

Revision ID: parties_0002
Revises: parties_0001
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "parties_0002"
down_revision: str | Sequence[str] | None = "parties_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("parties", sa.Column("password_hash", sa.String(length=255), nullable=True))
    op.add_column(
        "parties",
        sa.Column(
            "listed_for_friends", sa.Boolean(), server_default=sa.text("false"), nullable=False
        ),
    )
    # Friends' listed parties are found through their members' open stays.
    op.create_index(
        "ix_parties_listed_live",
        "parties",
        ["id"],
        postgresql_where=sa.text("listed_for_friends AND ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_parties_listed_live", table_name="parties")
    op.drop_column("parties", "listed_for_friends")
    op.drop_column("parties", "password_hash")
