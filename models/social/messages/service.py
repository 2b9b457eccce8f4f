"""Private messages between friends: idempotent sends, history, read state, typing, replay."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any, NamedTuple

from asyncpg.exceptions import UniqueViolationError
from redis.asyncio.client import Pipeline
from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from models.accounts.family import max_age_of
from models.accounts.tables import User
from models.core.clock import now
from models.core.context import Context
from models.core.db import PlainStatement, PlainWork, plain_autocommit, transaction
from models.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import Page
from models.core.ratelimit import Limit, RateLimiter, check_hit
from models.core.settings import Settings
from models.core.text import check_emoji
from models.notifications.service import do_notify
from models.notifications.tables import NotificationType
from models.social import policy, presence
from models.social.friends.schemas import UserBrief
from models.social.messages import attachments
from models.social.messages.attachments import Signer
from models.social.messages.cards import (
    Cards,
    check_shareable,
    max_ages,
    shareable_link,
    title_in_text,
)
from models.social.messages.schemas import (
    QUOTE_CHARS,
    ConversationOut,
    MessageEvent,
    MessageOut,
    QuoteOut,
    ReactionCountOut,
    ReadOut,
    UnreadItem,
    UnreadOut,
)
from models.social.messages.tables import (
    Conversation,
    ConversationMember,
    DirectMessage,
    DirectMessageAttachment,
    DirectMessageReaction,
)
from models.social.paging import id_cursor, id_page, next_id_cursor
from models.social.policy import Actor, Relation
from models.social.relations import access_user, relation

STREAM = "dm"


# Anti-automation for messaging (security floor): per sender, across processes.
def send_limit(settings: Settings) -> Limit:
    return Limit("dm_send", settings.dm_send_limit, settings.dm_send_window_s)


def typing_limit(settings: Settings) -> Limit:
    return Limit("dm_typing", settings.dm_typing_limit, settings.dm_typing_window_s)


MAX_REACTIONS_PER_USER = 10  # distinct emoji one user puts on one message


def message_out(
    m: DirectMessage,
    quote: DirectMessage | None = None,
    reactions: Sequence[DirectMessageReaction] = (),
) -> MessageOut:
    return MessageOut(
        id=m.id,
        conversation_id=m.conversation_id,
        from_user_id=m.sender_id,
        to_user_id=m.recipient_id,
        client_msg_id=m.client_msg_id,
        text=m.text,
        created_at=m.created_at,
        edited_at=m.edited_at,
        deleted=m.deleted_at is not None,
        reply_to=None if quote is None else _quote(quote),
        reactions=_counts(reactions),
    )


def _quote_of(id: int, sender_id: uuid.UUID, text: str, deleted: bool, hidden: bool) -> QuoteOut:
    """A quote as it is now: deleted, or hidden by a moderator, it shows no words."""
    gone = deleted or hidden
    return QuoteOut(
        id=id, from_user_id=sender_id, text="" if gone else text[:QUOTE_CHARS], deleted=gone
    )


def _quote(q: DirectMessage) -> QuoteOut:
    return _quote_of(q.id, q.sender_id, q.text, q.deleted_at is not None, q.hidden_at is not None)


def _counts(reactions: Sequence[DirectMessageReaction]) -> list[ReactionCountOut]:
    by_emoji: dict[str, list[uuid.UUID]] = {}
    for r in sorted(reactions, key=lambda r: (r.created_at, str(r.user_id))):
        by_emoji.setdefault(r.emoji, []).append(r.user_id)
    return [ReactionCountOut(emoji=e, count=len(u), user_ids=u) for e, u in by_emoji.items()]


async def _base(session: AsyncSession, msgs: Sequence[DirectMessage]) -> list[MessageOut]:
    """Messages as everyone sees them: with the quote they reply to and their reactions (two
    queries for the lot at most); title cards and images are added per reader."""
    quote_ids = {m.reply_to_id for m in msgs if m.reply_to_id is not None}
    quotes: dict[int, DirectMessage] = {}
    if quote_ids:
        rows = await session.scalars(select(DirectMessage).where(DirectMessage.id.in_(quote_ids)))
        quotes = {q.id: q for q in rows}
    reactions: dict[int, list[DirectMessageReaction]] = {}
    ids = [m.id for m in msgs if m.deleted_at is None]
    if ids:
        for r in await session.scalars(
            select(DirectMessageReaction).where(DirectMessageReaction.message_id.in_(ids))
        ):
            reactions.setdefault(r.message_id, []).append(r)
    return [
        message_out(
            m,
            quotes.get(m.reply_to_id) if m.reply_to_id is not None else None,
            reactions.get(m.id, ()),
        )
        for m in msgs
    ]


Refs = tuple[int | None, uuid.UUID | None]  # a message's title and attachment


def _refs(m: DirectMessage) -> Refs:
    # A deleted message shows no card and has no image any more.
    if m.deleted_at is not None:
        return (None, None)
    return (m.title_id, m.attachment_id)


async def _personal(
    session: AsyncSession,
    outs: Sequence[MessageOut],
    refs: Sequence[Refs],
    *,
    readers: Sequence[uuid.UUID],
    sign: Signer,
) -> dict[uuid.UUID, list[MessageOut]]:
    """Each reader's copy: title cards as their maturity limit allows, image URLs signed for
    them. Messages with neither are shared as they are (no query)."""
    title_ids = {t for t, _ in refs if t is not None}
    attachment_ids = {a for _, a in refs if a is not None}
    if not title_ids and not attachment_ids:
        return {r: list(outs) for r in readers}
    loaded = await Cards.load(session, title_ids)
    ages = await max_ages(session, readers) if title_ids else {}
    atts: dict[uuid.UUID, DirectMessageAttachment] = {}
    if attachment_ids:
        rows = await session.scalars(
            select(DirectMessageAttachment).where(DirectMessageAttachment.id.in_(attachment_ids))
        )
        atts = {a.id: a for a in rows}
    result: dict[uuid.UUID, list[MessageOut]] = {}
    for reader in readers:
        mine = []
        for out, (title_id, attachment_id) in zip(outs, refs, strict=True):
            att = atts.get(attachment_id) if attachment_id is not None else None
            if title_id is None and att is None:
                mine.append(out)
                continue
            mine.append(
                out.model_copy(
                    update={
                        "title": None
                        if title_id is None
                        else loaded.card(title_id, ages.get(reader)),
                        "attachment": None
                        if att is None
                        else attachments.attachment_out(att, sign, reader),
                    }
                )
            )
        result[reader] = mine
    return result


async def decorate(
    session: AsyncSession, msgs: Sequence[DirectMessage], *, reader: uuid.UUID, sign: Signer
) -> list[MessageOut]:
    """Messages as `reader` sees them on the wire."""
    outs = await _base(session, msgs)
    return (await _personal(session, outs, [_refs(m) for m in msgs], readers=[reader], sign=sign))[
        reader
    ]


def _event(out: MessageOut, cursor: int) -> dict[str, Any]:
    """The "dm" stream's item: a changed message comes again at its new position (`seq`)."""
    return MessageEvent(**out.model_dump(), cursor=cursor).model_dump(mode="json")


