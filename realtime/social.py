"""Social over the socket: private messages, typing, read receipts, presence."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from models.core.context import Context, Slot
from models.core.db import transaction
from models.core.redis import QueueCommands
from models.moderation.schemas import MessageModeratedEvent
from models.social import presence
from models.social.friends import service as friends
from models.social.friends.schemas import (
    FriendAcceptedEvent,
    FriendRemovedEvent,
    FriendRequestOut,
    PresenceOut,
)
from models.social.messages import service as messages
from models.social.messages.schemas import (
    MessageEvent,
    MessageIn,
    MessageOut,
    ReadEvent,
    ReadOut,
    SocketEditIn,
    SocketMessageRefIn,
    SocketReactionIn,
    SocketReadIn,
    TypingEvent,
    TypingIn,
)
from models.social.policy import Actor
from realtime.connections import Conn
from realtime.liveness import on_process_dead
from realtime.registry import SocketCall, events
from realtime.resume import replayer
from realtime.server import (
    on_connect_commands,
    on_disconnect,
    on_heartbeat,
    on_revived,
    on_start,
)

log = logging.getLogger("cinema.social")

# One presence tracker per process (per Context: tests may run several apps in one process).
_TRACKER = Slot[presence.PresenceTracker]("social.presence_tracker")


def _actor(ev: SocketCall) -> Actor:
    return Actor(ev.user_id, ev.role)


@events.on(
    "dm:send",
    payload=MessageIn,
    ack=MessageOut,
    doc="Send a private message to a friend. Resending the same client_msg_id returns the "
    "stored message (with its id) and delivers nothing twice.",
)
async def dm_send(ev: SocketCall) -> MessageOut:
    msg, _ = await messages.do_send_message(
        ev.ctx,
        ev.outbox,
        actor=_actor(ev),
        to_user_id=ev.payload.to_user_id,
        client_msg_id=ev.payload.client_msg_id,
        text=ev.payload.text,
        reply_to_id=ev.payload.reply_to_id,
        title_id=ev.payload.title_id,
        attachment_id=ev.payload.attachment_id,
    )
    # One publish reaches the recipient's devices and the sender's other devices (the sending
    # socket has the message in its ack), on every process; one per copy when the two sides'
    # copies differ (a title card or image URLs are made for each reader).
    mine = [i for i in ev.outbox.items if i.event == "dm:message"]
    for item in mine:
        ev.outbox.items.remove(item)
    while mine:
        data = mine[0].data
        same = [i for i in mine if i.data == data]
        mine = [i for i in mine if i.data != data]
        await ev.server.emit("dm:message", data, to=[i.room for i in same], skip_sid=ev.sid)
    return msg


@events.on(
    "dm:edit",
    payload=SocketEditIn,
    ack=MessageOut,
    doc="Rewrite a message you sent: both sides get it again on dm:message (a newer cursor, "
    "`edited_at` set: show it edited).",
)
async def dm_edit(ev: SocketCall) -> MessageOut:
    async with transaction(ev.ctx.sessions) as session:
        return await messages.do_edit_message(
            ev.ctx,
            session,
            ev.outbox,
            actor=_actor(ev),
            message_id=ev.payload.message_id,
            text=ev.payload.text,
        )


@events.on(
    "dm:delete",
    payload=SocketMessageRefIn,
    ack=MessageOut,
    doc="Delete a message you sent, for everyone: both sides get it again on dm:message with "
    "`deleted` and no text.",
)
async def dm_delete(ev: SocketCall) -> MessageOut:
    async with transaction(ev.ctx.sessions) as session:
        return await messages.do_delete_message(
            ev.ctx, session, ev.outbox, actor=_actor(ev), message_id=ev.payload.message_id
        )


@events.on(
    "dm:react",
    payload=SocketReactionIn,
    ack=MessageOut,
    doc="Put an emoji on a message of your conversation (on=false: take it back); both sides "
    "get the message again on dm:message with its reactions.",
)
async def dm_react(ev: SocketCall) -> MessageOut:
    p: SocketReactionIn = ev.payload
    async with transaction(ev.ctx.sessions) as session:
        return await messages.do_react(
            ev.ctx,
            session,
            ev.outbox,
            actor=_actor(ev),
            message_id=p.message_id,
            emoji=p.emoji,
            on=p.on,
        )


@events.on("dm:typing", payload=TypingIn, doc="Tell a friend I am (or stopped) typing.")
async def dm_typing(ev: SocketCall) -> None:
    async with ev.ctx.sessions() as session:
        await messages.do_typing(
            ev.ctx,
            session,
            ev.outbox,
            actor=_actor(ev),
            to_user_id=ev.payload.to_user_id,
            typing=ev.payload.typing,
        )


@events.on(
    "dm:read",
    payload=SocketReadIn,
    ack=ReadOut,
    doc="Mark messages from a friend read up to an id; they get a read receipt.",
)
async def dm_read(ev: SocketCall) -> ReadOut:
    async with transaction(ev.ctx.sessions) as session:
        return await messages.do_mark_read(
            session,
            ev.outbox,
            actor=_actor(ev),
            peer_id=ev.payload.peer_user_id,
            up_to_id=ev.payload.up_to_id,
        )


events.emits(
    "dm:message",
    payload=MessageEvent,
    doc='A private message on the "dm" stream: to every device of the recipient and to the '
    "sender's other devices. A message edited, deleted or reacted to comes again (same id, "
    "newer cursor): replace the one you have.",
)
events.emits("dm:typing", payload=TypingEvent, doc="A friend is typing to me (ephemeral).")
events.emits("dm:read", payload=ReadEvent, doc="A read position moved: a receipt, or my own.")
events.emits(
    "dm:moderated",
    payload=MessageModeratedEvent,
    doc="A moderator hid a message of one of my conversations (drop it) or restored it "
    "(fetch the history again).",
)
events.emits(
    "presence:update",
    payload=PresenceOut,
    doc="A friend came online or went offline; drop an update older than one you have (version).",
)
events.emits("friend:request", payload=FriendRequestOut, doc="A friend request to or from me.")
events.emits("friend:accepted", payload=FriendAcceptedEvent, doc="A friendship began.")
events.emits(
    "friend:request_closed",
    payload=FriendRequestOut,
    doc="A request was cancelled (to both sides) or declined (to the decliner's devices).",
)
events.emits("friend:removed", payload=FriendRemovedEvent, doc="A friendship ended.")


@replayer("dm")
async def replay_dm(
    ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, /, *, stream: str
) -> list[dict[str, Any]]:
    """The user's own "dm" stream: what they received and what they sent, by id."""
    return await messages.replay(ctx, user_id, cursor, limit)


