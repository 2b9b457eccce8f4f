"""Where an account's data lives: every column of every table that points at `users`, found
in the metadata, so a table added later is exported and erased without being listed here."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Table

from models.tables import metadata

# References to a deleted account that stay, pointing at its "deleted user" tombstone, so
# other people's threads keep their shape: comments (shown as from a deleted user; replies
# by others stay under them), direct messages kept for the other side, the other side's view
# of the conversation, and parties others took part in.
KEPT: frozenset[tuple[str, str]] = frozenset(
    {
        ("comments", "author_id"),
        ("dm_messages", "sender_id"),
        ("dm_messages", "recipient_id"),
        ("dm_conversations", "user_low"),
        ("dm_conversations", "user_high"),
        ("dm_members", "peer_id"),
        ("parties", "created_by"),
    }
)

# Never in an export: credentials and keys (hashes, sealed secrets, push encryption keys).
SECRET_COLUMNS: frozenset[str] = frozenset(
    {
        "password_hash",
        "secret_enc",
        "code_hash",
        "token_hash",
        "public_key",
        "p256dh",
        "auth",
        "token",
    }
)


def is_secret(column: str) -> bool:
    """A credential by its name: the listed ones, and any hash or sealed value."""
    return column in SECRET_COLUMNS or column.endswith(("_hash", "_enc", "_secret"))


@dataclass(frozen=True)
class Reference:
    table: Table
    column: Column[object]
    ondelete: str  # CASCADE or SET NULL, as the foreign key says

    @property
    def key(self) -> tuple[str, str]:
        return (self.table.name, self.column.name)


def references() -> list[Reference]:
    """Every (table, column) with a foreign key to users.id, in dependency order."""
    out = []
    for table in metadata.sorted_tables:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table.name == "users":
                out.append(Reference(table, fk.parent, (fk.ondelete or "NO ACTION").upper()))
    return out
