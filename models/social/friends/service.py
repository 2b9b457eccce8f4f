"""Friendship use cases: requests, accept/decline/cancel, unfriend, block, unblock."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.core.clock import now
from models.core.context import Context
from models.core.db import PlainStatement, autocommit
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import InvalidCursor, Page, decode_cursor, encode_cursor
from models.core.ratelimit import Limit, RateLimiter
from models.core.settings import Settings
from models.notifications.service import do_after_block_change, do_notify
from models.notifications.tables import NotificationType
from models.social import policy, presence
from models.social.friends.schemas import BlockOut, FriendOut, FriendRequestOut, UserBrief
from models.social.friends.tables import Block, FriendRequest, Friendship, RequestStatus
from models.social.lists.service import revoke_shares_between
from models.social.paging import id_page
from models.social.policy import Actor
from models.social.relations import access_user, lock_pair, relation


def request_limit(settings: Settings) -> Limit:
    """New requests a user may send (repeats of an open one and accepting a crossed one are
    free): FRIEND_REQUEST_LIMIT per FRIEND_REQUEST_WINDOW_S."""
    return Limit("friend_request", settings.friend_request_limit, settings.friend_request_window_s)


def _brief(user: User) -> UserBrief:
    return UserBrief(id=user.id, username=user.username, display_name=user.display_name)


async def _briefs(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, UserBrief]:
    wanted = set(ids)
    if not wanted:
        return {}
    users = await session.scalars(select(User).where(User.id.in_(wanted)))
    return {u.id: _brief(u) for u in users}


async def _request_out(session: AsyncSession, req: FriendRequest) -> FriendRequestOut:
    users = await _briefs(session, [req.from_user_id, req.to_user_id])
    return FriendRequestOut(
        id=req.id,
        from_user=users[req.from_user_id],
        to_user=users[req.to_user_id],
        status=req.status,
        created_at=req.created_at,
        responded_at=req.responded_at,
    )


def _emit_both(outbox: Outbox, event: str, data: Any, *users: uuid.UUID) -> None:
    for u in users:
        outbox.emit(event, data, room=user_room(u))


# Use cases ---------------------------------------------------------------------------------


async def do_send_request(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, actor: Actor, to_user_id: uuid.UUID
) -> FriendRequestOut:
    """Ask to be friends; if the other already asked us, that request is accepted instead.
    New requests count against `request_limit` (429 with Retry-After past it)."""
    assert actor.user_id is not None
    me = actor.user_id
    if to_user_id == me:
        raise InvalidInput("You cannot befriend yourself", code="self_request")
    await access_user(session, user_id=to_user_id)
    await lock_pair(session, me, to_user_id)
    rel = await relation(session, actor_id=me, other_id=to_user_id)
    if rel.friends:
        raise Conflict("You are already friends", code="already_friends")
    if not policy.can_request_friendship(actor, rel):
        raise Forbidden("You cannot send a friend request to this user", code="blocked")
    pending = (
        await session.scalars(
            select(FriendRequest).where(
                FriendRequest.status == RequestStatus.pending,
                or_(
                    and_(FriendRequest.from_user_id == me, FriendRequest.to_user_id == to_user_id),
                    and_(FriendRequest.from_user_id == to_user_id, FriendRequest.to_user_id == me),
                ),
            )
        )
    ).first()
    if pending is not None and pending.from_user_id == me:
        return await _request_out(session, pending)  # asking twice is not an error
    if pending is not None:
        return await _accept(ctx, session, outbox, pending)
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        request_limit(ctx.settings), str(me), message="Too many friend requests"
    )
    req = FriendRequest(from_user_id=me, to_user_id=to_user_id, status=RequestStatus.pending)
    session.add(req)
    await session.flush()
    await session.refresh(req)
    out = await _request_out(session, req)
    _emit_both(outbox, "friend:request", out.model_dump(mode="json"), to_user_id, me)
    await do_notify(
        ctx,
        session,
        outbox,
        user_id=to_user_id,
        type=NotificationType.friend_request,
        data={"request_id": req.id},
        actor_id=me,
        dedupe_key=f"friend_request:{req.id}",
    )
    return out


async def _load_request(session: AsyncSession, *, actor: Actor, request_id: int) -> FriendRequest:
    req = await session.get(FriendRequest, request_id, with_for_update=True)
    # Someone else's request does not exist as far as the actor can tell.
    if req is None or actor.user_id not in (req.from_user_id, req.to_user_id):
        raise NotFound("No such friend request", code="request_not_found")
    return req


async def _accept(
    ctx: Context, session: AsyncSession, outbox: Outbox, req: FriendRequest
) -> FriendRequestOut:
    a, b = req.from_user_id, req.to_user_id
    req.status = RequestStatus.accepted
    req.responded_at = now()
    await session.execute(
        insert(Friendship)
        .values([{"user_id": a, "friend_id": b}, {"user_id": b, "friend_id": a}])
        .on_conflict_do_nothing()
    )
    await session.flush()
    out = await _request_out(session, req)
    await do_notify(
        ctx,
        session,
        outbox,
        user_id=a,
        type=NotificationType.friend_accepted,
        data={"request_id": req.id},
        actor_id=b,
        dedupe_key=f"friend_accepted:{req.id}",
    )
    online = await presence.online_map(ctx.redis, ctx.keys, [a, b])
    # Each side learns the other's presence with the news, then follows its changes.
    outbox.emit(
        "friend:accepted",
        {
            "request": out.model_dump(mode="json"),
            "friend": out.to_user.model_dump(mode="json"),
            "online": online[b],
        },
        room=user_room(a),
    )
    outbox.emit(
        "friend:accepted",
        {
            "request": out.model_dump(mode="json"),
            "friend": out.from_user.model_dump(mode="json"),
            "online": online[a],
        },
        room=user_room(b),
    )
    return out


async def do_accept_request(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, actor: Actor, request_id: int
) -> FriendRequestOut:
    req = await _load_request(session, actor=actor, request_id=request_id)
    if req.to_user_id != actor.user_id:
        raise Forbidden("Only the person asked can accept a request", code="not_recipient")
    if req.status == RequestStatus.accepted:
        return await _request_out(session, req)
    if req.status != RequestStatus.pending:
        raise Conflict(f"This request was {req.status.value}", code="request_closed")
    await lock_pair(session, req.from_user_id, req.to_user_id)
    rel = await relation(session, actor_id=req.to_user_id, other_id=req.from_user_id)
    if rel.any_block:
        raise Forbidden("You cannot befriend this user", code="blocked")
    return await _accept(ctx, session, outbox, req)


async def do_decline_request(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, request_id: int
) -> FriendRequestOut:
    req = await _load_request(session, actor=actor, request_id=request_id)
    if req.to_user_id != actor.user_id:
        raise Forbidden("Only the person asked can decline a request", code="not_recipient")
    if req.status != RequestStatus.pending:
        raise Conflict(f"This request was {req.status.value}", code="request_closed")
    req.status = RequestStatus.declined
    req.responded_at = now()
    await session.flush()
    out = await _request_out(session, req)
    # The sender is not told of a decline; the recipient's other devices are.
    outbox.emit(
        "friend:request_closed", out.model_dump(mode="json"), room=user_room(req.to_user_id)
    )
    return out


async def do_cancel_request(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, request_id: int
) -> FriendRequestOut:
    req = await _load_request(session, actor=actor, request_id=request_id)
    if req.from_user_id != actor.user_id:
        raise Forbidden("Only the sender can cancel a request", code="not_sender")
    if req.status != RequestStatus.pending:
        raise Conflict(f"This request was {req.status.value}", code="request_closed")
    req.status = RequestStatus.cancelled
    req.responded_at = now()
    await session.flush()
    out = await _request_out(session, req)
    _emit_both(
        outbox,
        "friend:request_closed",
        out.model_dump(mode="json"),
        req.from_user_id,
        req.to_user_id,
    )
    return out


async def _unfriend(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> bool:
    result = await session.execute(
        delete(Friendship).where(
            or_(
                and_(Friendship.user_id == a, Friendship.friend_id == b),
                and_(Friendship.user_id == b, Friendship.friend_id == a),
            )
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def do_remove_friend(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, friend_id: uuid.UUID
) -> None:
    assert actor.user_id is not None
    await lock_pair(session, actor.user_id, friend_id)
    if not await _unfriend(session, actor.user_id, friend_id):
        raise NotFound("This user is not your friend", code="not_friends")
    await _after_unfriend(session, actor.user_id, friend_id)
    outbox.emit("friend:removed", {"user_id": str(friend_id)}, room=user_room(actor.user_id))
    outbox.emit("friend:removed", {"user_id": str(actor.user_id)}, room=user_room(friend_id))


async def _after_unfriend(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Shares exist between friends only: unfriending takes them back both ways."""
    await revoke_shares_between(session, a, b)


