from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, func, text
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base, Timestamped


class Role(enum.StrEnum):
    user = "user"
    editor = "editor"
    admin = "admin"

    def at_least(self, other: Role) -> bool:
        order = (Role.user, Role.editor, Role.admin)
        return order.index(self) >= order.index(other)


class User(Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", func.lower(text("email")), unique=True),
        Index("uq_users_username_lower", func.lower(text("username")), unique=True),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254))
    username: Mapped[str] = mapped_column(String(32))
    display_name: Mapped[str | None] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="user_role", native_enum=False, length=16), default=Role.user
    )
    is_active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))
    email_confirmed_at: Mapped[datetime | None]
    # An email change waits here until a link mailed to the new address is opened.
    pending_email: Mapped[str | None] = mapped_column(String(254))
    password_changed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TokenPurpose(enum.StrEnum):
    confirm_email = "confirm_email"  # a new account's address
    change_email = "change_email"  # the new address of an email change
    undo_email_change = "undo_email_change"  # sent to the old address
    reset_password = "reset_password"


class AccountToken(Timestamped, Base):
    """Single-use emailed tokens; only their SHA-256 is stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[TokenPurpose] = mapped_column(
        Enum(TokenPurpose, name="token_purpose", native_enum=False, length=32)
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The address the token was mailed to (email tokens): it confirms or restores that one only.
    email: Mapped[str | None] = mapped_column(String(254))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None]