def _cursor(m: DirectMessage) -> int:
    return m.id if m.seq is None else m.seq


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


# Everything a send must know, in one round trip: is the recipient there (and active), are we
# friends, is there a block either way, our conversation, and this client_msg_id's message.
# Plain SQL built once: building the same select for every message was most of its CPU.
_FACTS = """
    SELECT u.is_active,
           EXISTS (SELECT 1 FROM friendships WHERE user_id = :me AND friend_id = :to),
           EXISTS (SELECT 1 FROM user_blocks WHERE blocker_id = :to AND blocked_id = :me),
           EXISTS (SELECT 1 FROM user_blocks WHERE blocker_id = :me AND blocked_id = :to),
           (SELECT id FROM dm_conversations WHERE user_low = :low AND user_high = :high),
           (SELECT id FROM dm_messages WHERE sender_id = :me AND client_msg_id = :cmid)
"""
# Sent past SQLAlchemy (models.core.db.PlainStatement): the first statement of every send,
# always in autocommit.
_SEND_FACTS = PlainStatement(_FACTS + "FROM users u WHERE u.id = :to")
# A reply also reads the message it quotes, in the same round trip: its conversation (it must
# be ours) and what the quote shows.
_SEND_FACTS_REPLY = PlainStatement(
    _FACTS
    + """,
           q.id, q.conversation_id, q.sender_id, q.text,
           q.deleted_at IS NOT NULL, q.hidden_at IS NOT NULL
    FROM users u LEFT JOIN dm_messages q ON q.id = CAST(:reply AS bigint)
    WHERE u.id = :to
    """
)

