"""accounts: family controls (child accounts, their maturity limit, the parent's PIN)

Revision ID: accounts_0002
Revises: accounts_0001
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "accounts_0002"
down_revision: str | Sequence[str] | None = "accounts_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("users", sa.Column("parent_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_users_parent_id_users", "users", "users", ["parent_id"], ["id"], ondelete="CASCADE"
    )
    op.create_index("ix_users_parent_id", "users", ["parent_id"])
    op.add_column("users", sa.Column("maturity_limit", sa.SmallInteger(), nullable=True))
    op.add_column("users", sa.Column("family_pin_hash", sa.String(length=255), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "family_pin_hash")
    op.drop_column("users", "maturity_limit")
    op.drop_index("ix_users_parent_id", table_name="users")
    op.drop_constraint("fk_users_parent_id_users", "users", type_="foreignkey")
    op.drop_column("users", "parent_id")
