"""Watch-party socket events: parse, authorize, call models.parties.service, ack.

Room membership is per socket, and so is readiness (each of a member's screens is waited for
on its own, in the party state); everything else (roles, grace) belongs to the user and lives
in the party state. Each process remembers which of its sockets sit in which party; Redis
holds every party's sockets per user, so a kick on one process evicts sockets on all, and a
member whose sockets all died with their process is found and disconnected
(models/parties/reconcile.py). A member taken for dead while their process only stalled is put
back at the process's next heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections.abc import AsyncIterator, Callable, Container
from typing import Any

from models.core.clock import now_ms
from models.core.context import Context, Slot
from models.core.db import transaction
from models.core.errors import NotFound
from models.core.events import party_room
from models.parties import events as party_events
from models.parties import reconcile, service
from models.parties.live import SOCKETS_TTL_S
from models.parties.schemas import (
    AdmissionOut,
    AdmitIn,
    AutoplayIn,
    CatchUpIn,
    CatchUpOut,
    CatchUpPlanOut,
    ChatAckOut,
    ChatEditIn,
    ChatIn,
    ChatMessageOut,
    ChatMessageRefIn,
    ChatReactIn,
    CohostIn,
    ControlModeIn,
    CreatedOut,
    CreatePartyIn,
    JoinPartyIn,
    KnockIn,
    LeftOut,
    MediaIn,
    MemberRefIn,
    MuteIn,
    PartyPreviewOut,
    PartyRefIn,
    PartyStateOut,
    PreviewIn,
    QueueAddIn,
    QueueItemRefIn,
    QueueMoveIn,
    RateIn,
    ReactIn,
    ReactionOut,
    ReadinessIn,
    RoomIn,
    RttIn,
    SeekIn,
    SnapshotOut,
    TimeSyncIn,
    TimeSyncOut,
    WaitForMeIn,
)
from models.parties.state import (
    Buffering,
    CatchUp,
    ChangeMedia,
    Command,
    End,
    Kick,
    Leave,
    Mute,
    Next,
    Pause,
    Play,
    QueueAccept,
    QueueAdd,
    QueueMove,
    QueueRemove,
    Ready,
    ReportRtt,
    Seek,
    SetAutoplay,
    SetCohost,
    SetControlMode,
    SetRate,
    SetWaits,
    TransferHost,
)
from realtime.connections import Conn, Connections
from realtime.liveness import on_process_dead
from realtime.registry import SocketCall, events
from realtime.server import on_disconnect, on_heartbeat, on_start

log = logging.getLogger("cinema.parties")
SWEEP_EVERY_S = 1.0
TRACK_TTL_S = SOCKETS_TTL_S


class SioRooms:
    """Party rooms over python-socketio, with the sockets of each member tracked in Redis."""

    def __init__(self, ctx: Context, sio: Any) -> None:
        self.ctx = ctx
        self.sio = sio
        self.local: dict[str, set[str]] = {}  # our sid -> party ids
        self.users: dict[str, str] = {}  # our sid -> its user, while it is in a party
        # Entering a party and putting a socket back (heal) never interleave for one socket.
        self._locks: dict[str, asyncio.Lock] = {}
        # The parties this process has sockets in, also in Redis: if the process dies, they
        # are the ones to reconcile (realtime/liveness.py).
        self.index_key = process_parties_key(ctx, sio.manager.proc)
        self._indexed: set[str] = set()

    def lock(self, sid: str) -> asyncio.Lock:
        return self._locks.setdefault(sid, asyncio.Lock())

    def _key(self, party_id: str, user_id: str) -> str:
        return service.runtime(self.ctx).live.sockets_key(party_id, user_id)

    async def enter(self, sid: str, party_id: str, user_id: str) -> None:
        """Put the socket in the room and in the member's set: before the member is marked
        connected, so reconciliation never takes a joining member for a dead one."""
        await self.sio.enter_room(sid, party_room(party_id), namespace="/")
        key = self._key(party_id, user_id)
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(key, sid)
            pipe.expire(key, TRACK_TTL_S)
            if party_id not in self._indexed:
                pipe.sadd(self.index_key, party_id)
                pipe.expire(self.index_key, TRACK_TTL_S)
            await pipe.execute()
        self._indexed.add(party_id)
        self.local.setdefault(sid, set()).add(party_id)
        self.users[sid] = user_id

    async def leave_socket(self, sid: str, party_id: str, user_id: str) -> int:
        """Forget one socket; returns how many of the user's sockets remain in the party."""
        await self.sio.leave_room(sid, party_room(party_id), namespace="/")
        parties = self.local.get(sid)
        if parties is not None:
            parties.discard(party_id)
        key = self._key(party_id, user_id)
        live = service.runtime(self.ctx).live
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            pipe.srem(key, sid)
            pipe.scard(key)
            pipe.hdel(live.rtts_key(party_id, user_id), sid)
            _, left, _ = await pipe.execute()
        return int(left)

    async def worst_rtt(self, sid: str, party_id: str, user_id: str, rtt: int | None) -> int | None:
        """The member's round trip for the party: the slowest of their screens in it."""
        live = service.runtime(self.ctx).live
        return await live.screen_rtt(party_id, user_id, sid, rtt, ttl_s=TRACK_TTL_S)

    async def evict(self, party_id: str, user_id: str) -> None:
        key = self._key(party_id, user_id)
        for sid in await self.ctx.redis.smembers(key):
            # python-socketio forwards this to the process holding the socket.
            await self.sio.leave_room(sid, party_room(party_id), namespace="/")
            parties = self.local.get(sid)
            if parties is not None:
                parties.discard(party_id)
        await self.ctx.redis.delete(key)

    async def close(self, party_id: str) -> None:
        await self.sio.close_room(party_room(party_id), namespace="/")

    def parties_of(self, sid: str) -> set[str]:
        return set(self.local.get(sid, ()))

    def forget(self, sid: str) -> None:
        self.local.pop(sid, None)
        self.users.pop(sid, None)
        self._locks.pop(sid, None)

    async def refresh(self, alive: Container[str]) -> int:
        """After a heartbeat: keep our sockets' member sets alive as long as the sockets are (a
        party may outlast the sets' TTL, and an expired set would read as a member with no
        socket), and put back the sockets a reconciliation took out while this process stalled,
        with their members; returns how many were put back."""
        pairs = [
            (sid, party_id, user_id)
            for sid, parties in self.local.items()
            if (user_id := self.users.get(sid)) is not None
            for party_id in parties
        ]
        current = {party_id for _, party_id, _ in pairs}
        gone, self._indexed = self._indexed - current, current
        async with self.ctx.redis.pipeline(transaction=False) as pipe:
            for sid, party_id, user_id in pairs:
                pipe.expire(self._key(party_id, user_id), TRACK_TTL_S)
                pipe.sismember(self._key(party_id, user_id), sid)
            if gone:
                pipe.srem(self.index_key, *gone)
            if current:
                pipe.sadd(self.index_key, *current)  # again: after being taken for dead
                pipe.expire(self.index_key, TRACK_TTL_S)
            replies = await pipe.execute()
        healed = 0
        present_replies = replies[1 : 2 * len(pairs) : 2]
        for (sid, party_id, user_id), present in zip(pairs, present_replies, strict=True):
            if present or sid not in alive:
                continue
            try:
                healed += await self._heal(sid, party_id, user_id)
            except Exception:
                log.exception("party %s: putting back %s failed", party_id, user_id)
        return healed

    async def _heal(self, sid: str, party_id: str, user_id: str) -> bool:
        async with self.lock(sid):
            if party_id not in self.local.get(sid, ()):
                return False  # left or closed meanwhile
            if await service.do_resume(self.ctx, party_id=party_id, user_id=user_id, sid=sid):
                return True
            # Kicked, left, expired or ended while we stalled: not ours to bring back.
            await self.leave_socket(sid, party_id, user_id)
            return False