# The message and both counters in one statement, after both users' "dm" stream locks (the
# same locks as models.core.streams.lock_stream, taken in key order): a message's id is taken
# under them, so id order is commit order in each user's stream.
_STORE_SQL = """
    WITH locks AS (
        SELECT pg_advisory_xact_lock(hashtextextended(:first, 0)) AS a,
               pg_advisory_xact_lock(hashtextextended(:second, 0)) AS b
    ), ins AS (
        INSERT INTO dm_messages
            (conversation_id, sender_id, recipient_id, client_msg_id, text, reply_to_id,
             title_id, attachment_id)
        SELECT CAST(:cid AS bigint), CAST(:me AS uuid), CAST(:to AS uuid), CAST(:cmid AS varchar),
               CAST(:text AS text), CAST(:reply AS bigint), CAST(:title AS bigint),
               CAST(:attachment AS uuid)
        FROM locks
        ON CONFLICT ON CONSTRAINT uq_dm_messages_sender_client_msg DO NOTHING
        RETURNING id, created_at
    ), c AS (
        UPDATE dm_conversations SET last_message_id = ins.id, last_message_at = ins.created_at
        FROM ins WHERE dm_conversations.id = :cid
    ), m AS (
        UPDATE dm_members SET last_message_id = ins.id,
               unread_count = unread_count + CASE WHEN user_id = :to THEN 1 ELSE 0 END
        FROM ins WHERE dm_members.conversation_id = :cid
    )
    SELECT id, created_at FROM ins
    """
_STORE = sql_text(_STORE_SQL)
# The usual send stores in autocommit: there, past SQLAlchemy (models.core.db.PlainStatement).
_STORE_PLAIN = PlainStatement(_STORE_SQL)


class _Facts(NamedTuple):
    active: bool
    friends: bool
    blocked_by: bool
    blocks: bool
    conv_id: int | None
    existing_id: int | None
    quote: QuoteOut | None  # the message replied to, if it is one of this conversation's


async def _send_facts(
    session: AsyncSession | PlainWork,
    *,
    me: uuid.UUID,
    to: uuid.UUID,
    client_msg_id: str,
    reply_to_id: int | None,
) -> _Facts | None:
    low, high = sorted((me, to), key=str)
    params: dict[str, Any] = {"me": me, "to": to, "low": low, "high": high, "cmid": client_msg_id}
    if reply_to_id is None:
        row = await _SEND_FACTS.row(session, params)
    else:
        row = await _SEND_FACTS_REPLY.row(session, {**params, "reply": reply_to_id})
    if row is None:
        return None
    quote = None
    # Hidden by a moderator it is not there to reply to (as for an edit or a reaction).
    if reply_to_id is not None and row[6] is not None and row[7] == row[4] and not row[11]:
        quote = _quote_of(row[6], row[8], row[9], bool(row[10]), False)
    return _Facts(bool(row[0]), bool(row[1]), bool(row[2]), bool(row[3]), row[4], row[5], quote)


def _same_or_conflict(
    m: DirectMessage,
    *,
    to_user_id: uuid.UUID,
    text: str,
    title_id: int | None = None,
    attachment_id: uuid.UUID | None = None,
) -> DirectMessage:
    if (
        m.recipient_id != to_user_id
        or m.text != text
        or m.attachment_id != attachment_id
        or (title_id is not None and m.title_id != title_id)
    ):
        raise Conflict(
            "This client_msg_id was already used for another message", code="client_msg_id_reused"
        )
    return m


