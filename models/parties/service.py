"""Watch-party use cases; the socket events and the HTTP routes both call these.

Live state goes through `LiveParties` (Redis, atomic); history, invitations and chat go to
PostgreSQL. Broadcasts leave after the Redis write (and after the DB commit, where there is
one), through `ctx.publisher`.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from models.accounts.family import max_age_of
from models.accounts.passwords import hash_password, verify_password
from models.accounts.tables import User
from models.catalog.browse import check_media_for
from models.catalog.tables import Episode, Season, Title, TitleKind
from models.core.clock import now, now_ms
from models.core.context import Context, Slot
from models.core.db import transaction
from models.core.errors import Conflict, Forbidden, Gone, InvalidInput, NotFound
from models.core.events import Outbox, party_room, user_room
from models.core.ratelimit import Limit, RateLimiter
from models.core.streams import lock_stream
from models.core.text import check_emoji
from models.media.tables import MediaAsset
from models.notifications.service import do_notify
from models.notifications.tables import NotificationType
from models.parties import chat
from models.parties import events as ev
from models.parties.live import LiveParties, Outcome, Sent, SocketGuard
from models.parties.schemas import (
    MAX_CHAT_CHARS,
    AdmissionOut,
    ChatMessageOut,
    FriendPartyOut,
    PartyPreviewOut,
    PartyStateOut,
    ReactionOut,
    SnapshotOut,
)
from models.parties.state import (
    Admission,
    Admit,
    CatchUp,
    CatchUpPlan,
    Command,
    ControlMode,
    Disconnect,
    End,
    Event,
    Join,
    Knock,
    Media,
    MemberRemoved,
    MemberUpserted,
    PartyEnded,
    PartyState,
    Phase,
    Reconnect,
    Rules,
    ScreensGone,
    SetControlMode,
    SetRoom,
    SetSeriesNext,
    Tick,
    decide,
    is_moderator,
    knock_status,
    new_party,
    plan_catch_up,
)
from models.parties.tables import (
    LeftReason,
    Party,
    PartyInvite,
    PartyMember,
    PartyMessage,
    PartyMessageReaction,
    PartyReaction,
)
from models.social.lists.service import access_playlist
from models.social.lists.tables import PlaylistItem
from models.social.policy import Actor
from models.social.relations import are_friends, friend_ids

log = logging.getLogger("cinema.parties")

CHAT_ON_JOIN = 50
CHAT_REPLAY_MAX = 200
INVITE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


class Rooms(Protocol):
    """What the socket door does for the service: who is in a party's room."""

    async def evict(self, party_id: str, user_id: str) -> None: ...

    async def close(self, party_id: str) -> None: ...


@dataclass
class _Batch:
    """Member changes of one party held back in this process until its batch is sent."""

    version: int = 0  # the newest change made here
    cause: str = ""
    by: str | None = None
    owner: bool = False  # this process sends the batch (the others only back it up)
    timer: asyncio.TimerHandle | None = None


@dataclass
class _Runtime:
    live: LiveParties
    limiter: RateLimiter
    rooms: Rooms | None = None
    timers: dict[str, asyncio.TimerHandle] | None = None
    batches: dict[str, _Batch] = field(default_factory=dict)
    # Batch sends under way: the loop keeps only weak references to tasks.
    sending: set[asyncio.Task[None]] = field(default_factory=set)


_RUNTIME = Slot[_Runtime]("parties.runtime")


def runtime(ctx: Context) -> _Runtime:
    """Per-process helpers bound to the context (the live store caches decoded states)."""
    return ctx.local.get_or_make(
        _RUNTIME,
        lambda: _Runtime(
            live=LiveParties(
                ctx.redis,
                ctx.keys,
                send_at_once=_sent_at_once if ctx.settings.party_state_batch_ms > 0 else None,
            ),
            limiter=RateLimiter(ctx.redis, ctx.keys.prefix),
            timers={},
        ),
    )


def bind_rooms(ctx: Context, rooms: Rooms) -> None:
    runtime(ctx).rooms = rooms


def rules_from(ctx: Context, capacity: int | None) -> Rules:
    s = ctx.settings
    if capacity is not None and capacity > s.party_max_capacity:
        raise InvalidInput(f"capacity must be at most {s.party_max_capacity}")
    return Rules(
        capacity=capacity or s.party_default_capacity,
        wait_timeout_ms=int(s.party_wait_timeout_s * 1000),
        grace_ms=int(s.party_grace_s * 1000),
        lead_min_ms=s.party_lead_min_ms,
        lead_max_ms=s.party_lead_max_ms,
        queue_max=s.party_queue_max,
    )


def _chat_limit(ctx: Context) -> Limit:
    return Limit("party_chat", ctx.settings.party_chat_limit, ctx.settings.party_chat_window_s)


_REACT_LIMIT = Limit("party_react", 30, 10)


def _invite_code() -> str:
    return "".join(secrets.choice(INVITE_ALPHABET) for _ in range(8))


# --- lifecycle --------------------------------------------------------------------------------


async def media_for(
    session: AsyncSession, *, title_id: int | None, episode_id: int | None
) -> Media:
    """The media with its length (the transcoded video's, else the catalog's runtime), which
    tells the party when it ends and moves on to what is up next."""
    if title_id is not None:
        title = await session.get(Title, title_id)
        if title is None:
            raise NotFound("No such title", code="title_not_found")
        return Media(
            kind="title",
            id=title.id,
            duration_ms=await _duration(session, MediaAsset.title_id, title.id, title),
        )
    assert episode_id is not None
    episode = await session.get(Episode, episode_id)
    if episode is None:
        raise NotFound("No such episode", code="episode_not_found")
    return Media(
        kind="episode",
        id=episode.id,
        duration_ms=await _duration(session, MediaAsset.episode_id, episode.id, episode),
    )


