"""Which replayer serves each stream of `sync:resume` (the mechanism is realtime/resume.py)."""

from __future__ import annotations

import uuid
from typing import Any

from models.core.context import Context
from models.core.errors import NotFound
from models.notifications import service as notifications
from models.parties import service as parties
from realtime.resume import replayer


@replayer("notifications")
async def replay_notifications(
    ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, /, *, stream: str
) -> list[dict[str, Any]]:
    async with ctx.sessions() as session:
        return await notifications.replay(session, user_id=user_id, cursor=cursor, limit=limit)


@replayer("party_chat:", prefix=True)
async def replay_party_chat(
    ctx: Context, user_id: uuid.UUID, cursor: int, limit: int, /, *, stream: str
) -> list[dict[str, Any]]:
    try:
        party_id = uuid.UUID(stream.removeprefix("party_chat:"))
    except ValueError:
        raise NotFound("No such party", code="party_not_found") from None
    return await parties.replay_party_chat(ctx, user_id, cursor, limit, party_id=party_id)
