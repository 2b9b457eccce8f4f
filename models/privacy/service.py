"""My data: export everything an account holds (a job, a signed expiring link, a mail) and
delete the account (password required; a grace period to undo, or at once)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from pydantic import BaseModel
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import links
from models.accounts.service import (
    Principal,
    access_user,
    check_current_password,
    do_logout_all,
    sessions_of,
)
from models.accounts.tables import AccountToken, TokenPurpose, User
from models.core.clock import now
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import Forbidden, Gone, InvalidInput, NotFound
from models.core.events import Outbox
from models.core.jobs import Job
from models.core.ratelimit import Limit, RateLimiter
from models.privacy import erase, export
from models.privacy.footprint import is_secret
from models.privacy.tables import DataExport, ExportStatus
from models.social.messages import attachments

log = logging.getLogger("cinema.privacy")

EXPORTS_PER_USER = Limit("export_user", 3, 24 * 3600)
DOWNLOAD_PATH = "/api/v1/exports/{id}/download"


class ExportOut(BaseModel):
    id: uuid.UUID
    status: ExportStatus
    created_at: datetime
    ready_at: datetime | None
    expires_at: datetime | None
    size_bytes: int | None
    # A signed link that works without signing in until expires_at (ready exports only).
    download_url: str | None


class DeletionOut(BaseModel):
    # When the account will be erased (undo until then), or null when it already was.
    scheduled_for: datetime | None
    deleted: bool


def export_path(ctx: Context, export_id: uuid.UUID) -> Path:
    return ctx.settings.data_dir / "exports" / f"{export_id}.zip"


def _signature(ctx: Context, export_id: uuid.UUID, expires: int) -> str:
    message = f"export:{export_id}:{expires}".encode()
    return hmac.new(ctx.settings.secret, message, hashlib.sha256).hexdigest()


def download_url(ctx: Context, row: DataExport) -> str | None:
    if row.status != ExportStatus.ready or row.expires_at is None or row.expires_at <= now():
        return None
    expires = int(row.expires_at.timestamp())
    query = urlencode({"expires": expires, "sig": _signature(ctx, row.id, expires)})
    path = DOWNLOAD_PATH.format(id=row.id)
    return f"{ctx.settings.public_url.rstrip('/')}{path}?{query}"


def export_out(ctx: Context, row: DataExport) -> ExportOut:
    return ExportOut(
        id=row.id,
        status=row.status,
        created_at=row.created_at,
        ready_at=row.ready_at,
        expires_at=row.expires_at,
        size_bytes=row.size_bytes,
        download_url=download_url(ctx, row),
    )


# --- export -----------------------------------------------------------------------------------


async def do_request_export(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, principal: Principal
) -> ExportOut:
    user = await access_user(session, principal=principal)
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        EXPORTS_PER_USER, str(user.id), message="At most 3 exports a day"
    )
    row = DataExport(user_id=user.id, status=ExportStatus.pending)
    session.add(row)
    await session.flush()
    await session.refresh(row)
    outbox.enqueue(Job.build_data_export, export_id=str(row.id))
    return export_out(ctx, row)


async def list_exports(
    ctx: Context, session: AsyncSession, *, principal: Principal
) -> list[ExportOut]:
    rows = await session.scalars(
        select(DataExport)
        .where(DataExport.user_id == principal.user_id)
        .order_by(DataExport.created_at.desc())
    )
    return [export_out(ctx, r) for r in rows]


async def build_export(ctx: Context, *, export_id: uuid.UUID) -> None:
    """The job: collect, write the zip, mark it ready, mail the link."""
    async with transaction(ctx.sessions) as session:
        row = await session.get(DataExport, export_id, with_for_update=True)
        if row is None or row.status != ExportStatus.pending:
            return
        user = await session.get(User, row.user_id)
        if user is None or user.deleted_at is not None:
            return
        data = await export.collect(session, user_id=user.id)
        data.pop("data_exports", None)
        profile = {
            c.name: getattr(user, c.key) for c in User.__table__.columns if not is_secret(c.name)
        }
        sessions = await sessions_of(ctx).list_for_user(str(user.id))
        when = now()
        try:
            size = export.write_zip(
                export_path(ctx, row.id),
                site=ctx.settings.public_url,
                when=when,
                profile=profile,
                sessions=sessions,
                data=data,
            )
        except OSError as exc:
            log.exception("export %s could not be written", export_id)
            row.status, row.error = ExportStatus.failed, str(exc)[:200]
            return
        row.status, row.ready_at, row.size_bytes = ExportStatus.ready, when, size
        row.expires_at = when + timedelta(seconds=ctx.settings.export_ttl_s)
        link = download_url(ctx, row)
        email, username = user.email, user.username
    await ctx.jobs.enqueue(
        Job.send_email,
        to=email,
        subject="Your data export is ready",
        text=(
            f"Hello {username},\n\nthe copy of your data you asked for is ready. Download it "
            f"within {ctx.settings.export_ttl_s // 3600} hours:\n\n{link}\n\n"
            "Anyone with this link can download it: do not forward this mail."
        ),
    )


async def access_download(
    ctx: Context, session: AsyncSession, *, export_id: uuid.UUID, expires: int, sig: str
) -> Path:
    """The file a signed link names: 403 when the signature is wrong, 410 past its expiry."""
    if not hmac.compare_digest(_signature(ctx, export_id, expires).encode(), sig.encode()):
        raise Forbidden("This download link is not valid", code="invalid_signature")
    if expires <= int(now().timestamp()):
        raise Gone("This download link has expired; ask for a new export", code="link_expired")
    row = await session.get(DataExport, export_id)
    path = export_path(ctx, export_id)
    if row is None or row.status != ExportStatus.ready or not path.exists():
        raise NotFound("This export is gone", code="export_not_found")
    return path


async def prune_exports(ctx: Context) -> int:
    """Expired exports: the files go, the rows stay as history (no link)."""
    async with transaction(ctx.sessions) as session:
        ids = list(
            (
                await session.scalars(
                    update(DataExport)
                    .where(
                        DataExport.status == ExportStatus.ready,
                        DataExport.expires_at <= now(),
                    )
                    .values(status=ExportStatus.failed, error="expired")
                    .returning(DataExport.id)
                )
            ).all()
        )
    for export_id in ids:
        export_path(ctx, export_id).unlink(missing_ok=True)
    return len(ids)


# --- deletion ---------------------------------------------------------------------------------


async def do_request_deletion(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    principal: Principal,
    current_password: str,
    immediately: bool,
) -> DeletionOut:
    """Every session ends now; the account is erased after the grace period (signing in and
    DELETE /me/deletion, or the mailed link, undo it) or at once."""
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    await do_logout_all(ctx, outbox, user_id=user.id)
    grace = ctx.settings.account_deletion_grace_s
    if immediately or grace == 0:
        email, username, confirmed = user.email, user.username, user.email_confirmed_at
        await _erase(ctx, session, outbox, user_id=user.id)
        if confirmed is not None:
            outbox.enqueue(
                Job.send_email,
                to=email,
                subject="Your account was deleted",
                text=f"Hello {username},\n\nyour account and its data were deleted. Goodbye.",
            )
        return DeletionOut(scheduled_for=None, deleted=True)
    user.deletion_scheduled_at = now() + timedelta(seconds=grace)
    await session.flush()
    if user.email_confirmed_at is not None:
        raw = secrets.token_urlsafe(32)
        session.add(
            AccountToken(
                user_id=user.id,
                purpose=TokenPurpose.undo_deletion,
                token_hash=hashlib.sha256(raw.encode()).hexdigest(),
                expires_at=user.deletion_scheduled_at,
                email=user.email,
            )
        )
        when = user.deletion_scheduled_at.strftime("%Y-%m-%d %H:%M UTC")
        link = links.undo_deletion_link(ctx.settings, raw)
        outbox.enqueue(
            Job.send_email,
            to=user.email,
            subject="Your account will be deleted",
            text=(
                f"Hello {user.username},\n\nyour account and its data will be deleted on "
                f"{when}. Every session was signed out. Changed your mind? Open this link "
                f"before then (or sign in and cancel the deletion):\n\n{link}\n"
            ),
        )
    return DeletionOut(scheduled_for=user.deletion_scheduled_at, deleted=False)


async def do_cancel_deletion(session: AsyncSession, *, principal: Principal) -> None:
    user = await access_user(session, principal=principal)
    if user.deletion_scheduled_at is None:
        raise NotFound("No deletion is scheduled", code="deletion_not_scheduled")
    await _cancel(session, user)


async def do_undo_deletion_by_link(session: AsyncSession, *, token: str) -> User:
    digest = hashlib.sha256(token.encode()).hexdigest()
    row = await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest,
            AccountToken.purpose == TokenPurpose.undo_deletion,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now(),
        )
        .values(used_at=now())
        .returning(AccountToken)
    )
    user = await session.get(User, row.user_id, with_for_update=True) if row else None
    if user is None or user.deletion_scheduled_at is None or user.deleted_at is not None:
        raise InvalidInput("This link is invalid, used or expired", code="invalid_token")
    await _cancel(session, user)
    return user


async def _cancel(session: AsyncSession, user: User) -> None:
    user.deletion_scheduled_at = None
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user.id,
            AccountToken.purpose == TokenPurpose.undo_deletion,
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now())
    )
    await session.flush()


async def _erase(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, user_id: uuid.UUID
) -> None:
    erased = await erase.erase_account(session, user_id=user_id)
    await sessions_of(ctx).revoke_all(str(user_id))
    for export_id in erased.export_ids:
        export_path(ctx, export_id).unlink(missing_ok=True)
    if erased.attachment_ids:
        # Queued with the erasure (a crash after the commit leaves them queued, not leaked);
        # the job removes them at once, the cron (jobs/privacy.py) finishes what it did not.
        await attachments.queue_purges(
            session, attachment_ids=erased.attachment_ids, location=attachments.store(ctx).location
        )
        outbox.enqueue(Job.purge_dm_attachment_files)
    if erased.titles:
        outbox.enqueue(Job.refresh_title_summaries, title_ids=erased.titles)


async def purge_due(ctx: Context) -> int:
    """The cron: erase every account whose grace period is over, one transaction each."""
    async with ctx.sessions() as session:
        due = list(
            (
                await session.scalars(
                    select(User.id).where(
                        User.deletion_scheduled_at <= now(), User.deleted_at.is_(None)
                    )
                )
            ).all()
        )
    for user_id in due:
        outbox = Outbox()
        async with transaction(ctx.sessions) as session:
            user = await session.get(User, user_id, with_for_update=True)
            if user is None or user.deletion_scheduled_at is None or user.deleted_at:
                continue  # undone meanwhile
            if user.deletion_scheduled_at > now():
                continue
            await _erase(ctx, session, outbox, user_id=user_id)
        await ctx.flush(outbox)
    return len(due)
