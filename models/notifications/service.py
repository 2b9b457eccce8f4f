"""Notification use cases: notify (with coalescing), the inbox with its read state, the stream.

Every change a client must see bumps the user's stream head (`notification_streams`) under a
row lock, so per user the cursor is gapless and its order is the commit order. Live events,
push and email leave through the outbox after the caller's transaction commits.

Blocks (`policy.notifies_of`) are decided when a notification is made and again whenever it is
read or delivered, so one made before a block (or queued for push or email) never reaches its
recipient after it, and a group counts and names only the actors still heard of."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

import orjson
from sqlalchemy import and_, func, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import NotFound
from models.core.events import Outbox, user_room
from models.core.jobs import Job
from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from models.notifications.blocks import blocks_between, heard, shown_clause
from models.notifications.preferences import channels_for, default_enabled
from models.notifications.presence import online_user_ids
from models.notifications.rendering import outs_for, render_text
from models.notifications.schemas import NotificationEvent, NotificationOut, NotificationPage
from models.notifications.tables import (
    Channel,
    Notification,
    NotificationStream,
    NotificationType,
    PushDevice,
)
from models.social.relations import lock_pair

EVENT = "notification"
UNREAD_EVENT = "notification:unread"


def job_id(ctx: Context, *parts: object) -> str:
    """A deterministic arq job id (a duplicate enqueue is a no-op). arq keeps job ids in one
    global namespace, so ours carry the deployment's Redis prefix."""
    return ctx.keys("job", *parts)


# --- the stream --------------------------------------------------------------------------


async def _lock_stream(session: AsyncSession, user_id: uuid.UUID) -> int:
    """Lock this user's stream head until commit and return it."""
    await session.execute(
        pg_insert(NotificationStream)
        .values(user_id=user_id, last_seq=0)
        .on_conflict_do_nothing(index_elements=["user_id"])
    )
    head = await session.scalar(
        select(NotificationStream.last_seq)
        .where(NotificationStream.user_id == user_id)
        .with_for_update()
    )
    assert head is not None
    return head


async def _set_head(session: AsyncSession, user_id: uuid.UUID, seq: int) -> None:
    await session.execute(
        update(NotificationStream).where(NotificationStream.user_id == user_id).values(last_seq=seq)
    )