def process_parties_key(ctx: Context, proc: str) -> str:
    return ctx.keys("sio", "proc", proc, "parties")


_ROOMS = Slot[SioRooms]("parties.rooms")


def rooms_for(ev: SocketCall) -> SioRooms:
    rooms = ev.ctx.local.get(_ROOMS)
    if rooms is None:
        rooms = SioRooms(ev.ctx, ev.server)
        ev.ctx.local.set(_ROOMS, rooms)
        service.bind_rooms(ev.ctx, rooms)
    return rooms


@on_start
async def _start(ctx: Context, sio: Any) -> None:
    """Bind rooms, answer time:sync from memory, and sweep party deadlines every second."""
    rooms = SioRooms(ctx, sio)
    ctx.local.set(_ROOMS, rooms)
    service.bind_rooms(ctx, rooms)
    # time:sync is declared in the registry (validation docs, catalogue), but answered here
    # without the per-event session lookup: t1 must be stamped before any I/O, and a clock
    # ping should cost the server nothing but a dict read.
    sio.on("time:sync", _fast_time_sync(sio), namespace="/")
    try:
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            try:
                await service.do_sweep(ctx)
            except Exception:
                log.exception("party sweep failed")
    finally:
        ctx.local.pop(_ROOMS)


def _fast_time_sync(sio: Any) -> Callable[..., Any]:
    async def handler(sid: str, *args: Any) -> dict[str, Any]:
        # *args: a client may send more than one argument; answer the first like any event.
        t1 = now_ms()
        if not await sio.get_session(sid):
            return {"ok": False, "error": {"code": "unauthorized", "message": "Not connected"}}
        data: Any = args[0] if args else None
        t0 = data.get("t0") if isinstance(data, dict) else None
        # NaN and Infinity cannot be echoed: JSON has no such numbers (JSON.parse throws).
        if (
            not isinstance(t0, int | float)
            or isinstance(t0, bool)
            or not math.isfinite(t0)
            or len(data) != 1
        ):
            return {
                "ok": False,
                "error": {"code": "invalid_payload", "message": 'Send {"t0": <client ms>}'},
            }
        return {"ok": True, "data": {"t0": t0, "t1": t1, "t2": now_ms()}}

    return handler


