"""The nightly cleanup: every step is a bounded delete, so running it twice is the same as
running it once."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import text

from models.core import clock
from models.core.context import Context
from models.core.db import transaction

log = logging.getLogger("cinema.maintenance")

TOKEN_GRACE = timedelta(days=1)
READ_NOTIFICATION_RETENTION = timedelta(days=90)
# Ended watch parties: invites are useless at once, chat is kept a month, the party itself
# (members, history) a quarter.
ENDED_PARTY_CHAT_RETENTION = timedelta(days=30)
ENDED_PARTY_RETENTION = timedelta(days=90)


async def cleanup(ctx: Context) -> dict[str, int]:
    now = clock.now()
    counts: dict[str, int] = {}
    async with transaction(ctx.sessions) as session:
        result = await session.execute(
            text(
                "DELETE FROM account_tokens WHERE expires_at < :cutoff"
                " OR (used_at IS NOT NULL AND used_at < :cutoff)"
            ),
            {"cutoff": now - TOKEN_GRACE},
        )
        counts["tokens"] = int(getattr(result, "rowcount", 0) or 0)
        result = await session.execute(
            text("DELETE FROM notifications WHERE read_at IS NOT NULL AND updated_at < :cutoff"),
            {"cutoff": now - READ_NOTIFICATION_RETENTION},
        )
        counts["notifications"] = int(getattr(result, "rowcount", 0) or 0)
        for name, sql, cutoff in (
            (
                "party_invites",
                "DELETE FROM party_invites i USING parties p"
                " WHERE i.party_id = p.id AND p.ended_at IS NOT NULL",
                None,
            ),
            (
                "party_messages",
                "DELETE FROM party_messages m USING parties p"
                " WHERE m.party_id = p.id AND p.ended_at < :cutoff",
                now - ENDED_PARTY_CHAT_RETENTION,
            ),
            (
                "parties",
                "DELETE FROM parties WHERE ended_at < :cutoff",
                now - ENDED_PARTY_RETENTION,
            ),
        ):
            result = await session.execute(text(sql), {"cutoff": cutoff} if cutoff else {})
            counts[name] = int(getattr(result, "rowcount", 0) or 0)
    counts.update(await _redis_leftovers(ctx))
    return counts


async def _redis_leftovers(ctx: Context) -> dict[str, int]:
    """Sessions expire by TTL, but the per-user index of session ids and the per-user and
    per-session socket sets keep entries of dead sessions and crashed processes."""
    redis = ctx.redis
    sessions = sockets = 0
    async for key in redis.scan_iter(match=ctx.keys("user_sessions", "*"), count=500):
        ids = list(await redis.smembers(key))
        if not ids:
            continue
        async with redis.pipeline(transaction=False) as pipe:
            for sid in ids:
                pipe.exists(ctx.keys("session", sid))
            alive = await pipe.execute()
        dead = [sid for sid, ok in zip(ids, alive, strict=True) if not ok]
        if dead:
            sessions += int(await redis.srem(key, *dead))
    floor = clock.now_ms() - ctx.settings.socket_stale_ms
    for pattern in (ctx.keys("sio", "user", "*"), ctx.keys("sio", "session", "*")):
        async for key in redis.scan_iter(match=pattern, count=500):
            sockets += int(await redis.zremrangebyscore(key, "-inf", floor))
    return {"session_index": sessions, "socket_entries": sockets}
