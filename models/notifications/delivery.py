"""Delivery after commit: live to connected devices, Web Push to the others, email later.

Each step is claimed in the row (`pushed_at`, `emailed_at`) before it is done and released if
it fails, so a retried or duplicated job never sends twice; `delivered_at` marks a dispatched
notification, and a sweeper re-dispatches any whose job was lost. Each step renders through
`rendering.outs_for`, which decides blocks again: what a block made meanwhile silenced is not
sent, and a group's mail counts and names only the actors still heard of."""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from email.header import Header
from email.message import Message
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

import aiohttp
import aiosmtplib
from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.core import clock, metrics
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import TransientDeliveryError
from models.core.events import user_room
from models.core.jobs import Job
from models.core.settings import Settings
from models.notifications import preferences, rendering, service
from models.notifications.mobile import MobileMessage, MobilePush
from models.notifications.presence import online_user_ids
from models.notifications.push import PushOutcome, send_push
from models.notifications.schemas import NotificationOut
from models.notifications.tables import (
    Channel,
    Notification,
    NotificationPreference,
    NotificationType,
    PushDevice,
    PushSubscription,
)

log = logging.getLogger("cinema.notifications")

_PUSH_FAILURES_BEFORE_PRUNE = 5


@dataclass
class DispatchReport:
    notifications: int = 0
    live: int = 0
    pushed: int = 0
    push_pruned: int = 0
    emails_scheduled: int = 0
    failed: list[int] = field(default_factory=list)


async def channel_choices(
    session: AsyncSession, pairs: Iterable[tuple[uuid.UUID, NotificationType]]
) -> dict[tuple[uuid.UUID, NotificationType], dict[Channel, bool]]:
    wanted = set(pairs)
    users = {u for u, _ in wanted}
    chosen: dict[tuple[uuid.UUID, NotificationType, Channel], bool] = {}
    if users:
        rows = await session.execute(
            select(NotificationPreference).where(NotificationPreference.user_id.in_(users))
        )
        chosen = {(p.user_id, p.type, p.channel): p.enabled for p in rows.scalars()}
    return {
        (u, t): {c: chosen.get((u, t, c), preferences.default_enabled(t, c)) for c in Channel}
        for u, t in wanted
    }


def _email_delay(n: Notification, settings: Settings) -> float:
    """Grouped notifications mail when their window closes (one mail for the whole group);
    others after a short grace, so a user who read it live gets no mail."""
    now = clock.now()
    base = settings.notify_email_delay_s
    if n.group_until is not None:
        return max(base, (n.group_until - now).total_seconds() + 0.5)
    return max(0.0, base - (now - n.created_at).total_seconds())


def push_payload(out: NotificationOut, settings: Settings) -> dict[str, Any]:
    return {
        "title": "Cinema",
        "body": out.text,
        "data": {
            "id": out.id,
            "type": out.type.value,
            "stream": "notifications",
            "cursor": out.cursor,
            "url": f"{settings.public_url}/notifications",
        },
    }