@on_start
async def _reconcile(ctx: Context, sio: Any) -> None:
    """Give members of crashed processes their Disconnect."""
    while True:
        await asyncio.sleep(ctx.settings.party_reconcile_s)
        try:
            if await reconcile.take_turn(ctx):
                await reconcile.do_reconcile(ctx)
        except Exception:
            log.exception("party reconciliation failed")


@on_heartbeat
async def _heartbeat(ctx: Context, sio: Any, connections: Connections) -> None:
    """Our sockets are fresh again: keep their parties' sets, and undo false disconnects."""
    rooms = ctx.local.get(_ROOMS)
    if rooms is not None:
        await rooms.refresh(connections.local)


@on_process_dead
async def _members_of_dead_process(ctx: Context, proc: str, conns: list[Conn]) -> None:
    """A process died: its members' sockets are out of the heartbeat sets already, so each
    party it had sockets in disconnects those with no socket left (grace, then handover)."""
    key = process_parties_key(ctx, proc)
    party_ids = sorted(str(p) for p in await ctx.redis.smembers(key))
    freed = await reconcile.reconcile_parties(ctx, party_ids)
    await ctx.redis.delete(key)
    log.info(
        "process %s died: %d party members disconnected in %d parties",
        proc,
        freed,
        len(party_ids),
        extra={"event": "party_reconcile", "count": freed},
    )


@on_disconnect
async def _socket_gone(ctx: Context, sio: Any, sid: str, conn: Conn | None) -> None:
    """The user's last socket in a party went away: their grace period starts (another one
    stays: the party stops waiting for this screen)."""
    rooms = ctx.local.get(_ROOMS)
    if rooms is None or conn is None:
        return
    for party_id in rooms.parties_of(sid):
        remaining = await rooms.leave_socket(sid, party_id, conn.user_id)
        try:
            if remaining == 0:
                await service.do_disconnect(ctx, party_id=party_id, user_id=conn.user_id)
            else:  # another screen stays: this one is no longer waited for
                await service.do_screens_gone(
                    ctx, party_id=party_id, user_id=conn.user_id, screens=(sid,)
                )
        except NotFound:
            pass  # the party's live state expired
        except Exception:
            log.exception("party %s: %s's socket leaving failed", party_id, conn.user_id)
    rooms.forget(sid)