async def _duration(
    session: AsyncSession, column: InstrumentedAttribute[int | None], key: int, row: Title | Episode
) -> int | None:
    asset_ms = await session.scalar(
        select(MediaAsset.duration_ms).where(column == key, MediaAsset.revision.is_not(None))
    )
    if asset_ms:
        return int(asset_ms)
    return row.runtime_minutes * 60_000 if row.runtime_minutes else None


async def queue_media_for(
    ctx: Context,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    items: Sequence[tuple[int | None, int | None]],
    playlist_id: int | None,
) -> tuple[Media, ...]:
    """What a member appends: films and episodes as given (a series: its first episode), then
    a playlist's titles in its order (one the member may see)."""
    found: list[Media] = []
    for title_id, episode_id in items:
        found.append(await _playable(session, title_id=title_id, episode_id=episode_id))
    if playlist_id is not None:
        await access_playlist(
            session, actor=Actor(user_id=user_id), playlist_id=playlist_id, need="view"
        )
        title_ids = await session.scalars(
            select(PlaylistItem.title_id)
            .where(PlaylistItem.playlist_id == playlist_id)
            .order_by(PlaylistItem.position)
            .limit(ctx.settings.party_queue_max)
        )
        for tid in list(title_ids):
            found.append(await _playable(session, title_id=tid, episode_id=None))
    return tuple(found)


async def _playable(
    session: AsyncSession, *, title_id: int | None, episode_id: int | None
) -> Media:
    if title_id is not None:
        kind = await session.scalar(select(Title.kind).where(Title.id == title_id))
        if kind is None:
            raise NotFound("No such title", code="title_not_found")
        if kind is TitleKind.series:
            first = await session.scalar(
                select(Episode.id)
                .join(Season, Season.id == Episode.season_id)
                .where(Season.title_id == title_id)
                .order_by(Season.number, Episode.number)
                .limit(1)
            )
            if first is None:
                raise NotFound("This series has no episodes yet", code="episode_not_found")
            return await media_for(session, title_id=None, episode_id=first)
    return await media_for(session, title_id=title_id, episode_id=episode_id)


async def next_episode(session: AsyncSession, *, episode_id: int) -> Media | None:
    """The episode after this one: the next in its season, else the first of the next season."""
    row = (
        await session.execute(
            select(Season.title_id, Season.number, Episode.number)
            .join(Season, Season.id == Episode.season_id)
            .where(Episode.id == episode_id)
        )
    ).one_or_none()
    if row is None:
        return None
    title_id, season_no, episode_no = row
    following = await session.scalar(
        select(Episode.id)
        .join(Season, Season.id == Episode.season_id)
        .where(
            Season.title_id == title_id,
            or_(
                and_(Season.number == season_no, Episode.number > episode_no),
                Season.number > season_no,
            ),
        )
        .order_by(Season.number, Episode.number)
        .limit(1)
    )
    if following is None:
        return None
    return await media_for(session, title_id=None, episode_id=following)


async def do_create_party(
    ctx: Context,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    title_id: int | None,
    episode_id: int | None,
    capacity: int | None = None,
    control_mode: ControlMode = ControlMode.HOST_ONLY,
    host_connected: bool = True,
    party_id: uuid.UUID | None = None,
) -> tuple[Party, PartyState]:
    """A new party with its creator as host.

    `host_connected=False` (HTTP) starts the host's grace period: the party lives on if the
    host's socket joins within it. The socket door picks `party_id` itself, so the host's
    socket is in the party's room before the state says the host is connected.
    """
    media = await media_for(session, title_id=title_id, episode_id=episode_id)
    await check_media_for(
        session,
        max_age=await max_age_of(session, user_id=user_id),
        title_id=title_id,
        episode_id=episode_id,
    )
    rules = rules_from(ctx, capacity)
    party = Party(
        id=party_id or uuid.uuid4(),
        created_by=user_id,
        title_id=title_id,
        episode_id=episode_id,
        invite_code=_invite_code(),
        capacity=rules.capacity,
    )
    session.add(party)
    session.add(PartyMember(party_id=party.id, user_id=user_id, joined_at=now()))
    await session.flush()
    t = now_ms()
    state = new_party(
        party_id=str(party.id), host_id=str(user_id), media=media, now_ms=t, rules=rules
    )
    if control_mode is not ControlMode.HOST_ONLY:
        state = _decided(state, SetControlMode(str(user_id), control_mode), t)
    if not host_connected:
        state = _decided(state, Disconnect(str(user_id)), t)
    if media.kind == "episode":
        following = await next_episode(session, episode_id=media.id)
        state = _decided(state, SetSeriesNext(media.id, following), t)
    await runtime(ctx).live.create(state)
    _schedule(ctx, state)
    return party, state


def _decided(state: PartyState, command: Command, t: int) -> PartyState:
    return decide(state, command, t)[0]


async def access_party(session: AsyncSession, *, party_id: uuid.UUID) -> Party:
    party = await session.get(Party, party_id)
    if party is None:
        raise NotFound("No such party", code="party_not_found")
    return party


async def access_party_for_join(
    ctx: Context,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    party_id: uuid.UUID | None = None,
    invite_code: str | None = None,
    password: str | None = None,
    check_password: bool = False,
) -> Party:
    """The party a user may join: anyone with the code; by id, the invited and members (and
    the host's friends when the host lists it). With `check_password`, a room password is
    asked of those not vetted (invited, or in it before)."""
    if invite_code is not None:
        party = (
            await session.execute(select(Party).where(Party.invite_code == invite_code.upper()))
        ).scalar_one_or_none()
        if party is None:
            raise NotFound("No party has this invite code", code="party_not_found")
    else:
        assert party_id is not None
        party = await access_party(session, party_id=party_id)
        if not await _may_join_by_id(ctx, session, party, user_id):
            # The same answer as a missing party: ids alone reveal nothing.
            raise NotFound("No such party", code="party_not_found")
    if party.ended_at is not None:
        raise Gone("This party has ended", code="party_ended")
    # A child joins only parties on titles within their limit (family controls).
    await check_media_for(
        session,
        max_age=await max_age_of(session, user_id=user_id),
        title_id=party.title_id,
        episode_id=party.episode_id,
    )
    if check_password and party.password_hash is not None:
        if not await is_vetted(ctx, session, party, user_id):
            if not password:
                raise Forbidden("This party asks for its password", code="password_required")
            if not await verify_password(party.password_hash, password):
                raise Forbidden("That is not this party's password", code="wrong_password")
    return party


