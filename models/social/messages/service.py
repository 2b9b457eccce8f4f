"""Private messages between friends: idempotent sends, history, read state, typing, replay."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.accounts.tables import User
from models.core.context import Context
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import Page
from models.core.ratelimit import Limit, RateLimiter
from models.core.settings import Settings
from models.notifications.service import do_notify
from models.notifications.tables import NotificationType
from models.social import policy, presence
from models.social.friends.schemas import UserBrief
from models.social.friends.tables import Block, Friendship
from models.social.messages.schemas import (
    ConversationOut,
    MessageEvent,
    MessageOut,
    ReadOut,
    UnreadItem,
    UnreadOut,
)
from models.social.messages.tables import Conversation, ConversationMember, DirectMessage
from models.social.paging import id_cursor, id_page, next_id_cursor
from models.social.policy import Actor, Relation
from models.social.relations import access_user, relation

STREAM = "dm"


# Anti-automation for messaging (security floor): per sender, across processes.
def send_limit(settings: Settings) -> Limit:
    return Limit("dm_send", settings.dm_send_limit, settings.dm_send_window_s)


def typing_limit(settings: Settings) -> Limit:
    return Limit("dm_typing", settings.dm_typing_limit, settings.dm_typing_window_s)


def message_out(m: DirectMessage) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        from_user_id=m.sender_id,
        to_user_id=m.recipient_id,
        client_msg_id=m.client_msg_id,
        text=m.text,
        created_at=m.created_at,
    )


def message_event(m: DirectMessage) -> dict[str, Any]:
    out = message_out(m)
    return MessageEvent(**out.model_dump(), cursor=m.id).model_dump(mode="json")


async def _check_can_message(session: AsyncSession, *, actor: Actor, to_user_id: uuid.UUID) -> None:
    assert actor.user_id is not None
    if to_user_id == actor.user_id:
        raise InvalidInput("You cannot message yourself", code="self_message")
    await access_user(session, user_id=to_user_id)
    rel = await relation(session, actor_id=actor.user_id, other_id=to_user_id)
    if not policy.can_message(actor, rel):
        if rel.any_block:
            raise Forbidden("You cannot message this user", code="blocked")
        raise Forbidden("You can message friends only", code="not_friends")


async def _conversation(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> Conversation:
    low, high = sorted((a, b), key=str)
    conv = await session.scalar(
        select(Conversation).where(Conversation.user_low == low, Conversation.user_high == high)
    )
    if conv is not None:
        return conv
    await session.execute(
        insert(Conversation).values(user_low=low, user_high=high).on_conflict_do_nothing()
    )
    conv = await session.scalar(
        select(Conversation).where(Conversation.user_low == low, Conversation.user_high == high)
    )
    assert conv is not None
    await session.execute(
        insert(ConversationMember)
        .values(
            [
                {"conversation_id": conv.id, "user_id": low, "peer_id": high},
                {"conversation_id": conv.id, "user_id": high, "peer_id": low},
            ]
        )
        .on_conflict_do_nothing()
    )
    return conv


async def _existing(
    session: AsyncSession, *, sender: uuid.UUID, client_msg_id: str
) -> DirectMessage | None:
    return await session.scalar(
        select(DirectMessage).where(
            DirectMessage.sender_id == sender, DirectMessage.client_msg_id == client_msg_id
        )
    )


async def _send_facts(
    session: AsyncSession, *, me: uuid.UUID, to: uuid.UUID, client_msg_id: str
) -> tuple[bool, bool, bool, bool, int | None, int | None] | None:
    """Everything a send must know, in one round trip: is the recipient there, are we
    friends, is there a block either way, our conversation, and this client_msg_id's message."""
    low, high = sorted((me, to), key=str)
    row = (
        await session.execute(
            select(
                User.is_active,
                exists().where(Friendship.user_id == me, Friendship.friend_id == to),
                exists().where(Block.blocker_id == to, Block.blocked_id == me),
                exists().where(Block.blocker_id == me, Block.blocked_id == to),
                select(Conversation.id)
                .where(Conversation.user_low == low, Conversation.user_high == high)
                .scalar_subquery(),
                select(DirectMessage.id)
                .where(DirectMessage.sender_id == me, DirectMessage.client_msg_id == client_msg_id)
                .scalar_subquery(),
            ).where(User.id == to)
        )
    ).first()
    if row is None:
        return None
    return bool(row[0]), bool(row[1]), bool(row[2]), bool(row[3]), row[4], row[5]


def _same_or_conflict(m: DirectMessage, *, to_user_id: uuid.UUID, text: str) -> DirectMessage:
    if m.recipient_id != to_user_id or m.text != text:
        raise Conflict(
            "This client_msg_id was already used for another message", code="client_msg_id_reused"
        )
    return m