async def do_send_message(
    ctx: Context,
    outbox: Outbox,
    *,
    actor: Actor,
    to_user_id: uuid.UUID,
    client_msg_id: str,
    text: str,
    reply_to_id: int | None = None,
    title_id: int | None = None,
    attachment_id: uuid.UUID | None = None,
) -> tuple[MessageOut, bool]:
    """Store and deliver a message; resending a client_msg_id returns the stored one.

    A message may share a title (`title_id`, or a link to one of our title pages in the text)
    and carry an image the sender uploaded (`attachment_id`); each reader gets the card and
    the image URLs made for them.

    Returns the message and whether it was created now. Delivery: `dm:message` to every
    device of the recipient and of the sender (the sending socket skips itself).

    The usual send (an existing conversation, the recipient online) is two statements in
    autocommit: the facts, then the message with both counters in one statement, atomic on
    its own; no BEGIN and COMMIT round trips. A reply reads the message it quotes with the
    facts (no more round trips). The first message of a pair (the conversation is created
    with it) and a message to someone away (the notification commits with it) take a
    transaction.
    """
    assert actor.user_id is not None
    me = actor.user_id
    if to_user_id == me:
        raise InvalidInput("You cannot message yourself", code="self_message")
    # Plain statements on a pooled connection; an ORM session only for the steps that need
    # one (a resend, a shared title, an image, a raced send).
    async with plain_autocommit(ctx.sessions) as work:
        facts = await _send_facts(
            work, me=me, to=to_user_id, client_msg_id=client_msg_id, reply_to_id=reply_to_id
        )
        if facts is None:
            raise NotFound("No such user", code="user_not_found")
        conv_id = facts.conv_id
        sign = attachments.signer(ctx)
        if facts.existing_id is not None:
            session = await work.session()
            existing = await session.get(DirectMessage, facts.existing_id)
            assert existing is not None
            _same_or_conflict(
                existing,
                to_user_id=to_user_id,
                text=text,
                title_id=title_id,
                attachment_id=attachment_id,
            )
            return (await decorate(session, [existing], reader=me, sign=sign))[0], False
        if not facts.active:
            raise NotFound("No such user", code="user_not_found")
        rel = Relation(
            friends=facts.friends, blocked_by_other=facts.blocked_by, blocks_other=facts.blocks
        )
        if not policy.can_message(actor, rel):
            if rel.any_block:
                raise Forbidden("You cannot message this user", code="blocked")
            raise Forbidden("You can message friends only", code="not_friends")
        # The anti-spam hit and "is anyone there to see it live" in one round trip, shared
        # with whatever else this process sends Redis at the same moment (other sends).
        limiter = RateLimiter(ctx.redis, ctx.keys.prefix)

        def queue(pipe: Pipeline) -> None:
            limiter.queue_hit(pipe, send_limit(ctx.settings), str(me))
            presence.queue_connected_devices(
                pipe, ctx.keys, to_user_id, stale_ms=ctx.settings.socket_stale_ms
            )

        wait_ms, devices = await ctx.pipelined(queue)
        check_hit(wait_ms, message="Too many messages")
        if reply_to_id is not None and facts.quote is None:
            raise NotFound("No such message in this conversation", code="message_not_found")
        title_id = await _check_title(ctx, work, me=me, title_id=title_id, text=text)
        if attachment_id is not None:
            await attachments.check_usable(
                await work.session(), user_id=me, attachment_id=attachment_id
            )
        refs: Refs = (title_id, attachment_id)
        if conv_id is not None and devices > 0:
            msg, created = await _store(
                work,
                me=me,
                to=to_user_id,
                conv_id=conv_id,
                cmid=client_msg_id,
                text=text,
                quote=facts.quote,
                refs=refs,
                sign=sign,
                autocommitted=True,
            )
            return await _delivered(
                work, outbox, msg, created, to_user_id=to_user_id, refs=refs, sign=sign
            )
    async with transaction(ctx.sessions) as session:
        if conv_id is None:
            conv_id = (await _conversation(session, me, to_user_id)).id
        msg, created = await _store(
            session,
            me=me,
            to=to_user_id,
            conv_id=conv_id,
            cmid=client_msg_id,
            text=text,
            quote=facts.quote,
            refs=refs,
            sign=sign,
        )
        if created and devices == 0:
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
        return await _delivered(
            session, outbox, msg, created, to_user_id=to_user_id, refs=refs, sign=sign
        )