async def do_block(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, user_id: uuid.UUID
) -> BlockOut:
    assert actor.user_id is not None
    me = actor.user_id
    if user_id == me:
        raise InvalidInput("You cannot block yourself", code="self_block")
    target = await access_user(session, user_id=user_id)
    await lock_pair(session, me, user_id)
    await session.execute(
        insert(Block).values(blocker_id=me, blocked_id=user_id).on_conflict_do_nothing()
    )
    were_friends = await _unfriend(session, me, user_id)
    await _after_unfriend(session, me, user_id)
    await session.execute(
        update(FriendRequest)
        .where(
            FriendRequest.status == RequestStatus.pending,
            or_(
                and_(FriendRequest.from_user_id == me, FriendRequest.to_user_id == user_id),
                and_(FriendRequest.from_user_id == user_id, FriendRequest.to_user_id == me),
            ),
        )
        .values(status=RequestStatus.cancelled, responded_at=now())
    )
    since = await session.scalar(
        select(Block.created_at).where(Block.blocker_id == me, Block.blocked_id == user_id)
    )
    assert since is not None
    if were_friends:
        outbox.emit("friend:removed", {"user_id": str(user_id)}, room=user_room(me))
        outbox.emit("friend:removed", {"user_id": str(me)}, room=user_room(user_id))
    await do_after_block_change(session, outbox, user_ids=(me, user_id))
    return BlockOut(user=_brief(target), since=since)


