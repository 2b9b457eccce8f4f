"""Notification use cases: notify (with coalescing), inbox, read state, preferences, devices.

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
from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.catalog.tables import Genre, Title
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import decode_cursor, encode_cursor
from models.core.settings import Settings
from models.core.urls import parse_web_url
from models.notifications.presence import online_user_ids
from models.notifications.schemas import (
    ActorOut,
    FollowsOut,
    NotificationEvent,
    NotificationOut,
    NotificationPage,
    PreferenceItem,
    PushSubscriptionIn,
    PushSubscriptionOut,
)
from models.notifications.tables import (
    Channel,
    GenreFollow,
    Notification,
    NotificationPreference,
    NotificationStream,
    NotificationType,
    PushSubscription,
    TitleFollow,
)
from models.social import policy
from models.social.friends.tables import Block
from models.social.policy import Relation
from models.social.relations import lock_pair

EVENT = "notification"
UNREAD_EVENT = "notification:unread"
DISPATCH_JOB = "dispatch_notifications"

# What a user gets when they never chose: in-app and push for everything, email for what
# is worth leaving the app for.
_EMAIL_DEFAULT = {
    NotificationType.new_release: True,
    NotificationType.comment_liked: True,
    NotificationType.friend_request: True,
    NotificationType.friend_accepted: False,
    NotificationType.party_invite: True,
    NotificationType.message_while_away: True,
}


def default_enabled(type_: NotificationType, channel: Channel) -> bool:
    if channel is Channel.email:
        return _EMAIL_DEFAULT.get(type_, False)
    return True


def job_id(ctx: Context, *parts: object) -> str:
    """A deterministic arq job id (a duplicate enqueue is a no-op). arq keeps job ids in one
    global namespace, so ours carry the deployment's Redis prefix."""
    return ctx.keys("job", *parts)


# --- preferences -------------------------------------------------------------------------


async def channels_for(
    session: AsyncSession, *, user_id: uuid.UUID, type_: NotificationType
) -> dict[Channel, bool]:
    rows = await session.execute(
        select(NotificationPreference.channel, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id,
            NotificationPreference.type == type_,
        )
    )
    chosen: dict[Channel, bool] = {channel: enabled for channel, enabled in rows}
    return {c: chosen.get(c, default_enabled(type_, c)) for c in Channel}


async def list_preferences(session: AsyncSession, *, user_id: uuid.UUID) -> list[PreferenceItem]:
    rows = await session.execute(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
    )
    chosen = {(p.type, p.channel): p.enabled for p in rows.scalars()}
    return [
        PreferenceItem(type=t, channel=c, enabled=chosen.get((t, c), default_enabled(t, c)))
        for t in NotificationType
        for c in Channel
    ]


async def do_set_preferences(
    session: AsyncSession, *, user_id: uuid.UUID, items: Sequence[PreferenceItem]
) -> list[PreferenceItem]:
    seen: set[tuple[NotificationType, Channel]] = set()
    for item in items:
        if (item.type, item.channel) in seen:
            raise InvalidInput(
                f"{item.type.value}/{item.channel.value} appears twice", code="duplicate_item"
            )
        seen.add((item.type, item.channel))
    stmt = pg_insert(NotificationPreference).values(
        [
            {"user_id": user_id, "type": i.type, "channel": i.channel, "enabled": i.enabled}
            for i in items
        ]
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["user_id", "type", "channel"],
            set_={"enabled": stmt.excluded.enabled},
        )
    )
    return await list_preferences(session, user_id=user_id)


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


# --- blocks: whom a recipient still hears of (policy.notifies_of) -------------------------


Pair = tuple[uuid.UUID, uuid.UUID]


async def _blocks_between(session: AsyncSession, pairs: set[Pair]) -> set[Pair]:
    """The blocks, as (blocker, blocked), standing between any of these (recipient, actor)
    pairs, in one query (a superset is fine: callers look up exact pairs)."""
    if not pairs:
        return set()
    recipients = {r for r, _ in pairs}
    actors = {a for _, a in pairs}
    rows = await session.execute(
        select(Block.blocker_id, Block.blocked_id).where(
            or_(
                and_(Block.blocker_id.in_(recipients), Block.blocked_id.in_(actors)),
                and_(Block.blocker_id.in_(actors), Block.blocked_id.in_(recipients)),
            )
        )
    )
    return {(blocker, blocked) for blocker, blocked in rows}


