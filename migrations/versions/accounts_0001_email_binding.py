"""email tokens bound to their address; pending email changes

Revision ID: accounts_0001
Revises: 0001_foundation
Create Date: 2026-12-05

Confirmation tokens issued before this carry no address and no longer confirm anything (one
could confirm an address it was never sent to): their users ask for a new link.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "accounts_0001"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("accounts",)
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account_tokens", sa.Column("email", sa.String(length=254), nullable=True))
    op.add_column("users", sa.Column("pending_email", sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column("users", "pending_email")
    op.drop_column("account_tokens", "email")
