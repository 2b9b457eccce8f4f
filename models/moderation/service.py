"""Moderation: users report comments, messages and users; editors and admins work the queue,
hide and restore content, dismiss reports and suspend accounts; every such act is in the
audit log (models/moderation/audit.py), in the transaction that made it."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.service import do_logout_all
from models.accounts.tables import Role, User
from models.core.clock import now
from models.core.context import Context
from models.core.errors import Forbidden, InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import InvalidCursor, Page, decode_cursor, encode_cursor
from models.core.ratelimit import Limit, RateLimiter
from models.moderation import audit, policy
from models.moderation.schemas import (
    AccountOut,
    AuditOut,
    AuditQuery,
    MessageModeratedEvent,
    ModerationOut,
    QueueItem,
    QueueQuery,
    ReportIn,
    ReportOut,
    TargetOut,
    UsersQuery,
    UserStateOut,
)
from models.moderation.tables import AuditEntry, Report, ReportKind, ReportStatus
from models.social.friends.schemas import UserBrief
from models.social.messages.tables import DirectMessage
from models.social.paging import id_page
from models.social.policy import Actor
from models.social.reviews.service import access_comment
from models.social.reviews.tables import Comment

# Reports a user may file per window: plenty for what one person meets, a wall for a flood.
REPORTS = Limit("report", 30, 3600)


def _brief(u: User | None) -> UserBrief | None:
    if u is None:
        return None
    return UserBrief(id=u.id, username=u.username, display_name=u.display_name)


def _report_out(r: Report) -> ReportOut:
    return ReportOut(
        id=r.id,
        kind=ReportKind(r.kind),
        target_id=r.target_id,
        reason=r.reason,
        note=r.note,
        status=ReportStatus(r.status),
        created_at=r.created_at,
        resolved_at=r.resolved_at,
    )


def _comment_target(c: Comment, author: User | None) -> TargetOut:
    return TargetOut(
        kind=ReportKind.comment,
        id=str(c.id),
        user=_brief(author),
        text=c.body,
        title_id=c.title_id,
        created_at=c.created_at,
        hidden=c.hidden_at is not None,
        deleted=c.deleted_at is not None,
    )


def _message_target(m: DirectMessage, sender: User | None) -> TargetOut:
    return TargetOut(
        kind=ReportKind.message,
        id=str(m.id),
        user=_brief(sender),
        text=m.text,
        created_at=m.created_at,
        hidden=m.hidden_at is not None,
        deleted=False,
    )


def _user_target(u: User) -> TargetOut:
    return TargetOut(
        kind=ReportKind.user,
        id=str(u.id),
        user=_brief(u),
        text=None,
        created_at=u.created_at,
        hidden=not u.is_active,
        deleted=False,
    )


def _int_id(target_id: str) -> int | None:
    return int(target_id) if target_id.isdigit() and len(target_id) <= 18 else None


def _uuid_id(target_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(target_id)
    except ValueError:
        return None


async def _users(session: AsyncSession, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, User]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: u for u in rows}


# ---- reporting -----------------------------------------------------------------------------


async def do_report(
    ctx: Context, session: AsyncSession, *, actor: Actor, data: ReportIn
) -> tuple[ReportOut, bool]:
    """File a report (True), or answer the reporter's open report on the same target (False).

    What the reporter may not see is not found: a message of a conversation they are not in,
    a comment their lists leave out."""
    if not actor.signed_in:
        raise Forbidden("Sign in to report", code="forbidden")
    assert actor.user_id is not None
    target_user = await _reported_user(session, actor=actor, kind=data.kind, target=data.target_id)
    if target_user == actor.user_id:
        raise InvalidInput("You cannot report yourself or what you wrote", code="cannot_report_own")
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        REPORTS, str(actor.user_id), message="Too many reports"
    )
    target_id = data.target_id.lower()
    inserted = await session.scalar(
        insert(Report)
        .values(
            reporter_id=actor.user_id,
            kind=data.kind.value,
            target_id=target_id,
            target_user_id=target_user,
            reason=data.reason.value,
            note=data.note or "",
        )
        .on_conflict_do_nothing(
            index_elements=["reporter_id", "kind", "target_id"],
            index_where=text("status = 'open'"),
        )
        .returning(Report)
    )
    if inserted is not None:
        return _report_out(inserted), True
    existing = await session.scalar(
        select(Report).where(
            Report.reporter_id == actor.user_id,
            Report.kind == data.kind.value,
            Report.target_id == target_id,
            Report.status == ReportStatus.open.value,
        )
    )
    assert existing is not None
    return _report_out(existing), False


async def _reported_user(
    session: AsyncSession, *, actor: Actor, kind: ReportKind, target: str
) -> uuid.UUID:
    """Who wrote the reported comment or message (or the reported user), if the reporter
    can see it; NotFound otherwise."""
    if kind is ReportKind.comment:
        comment_id = _int_id(target)
        if comment_id is None:
            raise NotFound("No such comment", code="comment_not_found")
        c = await access_comment(session, comment_id=comment_id, reader=actor)
        if c.gone:
            raise NotFound("This comment was deleted", code="comment_deleted")
        if not policy.can_report(actor, own=c.author_id == actor.user_id):
            raise InvalidInput("You cannot report what you wrote", code="cannot_report_own")
        return c.author_id
    if kind is ReportKind.message:
        message_id = _int_id(target)
        m = None if message_id is None else await session.get(DirectMessage, message_id)
        if m is None or actor.user_id not in (m.sender_id, m.recipient_id) or m.hidden_at:
            raise NotFound("No such message", code="message_not_found")
        is_sender = m.sender_id == actor.user_id
        if not is_sender and not policy.can_report_message(
            actor, is_sender=is_sender, is_recipient=m.recipient_id == actor.user_id
        ):
            raise NotFound("No such message", code="message_not_found")
        return m.sender_id
    user_id = _uuid_id(target)
    user = None if user_id is None else await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    if not policy.can_report(actor, own=user.id == actor.user_id):
        raise InvalidInput("You cannot report yourself", code="cannot_report_own")
    return user.id


# ---- the queue -------------------------------------------------------------------------------


def _check_moderator(actor: Actor) -> None:
    if not policy.can_moderate(actor):
        raise Forbidden("This needs the editor role", code="forbidden")


async def _targets(
    session: AsyncSession, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], TargetOut]:
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, target in keys:
        by_kind[kind].append(target)
    out: dict[tuple[str, str], TargetOut] = {}
    comment_ids = [i for t in by_kind[ReportKind.comment] if (i := _int_id(t)) is not None]
    comments = list(
        (await session.scalars(select(Comment).where(Comment.id.in_(comment_ids)))).all()
        if comment_ids
        else []
    )
    message_ids = [i for t in by_kind[ReportKind.message] if (i := _int_id(t)) is not None]
    messages = list(
        (
            await session.scalars(select(DirectMessage).where(DirectMessage.id.in_(message_ids)))
        ).all()
        if message_ids
        else []
    )
    user_ids = [u for t in by_kind[ReportKind.user] if (u := _uuid_id(t)) is not None]
    users = await _users(
        session,
        [*user_ids, *(c.author_id for c in comments), *(m.sender_id for m in messages)],
    )
    for c in comments:
        out[(ReportKind.comment, str(c.id))] = _comment_target(c, users.get(c.author_id))
    for m in messages:
        out[(ReportKind.message, str(m.id))] = _message_target(m, users.get(m.sender_id))
    for user_id in user_ids:
        if user_id in users:
            out[(ReportKind.user, str(user_id))] = _user_target(users[user_id])
    return out


async def queue(session: AsyncSession, *, actor: Actor, query: QueueQuery) -> Page[QueueItem]:
    """Reports by status: open ones oldest first (the queue), the others newest first."""
    _check_moderator(actor)
    q = select(Report).where(Report.status == query.status.value)
    if query.kind is not None:
        q = q.where(Report.kind == query.kind.value)
    rows, next_cursor = await id_page(
        session,
        q,
        Report.id,
        cursor=query.cursor,
        limit=query.limit,
        ascending=query.status is ReportStatus.open,
    )
    keys = [(r.kind, r.target_id) for r in rows]
    targets = await _targets(session, keys)
    reporters = await _users(session, (r.reporter_id for r in rows))
    counts: dict[tuple[str, str], int] = {}
    if rows:
        counted = await session.execute(
            select(Report.kind, Report.target_id, func.count())
            .where(
                Report.status == ReportStatus.open.value,
                Report.target_id.in_({r.target_id for r in rows}),
            )
            .group_by(Report.kind, Report.target_id)
        )
        counts = {(k, t): n for k, t, n in counted.all()}
    items = []
    for r in rows:
        target = targets.get((r.kind, r.target_id)) or TargetOut(
            kind=ReportKind(r.kind),
            id=r.target_id,
            user=None,
            text=None,
            created_at=None,
            hidden=False,
            deleted=True,
        )
        items.append(
            QueueItem(
                report=_report_out(r),
                reporter=_brief(reporters.get(r.reporter_id)),
                target=target,
                open_reports=counts.get((r.kind, r.target_id), 0),
            )
        )
    return Page[QueueItem](items=items, next_cursor=next_cursor)


async def _resolve(session: AsyncSession, *, actor: Actor, kind: ReportKind, target_id: str) -> int:
    """Close the open reports on a target a moderator acted on."""
    result = await session.execute(
        update(Report)
        .where(
            Report.kind == kind.value,
            Report.target_id == target_id,
            Report.status == ReportStatus.open.value,
        )
        .values(status=ReportStatus.resolved.value, resolved_at=now(), resolved_by=actor.user_id)
        .returning(Report.id)
    )
    return len(result.all())


# ---- acting on content -----------------------------------------------------------------------


async def _content(
    session: AsyncSession, kind: ReportKind, target_id: int
) -> Comment | DirectMessage:
    if kind is ReportKind.comment:
        c = await session.get(Comment, target_id, with_for_update=True)
        if c is None:
            raise NotFound("No such comment", code="comment_not_found")
        return c
    m = await session.get(DirectMessage, target_id, with_for_update=True)
    if m is None:
        raise NotFound("No such message", code="message_not_found")
    return m


async def _content_target(session: AsyncSession, item: Comment | DirectMessage) -> TargetOut:
    if isinstance(item, Comment):
        return _comment_target(item, await session.get(User, item.author_id))
    return _message_target(item, await session.get(User, item.sender_id))


async def do_set_hidden(
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    kind: ReportKind,
    target_id: int,
    hidden: bool,
    reason: str | None,
) -> ModerationOut:
    """Hide a comment (shown as deleted) or a message (left out of both sides' history), or
    restore it. Hiding closes the open reports on it; both sides of a message's conversation
    are told at once (`dm:moderated`)."""
    _check_moderator(actor)
    if kind is ReportKind.user:
        raise InvalidInput("Users are suspended, not hidden", code="invalid_input")
    item = await _content(session, kind, target_id)
    changed = (item.hidden_at is not None) != hidden
    if changed:
        item.hidden_at, item.hidden_by = (now(), actor.user_id) if hidden else (None, None)
        if isinstance(item, DirectMessage):
            event = MessageModeratedEvent(
                message_id=item.id, conversation_id=item.conversation_id, hidden=hidden
            ).model_dump(mode="json")
            for user_id in (item.sender_id, item.recipient_id):
                outbox.emit("dm:moderated", event, room=user_room(user_id))
    resolved = (
        await _resolve(session, actor=actor, kind=kind, target_id=str(target_id)) if hidden else 0
    )
    if changed or resolved:
        audit.record(
            session,
            actor_id=actor.user_id,
            action=f"{'hide' if hidden else 'restore'}_{kind.value}",
            target_kind=kind.value,
            target_id=target_id,
            reason=reason,
        )
    await session.flush()
    return ModerationOut(target=await _content_target(session, item), resolved_reports=resolved)


async def do_dismiss(
    session: AsyncSession, *, actor: Actor, report_id: int, reason: str | None
) -> ReportOut:
    """Close a report with nothing done: the target stays as it is."""
    _check_moderator(actor)
    report = await session.get(Report, report_id, with_for_update=True)
    if report is None:
        raise NotFound("No such report", code="report_not_found")
    if report.status == ReportStatus.open.value:
        report.status = ReportStatus.dismissed.value
        report.resolved_at, report.resolved_by = now(), actor.user_id
        audit.record(
            session,
            actor_id=actor.user_id,
            action="dismiss_report",
            target_kind="report",
            target_id=report.id,
            reason=reason,
        )
        await session.flush()
    return _report_out(report)


# ---- accounts --------------------------------------------------------------------------------


async def do_set_suspended(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    user_id: uuid.UUID,
    suspended: bool,
    reason: str | None,
) -> UserStateOut:
    """Suspend an account: it cannot sign in, its sessions end and its sockets close as soon
    as this commits; its open reports close. Or lift the suspension (it signs in again)."""
    _check_moderator(actor)
    user = await session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    if not policy.can_suspend(actor, target_role=user.role, is_self=user.id == actor.user_id):
        raise Forbidden(
            "Moderators suspend accounts of a lower role than theirs only", code="forbidden"
        )
    changed = user.is_active == suspended
    user.is_active = not suspended
    ended = 0
    resolved = 0
    if suspended:
        ended = await do_logout_all(ctx, outbox, user_id=user.id)
        resolved = await _resolve(
            session, actor=actor, kind=ReportKind.user, target_id=str(user.id)
        )
    if changed or resolved:
        audit.record(
            session,
            actor_id=actor.user_id,
            action="suspend_user" if suspended else "unsuspend_user",
            target_kind="user",
            target_id=user.id,
            reason=reason,
        )
    await session.flush()
    return UserStateOut(
        id=user.id,
        username=user.username,
        role=user.role.value,
        suspended=not user.is_active,
        ended_sessions=ended,
    )


async def accounts(session: AsyncSession, *, actor: Actor, query: UsersQuery) -> Page[AccountOut]:
    """Accounts for the back office, newest first, with their open reports (editors, admins)."""
    _check_moderator(actor)
    q: Any = select(User)
    if query.q is not None:
        start = query.q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        q = q.where(
            or_(
                func.lower(User.username).like(f"{start}%", escape="\\"),
                func.lower(User.display_name).like(f"{start}%", escape="\\"),
            )
        )
    if query.role is not None:
        q = q.where(User.role == Role(query.role))
    if query.suspended is not None:
        q = q.where(User.is_active.is_(not query.suspended))
    after = id_cursor_created(query.cursor)
    if after is not None:
        q = q.where(tuple_(User.created_at, User.id) < tuple_(*after))
    rows = list(
        (
            await session.scalars(
                q.order_by(User.created_at.desc(), User.id.desc()).limit(query.limit + 1)
            )
        ).all()
    )
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    counts: dict[str, int] = {}
    if rows:
        counted = await session.execute(
            select(Report.target_id, func.count())
            .where(
                Report.kind == ReportKind.user.value,
                Report.status == ReportStatus.open.value,
                Report.target_id.in_([str(u.id) for u in rows]),
            )
            .group_by(Report.target_id)
        )
        counts = {t: n for t, n in counted.all()}
    items = [
        AccountOut(
            id=u.id,
            username=u.username,
            display_name=u.display_name,
            role=u.role.value,
            suspended=not u.is_active,
            created_at=u.created_at,
            open_reports=counts.get(str(u.id), 0),
        )
        for u in rows
    ]
    last = rows[-1] if more else None
    next_cursor = (
        encode_cursor({"t": last.created_at.isoformat(), "u": str(last.id)}) if last else None
    )
    return Page[AccountOut](items=items, next_cursor=next_cursor)


def id_cursor_created(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    values = decode_cursor(cursor)
    try:
        return datetime.fromisoformat(str(values["t"])), uuid.UUID(str(values["u"]))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


# ---- the audit log ---------------------------------------------------------------------------


async def audit_log(session: AsyncSession, *, actor: Actor, query: AuditQuery) -> Page[AuditOut]:
    """Newest first; admins only."""
    if not policy.can_read_audit(actor):
        raise Forbidden("This needs the admin role", code="forbidden")
    q: Any = select(AuditEntry)
    if query.target_kind is not None:
        q = q.where(AuditEntry.target_kind == query.target_kind)
    if query.target_id is not None:
        q = q.where(AuditEntry.target_id == query.target_id.lower())
    if query.actor_id is not None:
        q = q.where(AuditEntry.actor_id == query.actor_id)
    if query.action is not None:
        # set_role:editor is a set_role too.
        q = q.where(
            or_(
                AuditEntry.action == query.action,
                AuditEntry.action.startswith(f"{query.action}:", autoescape=True),
            )
        )
    rows, next_cursor = await id_page(
        session, q, AuditEntry.id, cursor=query.cursor, limit=query.limit
    )
    actors = await _users(session, (e.actor_id for e in rows))
    items = [
        AuditOut(
            id=e.id,
            actor=_brief(actors.get(e.actor_id)) if e.actor_id else None,
            action=e.action,
            target_kind=e.target_kind,
            target_id=e.target_id,
            reason=e.reason,
            created_at=e.created_at,
        )
        for e in rows
    ]
    return Page[AuditOut](items=items, next_cursor=next_cursor)