def _heard(
    type_: NotificationType, recipient: uuid.UUID, actor: uuid.UUID, blocks: set[Pair]
) -> bool:
    rel = Relation(
        blocks_other=(recipient, actor) in blocks, blocked_by_other=(actor, recipient) in blocks
    )
    return policy.notifies_of(type_, rel)


def _blocked(blocker: Any, blocked: Any) -> ColumnElement[bool]:
    return (
        exists()
        .where(Block.blocker_id == blocker, Block.blocked_id == blocked)
        .correlate_except(Block)
    )


def shown_clause() -> ColumnElement[bool]:
    """policy.notifies_of as SQL over a notification row: shown when it has no actor or some
    actor its recipient still hears of. Inside the page query, so pages stay full."""
    actor = func.unnest(Notification.actor_ids).table_valued("id").render_derived(name="a")
    heard = (
        select(1)
        .select_from(actor)
        .where(
            ~_blocked(Notification.user_id, actor.c.id),
            or_(
                Notification.type.in_(sorted(policy.NOTIFIES_DESPITE_BEING_BLOCKED)),
                ~_blocked(actor.c.id, Notification.user_id),
            ),
        )
        .exists()
    )
    return or_(func.cardinality(Notification.actor_ids) == 0, heard)


# --- rendering ---------------------------------------------------------------------------


def _display(user: User | None) -> str:
    if user is None:
        return "Someone"
    return user.display_name or user.username


def render_text(type_: NotificationType, data: dict[str, Any], actor: str, count: int) -> str:
    who = actor if count <= 1 else f"{actor} and {count - 1} other{'s' if count > 2 else ''}"
    title = str(data.get("title") or data.get("title_name") or "a title")
    match type_:
        case NotificationType.new_release:
            if "episode" in data:
                return f"New episode of {title}: S{data.get('season')}E{data.get('episode')}"
            return f"New release: {title}"
        case NotificationType.comment_liked:
            return f"{who} liked your comment"
        case NotificationType.friend_request:
            return f"{who} sent you a friend request"
        case NotificationType.friend_accepted:
            return f"{who} accepted your friend request"
        case NotificationType.party_invite:
            return f"{who} invited you to a watch party" + (
                f" for {title}" if "title" in data else ""
            )
        case NotificationType.message_while_away:
            return f"{who} sent you {'messages' if count > 1 else 'a message'}"
    return f"{who}: {type_.value}"  # pragma: no cover - every type is matched above


def to_out(n: Notification, actor: User | None, count: int) -> NotificationOut:
    """`actor` and `count` (of actors) as the recipient may see them (see `outs_for`)."""
    return NotificationOut(
        id=n.id,
        cursor=n.seq,
        type=n.type,
        text=render_text(n.type, n.data, _display(actor), max(1, count)),
        data=n.data,
        actor=ActorOut(id=actor.id, name=_display(actor)) if actor is not None else None,
        actor_count=count,
        group_key=n.group_key,
        created_at=n.created_at,
        updated_at=n.updated_at,
        read=n.read_at is not None,
    )