async def vetted_for_join(
    ctx: Context, session: AsyncSession, party: Party, user_id: uuid.UUID
) -> bool:
    """Whether a room that asks people to knock lets this user straight in; asked of the
    database only when the room does (a join costs no query otherwise)."""
    state = await runtime(ctx).live.load(str(party.id))
    if state is None or state.room.admission is not Admission.KNOCK:
        return True
    return await is_vetted(ctx, session, party, user_id)


async def is_vetted(ctx: Context, session: AsyncSession, party: Party, user_id: uuid.UUID) -> bool:
    """Invited, the creator, or in the party before: no password, no knocking."""
    if party.created_by == user_id:
        return True
    state = await runtime(ctx).live.load(str(party.id))
    if state is not None and state.member(str(user_id)) is not None:
        return True
    invited = await session.scalar(
        select(PartyInvite.id).where(
            PartyInvite.party_id == party.id, PartyInvite.user_id == user_id
        )
    )
    if invited is not None:
        return True
    been = await session.scalar(
        select(PartyMember.id).where(
            PartyMember.party_id == party.id, PartyMember.user_id == user_id
        )
    )
    return been is not None


async def _may_join_by_id(
    ctx: Context, session: AsyncSession, party: Party, user_id: uuid.UUID
) -> bool:
    if party.created_by == user_id:
        return True
    state = await runtime(ctx).live.load(str(party.id))
    if state is not None and state.member(str(user_id)) is not None:
        return True
    invited = await session.scalar(
        select(PartyInvite.id).where(
            PartyInvite.party_id == party.id, PartyInvite.user_id == user_id
        )
    )
    if invited is not None:
        return True
    been = await session.scalar(
        select(PartyMember.id).where(
            PartyMember.party_id == party.id, PartyMember.user_id == user_id
        )
    )
    if been is not None:
        return True
    if party.listed_for_friends and state is not None and state.room.listed:
        return await are_friends(session, uuid.UUID(state.host_id), user_id)
    return False


async def do_join(
    ctx: Context,
    *,
    party: Party,
    user_id: uuid.UUID,
    rtt_ms: int | None = None,
    vetted: bool = True,
    screen: str = "",
) -> Outcome:
    """`vetted=False`: a room that asks people to knock lets this user in only if admitted.
    `screen`: the joining socket (each of a member's screens is waited for on its own)."""
    join = Join(str(user_id), rtt_ms=rtt_ms, vetted=vetted, screen=screen)
    outcome = await runtime(ctx).live.apply(str(party.id), join)
    await _after(ctx, outcome, cause="join", by=str(user_id))
    return outcome


async def do_command(ctx: Context, *, party_id: uuid.UUID, command: Command) -> PartyState:
    """Apply one command from a member; the state machine decides what it may do."""
    outcome = await runtime(ctx).live.apply(str(party_id), command)
    by = getattr(command, "by", None)
    await _after(ctx, outcome, cause=_cause(command), by=by)
    return outcome.state


async def do_catch_up(
    ctx: Context, *, party_id: uuid.UUID, command: CatchUp
) -> tuple[CatchUpPlan, PartyState]:
    """Plan a member's way back onto the timeline (nobody else moves) and mark them as
    catching up, so nobody waits for them meanwhile."""
    outcome = await runtime(ctx).live.apply(str(party_id), command)
    await _after(ctx, outcome, cause="catch_up", by=command.by)
    # The same decision the state machine made: the state it started from, at its instant.
    return plan_catch_up(outcome.before, command, outcome.at_ms), outcome.state


async def _follow_series(ctx: Context, state: PartyState) -> None:
    """A party now on an episode learns which one comes after it (the state machine cannot
    look it up), so a series goes on by itself."""
    media = state.media
    if state.phase is Phase.ENDED or media.kind != "episode" or state.series_next_for == media.id:
        return
    async with transaction(ctx.sessions) as session:
        following = await next_episode(session, episode_id=media.id)
    try:
        outcome = await runtime(ctx).live.apply(state.party_id, SetSeriesNext(media.id, following))
    except (NotFound, Gone):
        return
    await _after(ctx, outcome, cause="series_next", by=None)


async def do_disconnect(
    ctx: Context, *, party_id: str, user_id: str, dead: Sequence[str] = (), floor_ms: int = 0
) -> Outcome:
    """The member's sockets in the party are gone (closed, or dead with their process): their
    grace period starts, unless a socket of theirs entered the party meanwhile.

    `dead` sockets (reconciliation) are taken out of the member's set in the same atomic write,
    unless they heartbeated since `floor_ms`, so a socket closing here, one joining elsewhere or
    a stalled process coming back can never leave a live member disconnected."""
    live = runtime(ctx).live
    guard = SocketGuard(
        live.sockets_key(party_id, user_id),
        tuple(dead),
        beats_key=live.beats_key(user_id),
        floor_ms=floor_ms,
    )
    outcome = await live.apply(party_id, Disconnect(user_id), guard=guard)
    await _after(ctx, outcome, cause="disconnect", by=user_id)
    return outcome


async def do_screens_gone(
    ctx: Context, *, party_id: str, user_id: str, screens: Sequence[str]
) -> Outcome | None:
    """Some of a member's sockets left the party while another stays: the party no longer
    waits for those screens (None: the party is gone)."""
    try:
        outcome = await runtime(ctx).live.apply(party_id, ScreensGone(user_id, tuple(screens)))
    except (NotFound, Gone):
        return None
    await _after(ctx, outcome, cause="screen_gone", by=user_id)
    return outcome


