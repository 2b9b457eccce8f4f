"""messages: title cards and image attachments in DMs

Revision ID: dm_0001
Revises: parties_0004, social_0002
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "dm_0001"
# After dm_messages' edits, deletions and replies (parties_0003, by the latest of that chain)
# and the social chain: a merge of the two. (With either parent alone, alembic's head
# bookkeeping stumbles on parties_0003's depends_on and the upgrade fails.)
down_revision: str | Sequence[str] | None = ("parties_0004", "social_0002")
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OLD_CHECK = "deleted_at IS NOT NULL OR char_length(text) BETWEEN 1 AND 4000"
# Empty text: deleted, or a card or an image alone; that a new message has something is the
# input's rule (an image goes when its sender's account is erased, the message stays).
_NEW_CHECK = "char_length(text) <= 4000"


def upgrade() -> None:
    op.create_table(
        "dm_attachments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sa.String(length=16), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("thumb_width", sa.Integer(), nullable=False),
        sa.Column("thumb_height", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')",
            name=op.f("ck_dm_attachments_image_type"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_dm_attachments_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dm_attachments")),
    )
    op.create_index("ix_dm_attachments_owner_created", "dm_attachments", ["owner_id", "created_at"])
    op.add_column("dm_messages", sa.Column("title_id", sa.BigInteger(), nullable=True))
    op.add_column("dm_messages", sa.Column("attachment_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_dm_messages_attachment_id_dm_attachments"),
        "dm_messages",
        "dm_attachments",
        ["attachment_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.create_unique_constraint(
        op.f("uq_dm_messages_attachment_id"), "dm_messages", ["attachment_id"]
    )
    op.drop_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", type_="check")
    op.create_check_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", _NEW_CHECK)


def downgrade() -> None:
    op.execute("DELETE FROM dm_messages WHERE deleted_at IS NULL AND char_length(text) = 0")
    op.drop_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", type_="check")
    op.create_check_constraint(op.f("ck_dm_messages_text_length"), "dm_messages", _OLD_CHECK)
    op.drop_constraint(op.f("uq_dm_messages_attachment_id"), "dm_messages", type_="unique")
    op.drop_constraint(
        op.f("fk_dm_messages_attachment_id_dm_attachments"), "dm_messages", type_="foreignkey"
    )
    op.drop_column("dm_messages", "attachment_id")
    op.drop_column("dm_messages", "title_id")
    op.drop_index("ix_dm_attachments_owner_created", table_name="dm_attachments")
    op.drop_table("dm_attachments")