# --- server -> client events (declared for the catalogue) -------------------------------------

events.emits(
    party_events.STATE,
    payload=PartyStateOut,
    doc="To the party room after every change of playback, roles or the room, at once; "
    "member-list changes (joins, leaves, readiness) together, one state per 100 ms batch. "
    "Drop versions older than yours. `members` (or `members_delta`) is present only when the "
    "member list changed.",
)
events.emits(
    party_events.CHAT,
    payload=ChatMessageOut,
    doc="To the party room: a chat message, new or changed (edited, deleted, reacted to: the "
    "same id again with a newer cursor; replace the one you have). `cursor` orders the "
    "party_chat stream.",
)
events.emits(
    party_events.REACT, payload=ReactionOut, doc="To the party room: a reaction (not stored)."
)
events.emits(
    party_events.ADMISSION,
    payload=AdmissionOut,
    doc="To a user who knocked: admitted (join now) or turned away by the host or a co-host; "
    "also when the room stops asking people to knock (reason room_open: join now) or the "
    "party ends while they wait (reason ended).",
)
events.emits(
    party_events.LEFT,
    payload=LeftOut,
    doc="To the user: you are no longer in the party (kicked, expired, ended).",
)


# --- client -> server ------------------------------------------------------------------------


@events.on(
    "time:sync",
    payload=TimeSyncIn,
    ack=TimeSyncOut,
    doc="Clock sync (NTP four timestamps): echoes t0 with the server's receive (t1) and send "
    "(t2) times. offset = ((t1 - t0) + (t2 - t3)) / 2; keep the lowest-delay sample.",
)
async def time_sync(ev: SocketCall) -> TimeSyncOut:
    t1 = now_ms()
    return TimeSyncOut(t0=ev.payload.t0, t1=t1, t2=now_ms())


@events.on(
    "party:create",
    payload=CreatePartyIn,
    ack=CreatedOut,
    doc="Create a party for a title or an episode; you are its host and in its room.",
)
async def create(ev: SocketCall) -> CreatedOut:
    p: CreatePartyIn = ev.payload
    party_id, rooms = uuid.uuid4(), rooms_for(ev)
    async with _entered(rooms, ev.sid, str(party_id), str(ev.user_id)):
        async with transaction(ev.ctx.sessions) as session:
            party, state = await service.do_create_party(
                ev.ctx,
                session,
                user_id=ev.user_id,
                title_id=p.title_id,
                episode_id=p.episode_id,
                capacity=p.capacity,
                control_mode=p.control_mode,
                party_id=party_id,
            )
    return CreatedOut(
        party_id=str(party.id),
        invite_code=party.invite_code,
        state=service.current_view(state, members=True),
    )


@events.on(
    "party:join",
    payload=JoinPartyIn,
    ack=SnapshotOut,
    doc="Join by id (invited or member) or invite code; also how a member reconnects. The ack "
    "is the snapshot with the last 50 chat messages, or those after `chat_after`.",
)
async def join(ev: SocketCall) -> SnapshotOut:
    p: JoinPartyIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        party = await service.access_party_for_join(
            ev.ctx,
            session,
            user_id=ev.user_id,
            party_id=p.party_id,
            invite_code=p.invite_code,
            password=p.password,
            check_password=True,
        )
        vetted = await service.vetted_for_join(ev.ctx, session, party, ev.user_id)
    rooms = rooms_for(ev)
    async with _entered(rooms, ev.sid, str(party.id), str(ev.user_id)):
        rtt = await rooms.worst_rtt(ev.sid, str(party.id), str(ev.user_id), p.rtt_ms)
        await service.do_join(
            ev.ctx, party=party, user_id=ev.user_id, rtt_ms=rtt, vetted=vetted, screen=ev.sid
        )
    async with transaction(ev.ctx.sessions) as session:
        # The state may have moved on while we entered the room: send the newest.
        state = await service.access_live(ev.ctx, party_id=party.id, user_id=ev.user_id)
        return await service.snapshot(
            ev.ctx, session, party=party, state=state, user_id=ev.user_id, chat_after=p.chat_after
        )