async def stream_head(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    head = await session.scalar(
        select(NotificationStream.last_seq).where(NotificationStream.user_id == user_id)
    )
    return head or 0


# --- notify ------------------------------------------------------------------------------


def live_event(out: NotificationOut) -> dict[str, Any]:
    assert out.cursor is not None, "only in-app notifications are streamed"
    return NotificationEvent(cursor=out.cursor, notification=out).model_dump(mode="json")


def _emit(outbox: Outbox, user_id: uuid.UUID, out: NotificationOut) -> None:
    outbox.emit(EVENT, live_event(out), room=user_room(user_id))


async def do_notify(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    type: NotificationType | str,
    data: dict[str, Any],
    actor_id: uuid.UUID | None = None,
    group_key: str | None = None,
    dedupe_key: str | None = None,
) -> Notification | None:
    """Record a notification inside the caller's transaction; deliver after its commit.

    With a `group_key`, a notification of the same group still inside its window absorbs
    this one (one more distinct actor, unread again, a new cursor) instead of adding a row,
    and its one email goes out when the window closes. With a `dedupe_key`, a second call
    for the same user is a no-op. Returns None when nothing was recorded."""
    type_ = NotificationType(type)
    if actor_id is not None and actor_id == user_id:
        return None  # nobody hears about their own action
    if actor_id is not None:
        # Under the pair's lock (a block takes it too) the check holds until commit: a block
        # made meanwhile waits for this one, and this one waits for a block being made.
        await lock_pair(session, user_id, actor_id)
        if not heard(
            type_, user_id, actor_id, await blocks_between(session, {(user_id, actor_id)})
        ):
            return None
    channels = await channels_for(session, user_id=user_id, type_=type_)
    if not any(channels.values()):
        return None
    now = clock.now()
    # The lock also serializes coalescing of concurrent likes for this user.
    head = await _lock_stream(session, user_id)
    if dedupe_key is not None:
        exists = await session.scalar(
            select(Notification.id).where(
                Notification.user_id == user_id, Notification.dedupe_key == dedupe_key
            )
        )
        if exists is not None:
            return None
    seq = head + 1 if channels[Channel.in_app] else None

    existing: Notification | None = None
    if group_key is not None:
        existing = await session.scalar(
            select(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.group_key == group_key,
                Notification.group_until > now,
            )
            .order_by(Notification.id.desc())
            .limit(1)
        )
    if existing is not None:
        if actor_id is not None and actor_id in existing.actor_ids:
            return existing  # the same person again (like, unlike, like): nothing new
        existing.actor_ids = [*existing.actor_ids, actor_id] if actor_id else existing.actor_ids
        existing.actor_count += 1
        existing.actor_id = actor_id or existing.actor_id
        existing.data = {**existing.data, **data}
        existing.updated_at = now
        existing.read_at = None
        if seq is not None:
            existing.seq = seq
        notification = existing
        created = False
    else:
        window = timedelta(seconds=ctx.settings.notify_group_window_s)
        notification = Notification(
            user_id=user_id,
            seq=seq,
            type=type_,
            data=data,
            actor_id=actor_id,
            actor_ids=[actor_id] if actor_id else [],
            actor_count=1 if actor_id else 0,
            group_key=group_key,
            group_until=now + window if group_key else None,
            dedupe_key=dedupe_key,
            created_at=now,
            updated_at=now,
        )
        session.add(notification)
        created = True
    await session.flush()
    if seq is not None:
        await _set_head(session, user_id, seq)
        for out in await outs_for(session, [notification]):
            _emit(outbox, user_id, out)
    if created:
        outbox.enqueue(
            Job.dispatch_notifications,
            notification_ids=[notification.id],
            _job_id=job_id(ctx, "notify-dispatch", notification.id),
        )
    return notification


async def do_notify_many(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    user_ids: Iterable[uuid.UUID],
    type: NotificationType | str,
    data: dict[str, Any],
    dedupe_key: str,
) -> list[int]:
    """One notification for each of many users (a release), once per user and dedupe key.

    Set-based: one statement bumps every stream head and inserts every row, so a batch of
    thousands costs a few round trips. Users who turned every channel off are skipped.
    Connected users get the live event after the commit; push and email go through the
    dispatch job."""
    type_ = NotificationType(type)
    ids = sorted(set(user_ids))
    if not ids:
        return []
    defaults = {c.value: default_enabled(type_, c) for c in Channel}
    # Sorted user ids: concurrent batches lock stream heads in one order, so never deadlock.
    rows = await session.execute(
        text(
            """
            WITH targets AS (
                SELECT u.id AS user_id,
                    coalesce(bool_or(p.enabled) FILTER (WHERE p.channel = 'in_app'), :d_in_app)
                        AS in_app,
                    coalesce(bool_or(p.enabled) FILTER (WHERE p.channel = 'email'), :d_email)
                        AS email,
                    coalesce(bool_or(p.enabled) FILTER (WHERE p.channel = 'push'), :d_push)
                        AS push
                FROM unnest(CAST(:ids AS uuid[])) AS u(id)
                JOIN users ON users.id = u.id AND users.is_active
                LEFT JOIN notification_preferences p
                    ON p.user_id = u.id AND p.type = :type
                WHERE NOT EXISTS (
                    SELECT 1 FROM notifications n
                    WHERE n.user_id = u.id AND n.dedupe_key = :dedupe_key
                )
                GROUP BY u.id
            ),
            wanted AS (
                SELECT * FROM targets WHERE in_app OR email OR push
            ),
            bumped AS (
                INSERT INTO notification_streams AS s (user_id, last_seq)
                SELECT user_id, 1 FROM wanted WHERE in_app ORDER BY user_id
                ON CONFLICT (user_id) DO UPDATE SET last_seq = s.last_seq + 1
                RETURNING s.user_id, s.last_seq
            )
            INSERT INTO notifications
                (user_id, seq, type, data, actor_ids, actor_count, dedupe_key,
                 created_at, updated_at)
            SELECT w.user_id, b.last_seq, :type, CAST(:data AS jsonb), '{}', 0, :dedupe_key,
                   :now, :now
            FROM wanted w LEFT JOIN bumped b ON b.user_id = w.user_id
            ON CONFLICT ON CONSTRAINT uq_notifications_user_dedupe DO NOTHING
            RETURNING id, user_id, seq, created_at
            """
        ),
        {
            "ids": ids,
            "type": type_.value,
            "data": _json(data),
            "dedupe_key": dedupe_key,
            "now": clock.now(),
            "d_in_app": defaults["in_app"],
            "d_email": defaults["email"],
            "d_push": defaults["push"],
        },
    )
    inserted = rows.all()
    streamed = {r.user_id: r for r in inserted if r.seq is not None}
    for uid in await online_user_ids(ctx, streamed):
        r = streamed[uid]
        out = NotificationOut(
            id=r.id,
            cursor=r.seq,
            type=type_,
            text=render_text(type_, data, "Someone", 1),
            data=data,
            actor=None,
            actor_count=0,
            group_key=None,
            created_at=r.created_at,
            updated_at=r.created_at,
            read=False,
        )
        _emit(outbox, uid, out)
    created = sorted(r.id for r in inserted)
    if created:
        outbox.enqueue(
            Job.dispatch_notifications,
            notification_ids=created,
            _job_id=job_id(ctx, "notify-dispatch", created[0], created[-1], len(created)),
        )
    return created


async def do_fan_out(
    ctx: Context,
    *,
    user_ids: Sequence[uuid.UUID],
    type: NotificationType | str,
    data: dict[str, Any],
    dedupe_key: str,
    batch: int = 5000,
) -> int:
    """`do_notify_many` for any number of users, one transaction per batch, connected users
    first so their live event does not wait behind everyone else's rows. Returns how many
    notifications were created (users already notified for `dedupe_key` are skipped)."""
    online = await online_user_ids(ctx, user_ids)
    first = [u for u in user_ids if u in online]
    rest = [u for u in user_ids if u not in online]
    created = 0
    for group in (first, rest):
        for start in range(0, len(group), batch):
            outbox = Outbox()
            async with transaction(ctx.sessions) as session:
                ids = await do_notify_many(
                    ctx,
                    session,
                    outbox,
                    user_ids=group[start : start + batch],
                    type=type,
                    data=data,
                    dedupe_key=dedupe_key,
                )
            await ctx.flush(outbox)
            created += len(ids)
    return created


def _json(data: dict[str, Any]) -> str:
    return orjson.dumps(data).decode()


# --- inbox -------------------------------------------------------------------------------


async def list_inbox(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    unread_only: bool,
) -> NotificationPage:
    """Newest change first; the cursor is the last row's stream cursor."""
    query = select(Notification).where(
        Notification.user_id == user_id, Notification.seq.is_not(None), shown_clause()
    )
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    if cursor is not None:
        before = decode_cursor(cursor).get("before")
        if not isinstance(before, int) or isinstance(before, bool):
            raise InvalidCursor()
        query = query.where(Notification.seq < before)
    rows = list(
        (await session.execute(query.order_by(Notification.seq.desc()).limit(limit + 1)))
        .scalars()
        .all()
    )
    more = len(rows) > limit
    rows = rows[:limit]
    items = await outs_for(session, rows)
    next_cursor = encode_cursor({"before": rows[-1].seq}) if more else None
    return NotificationPage(items=items, next_cursor=next_cursor)


async def unread_count(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == user_id,
            Notification.read_at.is_(None),
            Notification.seq.is_not(None),
            shown_clause(),
        )
    )
    return int(count or 0)


