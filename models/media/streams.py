"""How many screens an account plays on at once (MAX_STREAMS).

A screen is a session (a signed-in device) that asked for playback or sent a player heartbeat
within STREAM_TTL_S. Screens live in Redis, shared by every process: a sorted set per user
(session -> when it lapses without another heartbeat) and a small hash per screen (device,
what it plays, since when). Taking a place, and refusing one past the limit, is one Lua script,
so two screens starting together on two processes never both get the last place.

A screen stopped by its owner from another device is remembered for an hour: its heartbeats
are refused (409 `stream_stopped`) until it asks for playback again, so it cannot quietly take
its place back. Its player is told at once over its sockets (`playback:stopped`).

A screen that hands its playback to another of mine ("Play on...", models/screens) gives its
place up when the target takes one, in the same script, and is then refused like a stopped
one (409 `stream_handed_over`, which its player takes quietly) until it asks to play again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from models.accounts.service import sessions_of
from models.core.clock import now_ms
from models.core.context import Context
from models.core.errors import Conflict, NotFound
from models.core.events import Outbox, session_room
from models.media.schemas import StreamOut, StreamStoppedEvent
from models.media.service import Target

STOPPED_KEPT_MS = 3600 * 1000
# A handoff's source stays handed over (its heartbeats refused) until it asks to play again;
# a handoff its target never took lapses.
HANDED_KEPT_MS = 3600 * 1000
HANDOFF_KEPT_MS = 5 * 60 * 1000

# KEYS: the user's screens (zset), this screen's hash, this screen's stopped mark, its
# handed-over mark, a handoff to it (the session it came from).
# ARGV: session, now_ms, ttl_ms, max, mode ('play' | 'beat'), device, title_id, episode_id,
# label, the screens' hash prefix, the handed-over marks' prefix, handed_kept_ms.
# Returns {1} taken or kept, {-1} stopped (beat only), {-2} handed over (beat only),
# {0, sessions...} full.
# A handoff's source gives its place up here, in the same script as its target takes one, so
# the two never count twice and the target never finds the account full of itself.
_TAKE = """
local now, ttl = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[5] == 'play' then
  redis.call('DEL', KEYS[3], KEYS[4])
elseif redis.call('EXISTS', KEYS[3]) == 1 then
  return {-1}
end
local from = redis.call('GET', KEYS[5])
if from then
  redis.call('DEL', KEYS[5], KEYS[4])  -- playback handed (back) to this screen
  if from ~= ARGV[1] then
    redis.call('ZREM', KEYS[1], from)
    redis.call('DEL', ARGV[10] .. from)
    redis.call('SET', ARGV[11] .. from, '1', 'PX', tonumber(ARGV[12]))
  end
elseif redis.call('EXISTS', KEYS[4]) == 1 then
  return {-2}
end
local known = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not known and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local out = {0}
  for _, s in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do table.insert(out, s) end
  return out
end
redis.call('ZADD', KEYS[1], now + ttl, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ttl)
local was = redis.call('HMGET', KEYS[2], 'title_id', 'episode_id')
if not known or was[1] ~= ARGV[7] or was[2] ~= ARGV[8] then
  redis.call('HSET', KEYS[2], 'title_id', ARGV[7], 'episode_id', ARGV[8], 'label', ARGV[9],
             'since_ms', ARGV[2])
end
if not known or ARGV[5] == 'play' then
  redis.call('HSET', KEYS[2], 'device', ARGV[6])  -- a heartbeat keeps the name it was given
end
redis.call('HSET', KEYS[2], 'seen_ms', ARGV[2])
redis.call('PEXPIRE', KEYS[2], ttl)
return {1}
"""

# KEYS: the user's screens, the screen's hash, its stopped mark. ARGV: session, now_ms, keep_ms.
_STOP = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[2]))
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('DEL', KEYS[2])
redis.call('SET', KEYS[3], '1', 'PX', tonumber(ARGV[3]))
return 1
"""


@dataclass(frozen=True)
class Playing:
    """What a screen plays, as kept with it."""

    title_id: int
    episode_id: int | None
    label: str
    device_name: str

    @classmethod
    def of(cls, target: Target, *, device_name: str) -> Playing:
        label = target.title.title
        if target.episode is not None and target.season is not None:
            label += f": S{target.season.number}E{target.episode.number}"
        return cls(target.title_id, target.episode_id, label[:300], device_name[:256])