@contextlib.asynccontextmanager
async def _entered(rooms: SioRooms, sid: str, party_id: str, user_id: str) -> AsyncIterator[None]:
    """In the room and the member's socket set before the state says connected; out again if
    the party refuses (full, banned, ended)."""
    async with rooms.lock(sid):
        already = party_id in rooms.parties_of(sid)
        await rooms.enter(sid, party_id, user_id)
        try:
            yield
        except BaseException:
            if not already:
                await rooms.leave_socket(sid, party_id, user_id)
            raise


@events.on("party:snapshot", payload=PartyRefIn, ack=PartyStateOut, doc="The full state now.")
async def snapshot(ev: SocketCall) -> PartyStateOut:
    state = await service.access_live(ev.ctx, party_id=ev.payload.party_id, user_id=ev.user_id)
    return service.current_view(state, members=True)


@events.on(
    "party:leave",
    payload=PartyRefIn,
    ack=PartyStateOut,
    doc="Leave for good (a host leaving hands over to the longest-present member).",
)
async def leave(ev: SocketCall) -> PartyStateOut:
    return await _command(ev, lambda by: Leave(by))


async def _worst_rtt(ev: SocketCall, rtt: int | None) -> int | None:
    """A report from one of the member's screens, as the slowest of them (see worst_rtt);
    only from a socket in the party's room (anyone else's command is refused anyway)."""
    rooms = rooms_for(ev)
    party_id = str(ev.payload.party_id)
    if rtt is None or party_id not in rooms.parties_of(ev.sid):
        return rtt
    return await rooms.worst_rtt(ev.sid, party_id, str(ev.user_id), rtt)


def _screen(ev: SocketCall) -> str:
    """The socket as one of the member's screens: each is waited for on its own, and the one
    leaving the room is no longer waited for. A socket outside the room (it never joined: it
    would never be seen leaving) speaks for the member as a whole."""
    return ev.sid if str(ev.payload.party_id) in rooms_for(ev).parties_of(ev.sid) else ""


async def _command(
    ev: SocketCall, make: Callable[[str], Command], *, queue: bool = False
) -> PartyStateOut:
    state = await service.do_command(
        ev.ctx, party_id=ev.payload.party_id, command=make(str(ev.user_id))
    )
    return service.current_view(state, queue=queue)


@events.on("party:play", payload=PartyRefIn, ack=PartyStateOut, doc="Play, at a scheduled instant.")
async def play(ev: SocketCall) -> PartyStateOut:
    return await _command(ev, lambda by: Play(by))


@events.on("party:pause", payload=PartyRefIn, ack=PartyStateOut, doc="Pause at the position now.")
async def pause(ev: SocketCall) -> PartyStateOut:
    return await _command(ev, lambda by: Pause(by))


@events.on(
    "party:seek", payload=SeekIn, ack=PartyStateOut, doc="Seek; while playing, scheduled ahead."
)
async def seek(ev: SocketCall) -> PartyStateOut:
    position = ev.payload.position_ms
    return await _command(ev, lambda by: Seek(by, position))


@events.on("party:rate", payload=RateIn, ack=PartyStateOut, doc="Set the playback rate.")
async def rate(ev: SocketCall) -> PartyStateOut:
    value = ev.payload.rate
    return await _command(ev, lambda by: SetRate(by, value))


@events.on(
    "party:buffering",
    payload=ReadinessIn,
    ack=PartyStateOut,
    doc="This screen's player stalled. While playing, the party waits for you (up to the "
    "timeout) unless this screen is catching up or you opted out; `waiting_screens` names it.",
)
async def buffering(ev: SocketCall) -> PartyStateOut:
    rtt, screen = await _worst_rtt(ev, ev.payload.rtt_ms), _screen(ev)
    return await _command(ev, lambda by: Buffering(by, rtt_ms=rtt, screen=screen))


@events.on(
    "party:ready",
    payload=ReadinessIn,
    ack=PartyStateOut,
    doc="This screen's player can play at the party's position. The party waits for you "
    "until every screen of yours in it that was ready is ready again (or has left).",
)
async def ready(ev: SocketCall) -> PartyStateOut:
    rtt, screen = await _worst_rtt(ev, ev.payload.rtt_ms), _screen(ev)
    return await _command(ev, lambda by: Ready(by, rtt_ms=rtt, screen=screen))