async def do_send_message(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    to_user_id: uuid.UUID,
    client_msg_id: str,
    text: str,
) -> tuple[MessageOut, bool]:
    """Store and deliver a message; resending a client_msg_id returns the stored one.

    Returns the message and whether it was created now. Delivery: `dm:message` to every
    device of the recipient and of the sender (the sending socket skips itself).
    """
    assert actor.user_id is not None
    me = actor.user_id
    if to_user_id == me:
        raise InvalidInput("You cannot message yourself", code="self_message")
    facts = await _send_facts(session, me=me, to=to_user_id, client_msg_id=client_msg_id)
    if facts is None:
        raise NotFound("No such user", code="user_not_found")
    active, friends, blocked_by, blocks, conv_id, existing_id = facts
    if existing_id is not None:
        existing = await session.get(DirectMessage, existing_id)
        assert existing is not None
        return message_out(_same_or_conflict(existing, to_user_id=to_user_id, text=text)), False
    if not active:
        raise NotFound("No such user", code="user_not_found")
    rel = Relation(friends=friends, blocked_by_other=blocked_by, blocks_other=blocks)
    if not policy.can_message(actor, rel):
        if rel.any_block:
            raise Forbidden("You cannot message this user", code="blocked")
        raise Forbidden("You can message friends only", code="not_friends")
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        send_limit(ctx.settings), str(me), message="Too many messages"
    )
    if conv_id is None:
        conv_id = (await _conversation(session, me, to_user_id)).id
    # The message joins both users' "dm" streams: id order must be commit order in each
    # (the same lock as models.core.streams.lock_stream, both taken in one round trip).
    first, second = sorted((me, to_user_id), key=str)
    await session.execute(
        select(
            func.pg_advisory_xact_lock(func.hashtextextended(f"{STREAM}:{first}", 0)),
            func.pg_advisory_xact_lock(func.hashtextextended(f"{STREAM}:{second}", 0)),
        )
    )
    msg = await session.scalar(
        insert(DirectMessage)
        .values(
            conversation_id=conv_id,
            sender_id=me,
            recipient_id=to_user_id,
            client_msg_id=client_msg_id,
            text=text,
        )
        .on_conflict_do_nothing(constraint="uq_dm_messages_sender_client_msg")
        .returning(DirectMessage)
    )
    if msg is None:  # the same send, racing on another connection, committed first
        raced = await _existing(session, sender=me, client_msg_id=client_msg_id)
        assert raced is not None
        return message_out(_same_or_conflict(raced, to_user_id=to_user_id, text=text)), False
    # Both counters in one round trip: the conversation's head and each member's view of it.
    await session.execute(
        sql_text(
            "WITH c AS (UPDATE dm_conversations SET last_message_id = :mid, "
            "last_message_at = :at WHERE id = :cid) "
            "UPDATE dm_members SET last_message_id = :mid, unread_count = unread_count + "
            "CASE WHEN user_id = :rcpt THEN 1 ELSE 0 END WHERE conversation_id = :cid"
        ),
        {"mid": msg.id, "at": msg.created_at, "cid": conv_id, "rcpt": to_user_id},
    )
    event = message_event(msg)
    outbox.emit("dm:message", event, room=user_room(to_user_id))
    outbox.emit("dm:message", event, room=user_room(me))
    if await presence.connected_devices(ctx.redis, ctx.keys, to_user_id) == 0:
        # Nobody is there to see it live: one notification per sender while away.
        await do_notify(
            ctx,
            session,
            outbox,
            user_id=to_user_id,
            type=NotificationType.message_while_away,
            data={"from_user_id": str(me), "message_id": msg.id, "conversation_id": conv_id},
            actor_id=me,
            group_key=f"dm:{me}",
        )
    return message_out(msg), True


async def do_mark_read(
    session: AsyncSession, outbox: Outbox, *, actor: Actor, peer_id: uuid.UUID, up_to_id: int
) -> ReadOut:
    """Move my read position forward (never back); the peer gets a read receipt."""
    assert actor.user_id is not None
    me = actor.user_id
    low, high = sorted((me, peer_id), key=str)
    member = await session.scalar(
        select(ConversationMember)
        .join(Conversation, Conversation.id == ConversationMember.conversation_id)
        .where(
            Conversation.user_low == low,
            Conversation.user_high == high,
            ConversationMember.user_id == me,
        )
        .with_for_update(of=ConversationMember)
    )
    if member is None:
        raise NotFound("No conversation with this user", code="conversation_not_found")
    target = min(up_to_id, member.last_message_id)
    if target > member.last_read_message_id:
        unread = await session.scalar(
            select(func.count())
            .select_from(DirectMessage)
            .where(
                DirectMessage.conversation_id == member.conversation_id,
                DirectMessage.id > target,
                DirectMessage.sender_id == peer_id,
            )
        )
        member.last_read_message_id = target
        member.unread_count = int(unread or 0)
        await session.flush()
        receipt = {
            "conversation_id": member.conversation_id,
            "reader_id": str(me),
            "last_read_message_id": target,
        }
        outbox.emit("dm:read", receipt, room=user_room(peer_id))
        outbox.emit("dm:read", receipt, room=user_room(me))
    total = await _total_unread(session, me)
    return ReadOut(
        conversation_id=member.conversation_id,
        peer_user_id=peer_id,
        last_read_message_id=member.last_read_message_id,
        unread_count=member.unread_count,
        total_unread=total,
    )