class Streams:
    """The screens of every account, in Redis."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._redis = ctx.redis
        self._take = ctx.redis.register_script(_TAKE)
        self._stop = ctx.redis.register_script(_STOP)

    def _keys(self, user_id: uuid.UUID, session_id: str) -> list[str]:
        k = self._ctx.keys
        return [
            k("streams", user_id),
            k("stream", user_id, session_id),
            k("stream_stopped", session_id),
        ]

    def _handoff_keys(self, user_id: uuid.UUID, session_id: str) -> list[str]:
        k = self._ctx.keys
        return [k("stream_handed", session_id), k("stream_handoff", user_id, session_id)]

    async def hand_over(self, user_id: uuid.UUID, *, from_session: str, to_session: str) -> None:
        """When `to_session` next takes its place, `from_session` gives its own up."""
        key = self._handoff_keys(user_id, to_session)[1]
        await self._redis.set(key, from_session, px=HANDOFF_KEPT_MS)

    async def take(
        self,
        *,
        user_id: uuid.UUID,
        session_id: str,
        playing: Playing,
        mode: str,
        now: int,
        ttl_ms: int,
        limit: int,
    ) -> tuple[int, list[str]]:
        """(1, []) taken, (-1, []) stopped, (-2, []) handed over, (0, sessions of the full
        account)."""
        k = self._ctx.keys
        result = await self._take(
            keys=[*self._keys(user_id, session_id), *self._handoff_keys(user_id, session_id)],
            args=[
                session_id,
                now,
                ttl_ms,
                limit,
                mode,
                playing.device_name,
                playing.title_id,
                "" if playing.episode_id is None else playing.episode_id,
                playing.label,
                k("stream", user_id, ""),
                k("stream_handed", ""),
                HANDED_KEPT_MS,
            ],
        )
        return int(result[0]), [str(s) for s in result[1:]]

    async def list(self, user_id: uuid.UUID, *, now: int) -> list[tuple[str, dict[str, str]]]:
        sessions = await self._redis.zrangebyscore(self._ctx.keys("streams", user_id), now, "+inf")
        out = []
        for session_id in sessions:
            info = await self._redis.hgetall(self._keys(user_id, session_id)[1])
            if info:
                out.append((str(session_id), info))
        return out

    async def stop(self, user_id: uuid.UUID, session_id: str, *, now: int) -> bool:
        return bool(
            await self._stop(
                keys=self._keys(user_id, session_id), args=[session_id, now, STOPPED_KEPT_MS]
            )
        )


def _ms_dt(ms: str) -> datetime:
    return datetime.fromtimestamp(int(ms) / 1000, UTC)


def _out(session_id: str, info: dict[str, str], current: str) -> StreamOut:
    return StreamOut(
        id=session_id,
        device_name=info.get("device", ""),
        title_id=int(info.get("title_id") or 0),
        episode_id=int(info["episode_id"]) if info.get("episode_id") else None,
        title=info.get("label", ""),
        since=_ms_dt(info.get("since_ms", "0")),
        last_seen=_ms_dt(info.get("seen_ms", info.get("since_ms", "0"))),
        current=session_id == current,
    )


async def list_streams(ctx: Context, *, user_id: uuid.UUID, session_id: str) -> list[StreamOut]:
    """The screens playing on my account now, the longest playing first."""
    found = await Streams(ctx).list(user_id, now=now_ms())
    streams = [_out(s, info, session_id) for s, info in found]
    return sorted(streams, key=lambda s: s.since)


async def _device_name(ctx: Context, session_id: str, given: str | None) -> str:
    """What the screen is called: what the player says, else its session's device (a TV's
    name from its device sign-in, a browser's user agent)."""
    if given:
        return given
    found = await sessions_of(ctx).get(session_id)
    return found.user_agent if found is not None and found.user_agent else "Unknown device"


async def check_stream(
    ctx: Context,
    *,
    user_id: uuid.UUID,
    session_id: str,
    target: Target,
    device_name: str | None = None,
    heartbeat: bool,
) -> None:
    """Take (or keep) this screen's place among the account's MAX_STREAMS, or refuse: 409
    `too_many_streams` with the screens playing (stop one with DELETE /me/streams/{id}), or,
    for a heartbeat of a screen its owner stopped, 409 `stream_stopped`."""
    settings = ctx.settings
    streams = Streams(ctx)
    now = now_ms()
    playing = Playing.of(target, device_name=await _device_name(ctx, session_id, device_name))
    outcome, _ = await streams.take(
        user_id=user_id,
        session_id=session_id,
        playing=playing,
        mode="beat" if heartbeat else "play",
        now=now,
        ttl_ms=int(settings.stream_ttl_s * 1000),
        limit=settings.max_streams,
    )
    if outcome == 1:
        return
    if outcome == -1:
        raise Conflict(
            "This screen was stopped from another device; start playback again to resume",
            code="stream_stopped",
        )
    if outcome == -2:
        raise Conflict(
            "This screen handed its playback to another of yours; start playback again to "
            "resume here",
            code="stream_handed_over",
        )
    active = await list_streams(ctx, user_id=user_id, session_id=session_id)
    raise Conflict(
        f"Your account is already playing on {len(active)} screens (at most "
        f"{settings.max_streams} at once): stop one to watch here",
        code="too_many_streams",
        details={
            "max_streams": settings.max_streams,
            "streams": [s.model_dump(mode="json") for s in active],
        },
    )


async def do_hand_stream_over(
    ctx: Context, *, user_id: uuid.UUID, from_session: str, to_session: str
) -> None:
    """Playback moves from one of my screens to another ("Play on..."): once the target takes
    its place (asks for playback, or its next heartbeat), the source's is free and its
    heartbeats are refused (409 `stream_handed_over`) until it asks to play again, so a
    handoff never counts twice. Screens of one session share a place: nothing to move."""
    if from_session != to_session:
        await Streams(ctx).hand_over(user_id, from_session=from_session, to_session=to_session)


async def do_stop_stream(
    ctx: Context, outbox: Outbox, *, user_id: uuid.UUID, stream_id: str
) -> None:
    """Stop one of my screens: its place is free at once and its player is told."""
    if not await Streams(ctx).stop(user_id, stream_id[:64], now=now_ms()):
        raise NotFound("No such screen is playing", code="stream_not_found")
    outbox.emit(
        "playback:stopped",
        StreamStoppedEvent(stream_id=stream_id).model_dump(mode="json"),
        room=session_room(stream_id),
    )
