"""Player heartbeats over the socket, and the events media sends to clients."""

from __future__ import annotations

from typing import Any

from models.accounts.tables import Role
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.core.events import staff_room
from models.media import history, service, streams
from models.media.schemas import (
    HistoryEntryOut,
    IngestEvent,
    ProgressEvent,
    ProgressIn,
    StreamStoppedEvent,
)
from realtime.connections import Conn
from realtime.registry import SocketCall, events
from realtime.server import on_connect


@events.on(
    "history:heartbeat",
    payload=ProgressIn,
    ack=HistoryEntryOut,
    doc="Where the player is in a film or an episode (every ~10 s while playing, and on "
    "pause/seek/exit); the ack is the saved entry, with `completed` at 90 %. It keeps this "
    "screen's place among the account's MAX_STREAMS: `stream_stopped` once its owner stopped "
    "it elsewhere, `too_many_streams` when its lapsed place was taken (stop playing).",
)
async def heartbeat(ev: SocketCall) -> HistoryEntryOut:
    body: ProgressIn = ev.payload
    await history.check_heartbeat_rate(ev.ctx, user_id=ev.user_id)
    async with transaction(ev.ctx.sessions) as session:
        target = await service.access_target(
            session, title_id=body.title_id, episode_id=body.episode_id
        )
        await streams.check_stream(
            ev.ctx,
            user_id=ev.user_id,
            session_id=ev.session_id,
            target=target,
            heartbeat=True,
        )
        return await history.do_record_progress(
            session,
            ev.outbox,
            user_id=ev.user_id,
            target=target,
            position_ms=body.position_ms,
            duration_ms=body.duration_ms,
            now_ms=clock.now_ms(),
        )


@on_connect
async def _staff_sockets(ctx: Context, sio: Any, sid: str, conn: Conn) -> None:
    """An editor's or admin's socket hears every transcode (the back office's media pages);
    a role given or taken applies from the next connect."""
    session = await sio.get_session(sid)
    if Role(session.get("role", Role.user)).at_least(Role.editor):
        await sio.enter_room(sid, staff_room())


events.emits(
    "media:ingest",
    payload=IngestEvent,
    doc="To every editor's and admin's sockets (the back office): a film's or episode's "
    "transcode was queued, progressed, became ready or failed (with ffmpeg's reason).",
)
events.emits(
    "playback:stopped",
    payload=StreamStoppedEvent,
    doc="To one screen's sockets (its session) when its owner stopped it from another device "
    "(DELETE /me/streams/{id}): stop playing; its heartbeats are refused until it asks for "
    "playback again.",
)
events.emits(
    "history:progress",
    payload=ProgressEvent,
    doc="To the viewer's sockets after each heartbeat, so other devices can resume.",
)