@events.on(
    "party:wait_for_me",
    payload=WaitForMeIn,
    ack=PartyStateOut,
    doc="enabled=false: never wait for me when I buffer (I catch up on my own).",
)
async def wait_for_me(ev: SocketCall) -> PartyStateOut:
    enabled = ev.payload.enabled
    return await _command(ev, lambda by: SetWaits(by, enabled))


@events.on("party:rtt", payload=RttIn, ack=PartyStateOut, doc="Report your measured round trip.")
async def rtt(ev: SocketCall) -> PartyStateOut:
    value = await _worst_rtt(ev, ev.payload.rtt_ms)
    assert value is not None
    return await _command(ev, lambda by: ReportRtt(by, value))


@events.on("party:transfer_host", payload=MemberRefIn, ack=PartyStateOut, doc="Host: hand over.")
async def transfer_host(ev: SocketCall) -> PartyStateOut:
    to = str(ev.payload.user_id)
    return await _command(ev, lambda by: TransferHost(by, to))


@events.on(
    "party:kick",
    payload=MemberRefIn,
    ack=PartyStateOut,
    doc="Host: remove a member, who may not come back.",
)
async def kick(ev: SocketCall) -> PartyStateOut:
    target = str(ev.payload.user_id)
    return await _command(ev, lambda by: Kick(by, target))


@events.on(
    "party:control_mode",
    payload=ControlModeIn,
    ack=PartyStateOut,
    doc="Host: host_only or everyone controls playback.",
)
async def control_mode(ev: SocketCall) -> PartyStateOut:
    mode = ev.payload.mode
    return await _command(ev, lambda by: SetControlMode(by, mode))


@events.on(
    "party:media",
    payload=MediaIn,
    ack=PartyStateOut,
    doc="Switch to another title or episode (paused at 0; everyone reloads).",
)
async def media(ev: SocketCall) -> PartyStateOut:
    p: MediaIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        new = await service.media_for(session, title_id=p.title_id, episode_id=p.episode_id)
    return await _command(ev, lambda by: ChangeMedia(by, new))


@events.on(
    "party:queue_add",
    payload=QueueAddIn,
    ack=PartyStateOut,
    doc="Append films, episodes (a series: its first episode) and/or a playlist's titles to "
    "the queue. From someone in control they are accepted; from other members, proposals "
    "that someone in control accepts (party:queue_accept). The ack carries the queue.",
)
async def queue_add(ev: SocketCall) -> PartyStateOut:
    p: QueueAddIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        items = await service.queue_media_for(
            ev.ctx,
            session,
            user_id=ev.user_id,
            items=[(i.title_id, i.episode_id) for i in p.items],
            playlist_id=p.playlist_id,
        )
    return await _command(ev, lambda by: QueueAdd(by, items), queue=True)


@events.on(
    "party:queue_remove",
    payload=QueueItemRefIn,
    ack=PartyStateOut,
    doc="Remove a queue item (those in control: any; a member: their own proposal).",
)
async def queue_remove(ev: SocketCall) -> PartyStateOut:
    item_id = ev.payload.item_id
    return await _command(ev, lambda by: QueueRemove(by, item_id), queue=True)


@events.on(
    "party:queue_move",
    payload=QueueMoveIn,
    ack=PartyStateOut,
    doc="Those in control: move a queue item to `index` (from 0).",
)
async def queue_move(ev: SocketCall) -> PartyStateOut:
    item_id, index = ev.payload.item_id, ev.payload.index
    return await _command(ev, lambda by: QueueMove(by, item_id, index), queue=True)


@events.on(
    "party:queue_accept",
    payload=QueueItemRefIn,
    ack=PartyStateOut,
    doc="Those in control: accept a member's proposal, so the party plays it in its turn.",
)
async def queue_accept(ev: SocketCall) -> PartyStateOut:
    item_id = ev.payload.item_id
    return await _command(ev, lambda by: QueueAccept(by, item_id), queue=True)