# Presence ---------------------------------------------------------------------------------


@on_start
async def _presence(ctx: Context, sio: Any) -> None:
    """This process's presence tracker: refreshes its sockets, sweeps due offline checks."""

    fanout = _PresenceFanout(ctx)
    tracker = presence.PresenceTracker(
        ctx.redis,
        ctx.keys,
        on_change=fanout.publish,
        stale_ms=ctx.settings.socket_stale_ms,
        grace_ms=ctx.settings.presence_grace_ms,
    )
    ctx.local.set(_TRACKER, tracker)
    drain = asyncio.create_task(fanout.run())
    try:
        await tracker.run()
    finally:
        drain.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await drain
        ctx.local.pop(_TRACKER)


class _PresenceFanout:
    """Presence changes told to friends after the connect that caused them, not inside it,
    and together: a batch waits GATHER_S for more changes (whatever came in while one batch
    was looked up goes out with the next too), so a reconnect storm costs a friends query per
    batch, not per user (events carry versions: order between batches does not matter)."""

    BATCH = 500
    # Friends learn of a change this much later; a storm of 500 connects a second then makes
    # ~20 friends queries a second instead of ~70 (each ~0.35 ms of CPU).
    GATHER_S = 0.05

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._pending: list[presence.PresenceChange] = []
        self._wake = asyncio.Event()

    async def publish(self, change: presence.PresenceChange) -> None:
        self._pending.append(change)
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            if len(self._pending) < self.BATCH:
                await asyncio.sleep(self.GATHER_S)
            self._wake.clear()
            while self._pending:
                batch = self._pending[: self.BATCH]
                del self._pending[: self.BATCH]
                try:
                    await friends.do_publish_presence_many(self._ctx, batch)
                except Exception:  # a failed fan-out must not stop presence itself
                    log.exception("presence fan-out failed for %d changes", len(batch))


@on_connect_commands
def _presence_connected(
    ctx: Context, sid: str, conn: Conn
) -> tuple[QueueCommands, Callable[[list[Any]], Awaitable[None]]] | None:
    """Online: one command sent with the socket's records."""
    tracker = ctx.local.get(_TRACKER)
    if tracker is None:
        return None
    return tracker.queue_connected(uuid.UUID(conn.user_id), sid)


@on_disconnect
async def _presence_disconnected(ctx: Context, sio: Any, sid: str, conn: Conn | None) -> None:
    tracker = ctx.local.get(_TRACKER)
    if tracker is not None and conn is not None:
        await tracker.disconnected(uuid.UUID(conn.user_id), sid)


@on_heartbeat
async def _presence_refresh(ctx: Context, sio: Any, connections: Any) -> None:
    """Right after this process heartbeated its sockets: its users' checks pushed past the
    new stale window, one command for all of them."""
    tracker = ctx.local.get(_TRACKER)
    if tracker is not None:
        await tracker.refresh()


@on_process_dead
async def _presence_of_dead_process(ctx: Context, proc: str, conns: list[Conn]) -> None:
    await presence.drop_sockets(
        ctx.redis,
        ctx.keys,
        [(uuid.UUID(c.user_id), c.sid) for c in conns],
        grace_ms=ctx.settings.presence_grace_ms,
    )


@on_revived
async def _presence_back(ctx: Context, sio: Any) -> None:
    tracker = ctx.local.get(_TRACKER)
    if tracker is not None:
        await tracker.reassert()