async def do_resume(ctx: Context, *, party_id: str, user_id: str, sid: str) -> bool:
    """A live socket still in the party's room but missing from the member's set: a
    reconciliation took its stalled process for a dead one and disconnected the member. Put it
    back and, through a Reconnect, the member too. False: the member is gone (kicked, left,
    expired, ended) and the caller takes the socket out of the party.

    Race-free with the guarded Disconnects: the socket re-enters the set only while its
    heartbeat is fresh (a closing socket leaves the heartbeats before its close is handled), and
    the Reconnect is written only while the socket is still in the set."""
    live = runtime(ctx).live
    floor = now_ms() - ctx.settings.socket_stale_ms
    if not await live.enter_live(party_id, user_id, sid, floor_ms=floor):
        return True  # closing (its close handles the member) or not heartbeated yet
    guard = SocketGuard(live.sockets_key(party_id, user_id), present=sid)
    try:
        outcome = await live.apply(party_id, Reconnect(user_id), guard=guard)
    except (NotFound, Gone):
        outcome = None
    if outcome is not None:
        await _after(ctx, outcome, cause="reconnect", by=user_id)
        if outcome.changed:
            log.info(
                "party %s: %s was still connected; reconnected",
                party_id,
                user_id,
                extra={"event": "party_resume", "user_id": user_id},
            )
        return outcome.state.phase is not Phase.ENDED and outcome.state.member(user_id) is not None
    return False


async def lock_parties_of_media(
    session: AsyncSession,
    *,
    title_id: int | None = None,
    season_id: int | None = None,
    episode_id: int | None = None,
) -> list[uuid.UUID]:
    """The parties not yet ended on media about to be deleted (a title with its episodes, a
    season's episodes, or one episode). The media rows are locked, so no party starts on
    them before the caller's transaction ends."""
    episodes = select(Episode.id)
    if title_id is not None:
        episodes = episodes.join(Season, Season.id == Episode.season_id).where(
            Season.title_id == title_id
        )
        await session.execute(select(Title.id).where(Title.id == title_id).with_for_update())
    elif season_id is not None:
        episodes = episodes.where(Episode.season_id == season_id)
    else:
        episodes = episodes.where(Episode.id == episode_id)
    episode_ids = list(await session.scalars(episodes.with_for_update(of=Episode)))
    on_media: list[ColumnElement[bool]] = [Party.episode_id.in_(episode_ids)]
    if title_id is not None:
        on_media.append(Party.title_id == title_id)
    found = await session.scalars(select(Party.id).where(Party.ended_at.is_(None), or_(*on_media)))
    return list(found)


async def do_end_for_removed_media(ctx: Context, *, party_ids: Sequence[uuid.UUID]) -> None:
    """After the media's deletion committed: its parties end for every member at once,
    instead of playing on in Redis with their rows gone."""
    for party_id in party_ids:
        try:
            await do_command(ctx, party_id=party_id, command=End(None, reason="media_removed"))
        except (NotFound, Gone):
            pass  # its live state already expired, or it ended meanwhile


def _cause(command: Command) -> str:
    name = type(command).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


async def access_live(ctx: Context, *, party_id: uuid.UUID, user_id: uuid.UUID) -> PartyState:
    """The live state, for its members only."""
    state = await runtime(ctx).live.get(str(party_id))
    if state.member(str(user_id)) is None:
        raise Forbidden("You are not a member of this party", code="not_member")
    return state


async def snapshot(
    ctx: Context,
    session: AsyncSession,
    *,
    party: Party,
    state: PartyState,
    user_id: uuid.UUID,
    chat_after: int | None,
) -> SnapshotOut:
    """What a (re)joining member needs: the state, and the chat since its cursor."""
    if chat_after is None:
        chat = await list_chat(session, party_id=party.id, before=None, limit=CHAT_ON_JOIN)
        chat.reverse()
        truncated = False
    else:
        chat = await chat_since(
            session, party_id=party.id, cursor=chat_after, limit=CHAT_REPLAY_MAX + 1
        )
        truncated = len(chat) > CHAT_REPLAY_MAX
        chat = chat[:CHAT_REPLAY_MAX]
    return SnapshotOut(
        state=ev.state_view(state, server_ms=now_ms(), members=True, queue=True),
        invite_code=party.invite_code,
        chat=chat,
        chat_truncated=truncated,
    )


async def preview(
    ctx: Context, *, party: Party, state: PartyState | None = None, user_id: uuid.UUID | None = None
) -> PartyPreviewOut:
    """What someone sees before joining: the media, how full it is, how it lets people in, and
    (for `user_id`) where their knock stands."""
    state = state or await runtime(ctx).live.get(str(party.id))
    view = ev.state_view(state, server_ms=now_ms(), members=False)
    return PartyPreviewOut(
        party_id=view.party_id,
        media=view.media,
        host_id=view.host_id,
        members=len(state.members),
        capacity=state.rules.capacity,
        full=len(state.members) >= state.rules.capacity,
        phase=state.phase,
        admission=state.room.admission,
        password_required=party.password_hash is not None,
        knock=None if user_id is None else knock_status(state, str(user_id)),
    )


async def do_invite(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    party: Party,
    by: uuid.UUID,
    user_id: uuid.UUID,
) -> None:
    """A member invites a friend: joining by id is then open to them, and they are told."""
    await access_live(ctx, party_id=party.id, user_id=by)
    if await session.get(User, user_id) is None:
        raise NotFound("No such user", code="user_not_found")
    if not await are_friends(session, by, user_id):
        raise Forbidden(
            "You can invite your friends; others need the invite code", code="not_friends"
        )
    await session.execute(
        pg_insert(PartyInvite)
        .values(party_id=party.id, user_id=user_id, invited_by=by)
        .on_conflict_do_nothing()
    )
    title = await _media_name(session, party)
    await do_notify(
        ctx,
        session,
        outbox,
        user_id=user_id,
        type=NotificationType.party_invite,
        data={"party_id": str(party.id), "invite_code": party.invite_code, "title": title},
        actor_id=by,
        dedupe_key=f"party_invite:{party.id}:{user_id}",
    )


