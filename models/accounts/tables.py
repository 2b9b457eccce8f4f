from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Enum,
    ForeignKey,
    Identity,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    func,
    text,
)
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
    # Account deletion (models/privacy): asked for, erased at this time unless undone; once
    # erased the row stays as a "deleted user" tombstone that others' threads point at.
    deletion_scheduled_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]
    # Family controls: a child account belongs to its parent's household and sees only
    # titles whose age rating is at most `maturity_limit`; the parent's PIN guards changes.
    parent_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    maturity_limit: Mapped[int | None] = mapped_column(SmallInteger)
    family_pin_hash: Mapped[str | None] = mapped_column(String(255))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class TokenPurpose(enum.StrEnum):
    confirm_email = "confirm_email"  # a new account's address
    change_email = "change_email"  # the new address of an email change
    undo_email_change = "undo_email_change"  # sent to the old address
    reset_password = "reset_password"
    undo_deletion = "undo_deletion"  # the link in the "your account will be deleted" mail


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


class TotpFactor(Base):
    """A user's authenticator app (RFC 6238). The secret is encrypted with a key derived from
    SECRET_KEY, so a leaked table alone mints no codes."""

    __tablename__ = "totp_factors"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    secret_enc: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    # Null until a first code proves the app holds the secret: only then does sign-in ask.
    confirmed_at: Mapped[datetime | None]
    # The last 30-second step a code was accepted for: a code (or an earlier one) is taken once.
    last_step: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))


class RecoveryCode(Base):
    """One-time codes for when the authenticator is lost; only their SHA-256 is kept."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]


class TrustedDevice(Base):
    """ "Remember this device": a second factor given there once is not asked again until
    `expires_at`; only the token's SHA-256 is kept."""

    __tablename__ = "mfa_trusted_devices"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_agent: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    expires_at: Mapped[datetime]


class Passkey(Base):
    """A WebAuthn credential: sign-in without a password (discoverable) or a second factor."""

    __tablename__ = "passkeys"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    name: Mapped[str] = mapped_column(String(64))
    transports: Mapped[str] = mapped_column(String(128), default="")  # comma-separated
    aaguid: Mapped[str] = mapped_column(String(36), default="")
    backed_up: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    last_used_at: Mapped[datetime | None]
