"""messages: edits, deletions for everyone, replies and reactions (DMs and party chat)

Revision ID: parties_0003
Revises: parties_0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "parties_0003"
down_revision: str | Sequence[str] | None = "parties_0002"
branch_labels: str | Sequence[str] | None = None
# dm_messages: after the moderation columns (moderation_0001), so both chains alter it in one
# order.
depends_on: str | Sequence[str] | None = ("social_0001", "moderation_0001")

_TABLES = {"dm_messages": "dm_reactions", "party_messages": "party_message_reactions"}


def upgrade() -> None:
    for table, reactions in _TABLES.items():
        op.add_column(table, sa.Column("seq", sa.BigInteger(), nullable=True))
        op.add_column(table, sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True))
        op.add_column(table, sa.Column("reply_to_id", sa.BigInteger(), nullable=True))
        op.create_foreign_key(
            op.f(f"fk_{table}_reply_to_id_{table}"),
            table,
            table,
            ["reply_to_id"],
            ["id"],
            ondelete="SET NULL",
        )
        op.create_table(
            reactions,
            sa.Column("message_id", sa.BigInteger(), nullable=False),
            sa.Column("user_id", sa.Uuid(), nullable=False),
            sa.Column("emoji", sa.String(length=32), nullable=False),
            sa.Column(
                "created_at",
                sa.DateTime(timezone=True),
                server_default=sa.text("now()"),
                nullable=False,
            ),
            sa.ForeignKeyConstraint(
                ["message_id"],
                [f"{table}.id"],
                name=op.f(f"fk_{reactions}_message_id_{table}"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                ["user_id"],
                ["users.id"],
                name=op.f(f"fk_{reactions}_user_id_users"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint("message_id", "user_id", "emoji", name=op.f(f"pk_{reactions}")),
        )
    op.drop_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", type_="check")
    op.create_check_constraint(
        op.f("ck_dm_messages_text_length"),
        "dm_messages",
        "deleted_at IS NOT NULL OR char_length(text) BETWEEN 1 AND 4000",
    )
    for name, table, col in (
        ("ix_dm_messages_recipient_seq", "dm_messages", "recipient_id"),
        ("ix_dm_messages_sender_seq", "dm_messages", "sender_id"),
        ("ix_party_messages_party_seq", "party_messages", "party_id"),
    ):
        op.create_index(name, table, [col, "seq"], postgresql_where=sa.text("seq IS NOT NULL"))


def downgrade() -> None:
    for name, table in (
        ("ix_dm_messages_recipient_seq", "dm_messages"),
        ("ix_dm_messages_sender_seq", "dm_messages"),
        ("ix_party_messages_party_seq", "party_messages"),
    ):
        op.drop_index(name, table_name=table)
    op.drop_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", type_="check")
    op.execute("DELETE FROM dm_messages WHERE deleted_at IS NOT NULL")
    op.create_check_constraint(
        op.f("ck_dm_messages_text_length"), "dm_messages", "char_length(text) BETWEEN 1 AND 4000"
    )
    for table, reactions in _TABLES.items():
        op.drop_table(reactions)
        op.drop_constraint(op.f(f"fk_{table}_reply_to_id_{table}"), table, type_="foreignkey")
        for col in ("reply_to_id", "deleted_at", "edited_at", "seq"):
            op.drop_column(table, col)
