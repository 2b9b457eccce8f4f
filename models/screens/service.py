"""My screens: a user's signed-in devices, each registered by its socket, found again on any
process (Redis); remote control of one from another, and handing playback over at one server
instant (the watch party's scheduled start, for one user's devices).

Several of one's own screens play in lockstep by joining one party (membership is per user,
every socket follows the same state); the member's round trip is then the slowest of their
screens in it (models/parties/live.py, screen_rtt), so a scheduled start leaves each of them
time to get there (tests/realtime/test_screens.py)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import orjson

from models.core.clock import now_ms
from models.core.context import Context
from models.core.errors import InvalidInput, NotFound
from models.core.events import user_room
from models.media import streams
from models.screens.schemas import HandoffIn, HandoffOut, ScreenGoneOut, ScreenOut

LEAD_RTT_FACTOR = 1.5
LEAD_MARGIN_MS = 80
DEFAULT_RTT_MS = 250
MAX_SCREENS = 20


@dataclass(frozen=True, slots=True)
class Screen:
    device_id: str
    sid: str
    name: str
    kind: str
    rtt_ms: int | None
    session_id: str | None = None  # its sign-in session (its place among the streams)


def _key(ctx: Context, user_id: uuid.UUID) -> str:
    return ctx.keys("screens", str(user_id))


def _beats(ctx: Context, user_id: uuid.UUID) -> str:
    return ctx.keys("sio", "user", str(user_id))  # realtime/connections.py's heartbeats


async def do_register(
    ctx: Context,
    *,
    user_id: uuid.UUID,
    sid: str,
    session_id: str,
    device_id: str,
    name: str,
    kind: str,
    rtt_ms: int | None,
) -> list[ScreenOut]:
    """This socket is the screen `device_id` (a reconnect of the device replaces its old one)."""
    key = _key(ctx, user_id)
    screens = await _live(ctx, user_id)
    if device_id not in {s.device_id for s in screens} and len(screens) >= MAX_SCREENS:
        raise InvalidInput(f"At most {MAX_SCREENS} screens", code="too_many_screens")
    entry = {"sid": sid, "name": name, "kind": kind, "rtt_ms": rtt_ms, "session": session_id}
    await ctx.redis.hset(key, device_id, orjson.dumps(entry))
    await ctx.redis.expire(key, 30 * 24 * 3600)
    return await list_screens(ctx, user_id=user_id, sid=sid)


# KEYS: the user's screens. ARGV: device_id, its entry as read. Deletes it only if unchanged
# (the device may have registered a newer socket meanwhile).
_FORGET = """
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
"""


async def do_forget_socket(ctx: Context, *, user_id: uuid.UUID, sid: str) -> list[str]:
    """The socket closed (or its process died): its screen is gone, unless the device
    registered a newer socket; my other screens hear `screen:gone` at once."""
    key = _key(ctx, user_id)
    gone: list[str] = []
    for device, value in (await ctx.redis.hgetall(key)).items():
        if orjson.loads(value)["sid"] != sid:
            continue
        device_id = device.decode() if isinstance(device, bytes) else str(device)
        if await ctx.redis.eval(_FORGET, 1, key, device_id, value):
            gone.append(device_id)
            out = ScreenGoneOut(device_id=device_id)
            await ctx.publisher.emit(
                "screen:gone", out.model_dump(mode="json"), room=user_room(user_id)
            )
    return gone


async def _all(ctx: Context, user_id: uuid.UUID) -> list[Screen]:
    raw = await ctx.redis.hgetall(_key(ctx, user_id))
    out = []
    for device, value in raw.items():
        d = orjson.loads(value)
        device_id = device.decode() if isinstance(device, bytes) else str(device)
        out.append(
            Screen(device_id, d["sid"], d["name"], d["kind"], d.get("rtt_ms"), d.get("session"))
        )
    return sorted(out, key=lambda s: s.device_id)


async def _live(ctx: Context, user_id: uuid.UUID) -> list[Screen]:
    """Registered screens whose socket still heartbeats (a dead process's are dropped)."""
    screens = await _all(ctx, user_id)
    if not screens:
        return []
    floor = now_ms() - ctx.settings.socket_stale_ms
    scores = await ctx.redis.zmscore(_beats(ctx, user_id), [s.sid for s in screens])
    live: list[Screen] = []
    dead: list[Screen] = []
    for s, score in zip(screens, scores, strict=True):
        (live if score is not None and score >= floor else dead).append(s)
    if dead:
        await ctx.redis.hdel(_key(ctx, user_id), *[s.device_id for s in dead])
    return live


async def list_screens(ctx: Context, *, user_id: uuid.UUID, sid: str) -> list[ScreenOut]:
    return [
        ScreenOut(
            device_id=s.device_id, name=s.name, kind=s.kind, this=s.sid == sid, socket_id=s.sid
        )
        for s in await _live(ctx, user_id)
    ]


async def access_screen(ctx: Context, *, user_id: uuid.UUID, device_id: str) -> Screen:
    """One of my live screens; anyone else's is not found."""
    for s in await _live(ctx, user_id):
        if s.device_id == device_id:
            return s
    raise NotFound("No such screen of yours is on", code="screen_not_found")


async def mine(ctx: Context, *, user_id: uuid.UUID, sid: str) -> Screen | None:
    for s in await _live(ctx, user_id):
        if s.sid == sid:
            return s
    return None


def plan_handoff(
    source: Screen, target: Screen, h: HandoffIn, now: int, lead_min: int, lead_max: int
) -> HandoffOut:
    """The instant both screens can reach in time (the slower one's round trip), and the
    frame at it: where the source will be then."""
    rtts = [DEFAULT_RTT_MS if s.rtt_ms is None else s.rtt_ms for s in (source, target)]
    lead = max(lead_min, min(lead_max, int(max(rtts) * LEAD_RTT_FACTOR) + LEAD_MARGIN_MS))
    anchor = now + lead
    position = h.position_ms
    if h.playing:
        position += round(max(0, anchor - h.at_server_ms) * h.rate)
    return HandoffOut(
        role="target",
        from_device_id=source.device_id,
        to_device_id=target.device_id,
        title_id=h.title_id,
        episode_id=h.episode_id,
        position_ms=position,
        anchor_server_ms=anchor,
        playing=h.playing,
        rate=h.rate,
    )


async def do_handoff(ctx: Context, *, user_id: uuid.UUID, sid: str, h: HandoffIn) -> HandoffOut:
    """Move playback from this screen to another of mine at one scheduled frame; the source's
    stream place goes to the target when it takes over (models/media/streams.py)."""
    source = await mine(ctx, user_id=user_id, sid=sid)
    if source is None:
        raise InvalidInput("Register this screen first (screen:register)", code="not_a_screen")
    target = await access_screen(ctx, user_id=user_id, device_id=h.to_device_id)
    if target.sid == source.sid:
        raise InvalidInput("That is this screen", code="same_screen")
    if abs(h.at_server_ms - now_ms()) > 60_000:
        raise InvalidInput("at_server_ms is not near the server's clock", code="clock_unsynced")
    s = ctx.settings
    plan = plan_handoff(source, target, h, now_ms(), s.party_lead_min_ms, s.party_lead_max_ms)
    if source.session_id and target.session_id:
        await streams.do_hand_stream_over(
            ctx, user_id=user_id, from_session=source.session_id, to_session=target.session_id
        )
    await ctx.publisher.emit("screen:handoff", plan.model_dump(mode="json"), room=target.sid)
    return plan.model_copy(update={"role": "source"})