async def _media_name(session: AsyncSession, party: Party, media: Media | None = None) -> str:
    """The title (or episode) the party plays now, else the one it started with."""
    title_id = party.title_id if media is None else (media.id if media.kind == "title" else None)
    episode_id = (
        party.episode_id if media is None else (media.id if media.kind == "episode" else None)
    )
    if title_id is not None:
        return str(await session.scalar(select(Title.title).where(Title.id == title_id)))
    episode = await session.get(Episode, episode_id)
    return episode.title if episode is not None else "an episode"


# --- after a state change ---------------------------------------------------------------------


async def _after(ctx: Context, outcome: Outcome, *, cause: str, by: str | None) -> None:
    if not outcome.changed:
        return
    state, events = outcome.state, outcome.events
    _schedule(ctx, state)
    removed = [e for e in events if isinstance(e, MemberRemoved)]
    gone = {r.user_id for r in removed}
    # New stays: first joins, and members who expired and came back in the same decision.
    joined = [
        e.member.user_id
        for e in events
        if isinstance(e, MemberUpserted)
        and (outcome.before.member(e.member.user_id) is None or e.member.user_id in gone)
    ]
    ended = next((e for e in events if isinstance(e, PartyEnded)), None)
    if joined or removed or ended:
        await _record_membership(ctx, state.party_id, joined, removed, ended)
    if ev.needs_broadcast(events):
        await _broadcast(ctx, outcome, cause=cause, by=by)
    rooms = runtime(ctx).rooms
    for r in removed:
        await ctx.publisher.emit(
            ev.LEFT, {"party_id": state.party_id, "reason": r.reason}, room=user_room(r.user_id)
        )
        if rooms is not None:
            await rooms.evict(state.party_id, r.user_id)
    if ended is not None:
        for m in state.members:
            await ctx.publisher.emit(
                ev.LEFT, {"party_id": state.party_id, "reason": "ended"}, room=user_room(m.user_id)
            )
        if rooms is not None:
            await rooms.close(state.party_id)
        await _tell_admission(ctx, state.party_id, outcome.before.room.knocking, "ended")
    if state.media != outcome.before.media:
        try:
            await _follow_series(ctx, state)
        except Exception:
            log.exception("party %s: looking up the next episode failed", state.party_id)


# A process that holds a batch without sending it (another one does) sends it itself this
# long after the window, if nobody has: the sender may have died meanwhile.
BATCH_BACKSTOP_MS = 500


async def _broadcast(ctx: Context, outcome: Outcome, *, cause: str, by: str | None) -> None:
    """Tell the room. Member-list changes wait for the party's batch (one `party:state` per
    window for all of them, from whichever process); any other change goes at once, with the
    member changes made so far."""
    state, window_ms = outcome.state, ctx.settings.party_state_batch_ms
    if window_ms <= 0:  # each change at once, its own changes only (as before batching)
        view = ev.broadcast_view(
            outcome.before, state, outcome.events, server_ms=now_ms(), cause=cause, by=by
        )
        await ctx.publisher.emit(
            ev.STATE, view.model_dump(mode="json"), room=party_room(state.party_id)
        )
        return
    if ev.members_only(outcome.events):
        await _hold(ctx, state, cause=cause, by=by, window_ms=window_ms)
    elif outcome.sent is not None:  # claimed by the write itself (_sent_at_once)
        await _emit(ctx, state, outcome.sent, cause=cause, by=by)
    else:
        await _send(ctx, state, cause=cause, by=by)


def _sent_at_once(events: list[Event]) -> bool:
    return ev.needs_broadcast(events) and not ev.members_only(events)


async def _hold(
    ctx: Context, state: PartyState, *, cause: str, by: str | None, window_ms: int
) -> None:
    rt = runtime(ctx)
    party_id = state.party_id
    batch = rt.batches.setdefault(party_id, _Batch())
    if state.version > batch.version:
        batch.version, batch.cause, batch.by = state.version, cause, by
    if batch.owner:
        return  # our send, due within the window, reads the state after this change
    # Become the party's sender for this window, unless another process is: it clears the mark
    # before reading the state it sends, so a change written before our try is in it.
    if await rt.live.mark_due(party_id, ttl_ms=window_ms + BATCH_BACKSTOP_MS):
        batch.owner = True
        delay_ms = window_ms
    elif batch.timer is None:
        delay_ms = window_ms + BATCH_BACKSTOP_MS
    else:
        return
    if batch.timer is not None:
        batch.timer.cancel()

    def start_send() -> None:
        task = asyncio.ensure_future(_send_batch(ctx, party_id))
        rt.sending.add(task)
        task.add_done_callback(rt.sending.discard)

    batch.timer = asyncio.get_running_loop().call_later(delay_ms / 1000, start_send)


async def _send_batch(ctx: Context, party_id: str) -> None:
    rt = runtime(ctx)
    batch = rt.batches.pop(party_id, None)
    if batch is None:
        return
    try:
        if batch.owner:
            await rt.live.clear_due(party_id)
        state = await rt.live.load(party_id)
        if state is None:
            return
        # The cause and author of the newest change, when it is ours (and the one sent).
        mine = state.version == batch.version
        await _send(
            ctx, state, cause=batch.cause if mine else "members", by=batch.by if mine else None
        )
    except Exception:
        log.exception("party %s: sending its member changes failed", party_id)


async def _send(ctx: Context, state: PartyState, *, cause: str, by: str | None) -> None:
    """The state to the room, unless a process sent this version or a newer one already."""
    sent = await runtime(ctx).live.claim_broadcast(state)
    if sent is not None:
        await _emit(ctx, state, sent, cause=cause, by=by)


