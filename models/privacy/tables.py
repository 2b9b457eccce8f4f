from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Enum, ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.core.db import Base


class ExportStatus(enum.StrEnum):
    pending = "pending"
    ready = "ready"
    failed = "failed"


class DataExport(Base):
    """A copy of everything an account holds, built by a job into a zip under DATA_DIR."""

    __tablename__ = "data_exports"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[ExportStatus] = mapped_column(
        Enum(ExportStatus, name="export_status", native_enum=False, length=16),
        default=ExportStatus.pending,
    )
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    ready_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(String(200))