@events.on(
    "party:next",
    payload=PartyRefIn,
    ack=PartyStateOut,
    doc="Those in control: move on to what is up next now (the party waits for everyone to "
    "load it, then starts it at one scheduled instant).",
)
async def next_item(ev: SocketCall) -> PartyStateOut:
    return await _command(ev, lambda by: Next(by), queue=True)


@events.on(
    "party:autoplay",
    payload=AutoplayIn,
    ack=PartyStateOut,
    doc="Those in control: whether a series goes on with its next episode when the queue is "
    "empty (on by default).",
)
async def autoplay(ev: SocketCall) -> PartyStateOut:
    enabled = ev.payload.enabled
    return await _command(ev, lambda by: SetAutoplay(by, enabled), queue=True)


@events.on(
    "party:catch_up",
    payload=CatchUpIn,
    ack=CatchUpOut,
    doc="You stalled, rewound or joined late: get back on the timeline without anyone "
    "waiting or moving. Send where your player is (position_ms at at_server_ms, by your clock "
    "model, and the rate it plays at, 0 if stalled); the ack is a plan: from "
    "start_server_ms play from from_position_ms at `rate` (at most 1.25x the party's), and "
    "at until_server_ms go back to the party's rate and send party:ready. Nobody waits for "
    "you meanwhile. A new party:state that moves playback (pause, seek) replaces the plan.",
)
async def catch_up(ev: SocketCall) -> CatchUpOut:
    p: CatchUpIn = ev.payload
    command = CatchUp(str(ev.user_id), p.position_ms, p.at_server_ms, p.rate, _screen(ev))
    plan, state = await service.do_catch_up(ev.ctx, party_id=p.party_id, command=command)
    return CatchUpOut(
        plan=CatchUpPlanOut(
            mode=plan.mode,
            start_server_ms=plan.start_server_ms,
            from_position_ms=plan.from_position_ms,
            rate=plan.rate,
            until_server_ms=plan.until_server_ms,
            rejoin_position_ms=plan.rejoin_position_ms,
        ),
        state=service.current_view(state),
    )


@events.on(
    "party:preview",
    payload=PreviewIn,
    ack=PartyPreviewOut,
    doc="Before joining: what an invite code leads to, how full it is (members, capacity, "
    "full), whether it asks people to knock or for a password.",
)
async def preview(ev: SocketCall) -> PartyPreviewOut:
    async with transaction(ev.ctx.sessions) as session:
        party = await service.access_party_for_join(
            ev.ctx, session, user_id=ev.user_id, invite_code=ev.payload.invite_code
        )
    return await service.preview(ev.ctx, party=party, user_id=ev.user_id)


@events.on(
    "party:knock",
    payload=KnockIn,
    ack=PartyPreviewOut,
    doc="Ask to be let into a party that admits people who knock (party:join answers "
    "admission_required there); with its password if it has one. The host and co-hosts see "
    "you in `knocking`; you hear party:admission, then party:join.",
)
async def knock(ev: SocketCall) -> PartyPreviewOut:
    p: KnockIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        party = await service.access_party_for_join(
            ev.ctx,
            session,
            user_id=ev.user_id,
            party_id=p.party_id,
            invite_code=p.invite_code,
            password=p.password,
            check_password=True,
        )
    state = await service.do_knock(ev.ctx, party=party, user_id=ev.user_id)
    return await service.preview(ev.ctx, party=party, state=state, user_id=ev.user_id)


@events.on(
    "party:admit",
    payload=AdmitIn,
    ack=PartyStateOut,
    doc="Host or co-host: admit (admit=false: turn away) someone knocking.",
)
async def admit(ev: SocketCall) -> PartyStateOut:
    p: AdmitIn = ev.payload
    state = await service.do_admit(
        ev.ctx, party_id=p.party_id, by=ev.user_id, user_id=p.user_id, admit=p.admit
    )
    return service.current_view(state)


@events.on(
    "party:cohost",
    payload=CohostIn,
    ack=PartyStateOut,
    doc="Host: make a member a co-host (enabled=false: no longer). Co-hosts control playback "
    "and the queue, admit, mute and remove members, and change the room.",
)
async def cohost(ev: SocketCall) -> PartyStateOut:
    target, enabled = str(ev.payload.user_id), ev.payload.enabled
    return await _command(ev, lambda by: SetCohost(by, target, enabled))