async def _emit(ctx: Context, state: PartyState, sent: Sent, *, cause: str, by: str | None) -> None:
    view = ev.sent_view(state, sent, server_ms=now_ms(), cause=cause, by=by)
    await ctx.publisher.emit(
        ev.STATE, view.model_dump(mode="json"), room=party_room(state.party_id)
    )


async def _record_membership(
    ctx: Context,
    party_id: str,
    joined: Sequence[str],
    removed: Sequence[MemberRemoved],
    ended: PartyEnded | None,
) -> None:
    pid = uuid.UUID(party_id)
    at = now()
    try:
        async with transaction(ctx.sessions) as session:
            for r in removed:
                await session.execute(
                    update(PartyMember)
                    .where(
                        PartyMember.party_id == pid,
                        PartyMember.user_id == uuid.UUID(r.user_id),
                        PartyMember.left_at.is_(None),
                    )
                    .values(left_at=at, left_reason=LeftReason(r.reason))
                )
            for user_id in joined:
                session.add(PartyMember(party_id=pid, user_id=uuid.UUID(user_id), joined_at=at))
            if ended is not None:
                await session.execute(
                    update(PartyMember)
                    .where(PartyMember.party_id == pid, PartyMember.left_at.is_(None))
                    .values(left_at=at, left_reason=LeftReason.ended)
                )
                await session.execute(
                    update(Party)
                    .where(Party.id == pid, Party.ended_at.is_(None))
                    .values(ended_at=at, ended_reason=ended.reason)
                )
    except Exception:
        # The live state already moved on; a gap in the history must not undo it.
        log.exception("party %s: recording membership failed", party_id)


# --- deadlines ----------------------------------------------------------------------------------


def _schedule(ctx: Context, state: PartyState) -> None:
    """A precise local timer for the next deadline (the sweeper covers crashed processes)."""
    rt = runtime(ctx)
    assert rt.timers is not None
    old = rt.timers.pop(state.party_id, None)
    if old is not None:
        old.cancel()
    deadline = state.next_deadline_ms()
    if deadline is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    delay = max(0.0, (deadline - now_ms()) / 1000) + 0.005
    rt.timers[state.party_id] = loop.call_later(
        delay, lambda: asyncio.ensure_future(_tick(ctx, state.party_id))
    )


async def _tick(ctx: Context, party_id: str) -> None:
    rt = runtime(ctx)
    assert rt.timers is not None
    rt.timers.pop(party_id, None)
    try:
        outcome = await rt.live.apply(party_id, Tick())
    except NotFound:
        await ctx.redis.zrem(rt.live.deadlines_key, party_id)
        return
    await _after(ctx, outcome, cause="tick", by=None)


async def do_sweep(ctx: Context, *, limit: int = 100) -> int:
    """Apply every passed deadline (waiting timeouts, grace periods); returns how many."""
    due = await runtime(ctx).live.due(limit)
    for party_id in due:
        try:
            await _tick(ctx, party_id)
        except Exception:
            log.exception("party %s: tick failed", party_id)
    return len(due)


# --- rooms ------------------------------------------------------------------------------------


async def do_knock(ctx: Context, *, party: Party, user_id: uuid.UUID) -> PartyState:
    """Ask to be admitted; the host and co-hosts see `knocking` in the party's state."""
    return await do_command(ctx, party_id=party.id, command=Knock(str(user_id)))


async def do_admit(
    ctx: Context, *, party_id: uuid.UUID, by: uuid.UUID, user_id: uuid.UUID, admit: bool
) -> PartyState:
    """Admit (or turn away) someone knocking; they hear it on `party:admission`."""
    state = await do_command(ctx, party_id=party_id, command=Admit(str(by), str(user_id), admit))
    await _tell_admission(
        ctx, str(party_id), [str(user_id)], "admitted" if admit else "turned_away"
    )
    return state


async def _tell_admission(
    ctx: Context,
    party_id: str,
    user_ids: Sequence[str],
    reason: Literal["admitted", "turned_away", "room_open", "ended"],
) -> None:
    admitted = reason in ("admitted", "room_open")
    for user_id in user_ids:
        await ctx.publisher.emit(
            ev.ADMISSION,
            AdmissionOut(party_id=party_id, admitted=admitted, reason=reason).model_dump(
                mode="json"
            ),
            room=user_room(user_id),
        )


async def do_set_room(
    ctx: Context,
    *,
    party_id: uuid.UUID,
    by: uuid.UUID,
    admission: Admission | None = None,
    slow_mode_s: int | None = None,
    listed: bool | None = None,
    password: str | None = None,
) -> PartyState:
    """Room settings (host or co-host; listing: the host). `password=""` removes it. What
    PostgreSQL holds (the password's hash, the listing) is written first, once the live state
    says the caller may, so the state never claims a password the database lacks."""
    live = runtime(ctx).live
    command = SetRoom(
        str(by),
        admission=admission,
        slow_mode_s=slow_mode_s,
        listed=listed,
        has_password=None if password is None else bool(password),
    )
    decide(await live.get(str(party_id)), command, now_ms())  # refuses what it would refuse
    if password is not None or listed is not None:
        values: dict[str, object] = {}
        if password is not None:
            values["password_hash"] = await hash_password(password) if password else None
        if listed is not None:
            values["listed_for_friends"] = listed
        async with transaction(ctx.sessions) as session:
            await session.execute(update(Party).where(Party.id == party_id).values(**values))
    outcome = await live.apply(str(party_id), command)
    await _after(ctx, outcome, cause=_cause(command), by=str(by))
    # Opening the door lets in everyone who was knocking: they are told to join now, rather
    # than waiting for an answer that would never come.
    let_in = [u for u in outcome.before.room.knocking if u not in outcome.state.room.knocking]
    if let_in:
        await _tell_admission(ctx, str(party_id), let_in, "room_open")
    return outcome.state