async def dispatch(
    ctx: Context, *, notification_ids: Sequence[int], live: bool = False
) -> DispatchReport:
    """Live (when asked: bulk notifications skip the per-row emit), push, schedule email."""
    report = DispatchReport()
    async with ctx.sessions() as session:
        rows = list(
            (
                await session.execute(
                    select(Notification)
                    .where(
                        Notification.id.in_(notification_ids),
                        Notification.delivered_at.is_(None),
                    )
                    .order_by(Notification.id)
                )
            )
            .scalars()
            .all()
        )
        if not rows:
            return report
        report.notifications = len(rows)
        choices = await channel_choices(session, ((n.user_id, n.type) for n in rows))
        online = await online_user_ids(ctx, {n.user_id for n in rows})
        visible = [n for n in rows if n.seq is not None]
        offline = {n.user_id for n in rows} - online
        subscribed = set(
            (
                await session.execute(
                    select(PushSubscription.user_id)
                    .where(PushSubscription.user_id.in_(offline))
                    .union(select(PushDevice.user_id).where(PushDevice.user_id.in_(offline)))
                )
            ).scalars()
        )
        to_push = [
            n
            for n in rows
            if n.pushed_at is None
            and n.user_id in subscribed
            and choices[(n.user_id, n.type)][Channel.push]
        ]
        # Render only what leaves now: live to the connected, push to the others. What a
        # block silenced since it was made renders to nothing and goes nowhere.
        shown = [n for n in visible if live and n.user_id in online]
        outs = {o.id: o for o in await rendering.outs_for(session, [*shown, *to_push])}
        shown = [n for n in shown if n.id in outs]
        to_push = [n for n in to_push if n.id in outs]

    for n in shown:
        await ctx.publisher.emit(
            service.EVENT, service.live_event(outs[n.id]), room=user_room(n.user_id)
        )
        report.live += 1
    if to_push:
        await _push(ctx, to_push, outs, report)

    by_delay: dict[int, list[int]] = defaultdict(list)
    for n in rows:
        if n.emailed_at is None and choices[(n.user_id, n.type)][Channel.email]:
            by_delay[round(_email_delay(n, ctx.settings))].append(n.id)
    for delay, ids in sorted(by_delay.items()):
        await ctx.jobs.enqueue(
            Job.email_notifications,
            notification_ids=ids,
            _job_id=service.job_id(ctx, "notify-email", ids[0], ids[-1], len(ids)),
            _defer_by=timedelta(seconds=delay),
        )
        report.emails_scheduled += len(ids)

    done = [n.id for n in rows if n.id not in report.failed]
    async with transaction(ctx.sessions) as session:
        await session.execute(
            update(Notification)
            .where(Notification.id.in_(done), Notification.delivered_at.is_(None))
            .values(delivered_at=clock.now())
        )
    return report


async def _claim(session: AsyncSession, column: Any, ids: Sequence[int]) -> list[int]:
    result = await session.execute(
        update(Notification)
        .where(Notification.id.in_(ids), column.is_(None))
        .values({column.key: clock.now()})
        .returning(Notification.id)
    )
    return [r[0] for r in result]


async def _release(ctx: Context, column: Any, ids: Sequence[int]) -> None:
    if ids:
        async with transaction(ctx.sessions) as session:
            await session.execute(
                update(Notification).where(Notification.id.in_(ids)).values({column.key: None})
            )


async def _push(
    ctx: Context,
    rows: Sequence[Notification],
    outs: dict[int, NotificationOut],
    report: DispatchReport,
) -> None:
    """To each browser (Web Push) and each app (FCM, APNs) of the users; tokens the
    providers call dead are deleted, ones that keep failing are pruned."""
    async with transaction(ctx.sessions) as session:
        claimed = set(await _claim(session, Notification.pushed_at, [n.id for n in rows]))
        users = {n.user_id for n in rows if n.id in claimed}
        subs = (
            (
                await session.execute(
                    select(PushSubscription).where(PushSubscription.user_id.in_(users))
                )
            )
            .scalars()
            .all()
        )
        apps = (
            (await session.execute(select(PushDevice).where(PushDevice.user_id.in_(users))))
            .scalars()
            .all()
        )
        # The app icon's badge: the unread count as it will be once these are delivered.
        badges = {
            u: await service.unread_count(session, user_id=u) for u in {d.user_id for d in apps}
        }
    by_user: dict[uuid.UUID, list[PushSubscription]] = defaultdict(list)
    for s in subs:
        by_user[s.user_id].append(s)
    apps_by_user: dict[uuid.UUID, list[PushDevice]] = defaultdict(list)
    for d in apps:
        apps_by_user[d.user_id].append(d)
    web = _Outcomes()
    mobile = _Outcomes()
    failed_notifications: list[int] = []
    mobile_push = MobilePush(ctx.settings)
    try:
        async with aiohttp.ClientSession() as http:
            for n in rows:
                if n.id not in claimed or n.id not in outs:
                    continue
                payload = push_payload(outs[n.id], ctx.settings)
                outcomes = [
                    (s.id, await send_push(ctx.settings, s, payload, http=http, topic=f"n{n.id}"))
                    for s in by_user.get(n.user_id, [])
                ]
                web.add(outcomes)
                message = _mobile_message(payload, n, badges.get(n.user_id, 0), ctx.settings)
                app_outcomes = [
                    (d.id, await mobile_push.send(d, message)) for d in apps_by_user[n.user_id]
                ]
                mobile.add(app_outcomes)
                for _, outcome in outcomes:
                    metrics.notification_deliveries.labels("push", outcome.value).inc()
                for _, outcome in app_outcomes:
                    metrics.notification_deliveries.labels("mobile_push", outcome.value).inc()
                every = [o for _, o in outcomes + app_outcomes if o is not PushOutcome.skipped]
                report.pushed += sum(o is PushOutcome.sent for o in every)
                if every and all(o is PushOutcome.failed for o in every):
                    failed_notifications.append(n.id)
    finally:
        await mobile_push.aclose()
    async with transaction(ctx.sessions) as session:
        gone = await web.settle(session, "push_subscriptions")
        gone += await mobile.settle(session, "push_devices")
    report.push_pruned = len(gone)
    if failed_notifications:
        await _release(ctx, Notification.pushed_at, failed_notifications)
        report.failed.extend(failed_notifications)