async def outs_for(session: AsyncSession, rows: Sequence[Notification]) -> list[NotificationOut]:
    """Render notifications as their recipients may see them now, in two queries whatever
    the count: actors a recipient no longer hears of (policy.notifies_of) are neither counted
    nor named, and a notification left with none is left out."""
    blocks = await _blocks_between(session, {(n.user_id, a) for n in rows for a in n.actor_ids})
    shown: list[tuple[Notification, uuid.UUID | None, int]] = []
    for n in rows:
        heard = [a for a in n.actor_ids if _heard(n.type, n.user_id, a, blocks)]
        if len(heard) == len(n.actor_ids):
            shown.append((n, n.actor_id, n.actor_count))
        elif heard:  # the latest actor still heard of is named
            shown.append((n, heard[-1], n.actor_count - (len(n.actor_ids) - len(heard))))
    actor_ids = {actor for _, actor, _ in shown if actor is not None}
    actors: dict[uuid.UUID, User] = {}
    if actor_ids:
        found = await session.execute(select(User).where(User.id.in_(actor_ids)))
        actors = {u.id: u for u in found.scalars()}
    return [to_out(n, actors.get(actor) if actor else None, count) for n, actor, count in shown]


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
        if not _heard(
            type_, user_id, actor_id, await _blocks_between(session, {(user_id, actor_id)})
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
            DISPATCH_JOB,
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
            DISPATCH_JOB,
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
            raise InvalidInput("Malformed cursor", code="invalid_cursor")
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


# --- push subscriptions ------------------------------------------------------------------


def check_push_endpoint(settings: Settings, endpoint: str) -> str:
    """Only known push services: our server POSTs to this URL (SSRF otherwise)."""
    try:
        parts = parse_web_url(endpoint)
    except ValueError as exc:
        raise InvalidInput(
            "endpoint is not a known Web Push service URL", code="invalid_push_endpoint"
        ) from exc
    host = (parts.hostname or "").lower()
    allowed = any(
        host == h or (h.startswith(".") and host.endswith(h)) for h in settings.push_endpoint_hosts
    )
    secure = parts.scheme == "https" or (settings.push_allow_http and parts.scheme == "http")
    if not allowed or not secure or parts.username or parts.password:
        raise InvalidInput(
            "endpoint is not a known Web Push service URL", code="invalid_push_endpoint"
        )
    return endpoint


async def do_register_push(
    ctx: Context, session: AsyncSession, *, user_id: uuid.UUID, data: PushSubscriptionIn
) -> PushSubscriptionOut:
    """Register (or move to this user) a browser's subscription; idempotent per endpoint."""
    endpoint = check_push_endpoint(ctx.settings, data.endpoint)
    others = await session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user_id, PushSubscription.endpoint != endpoint)
    )
    if (others or 0) >= ctx.settings.push_max_subscriptions_per_user:
        raise InvalidInput("Too many push subscriptions", code="too_many_subscriptions")
    stmt = pg_insert(PushSubscription).values(
        user_id=user_id,
        endpoint=endpoint,
        p256dh=data.keys.p256dh,
        auth=data.keys.auth,
        user_agent=data.user_agent,
    )
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["endpoint"],
                set_={
                    "user_id": stmt.excluded.user_id,
                    "p256dh": stmt.excluded.p256dh,
                    "auth": stmt.excluded.auth,
                    "user_agent": stmt.excluded.user_agent,
                    "failure_count": 0,
                },
            ).returning(PushSubscription)
        )
    ).scalar_one()
    return _push_out(row)


def _push_out(s: PushSubscription) -> PushSubscriptionOut:
    return PushSubscriptionOut(
        id=s.id, endpoint=s.endpoint, user_agent=s.user_agent, created_at=s.created_at
    )


async def list_push(session: AsyncSession, *, user_id: uuid.UUID) -> list[PushSubscriptionOut]:
    rows = await session.execute(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.id)
    )
    return [_push_out(s) for s in rows.scalars()]


async def do_delete_push(
    session: AsyncSession, *, user_id: uuid.UUID, subscription_id: int
) -> None:
    row = await session.get(PushSubscription, subscription_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such push subscription", code="push_subscription_not_found")
    await session.delete(row)


# --- what to hear about: followed titles and genres ---------------------------------------


async def list_follows(session: AsyncSession, *, user_id: uuid.UUID) -> FollowsOut:
    titles = await session.execute(
        select(TitleFollow.title_id)
        .where(TitleFollow.user_id == user_id)
        .order_by(TitleFollow.title_id)
    )
    genres = await session.execute(
        select(GenreFollow.genre_id)
        .where(GenreFollow.user_id == user_id)
        .order_by(GenreFollow.genre_id)
    )
    return FollowsOut(titles=list(titles.scalars()), genres=list(genres.scalars()))


async def do_follow(
    session: AsyncSession, *, user_id: uuid.UUID, kind: str, target_id: int, follow: bool
) -> FollowsOut:
    """Follow (or stop following) a title or a genre; both are idempotent."""
    model: type[TitleFollow] | type[GenreFollow]
    parent: type[Title] | type[Genre]
    if kind == "titles":
        model, parent, column = TitleFollow, Title, "title_id"
    elif kind == "genres":
        model, parent, column = GenreFollow, Genre, "genre_id"
    else:  # pragma: no cover - the routes only pass these two
        raise NotFound("Nothing to follow there", code="not_found")
    if follow:
        if await session.get(parent, target_id) is None:
            raise NotFound(f"No such {kind[:-1]}", code=f"{kind[:-1]}_not_found")
        await session.execute(
            pg_insert(model)
            .values({"user_id": user_id, column: target_id})
            .on_conflict_do_nothing()
        )
    else:
        await session.execute(
            delete(model).where(model.user_id == user_id, getattr(model, column) == target_id)
        )
    return await list_follows(session, user_id=user_id)