async def _check_title(
    ctx: Context,
    db: AsyncSession | PlainWork,
    *,
    me: uuid.UUID,
    title_id: int | None,
    text: str,
) -> int | None:
    """The title a message shares: the one named (it must exist, and be one the sender may
    see), else one of our title links in the text when there is one the sender may see."""
    if title_id is not None:
        session = await _orm(db)
        await check_shareable(
            session, title_id=title_id, max_age=await max_age_of(session, user_id=me)
        )
        return title_id
    linked = title_in_text(text, ctx.settings.public_url) if text else None
    if linked is None:
        return None
    session = await _orm(db)
    return await shareable_link(
        session, title_id=linked, max_age=await max_age_of(session, user_id=me)
    )


async def _orm(db: AsyncSession | PlainWork) -> AsyncSession:
    return db if isinstance(db, AsyncSession) else await db.session()


async def _store(
    db: AsyncSession | PlainWork,
    *,
    me: uuid.UUID,
    to: uuid.UUID,
    conv_id: int,
    cmid: str,
    text: str,
    quote: QuoteOut | None,
    refs: Refs,
    sign: Signer,
    autocommitted: bool = False,
) -> tuple[MessageOut, bool]:
    """The new message (True), or the one this client_msg_id already stored (the same send,
    racing on another connection, committed first: False). A new message has no reactions,
    and its quote is the one read with the facts."""
    first, second = sorted((me, to), key=str)
    params = {
        "first": f"{STREAM}:{first}",
        "second": f"{STREAM}:{second}",
        "cid": conv_id,
        "me": me,
        "to": to,
        "cmid": cmid,
        "text": text,
        "reply": None if quote is None else quote.id,
        "title": refs[0],
        "attachment": refs[1],
    }
    stored: Any
    try:
        if autocommitted:
            stored = await _STORE_PLAIN.row(db, params)
        else:
            stored = (await (await _orm(db)).execute(_STORE, params)).first()
    except (IntegrityError, UniqueViolationError) as exc:
        # Two sends raced with the same image: the other message has it.
        if "uq_dm_messages_attachment_id" not in str(getattr(exc, "orig", exc)):
            raise
        raise Conflict("This attachment is already in a message", code="attachment_in_use") from exc
    if stored is None:
        session = await _orm(db)
        raced = await _existing(session, sender=me, client_msg_id=cmid)
        assert raced is not None
        _same_or_conflict(raced, to_user_id=to, text=text, attachment_id=refs[1])
        return (await decorate(session, [raced], reader=me, sign=sign))[0], False
    out = MessageOut(
        id=stored[0],
        conversation_id=conv_id,
        from_user_id=me,
        to_user_id=to,
        client_msg_id=cmid,
        text=text,
        created_at=stored[1],
        reply_to=quote,
    )
    return out, True


async def _delivered(
    db: AsyncSession | PlainWork,
    outbox: Outbox,
    msg: MessageOut,
    created: bool,
    *,
    to_user_id: uuid.UUID,
    refs: Refs,
    sign: Signer,
) -> tuple[MessageOut, bool]:
    """A new message goes to both users' devices, each their own copy; a raced one is
    answered as a resend (it already is as the sender sees it)."""
    if not created:
        return msg, created
    me = msg.from_user_id
    if refs == (None, None):
        theirs = mine = msg  # no card, no image: one copy for both (no query)
    else:
        copies = await _personal(await _orm(db), [msg], [refs], readers=[to_user_id, me], sign=sign)
        theirs, mine = copies[to_user_id][0], copies[me][0]
    event = _event(theirs, msg.id)
    outbox.emit("dm:message", event, room=user_room(to_user_id))
    # Without a card or an image both sides read the same copy: one event (the door sends
    # it once to both rooms).
    outbox.emit("dm:message", event if mine is theirs else _event(mine, msg.id), room=user_room(me))
    return mine, created


# --- changing a message: edits, deletion for everyone, reactions --------------------------------


async def _lock_streams(session: AsyncSession, a: uuid.UUID, b: uuid.UUID) -> None:
    """Both users' "dm" streams, in one order: stream positions follow commit order."""
    first, second = sorted((a, b), key=str)
    await session.execute(
        select(
            func.pg_advisory_xact_lock(func.hashtextextended(f"{STREAM}:{first}", 0)),
            func.pg_advisory_xact_lock(func.hashtextextended(f"{STREAM}:{second}", 0)),
        )
    )