async def push_unread_badge(ctx: Context, *, user_id: uuid.UUID) -> int:
    """The unread count changed without a new notification (read on another device, a
    block): every app of the user gets its new badge. Returns the pushes sent."""
    async with ctx.sessions() as session:
        apps = list(
            (await session.scalars(select(PushDevice).where(PushDevice.user_id == user_id))).all()
        )
        if not apps:
            return 0
        unread = await service.unread_count(session, user_id=user_id)
    message = MobileMessage.badge_update(unread, ctx.settings.push_ttl_s)
    outcomes = _Outcomes()
    mobile_push = MobilePush(ctx.settings)
    try:
        outcomes.add([(d.id, await mobile_push.send(d, message)) for d in apps])
    finally:
        await mobile_push.aclose()
    async with transaction(ctx.sessions) as session:
        await outcomes.settle(session, "push_devices")
    return len(outcomes.ok)


def _mobile_message(
    payload: dict[str, Any], n: Notification, badge: int, settings: Settings
) -> MobileMessage:
    return MobileMessage(
        title=str(payload["title"]),
        body=str(payload["body"]),
        data={k: str(v) for k, v in payload["data"].items() if v is not None},
        collapse_key=f"n{n.id}",
        badge=badge,
        ttl_s=settings.push_ttl_s,
    )


@dataclass
class _Outcomes:
    """What the push services said per target row; settled in one transaction."""

    gone: list[int] = field(default_factory=list)
    ok: list[int] = field(default_factory=list)
    failing: list[int] = field(default_factory=list)

    def add(self, outcomes: Sequence[tuple[int, PushOutcome]]) -> None:
        for target, outcome in outcomes:
            if outcome is PushOutcome.sent:
                self.ok.append(target)
            elif outcome is PushOutcome.gone:
                self.gone.append(target)
            elif outcome is PushOutcome.failed:
                self.failing.append(target)

    async def settle(self, session: AsyncSession, table: str) -> list[int]:
        """Delete the dead, mark the working, count failures; the ids deleted."""
        gone = list(self.gone)
        if gone:
            await session.execute(text(f"DELETE FROM {table} WHERE id = ANY(:ids)"), {"ids": gone})
        if self.ok:
            await session.execute(
                text(
                    f"UPDATE {table} SET last_success_at = now(), failure_count = 0"
                    " WHERE id = ANY(:ids)"
                ),
                {"ids": self.ok},
            )
        if self.failing:
            # A target that keeps failing is as good as gone.
            await session.execute(
                text(f"UPDATE {table} SET failure_count = failure_count + 1 WHERE id = ANY(:ids)"),
                {"ids": self.failing},
            )
            pruned = await session.execute(
                text(
                    f"DELETE FROM {table} WHERE id = ANY(:ids) AND failure_count >= :n RETURNING id"
                ),
                {"ids": self.failing, "n": _PUSH_FAILURES_BEFORE_PRUNE},
            )
            gone.extend(r[0] for r in pruned)
        return gone


