"""Player heartbeats over the socket, and the events media sends to clients."""

from __future__ import annotations

from models.core import clock
from models.core.db import transaction
from models.media import history, service
from models.media.schemas import HistoryEntryOut, IngestEvent, ProgressEvent, ProgressIn
from realtime.registry import SocketCall, events


@events.on(
    "history:heartbeat",
    payload=ProgressIn,
    ack=HistoryEntryOut,
    doc="Where the player is in a film or an episode (every ~10 s while playing, and on "
    "pause/seek/exit); the ack is the saved entry, with `completed` at 90 %.",
)
async def heartbeat(ev: SocketCall) -> HistoryEntryOut:
    body: ProgressIn = ev.payload
    await history.check_heartbeat_rate(ev.ctx, user_id=ev.user_id)
    async with transaction(ev.ctx.sessions) as session:
        target = await service.access_target(
            session, title_id=body.title_id, episode_id=body.episode_id
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


events.emits(
    "media:ingest",
    payload=IngestEvent,
    doc="To the uploader: a transcode was queued, progressed, became ready or failed "
    "(with ffmpeg's reason).",
)
events.emits(
    "history:progress",
    payload=ProgressEvent,
    doc="To the viewer's sockets after each heartbeat, so other devices can resume.",
)