@events.on(
    "party:mute",
    payload=MuteIn,
    ack=PartyStateOut,
    doc="Host or co-host: mute a member's chat (muted=false: unmute).",
)
async def mute(ev: SocketCall) -> PartyStateOut:
    target, muted = str(ev.payload.user_id), ev.payload.muted
    return await _command(ev, lambda by: Mute(by, target, muted))


@events.on(
    "party:room",
    payload=RoomIn,
    ack=PartyStateOut,
    doc="Host or co-host: how the room lets people in (admission open or knock, a password; "
    "empty removes it), slow mode (seconds between one member's messages, 0: off); the host: "
    "list the party for their friends (off by default).",
)
async def room(ev: SocketCall) -> PartyStateOut:
    p: RoomIn = ev.payload
    state = await service.do_set_room(
        ev.ctx,
        party_id=p.party_id,
        by=ev.user_id,
        admission=p.admission,
        slow_mode_s=p.slow_mode_s,
        listed=p.listed,
        password=p.password,
    )
    return service.current_view(state)


@events.on("party:end", payload=PartyRefIn, ack=PartyStateOut, doc="Host: end the party.")
async def end(ev: SocketCall) -> PartyStateOut:
    return await _command(ev, lambda by: End(by))


@events.on(
    "party:chat",
    payload=ChatIn,
    ack=ChatAckOut,
    doc="Post to the party chat (rate- and length-limited; client_id makes retries safe).",
)
async def chat(ev: SocketCall) -> ChatAckOut:
    p: ChatIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        message, created = await service.do_chat(
            ev.ctx,
            session,
            party_id=p.party_id,
            user_id=ev.user_id,
            text=p.text,
            client_id=p.client_id,
            reply_to_id=p.reply_to_id,
        )
    if created:
        await service.publish_chat(ev.ctx, message)
    return ChatAckOut(message=message)


@events.on(
    "party:chat_edit",
    payload=ChatEditIn,
    ack=ChatAckOut,
    doc="Rewrite your chat message: everyone gets it again on party:chat (same id, newer "
    "cursor, `edited_at` set: show it edited).",
)
async def chat_edit(ev: SocketCall) -> ChatAckOut:
    p: ChatEditIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        message, changed = await service.do_edit_chat(
            ev.ctx,
            session,
            party_id=p.party_id,
            user_id=ev.user_id,
            message_id=p.message_id,
            text=p.text,
        )
    if changed:
        await service.publish_chat(ev.ctx, message)
    return ChatAckOut(message=message)


@events.on(
    "party:chat_delete",
    payload=ChatMessageRefIn,
    ack=ChatAckOut,
    doc="Delete a chat message for everyone (yours; the host or a co-host: anyone's): "
    "everyone gets it again on party:chat with `deleted` and no text.",
)
async def chat_delete(ev: SocketCall) -> ChatAckOut:
    p: ChatMessageRefIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        message, changed = await service.do_delete_chat(
            ev.ctx, session, party_id=p.party_id, user_id=ev.user_id, message_id=p.message_id
        )
    if changed:
        await service.publish_chat(ev.ctx, message)
    return ChatAckOut(message=message)


@events.on(
    "party:chat_react",
    payload=ChatReactIn,
    ack=ChatAckOut,
    doc="Put an emoji on a chat message (on=false: take it back); kept with the message, "
    "unlike party:react. Everyone gets it again on party:chat with its reactions.",
)
async def chat_react(ev: SocketCall) -> ChatAckOut:
    p: ChatReactIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        message, changed = await service.do_react_chat(
            ev.ctx,
            session,
            party_id=p.party_id,
            user_id=ev.user_id,
            message_id=p.message_id,
            emoji=p.emoji,
            on=p.on,
        )
    if changed:
        await service.publish_chat(ev.ctx, message)
    return ChatAckOut(message=message)


@events.on("party:react", payload=ReactIn, ack=ReactionOut, doc="A reaction, broadcast only.")
async def react(ev: SocketCall) -> ReactionOut:
    p: ReactIn = ev.payload
    return await service.do_react(ev.ctx, party_id=p.party_id, user_id=ev.user_id, emoji=p.emoji)