def render_email(settings: Settings, to: str, out: NotificationOut) -> Message:
    # compat32 MIMEText: several times cheaper to build and flatten than EmailMessage with
    # the default policy, which matters when a release mails a hundred thousand people.
    message = MIMEText(
        f"{out.text}\n\n"
        f"See it in your inbox: {settings.public_url}/notifications\n\n"
        f"You get these emails because of your notification settings; change them at "
        f"{settings.public_url}/settings/notifications\n",
        "plain",
        "utf-8",
    )
    message["From"] = settings.mail_from
    message["To"] = to
    message["Subject"] = Header(out.text, "utf-8").encode()
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="cinema.local")
    return message


@dataclass
class EmailReport:
    sent: int = 0
    skipped: int = 0
    failed: int = 0


async def send_emails(ctx: Context, *, notification_ids: Sequence[int]) -> EmailReport:
    """One email per notification still unread, claimed first; one SMTP connection."""
    report = EmailReport()
    async with transaction(ctx.sessions) as session:
        claimed = (
            (
                await session.execute(
                    update(Notification)
                    .where(
                        Notification.id.in_(notification_ids),
                        Notification.emailed_at.is_(None),
                        Notification.read_at.is_(None),
                    )
                    .values(emailed_at=clock.now())
                    .returning(Notification)
                )
            )
            .scalars()
            .all()
        )
        report.skipped = len(notification_ids) - len(claimed)
        if not claimed:
            return report
        users = {
            u.id: u
            for u in (
                await session.execute(select(User).where(User.id.in_({n.user_id for n in claimed})))
            ).scalars()
        }
        choices = await channel_choices(session, ((n.user_id, n.type) for n in claimed))
        wanted = [
            n
            for n in claimed
            if users.get(n.user_id) is not None
            and users[n.user_id].is_active
            # Anyone can register with a stranger's address: only confirmation and recovery
            # mail goes to one nobody confirmed.
            and users[n.user_id].email_confirmed_at is not None
            and choices[(n.user_id, n.type)][Channel.email]
        ]
        # Rows the user has no in-app copy of (seq NULL) still mail; render them alike. One
        # whose every actor a block has silenced since renders to nothing and is not mailed.
        outs = {o.id: o for o in await rendering.outs_for(session, wanted)}
        wanted = [n for n in wanted if n.id in outs]
        report.skipped += len(claimed) - len(wanted)
    failed: list[int] = []
    settings = ctx.settings
    smtp = aiosmtplib.SMTP(**settings.smtp_options)
    try:
        await smtp.connect()
    except (aiosmtplib.SMTPException, OSError) as exc:
        await _release(ctx, Notification.emailed_at, [n.id for n in wanted])
        raise TransientDeliveryError(f"SMTP unavailable: {exc}") from exc
    try:
        for n in wanted:
            try:
                await smtp.send_message(render_email(settings, users[n.user_id].email, outs[n.id]))
                report.sent += 1
                metrics.notification_deliveries.labels("email", "sent").inc()
            except aiosmtplib.SMTPRecipientsRefused:
                report.skipped += 1  # a permanent refusal: retrying will not help
                metrics.notification_deliveries.labels("email", "refused").inc()
            except (aiosmtplib.SMTPException, OSError) as exc:
                log.warning("mail for notification %s failed: %s", n.id, exc)
                failed.append(n.id)
                metrics.notification_deliveries.labels("email", "failed").inc()
    finally:
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError):
            pass
    if failed:
        report.failed = len(failed)
        await _release(ctx, Notification.emailed_at, failed)
        raise TransientDeliveryError(f"{len(failed)} of {len(wanted)} emails failed")
    return report


async def stale_undelivered(ctx: Context, *, older_than_s: int, limit: int) -> list[int]:
    cutoff = clock.now() - timedelta(seconds=older_than_s)
    async with ctx.sessions() as session:
        rows = await session.execute(
            select(Notification.id)
            .where(Notification.delivered_at.is_(None), Notification.created_at < cutoff)
            .order_by(Notification.id)
            .limit(limit)
        )
        return [r[0] for r in rows]