async def _access_message(
    session: AsyncSession, *, actor: Actor, message_id: int, mine: bool
) -> DirectMessage:
    """A message of one of my conversations (`mine`: that I sent), locked for the change."""
    me = actor.user_id
    m = await session.scalar(
        select(DirectMessage).where(DirectMessage.id == message_id).with_for_update()
    )
    # Hidden by a moderator, it is not there for either side (as in both histories).
    if m is None or me not in (m.sender_id, m.recipient_id) or m.hidden_at is not None:
        raise NotFound("No such message", code="message_not_found")
    if mine and m.sender_id != me:
        raise Forbidden("Only its sender can change a message", code="not_your_message")
    return m


async def _changed(
    session: AsyncSession, outbox: Outbox, m: DirectMessage, *, actor: Actor, sign: Signer
) -> MessageOut:
    """Give the changed message its new place on both "dm" streams, and deliver it (each
    side its own copy); returns the actor's."""
    assert actor.user_id is not None
    await _lock_streams(session, m.sender_id, m.recipient_id)
    m.seq = await session.scalar(
        select(func.nextval(func.pg_get_serial_sequence("dm_messages", "id")))
    )
    await session.flush()
    readers = [m.recipient_id, m.sender_id]
    copies = await _personal(
        session, await _base(session, [m]), [_refs(m)], readers=readers, sign=sign
    )
    for reader in readers:
        outbox.emit("dm:message", _event(copies[reader][0], _cursor(m)), room=user_room(reader))
    return copies[actor.user_id][0]


async def _check_still_allowed(session: AsyncSession, actor: Actor, m: DirectMessage) -> None:
    assert actor.user_id is not None
    peer = m.recipient_id if m.sender_id == actor.user_id else m.sender_id
    rel = await relation(session, actor_id=actor.user_id, other_id=peer)
    if not policy.can_message(actor, rel):
        if rel.any_block:
            raise Forbidden("You cannot message this user", code="blocked")
        raise Forbidden("You can message friends only", code="not_friends")


async def do_edit_message(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    message_id: int,
    text: str,
) -> MessageOut:
    """The sender rewrites a message; both sides see it again, marked edited. A link to one
    of our titles put into a message without a card gives it one; the card stays after."""
    assert actor.user_id is not None
    sign = attachments.signer(ctx)
    m = await _access_message(session, actor=actor, message_id=message_id, mine=True)
    if m.deleted_at is not None:
        raise Gone("This message was deleted", code="message_deleted")
    await _check_still_allowed(session, actor, m)
    if m.text == text:
        return (await decorate(session, [m], reader=actor.user_id, sign=sign))[0]
    m.text = text
    m.edited_at = now()
    if m.title_id is None:
        m.title_id = await _check_title(ctx, session, me=actor.user_id, title_id=None, text=text)
    return await _changed(session, outbox, m, actor=actor, sign=sign)


async def do_delete_message(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, actor: Actor, message_id: int
) -> MessageOut:
    """Deleted for everyone: the text, card, image and reactions are gone, a tombstone stays
    in place (a reply quoting it shows it deleted). Deleting again changes nothing.

    The image's row goes in this transaction (its URLs answer 404 from the commit on); its
    files are queued for purge in it too, and go in a job after the commit."""
    assert actor.user_id is not None
    sign = attachments.signer(ctx)
    m = await _access_message(session, actor=actor, message_id=message_id, mine=True)
    if m.deleted_at is not None:
        return (await decorate(session, [m], reader=actor.user_id, sign=sign))[0]
    m.text = ""
    m.deleted_at = now()
    m.title_id = None
    await attachments.drop_with_message(ctx, session, outbox, m)
    await session.execute(
        delete(DirectMessageReaction).where(DirectMessageReaction.message_id == m.id)
    )
    return await _changed(session, outbox, m, actor=actor, sign=sign)


