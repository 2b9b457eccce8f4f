"""Watching a party again later: its chat and reactions at the moments of the film they happened.

A friend of someone who was in the party (or a member) watching the same title or episode on
their own asks for a window of positions and shows what comes due. Deleted messages are left
out, edited ones show as they are now, and nothing written by someone either side has blocked
is shown.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, true, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from models.accounts.tables import User
from models.core.errors import NotFound
from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from models.parties.schemas import PartyReplayOut, ReplayItemOut, ReplayOut
from models.parties.state import Media
from models.parties.tables import Party, PartyMember, PartyMessage, PartyReaction
from models.social.friends.tables import Block
from models.social.relations import friend_ids

MAX_PARTIES = 50


def _not_blocked(
    author: ColumnElement[uuid.UUID] | InstrumentedAttribute[uuid.UUID], me: uuid.UUID
) -> ColumnElement[bool]:
    """Neither I blocked the author nor the author me."""
    return ~exists().where(
        or_(
            and_(Block.blocker_id == me, Block.blocked_id == author),
            and_(Block.blocker_id == author, Block.blocked_id == me),
        )
    )


async def list_replays(
    session: AsyncSession, *, user_id: uuid.UUID, media: Media
) -> list[PartyReplayOut]:
    """Parties that watched this media with a friend of mine (or me) in them, newest first."""
    friends = await friend_ids(session, user_id=user_id)
    people = [*friends, user_id]
    said = union(
        select(PartyMessage.party_id).where(
            PartyMessage.media_kind == media.kind,
            PartyMessage.media_id == media.id,
            PartyMessage.deleted_at.is_(None),
        ),
        select(PartyReaction.party_id).where(
            PartyReaction.media_kind == media.kind, PartyReaction.media_id == media.id
        ),
    ).subquery()
    parties = list(
        (
            await session.execute(
                select(Party)
                .where(
                    Party.id.in_(select(said.c.party_id)),
                    Party.id.in_(
                        select(PartyMember.party_id).where(PartyMember.user_id.in_(people))
                    ),
                )
                .order_by(Party.created_at.desc())
                .limit(MAX_PARTIES)
            )
        ).scalars()
    )
    out: list[PartyReplayOut] = []
    for party in parties:
        names = list(
            await session.scalars(
                select(User.username)
                .where(
                    User.id.in_(
                        select(PartyMember.user_id).where(
                            PartyMember.party_id == party.id, PartyMember.user_id.in_(friends)
                        )
                    ),
                    _not_blocked(User.id, user_id),
                )
                .order_by(User.username)
            )
        )
        chats = await session.scalar(
            select(func.count()).where(
                PartyMessage.party_id == party.id,
                PartyMessage.media_kind == media.kind,
                PartyMessage.media_id == media.id,
                PartyMessage.deleted_at.is_(None),
            )
        )
        reactions = await session.scalar(
            select(func.count()).where(
                PartyReaction.party_id == party.id,
                PartyReaction.media_kind == media.kind,
                PartyReaction.media_id == media.id,
            )
        )
        out.append(
            PartyReplayOut(
                party_id=str(party.id),
                started_at=party.created_at.isoformat(),
                ended_at=None if party.ended_at is None else party.ended_at.isoformat(),
                friends=names,
                chat_count=int(chats or 0),
                reaction_count=int(reactions or 0),
            )
        )
    return out


async def access_replay(session: AsyncSession, *, user_id: uuid.UUID, party_id: uuid.UUID) -> Party:
    """A party I was in, or one a friend of mine was in; else it is not found (ids reveal
    nothing)."""
    party = await session.get(Party, party_id)
    if party is None:
        raise NotFound("No such party", code="party_not_found")
    friends = await friend_ids(session, user_id=user_id)
    seen = await session.scalar(
        select(PartyMember.id)
        .where(PartyMember.party_id == party_id, PartyMember.user_id.in_([*friends, user_id]))
        .limit(1)
    )
    if seen is None:
        raise NotFound("No such party", code="party_not_found")
    return party


async def replay_window(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    party_id: uuid.UUID,
    media: Media,
    from_ms: int,
    to_ms: int | None,
    limit: int,
    cursor: str | None = None,
) -> ReplayOut:
    """What was said and sent in the party between two positions of the media, in order of
    (position, kind, id); `cursor` goes on after the last item of the page before, so items
    sharing a position across a page boundary come once, however many share it."""
    after = _after_key(cursor) if cursor is not None else None
    await access_replay(session, user_id=user_id, party_id=party_id)
    upper = to_ms if to_ms is not None else 2**62
    chat_rows = (
        await session.execute(
            select(PartyMessage, User.username)
            .join(User, User.id == PartyMessage.user_id)
            .where(
                PartyMessage.party_id == party_id,
                PartyMessage.media_kind == media.kind,
                PartyMessage.media_id == media.id,
                PartyMessage.position_ms >= from_ms,
                PartyMessage.position_ms <= upper,
                PartyMessage.deleted_at.is_(None),
                _not_blocked(PartyMessage.user_id, user_id),
                _past(PartyMessage.position_ms, PartyMessage.id, "chat", after),
            )
            .order_by(PartyMessage.position_ms, PartyMessage.id)
            .limit(limit + 1)
        )
    ).all()
    reaction_rows = (
        await session.execute(
            select(PartyReaction, User.username)
            .join(User, User.id == PartyReaction.user_id)
            .where(
                PartyReaction.party_id == party_id,
                PartyReaction.media_kind == media.kind,
                PartyReaction.media_id == media.id,
                PartyReaction.position_ms >= from_ms,
                PartyReaction.position_ms <= upper,
                _not_blocked(PartyReaction.user_id, user_id),
                _past(PartyReaction.position_ms, PartyReaction.id, "reaction", after),
            )
            .order_by(PartyReaction.position_ms, PartyReaction.id)
            .limit(limit + 1)
        )
    ).all()
    items = [
        ReplayItemOut(
            kind="chat",
            id=m.id,
            position_ms=m.position_ms or 0,
            user_id=str(m.user_id),
            username=name,
            text=m.body,
            edited=m.edited_at is not None,
        )
        for m, name in chat_rows
    ] + [
        ReplayItemOut(
            kind="reaction",
            id=r.id,
            position_ms=r.position_ms,
            user_id=str(r.user_id),
            username=name,
            emoji=r.emoji,
        )
        for r, name in reaction_rows
    ]
    items.sort(key=lambda i: (i.position_ms, i.kind, i.id))
    more = len(items) > limit
    items = items[:limit]
    last = items[-1] if more and items else None
    return ReplayOut(
        party_id=str(party_id),
        items=items,
        next_from_ms=None if last is None else last.position_ms,
        next_cursor=None
        if last is None
        else encode_cursor({"p": last.position_ms, "k": last.kind, "i": last.id}),
    )


_KINDS = ("chat", "reaction")  # the order of kinds at one position


def _after_key(cursor: str) -> tuple[int, str, int]:
    raw = decode_cursor(cursor)
    p, k, i = raw.get("p"), raw.get("k"), raw.get("i")
    if (
        not isinstance(p, int)
        or isinstance(p, bool)
        or not isinstance(i, int)
        or isinstance(i, bool)
        or k not in _KINDS
        or p < 0
        or i < 0
    ):
        raise InvalidCursor()
    return p, str(k), i


def _past(
    position: InstrumentedAttribute[Any],
    row_id: InstrumentedAttribute[Any],
    kind: str,
    after: tuple[int, str, int] | None,
) -> ColumnElement[bool]:
    """Rows of `kind` that sort after the key (position, kind, id) of the last item sent."""
    if after is None:
        return true()
    p, k, i = after
    if k == kind:
        return or_(position > p, and_(position == p, row_id > i))
    if _KINDS.index(kind) > _KINDS.index(k):
        return position >= p  # the same position, a kind that comes later
    return position > p