async def list_friends_parties(
    ctx: Context, session: AsyncSession, *, user_id: uuid.UUID, limit: int = 50
) -> list[FriendPartyOut]:
    """Live parties whose host is a friend and listed them ("Ann is watching Alien")."""
    friends = await friend_ids(session, user_id=user_id)
    if not friends:
        return []
    candidates = list(
        (
            await session.execute(
                select(Party)
                .join(PartyMember, PartyMember.party_id == Party.id)
                .where(
                    Party.listed_for_friends,
                    Party.ended_at.is_(None),
                    PartyMember.user_id.in_(friends),
                    PartyMember.left_at.is_(None),
                )
                .distinct()
                .limit(limit * 4)
            )
        ).scalars()
    )
    friend_set = {str(f) for f in friends}
    out: list[FriendPartyOut] = []
    for party in candidates:
        state = await runtime(ctx).live.load(str(party.id))
        if (
            state is None
            or state.phase is Phase.ENDED
            or not state.room.listed
            or state.host_id not in friend_set
            or str(user_id) in state.banned
        ):
            continue
        host_name = await _username(session, uuid.UUID(state.host_id))
        out.append(
            FriendPartyOut(
                **(await preview(ctx, party=party, state=state)).model_dump(),
                host_username=host_name,
                media_name=await _media_name(session, party, state.media),
            )
        )
        if len(out) >= limit:
            break
    return out


# --- chat and reactions -------------------------------------------------------------------------


def check_chat_text(text: str) -> str:
    """Trimmed, NFC, no control characters except newlines, 1..MAX_CHAT_CHARS characters."""
    text = unicodedata.normalize("NFC", text).strip()
    if not text:
        raise InvalidInput("A message needs some text", code="empty_message")
    if len(text) > MAX_CHAT_CHARS:
        raise InvalidInput(f"At most {MAX_CHAT_CHARS} characters", code="message_too_long")
    if any(unicodedata.category(c) == "Cc" and c != "\n" for c in text):
        raise InvalidInput("Control characters are not allowed", code="invalid_text")
    return text


async def do_chat(
    ctx: Context,
    session: AsyncSession,
    *,
    party_id: uuid.UUID,
    user_id: uuid.UUID,
    text: str,
    client_id: str | None,
    reply_to_id: int | None = None,
) -> tuple[ChatMessageOut, bool]:
    """Store a member's message; (message, created). A retried client_id returns the first."""
    state = await access_live(ctx, party_id=party_id, user_id=user_id)
    if state.phase is Phase.ENDED:
        raise Gone("This party has ended", code="party_ended")
    if str(user_id) in state.room.muted:
        raise Forbidden("The host muted you in this party's chat", code="muted")
    text = check_chat_text(text)
    if client_id is not None:
        existing = await session.scalar(
            select(PartyMessage).where(
                PartyMessage.party_id == party_id,
                PartyMessage.user_id == user_id,
                PartyMessage.client_id == client_id,
            )
        )
        if existing is not None:
            return await chat.one(session, existing), False
    await runtime(ctx).limiter.hit(
        _chat_limit(ctx), f"{party_id}:{user_id}", message="Too many messages"
    )
    if state.room.slow_mode_s and not is_moderator(state, str(user_id)):
        await runtime(ctx).limiter.hit(
            Limit(f"party_slow_{state.room.slow_mode_s}", 1, state.room.slow_mode_s),
            f"{party_id}:{user_id}",
            message=f"Slow mode: one message every {state.room.slow_mode_s} s",
        )
    if reply_to_id is not None:
        quoted = await session.get(PartyMessage, reply_to_id)
        if quoted is None or quoted.party_id != party_id:
            raise NotFound("No such message in this party's chat", code="message_not_found")
    msg = PartyMessage(
        party_id=party_id,
        user_id=user_id,
        client_id=client_id,
        body=text,
        reply_to_id=reply_to_id,
        media_kind=state.media.kind,
        media_id=state.media.id,
        position_ms=round(state.position_at(now_ms())),
    )
    await lock_stream(session, ev.chat_stream(str(party_id)))  # id order = commit order
    session.add(msg)
    await session.flush()
    await session.refresh(msg, ["created_at"])
    return await chat.one(session, msg), True


async def _access_chat_message(
    ctx: Context, session: AsyncSession, *, party_id: uuid.UUID, user_id: uuid.UUID, message_id: int
) -> tuple[PartyState, PartyMessage]:
    """A message of the party's chat, locked, for a member who may still chat."""
    state = await access_live(ctx, party_id=party_id, user_id=user_id)
    if state.phase is Phase.ENDED:
        raise Gone("This party has ended", code="party_ended")
    msg = await session.scalar(
        select(PartyMessage)
        .where(PartyMessage.id == message_id, PartyMessage.party_id == party_id)
        .with_for_update()
    )
    if msg is None:
        raise NotFound("No such message in this party's chat", code="message_not_found")
    return state, msg


async def _chat_changed(session: AsyncSession, msg: PartyMessage) -> ChatMessageOut:
    """A changed message takes the next place on its party's stream (commit order)."""
    await lock_stream(session, ev.chat_stream(str(msg.party_id)))
    msg.seq = await session.scalar(
        select(func.nextval(func.pg_get_serial_sequence("party_messages", "id")))
    )
    await session.flush()
    return await chat.one(session, msg)


async def do_edit_chat(
    ctx: Context,
    session: AsyncSession,
    *,
    party_id: uuid.UUID,
    user_id: uuid.UUID,
    message_id: int,
    text: str,
) -> tuple[ChatMessageOut, bool]:
    """The author rewrites their message (shown edited); (message, changed)."""
    state, msg = await _access_chat_message(
        ctx, session, party_id=party_id, user_id=user_id, message_id=message_id
    )
    if msg.user_id != user_id:
        raise Forbidden("Only its author can edit a message", code="not_your_message")
    if msg.deleted_at is not None:
        raise Gone("This message was deleted", code="message_deleted")
    if str(user_id) in state.room.muted:
        raise Forbidden("The host muted you in this party's chat", code="muted")
    text = check_chat_text(text)
    if msg.body == text:
        return await chat.one(session, msg), False
    msg.body = text
    msg.edited_at = now()
    return await _chat_changed(session, msg), True