async def do_unblock(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, user_id: uuid.UUID
) -> None:
    """Lift a block; notifications it silenced count again (they were kept, not deleted)."""
    assert actor.user_id is not None
    result = await session.execute(
        delete(Block).where(Block.blocker_id == actor.user_id, Block.blocked_id == user_id)
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        raise NotFound("You have not blocked this user", code="not_blocked")
    await do_after_block_change(session, outbox, user_ids=(actor.user_id, user_id))


# Reads -------------------------------------------------------------------------------------


def _page_after(cursor: str | None) -> tuple[datetime, str] | None:
    if cursor is None:
        return None
    c = decode_cursor(cursor)
    try:
        return datetime.fromisoformat(str(c["t"])), str(uuid.UUID(str(c["k"])))
    except (KeyError, ValueError) as exc:
        raise InvalidCursor() from exc


async def list_friends(
    ctx: Context, session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[FriendOut]:
    """Newest friends first, each with live presence."""
    q = (
        select(Friendship.created_at, User)
        .join(User, User.id == Friendship.friend_id)
        .where(Friendship.user_id == actor.user_id)
        .order_by(Friendship.created_at.desc(), Friendship.friend_id.desc())
        .limit(limit + 1)
    )
    after = _page_after(cursor)
    if after is not None:
        q = q.where(
            func.row(Friendship.created_at, Friendship.friend_id)
            < func.row(after[0], uuid.UUID(after[1]))
        )
    rows = (await session.execute(q)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    online = await presence.online_map(ctx.redis, ctx.keys, [u.id for _, u in rows])
    items = [FriendOut(user=_brief(u), since=since, online=online[u.id]) for since, u in rows]
    next_cursor = (
        encode_cursor({"t": rows[-1][0].isoformat(), "k": str(rows[-1][1].id)}) if more else None
    )
    return Page[FriendOut](items=items, next_cursor=next_cursor)


async def list_requests(
    session: AsyncSession, *, actor: Actor, incoming: bool, cursor: str | None, limit: int
) -> Page[FriendRequestOut]:
    """Open requests, newest first."""
    mine = FriendRequest.to_user_id if incoming else FriendRequest.from_user_id
    q = select(FriendRequest).where(
        mine == actor.user_id, FriendRequest.status == RequestStatus.pending
    )
    reqs, next_cursor = await id_page(session, q, FriendRequest.id, cursor=cursor, limit=limit)
    users = await _briefs(session, [u for r in reqs for u in (r.from_user_id, r.to_user_id)])
    items = [
        FriendRequestOut(
            id=r.id,
            from_user=users[r.from_user_id],
            to_user=users[r.to_user_id],
            status=r.status,
            created_at=r.created_at,
            responded_at=r.responded_at,
        )
        for r in reqs
    ]
    return Page[FriendRequestOut](items=items, next_cursor=next_cursor)


async def list_blocks(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[BlockOut]:
    """Users I blocked, newest first."""
    q = (
        select(Block.created_at, User)
        .join(User, User.id == Block.blocked_id)
        .where(Block.blocker_id == actor.user_id)
        .order_by(Block.created_at.desc(), Block.blocked_id.desc())
        .limit(limit + 1)
    )
    after = _page_after(cursor)
    if after is not None:
        q = q.where(
            func.row(Block.created_at, Block.blocked_id) < func.row(after[0], uuid.UUID(after[1]))
        )
    rows = (await session.execute(q)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[BlockOut](
        items=[BlockOut(user=_brief(u), since=t) for t, u in rows],
        next_cursor=encode_cursor({"t": rows[-1][0].isoformat(), "k": str(rows[-1][1].id)})
        if more
        else None,
    )


async def do_publish_presence(ctx: Context, change: presence.PresenceChange) -> None:
    """Tell the user's friends (every device, any process) that they came or went."""
    await do_publish_presence_many(ctx, [change])


# Past SQLAlchemy, in autocommit (models.core.db.PlainStatement): run for every batch of users
# coming online or going, where a session's BEGIN, ROLLBACK and result machinery cost more
# than the query.
_FRIENDS_OF = PlainStatement(
    "SELECT user_id, friend_id FROM friendships WHERE user_id = ANY(CAST(:ids AS uuid[]))"
)


async def do_publish_presence_many(ctx: Context, changes: list[presence.PresenceChange]) -> None:
    """`do_publish_presence` for several changes with one query for all their friends (a
    reconnect storm brings thousands of users online within seconds)."""
    if not changes:
        return
    users = list({c.user_id for c in changes})
    async with autocommit(ctx.sessions) as session:
        # One statement whatever the batch's size (an IN list would be prepared per length).
        rows = await _FRIENDS_OF.rows(session, {"ids": users})
        friends_of: dict[str, list[str]] = {}
        for user_id, friend_id in rows:
            friends_of.setdefault(str(user_id), []).append(str(friend_id))
    for change in changes:
        data = change.to_event()
        for friend in friends_of.get(str(change.user_id), ()):
            await ctx.publisher.emit("presence:update", data, room=user_room(friend))