async def _total_unread(session: AsyncSession, user_id: uuid.UUID) -> int:
    total = await session.scalar(
        select(func.coalesce(func.sum(ConversationMember.unread_count), 0)).where(
            ConversationMember.user_id == user_id
        )
    )
    return int(total or 0)


async def do_typing(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    to_user_id: uuid.UUID,
    typing: bool,
) -> None:
    """Ephemeral: goes to the peer's devices now, or nowhere."""
    assert actor.user_id is not None
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        typing_limit(ctx.settings), str(actor.user_id)
    )
    await _check_can_message(session, actor=actor, to_user_id=to_user_id)
    outbox.emit(
        "dm:typing",
        {"from_user_id": str(actor.user_id), "typing": typing},
        room=user_room(to_user_id),
    )


async def list_history(
    session: AsyncSession, *, actor: Actor, peer_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[MessageOut]:
    """Newest first; the cursor is the id of the last message of the previous page."""
    assert actor.user_id is not None
    low, high = sorted((actor.user_id, peer_id), key=str)
    q = (
        select(DirectMessage)
        .join(Conversation, Conversation.id == DirectMessage.conversation_id)
        .where(Conversation.user_low == low, Conversation.user_high == high)
    )
    rows, next_cursor = await id_page(session, q, DirectMessage.id, cursor=cursor, limit=limit)
    return Page[MessageOut](items=[message_out(m) for m in rows], next_cursor=next_cursor)


async def list_conversations(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int
) -> Page[ConversationOut]:
    """Latest activity first, with unread counts and both read positions."""
    me = actor.user_id
    peer_member = aliased(ConversationMember)
    q = (
        select(ConversationMember, User, DirectMessage, peer_member.last_read_message_id)
        .join(User, User.id == ConversationMember.peer_id)
        .join(
            peer_member,
            and_(
                peer_member.conversation_id == ConversationMember.conversation_id,
                peer_member.user_id == ConversationMember.peer_id,
            ),
        )
        .outerjoin(DirectMessage, DirectMessage.id == ConversationMember.last_message_id)
        .where(ConversationMember.user_id == me, ConversationMember.last_message_id > 0)
        .order_by(ConversationMember.last_message_id.desc())
        .limit(limit + 1)
    )
    before = id_cursor(cursor, "m")
    if before is not None:
        q = q.where(ConversationMember.last_message_id < before)
    rows = (await session.execute(q)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        ConversationOut(
            id=m.conversation_id,
            peer=UserBrief(id=u.id, username=u.username, display_name=u.display_name),
            last_message=message_out(dm) if dm is not None else None,
            unread_count=m.unread_count,
            last_read_message_id=m.last_read_message_id,
            peer_last_read_message_id=peer_read,
        )
        for m, u, dm, peer_read in rows
    ]
    return Page[ConversationOut](
        items=items, next_cursor=next_id_cursor(rows[-1][0].last_message_id if more else None, "m")
    )


async def unread_summary(session: AsyncSession, *, actor: Actor) -> UnreadOut:
    rows = (
        await session.execute(
            select(ConversationMember)
            .where(ConversationMember.user_id == actor.user_id, ConversationMember.unread_count > 0)
            .order_by(ConversationMember.last_message_id.desc())
            .limit(500)
        )
    ).scalars()
    items = [
        UnreadItem(
            conversation_id=m.conversation_id, peer_user_id=m.peer_id, unread_count=m.unread_count
        )
        for m in rows
    ]
    assert actor.user_id is not None
    return UnreadOut(total=await _total_unread(session, actor.user_id), conversations=items)


async def replay(ctx: Context, user_id: uuid.UUID, cursor: int, limit: int) -> list[dict[str, Any]]:
    """The "dm" stream after `cursor`, oldest first: what the user received and sent.

    Each item is exactly the payload of a live `dm:message` (with "stream" and "cursor").
    """
    async with ctx.sessions() as session:
        rows = await session.scalars(
            select(DirectMessage)
            .where(
                or_(DirectMessage.recipient_id == user_id, DirectMessage.sender_id == user_id),
                DirectMessage.id > cursor,
            )
            .order_by(DirectMessage.id)
            .limit(limit)
        )
        return [message_event(m) for m in rows]
