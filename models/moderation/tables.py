"""Reports users file on comments, messages and users, and the audit log of what editors and
admins did (moderation, roles, catalog writes)."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base


class ReportKind(enum.StrEnum):
    comment = "comment"
    message = "message"
    user = "user"


class ReportReason(enum.StrEnum):
    spam = "spam"
    harassment = "harassment"
    hate = "hate"
    spoiler = "spoiler"
    illegal = "illegal"
    other = "other"


class ReportStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"  # a moderator acted on the target (hid it, suspended the user)
    dismissed = "dismissed"  # a moderator found nothing to do


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        # The queue: open reports, oldest first.
        Index("ix_reports_status", "status", "id"),
        Index("ix_reports_target", "kind", "target_id"),
        # One open report per reporter and target: reporting again changes nothing.
        Index(
            "uq_reports_open_reporter_target",
            "reporter_id",
            "kind",
            "target_id",
            unique=True,
            postgresql_where=text("status = 'open'"),
        ),
        CheckConstraint("char_length(note) <= 1000", name="note_length"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    reporter_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    # Who wrote the comment or message, or the user reported.
    target_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, server_default=text("''"))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'open'"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class AuditEntry(Base):
    """Append-only: one row per write an editor or admin made, kept when they leave."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_target", "target_kind", "target_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    target_kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text, server_default=text("''"))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