async def do_delete_chat(
    ctx: Context, session: AsyncSession, *, party_id: uuid.UUID, user_id: uuid.UUID, message_id: int
) -> tuple[ChatMessageOut, bool]:
    """Deleted for everyone, by its author or the host or a co-host: a tombstone stays."""
    state, msg = await _access_chat_message(
        ctx, session, party_id=party_id, user_id=user_id, message_id=message_id
    )
    if msg.user_id != user_id and not is_moderator(state, str(user_id)):
        raise Forbidden(
            "Only its author, the host or a co-host can delete a message", code="not_your_message"
        )
    if msg.deleted_at is not None:
        return await chat.one(session, msg), False
    msg.body = ""
    msg.deleted_at = now()
    await session.execute(
        delete(PartyMessageReaction).where(PartyMessageReaction.message_id == msg.id)
    )
    return await _chat_changed(session, msg), True


async def do_react_chat(
    ctx: Context,
    session: AsyncSession,
    *,
    party_id: uuid.UUID,
    user_id: uuid.UUID,
    message_id: int,
    emoji: str,
    on: bool,
) -> tuple[ChatMessageOut, bool]:
    """An emoji on a chat message (or taken back); kept, unlike party:react."""
    emoji = check_emoji(emoji)
    state, msg = await _access_chat_message(
        ctx, session, party_id=party_id, user_id=user_id, message_id=message_id
    )
    if msg.deleted_at is not None:
        raise Gone("This message was deleted", code="message_deleted")
    if str(user_id) in state.room.muted:
        raise Forbidden("The host muted you in this party's chat", code="muted")
    if on:
        count = await session.scalar(
            select(func.count()).where(
                PartyMessageReaction.message_id == msg.id, PartyMessageReaction.user_id == user_id
            )
        )
        if int(count or 0) >= chat.MAX_REACTIONS_PER_USER:
            raise Conflict(
                f"At most {chat.MAX_REACTIONS_PER_USER} reactions on one message",
                code="too_many_reactions",
            )
        await runtime(ctx).limiter.hit(_REACT_LIMIT, f"{party_id}:{user_id}", message="Slow down")
        result = await session.execute(
            pg_insert(PartyMessageReaction)
            .values(message_id=msg.id, user_id=user_id, emoji=emoji)
            .on_conflict_do_nothing()
        )
    else:
        result = await session.execute(
            delete(PartyMessageReaction).where(
                PartyMessageReaction.message_id == msg.id,
                PartyMessageReaction.user_id == user_id,
                PartyMessageReaction.emoji == emoji,
            )
        )
    if not getattr(result, "rowcount", 0):
        return await chat.one(session, msg), False
    return await _chat_changed(session, msg), True


async def publish_chat(ctx: Context, message: ChatMessageOut) -> None:
    """After the commit: every member hears it, with its cursor."""
    await ctx.publisher.emit(
        ev.CHAT, message.model_dump(mode="json"), room=party_room(message.party_id)
    )


async def _username(session: AsyncSession, user_id: uuid.UUID) -> str:
    name = await session.scalar(select(User.username).where(User.id == user_id))
    return name or ""


async def list_chat(
    session: AsyncSession, *, party_id: uuid.UUID, before: int | None, limit: int
) -> list[ChatMessageOut]:
    """Newest first, older than `before`."""
    q = (
        select(PartyMessage, User.username)
        .join(User, User.id == PartyMessage.user_id)
        .where(PartyMessage.party_id == party_id)
        .order_by(PartyMessage.id.desc())
        .limit(limit)
    )
    if before is not None:
        q = q.where(PartyMessage.id < before)
    rows = [(m, name) for m, name in (await session.execute(q)).all()]
    return await chat.decorate(session, rows)


async def chat_since(
    session: AsyncSession, *, party_id: uuid.UUID, cursor: int, limit: int
) -> list[ChatMessageOut]:
    """Oldest first, newer than `cursor`: what a reconnecting member missed (a message
    changed since comes once, as it is now)."""
    return await chat.since(session, party_id=party_id, cursor=cursor, limit=limit)


async def replay_party_chat(
    ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, *, party_id: uuid.UUID
) -> list[dict[str, object]]:
    """The `party_chat:<party_id>` stream for `sync:resume` (INTERFACES.md), members only."""
    await access_live(ctx, party_id=party_id, user_id=user_id)
    async with transaction(ctx.sessions) as session:
        items = await chat_since(session, party_id=party_id, cursor=cursor, limit=limit)
    return [m.model_dump(mode="json") for m in items]


async def do_react(
    ctx: Context, *, party_id: uuid.UUID, user_id: uuid.UUID, emoji: str
) -> ReactionOut:
    """A reaction to the picture: broadcast now, and kept with where in the media it happened
    (a friend watching later sees it at the same moment)."""
    state = await access_live(ctx, party_id=party_id, user_id=user_id)
    emoji = check_emoji(emoji)
    await runtime(ctx).limiter.hit(_REACT_LIMIT, f"{party_id}:{user_id}", message="Slow down")
    t = now_ms()
    position = round(state.position_at(t))
    if state.phase is not Phase.ENDED:
        async with transaction(ctx.sessions) as session:
            session.add(
                PartyReaction(
                    party_id=party_id,
                    user_id=user_id,
                    emoji=emoji,
                    media_kind=state.media.kind,
                    media_id=state.media.id,
                    position_ms=position,
                )
            )
    out = ReactionOut(
        party_id=str(party_id), user_id=str(user_id), emoji=emoji, server_ms=t, position_ms=position
    )
    await ctx.publisher.emit(ev.REACT, out.model_dump(mode="json"), room=party_room(party_id))
    return out


def current_view(state: PartyState, *, members: bool = False, queue: bool = False) -> PartyStateOut:
    return ev.state_view(state, server_ms=now_ms(), members=members, queue=queue)
