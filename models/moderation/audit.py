"""Writing the audit log: one row per write an editor or admin makes, in the same transaction
as the write (no entry without the change, no change without its entry)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models.moderation.tables import AuditEntry


def record(
    session: AsyncSession,
    *,
    actor_id: uuid.UUID | None,
    action: str,
    target_kind: str,
    target_id: object,
    reason: str | None = None,
) -> None:
    session.add(
        AuditEntry(
            actor_id=actor_id,
            action=action,
            target_kind=target_kind,
            target_id=str(target_id)[:64],
            reason=reason or "",
        )
    )
