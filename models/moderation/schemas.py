"""Wire models of reports, the moderation queue and the audit log."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.core.pagination import cursor_query
from models.core.text import UserText
from models.moderation.tables import ReportKind, ReportReason, ReportStatus
from models.social.friends.schemas import UserBrief

# A comment or message id (digits), or a user id (a UUID).
TARGET_PATTERN = (
    r"^([0-9]{1,18}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$"
)


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ReportIn(Input):
    kind: ReportKind
    target_id: str = Field(
        pattern=TARGET_PATTERN,
        max_length=36,
        description="The comment's or message's id, or the user's id (kind user)",
    )
    reason: ReportReason
    note: UserText | None = Field(default=None, max_length=1000)


class ReasonIn(Input):
    """Why a moderator did it, for the audit log (and the reporters' resolution)."""

    reason: UserText | None = Field(default=None, max_length=1000)


class ReportOut(BaseModel):
    id: int
    kind: ReportKind
    target_id: str
    reason: ReportReason
    note: str
    status: ReportStatus
    created_at: datetime
    resolved_at: datetime | None


class TargetOut(BaseModel):
    """What was reported, as moderators see it (hidden or deleted words included)."""

    kind: ReportKind
    id: str
    user: UserBrief | None
    text: str | None = Field(description="The comment's body or the message's text")
    title_id: int | None = Field(default=None, description="The commented title")
    created_at: datetime | None
    hidden: bool = Field(description="Hidden by a moderator (a user: suspended)")
    deleted: bool = Field(description="Deleted by its author or an editor (comments)")


class QueueItem(BaseModel):
    report: ReportOut
    reporter: UserBrief | None
    target: TargetOut
    open_reports: int = Field(description="Open reports on the same target, this one included")


class QueueQuery(Input):
    status: ReportStatus = ReportStatus.open
    kind: ReportKind | None = None
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class ModerationOut(BaseModel):
    target: TargetOut
    resolved_reports: int = Field(description="Open reports on the target this closed")


class MessageModeratedEvent(BaseModel):
    """`dm:moderated`: a moderator hid a message (drop it from the conversation) or restored
    it (fetch the conversation's history again)."""

    message_id: int
    conversation_id: int
    hidden: bool


class AuditOut(BaseModel):
    id: int
    actor: UserBrief | None
    action: str
    target_kind: str
    target_id: str
    reason: str
    created_at: datetime


class AuditQuery(Input):
    target_kind: str | None = Field(
        default=None,
        pattern=r"^[a-z_]{1,16}$",
        description="comment, message, user, report, title, season, episode, person, "
        "collection, or a term's field (genres, tags...)",
    )
    target_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[\w:.-]+$")
    actor_id: uuid.UUID | None = Field(default=None, description="Only what this person did")
    action: str | None = Field(
        default=None,
        pattern=r"^[a-z_]{1,40}$",
        description="hide_comment, suspend_user, set_role (any role), create_title...",
    )
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class UsersQuery(Input):
    q: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[^\x00]+$",
        description="Start of a username or display name (case-insensitive)",
    )
    role: Literal["user", "editor", "admin"] | None = None
    suspended: bool | None = None
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class AccountOut(BaseModel):
    """An account as the back office lists it (no email: editors read this list too)."""

    id: uuid.UUID
    username: str
    display_name: str | None
    role: str
    suspended: bool
    created_at: datetime
    open_reports: int


class UserStateOut(BaseModel):
    id: uuid.UUID
    username: str
    role: str
    suspended: bool
    ended_sessions: int = 0