async def replay(
    session: AsyncSession, *, user_id: uuid.UUID, cursor: int, limit: int
) -> list[dict[str, Any]]:
    """Every change after `cursor`, oldest first, as the live events carried them."""
    rows = (
        (
            await session.execute(
                select(Notification)
                .where(Notification.user_id == user_id, Notification.seq > cursor, shown_clause())
                .order_by(Notification.seq)
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )
    return [live_event(o) for o in await outs_for(session, rows)]


async def _emit_unread(session: AsyncSession, outbox: Outbox, user_id: uuid.UUID) -> int:
    unread = await unread_count(session, user_id=user_id)
    outbox.emit(UNREAD_EVENT, {"unread": unread}, room=user_room(user_id))
    if await session.scalar(select(PushDevice.id).where(PushDevice.user_id == user_id).limit(1)):
        # The phone's icon badge follows too (its sockets are usually asleep).
        outbox.enqueue(Job.push_unread_badge, user_id=str(user_id))
    return unread


async def do_after_block_change(
    session: AsyncSession, outbox: Outbox, *, user_ids: Iterable[uuid.UUID]
) -> None:
    """A block was made or lifted between these users: what their inboxes show changed
    (decided when read), so their devices get the new unread counts after the commit."""
    for user_id in sorted(set(user_ids), key=str):
        await _emit_unread(session, outbox, user_id)


async def do_mark_read(
    session: AsyncSession, outbox: Outbox, *, user_id: uuid.UUID, notification_id: int
) -> int:
    """Mark one of the user's notifications read; returns the unread count."""
    found = await session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.user_id == user_id,
            Notification.seq.is_not(None),
            shown_clause(),
        )
        .values(read_at=func.coalesce(Notification.read_at, func.now()))
        .returning(Notification.id)
    )
    if found.first() is None:
        # Someone else's notification is not found either (no probing of ids), nor one a
        # block hides from the inbox.
        raise NotFound("No such notification", code="notification_not_found")
    return await _emit_unread(session, outbox, user_id)


async def do_mark_all_read(
    session: AsyncSession, outbox: Outbox, *, user_id: uuid.UUID, up_to: int | None
) -> tuple[int, int]:
    conditions = [Notification.user_id == user_id, Notification.read_at.is_(None)]
    if up_to is not None:
        conditions.append(Notification.seq <= up_to)
    result = await session.execute(
        update(Notification).where(and_(*conditions)).values(read_at=func.now())
    )
    marked = int(getattr(result, "rowcount", 0) or 0)
    return marked, await _emit_unread(session, outbox, user_id)
