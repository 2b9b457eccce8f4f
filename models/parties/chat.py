"""Party chat messages as the wire shows them: with the message they quote and their reactions,
at their place on the `party_chat:<party_id>` stream (a changed message's `seq`, else its id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import User
from models.parties import events as ev
from models.parties.schemas import ChatMessageOut, ChatQuoteOut, ChatReactionOut
from models.parties.tables import PartyMessage, PartyMessageReaction

QUOTE_CHARS = 200
MAX_REACTIONS_PER_USER = 10


def position(msg: PartyMessage) -> int:
    return msg.id if msg.seq is None else msg.seq


async def decorate(
    session: AsyncSession, rows: Sequence[tuple[PartyMessage, str]]
) -> list[ChatMessageOut]:
    """(message, author's username) pairs, with quotes and reactions: two queries for all."""
    quote_ids = {m.reply_to_id for m, _ in rows if m.reply_to_id is not None}
    quotes: dict[int, tuple[PartyMessage, str]] = {}
    if quote_ids:
        found = await session.execute(
            select(PartyMessage, User.username)
            .join(User, User.id == PartyMessage.user_id)
            .where(PartyMessage.id.in_(quote_ids))
        )
        quotes = {m.id: (m, name) for m, name in found.all()}
    reactions: dict[int, list[PartyMessageReaction]] = {}
    ids = [m.id for m, _ in rows if m.deleted_at is None]
    if ids:
        for r in await session.scalars(
            select(PartyMessageReaction)
            .where(PartyMessageReaction.message_id.in_(ids))
            .order_by(PartyMessageReaction.created_at, PartyMessageReaction.user_id)
        ):
            reactions.setdefault(r.message_id, []).append(r)
    return [
        _out(m, name, quotes.get(m.reply_to_id) if m.reply_to_id else None, reactions.get(m.id, []))
        for m, name in rows
    ]


def _out(
    msg: PartyMessage,
    username: str,
    quote: tuple[PartyMessage, str] | None,
    reactions: list[PartyMessageReaction],
) -> ChatMessageOut:
    pid = str(msg.party_id)
    by_emoji: dict[str, list[str]] = {}
    for r in reactions:
        by_emoji.setdefault(r.emoji, []).append(str(r.user_id))
    return ChatMessageOut(
        stream=ev.chat_stream(pid),
        cursor=position(msg),
        id=msg.id,
        party_id=pid,
        user_id=str(msg.user_id),
        username=username,
        text=msg.body,
        client_id=msg.client_id,
        created_at=msg.created_at.isoformat(),
        edited_at=None if msg.edited_at is None else msg.edited_at.isoformat(),
        deleted=msg.deleted_at is not None,
        reply_to=None if quote is None else _quote(*quote),
        reactions=[
            ChatReactionOut(emoji=e, count=len(users), user_ids=users)
            for e, users in by_emoji.items()
        ],
    )


def _quote(q: PartyMessage, username: str) -> ChatQuoteOut:
    deleted = q.deleted_at is not None
    return ChatQuoteOut(
        id=q.id,
        user_id=str(q.user_id),
        username=username,
        text="" if deleted else q.body[:QUOTE_CHARS],
        deleted=deleted,
    )


async def one(session: AsyncSession, msg: PartyMessage) -> ChatMessageOut:
    name = await session.scalar(select(User.username).where(User.id == msg.user_id))
    [out] = await decorate(session, [(msg, name or "")])
    return out


async def since(
    session: AsyncSession, *, party_id: uuid.UUID, cursor: int, limit: int
) -> list[ChatMessageOut]:
    """Oldest first, after `cursor`: new messages by id, changed ones by seq, each once."""
    base = (
        select(PartyMessage, User.username)
        .join(User, User.id == PartyMessage.user_id)
        .where(PartyMessage.party_id == party_id)
    )
    fresh = await session.execute(
        base.where(PartyMessage.id > cursor, PartyMessage.seq.is_(None))
        .order_by(PartyMessage.id)
        .limit(limit)
    )
    changed = await session.execute(
        base.where(PartyMessage.seq > cursor).order_by(PartyMessage.seq).limit(limit)
    )
    pairs = [(m, name) for m, name in [*fresh.all(), *changed.all()]]
    rows = sorted(pairs, key=lambda r: position(r[0]))[:limit]
    return await decorate(session, rows)