async def do_react(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    actor: Actor,
    message_id: int,
    emoji: str,
    on: bool,
) -> MessageOut:
    """Put an emoji on a message of my conversation (or take it back)."""
    assert actor.user_id is not None
    sign = attachments.signer(ctx)
    emoji = check_emoji(emoji)
    m = await _access_message(session, actor=actor, message_id=message_id, mine=False)
    if m.deleted_at is not None:
        raise Gone("This message was deleted", code="message_deleted")
    await _check_still_allowed(session, actor, m)
    if on:
        count = await session.scalar(
            select(func.count()).where(
                DirectMessageReaction.message_id == m.id,
                DirectMessageReaction.user_id == actor.user_id,
            )
        )
        if int(count or 0) >= MAX_REACTIONS_PER_USER:
            raise Conflict(
                f"At most {MAX_REACTIONS_PER_USER} reactions on one message",
                code="too_many_reactions",
            )
        result = await session.execute(
            insert(DirectMessageReaction)
            .values(message_id=m.id, user_id=actor.user_id, emoji=emoji)
            .on_conflict_do_nothing()
        )
    else:
        result = await session.execute(
            delete(DirectMessageReaction).where(
                DirectMessageReaction.message_id == m.id,
                DirectMessageReaction.user_id == actor.user_id,
                DirectMessageReaction.emoji == emoji,
            )
        )
    if not getattr(result, "rowcount", 0):
        return (await decorate(session, [m], reader=actor.user_id, sign=sign))[0]  # already so
    return await _changed(session, outbox, m, actor=actor, sign=sign)


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
    session: AsyncSession,
    *,
    actor: Actor,
    peer_id: uuid.UUID,
    cursor: str | None,
    limit: int,
    sign: Signer,
) -> Page[MessageOut]:
    """Newest first; the cursor is the id of the last message of the previous page."""
    assert actor.user_id is not None
    low, high = sorted((actor.user_id, peer_id), key=str)
    q = (
        select(DirectMessage)
        .join(Conversation, Conversation.id == DirectMessage.conversation_id)
        .where(
            Conversation.user_low == low,
            Conversation.user_high == high,
            DirectMessage.hidden_at.is_(None),  # hidden by a moderator
        )
    )
    rows, next_cursor = await id_page(session, q, DirectMessage.id, cursor=cursor, limit=limit)
    items = await decorate(session, rows, reader=actor.user_id, sign=sign)
    return Page[MessageOut](items=items, next_cursor=next_cursor)


async def list_conversations(
    session: AsyncSession, *, actor: Actor, cursor: str | None, limit: int, sign: Signer
) -> Page[ConversationOut]:
    """Latest activity first, with unread counts and both read positions."""
    me = actor.user_id
    assert me is not None
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
    lasts = [dm for _, _, dm, _ in rows if dm is not None and dm.hidden_at is None]
    shown = await _personal(
        session,
        [message_out(dm) for dm in lasts],
        [_refs(dm) for dm in lasts],
        readers=[me],
        sign=sign,
    )
    last_of = {out.id: out for out in shown[me]}
    items = [
        ConversationOut(
            id=m.conversation_id,
            peer=UserBrief(id=u.id, username=u.username, display_name=u.display_name),
            last_message=last_of.get(dm.id) if dm is not None else None,
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

    Each item is exactly the payload of a live `dm:message` (with "stream" and "cursor"); a
    message changed since (edited, deleted, reacted to) comes once, as it is now, at its
    newest position. Messages hidden by a moderator are left out.
    """
    mine = and_(
        or_(DirectMessage.recipient_id == user_id, DirectMessage.sender_id == user_id),
        DirectMessage.hidden_at.is_(None),
    )
    async with ctx.sessions() as session:
        # Unchanged messages by id, changed ones by seq: the first `limit` positions after
        # the cursor are among the first `limit` of each.
        fresh = await session.scalars(
            select(DirectMessage)
            .where(mine, DirectMessage.id > cursor, DirectMessage.seq.is_(None))
            .order_by(DirectMessage.id)
            .limit(limit)
        )
        changed = await session.scalars(
            select(DirectMessage)
            .where(mine, DirectMessage.seq > cursor)
            .order_by(DirectMessage.seq)
            .limit(limit)
        )
        rows = sorted([*fresh, *changed], key=_cursor)[:limit]
        outs = await decorate(session, rows, reader=user_id, sign=attachments.signer(ctx))
        return [_event(out, _cursor(m)) for m, out in zip(rows, outs, strict=True)]
