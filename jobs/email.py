"""Outgoing mail over SMTP, from jobs only (retried by arq on transient failures)."""

from __future__ import annotations

import logging
from email.message import EmailMessage

import aiosmtplib
from arq import Retry

from jobs.registry import JobContext, app, private_job
from models.accounts import service as accounts
from models.core.db import transaction
from models.core.events import Outbox
from models.core.settings import Settings

log = logging.getLogger("cinema.jobs.email")


async def deliver(settings: Settings, *, to: str, subject: str, text: str) -> None:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = subject
    message.set_content(text)
    await aiosmtplib.send(message, **settings.smtp_options)


@private_job
async def send_email(ctx: JobContext, *, to: str, subject: str, text: str) -> None:
    try:
        await deliver(app(ctx).settings, to=to, subject=subject, text=text)
    except (aiosmtplib.SMTPException, OSError) as exc:
        attempt = int(ctx.get("job_try", 1))
        log.warning("mail to %s failed (try %d): %s", to, attempt, exc)
        if attempt >= 5:
            raise
        raise Retry(defer=2**attempt) from exc


@private_job
async def send_password_reset(ctx: JobContext, *, email: str) -> None:
    app_ctx = app(ctx)
    outbox = Outbox()
    async with transaction(app_ctx.sessions) as session:
        await accounts.prepare_password_reset(app_ctx, session, outbox, email=email)
    await app_ctx.flush(outbox)
