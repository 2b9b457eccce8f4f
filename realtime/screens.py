"""My screens over the socket: register this device, list mine, remote-control one from
another, hand playback over at one frame (models/screens/service.py)."""

from __future__ import annotations

import uuid
from typing import Any

from models.core.clock import now_ms
from models.core.context import Context
from models.core.errors import InvalidInput
from models.core.events import user_room
from models.screens import service
from models.screens.schemas import (
    HandoffIn,
    HandoffOut,
    ScreenCommandIn,
    ScreenCommandOut,
    ScreenGoneOut,
    ScreenRegisterIn,
    ScreensOut,
    ScreenStatusIn,
    ScreenStatusOut,
)
from realtime.connections import Conn
from realtime.liveness import on_process_dead
from realtime.registry import SocketCall, events
from realtime.server import on_disconnect
from realtime.system import Empty


@events.on(
    "screen:register",
    payload=ScreenRegisterIn,
    ack=ScreensOut,
    doc="This socket is one of my screens (a stable device_id per device, a name, a kind); "
    "the ack lists my screens that are on.",
)
async def register(ev: SocketCall) -> ScreensOut:
    p: ScreenRegisterIn = ev.payload
    screens = await service.do_register(
        ev.ctx,
        user_id=ev.user_id,
        sid=ev.sid,
        session_id=ev.session_id,
        device_id=p.device_id,
        name=p.name,
        kind=p.kind,
        rtt_ms=p.rtt_ms,
    )
    return ScreensOut(screens=screens)


@events.on("screen:list", payload=Empty, ack=ScreensOut, doc="My screens that are on now.")
async def list_screens(ev: SocketCall) -> ScreensOut:
    return ScreensOut(screens=await service.list_screens(ev.ctx, user_id=ev.user_id, sid=ev.sid))


@events.on(
    "screen:command",
    payload=ScreenCommandIn,
    ack=ScreenCommandOut,
    doc="Remote control: play, pause, seek, volume, audio or subtitle track, stop, or join a "
    "party (several of my screens in lockstep), sent to another of my screens (it hears "
    "screen:command).",
)
async def command(ev: SocketCall) -> ScreenCommandOut:
    p: ScreenCommandIn = ev.payload
    target = await service.access_screen(ev.ctx, user_id=ev.user_id, device_id=p.to_device_id)
    source = await service.mine(ev.ctx, user_id=ev.user_id, sid=ev.sid)
    out = ScreenCommandOut(
        from_device_id=None if source is None else source.device_id,
        action=p.action,
        position_ms=p.position_ms,
        volume=p.volume,
        track=p.track,
        party_id=p.party_id,
    )
    await ev.ctx.publisher.emit("screen:command", out.model_dump(mode="json"), room=target.sid)
    return out


@events.on(
    "screen:status",
    payload=ScreenStatusIn,
    ack=ScreenStatusOut,
    doc="A registered screen says what it plays now (title, position, volume, audio and "
    "subtitle track); my other screens hear screen:status (a remote shows it).",
)
async def status(ev: SocketCall) -> ScreenStatusOut:
    p: ScreenStatusIn = ev.payload
    me = await service.mine(ev.ctx, user_id=ev.user_id, sid=ev.sid)
    if me is None:
        raise InvalidInput("Register this screen first (screen:register)", code="not_a_screen")
    out = ScreenStatusOut(
        device_id=me.device_id,
        title_id=p.title_id,
        episode_id=p.episode_id,
        position_ms=p.position_ms,
        playing=p.playing,
        volume=p.volume,
        audio_track=p.audio_track,
        subtitle_track=p.subtitle_track,
        server_ms=now_ms(),
    )
    await ev.server.emit(
        "screen:status", out.model_dump(mode="json"), room=user_room(ev.user_id), skip_sid=ev.sid
    )
    return out


@events.on(
    "screen:handoff",
    payload=HandoffIn,
    ack=HandoffOut,
    doc="Play on another of my screens: say where this one is (position_ms at at_server_ms); "
    "at the ack's anchor_server_ms this screen stops and the target, told by "
    "screen:handoff, shows position_ms (playing on from there if playing): the same frame.",
)
async def handoff(ev: SocketCall) -> HandoffOut:
    return await service.do_handoff(ev.ctx, user_id=ev.user_id, sid=ev.sid, h=ev.payload)


events.emits("screen:command", payload=ScreenCommandOut, doc="To a screen: do this (remote).")
events.emits(
    "screen:status", payload=ScreenStatusOut, doc="To my other screens: what one of them plays."
)
events.emits(
    "screen:gone",
    payload=ScreenGoneOut,
    doc="To my other screens: this screen closed, or its process died (drop it from the list).",
)
events.emits(
    "screen:handoff",
    payload=HandoffOut,
    doc="To the target screen: at anchor_server_ms show position_ms (and play on if playing).",
)


@on_disconnect
async def _screen_gone(ctx: Context, sio: Any, sid: str, conn: Conn | None) -> None:
    if conn is not None:
        await service.do_forget_socket(ctx, user_id=uuid.UUID(conn.user_id), sid=sid)


@on_process_dead
async def _screens_of_dead_process(ctx: Context, proc: str, conns: list[Conn]) -> None:
    for conn in conns:
        await service.do_forget_socket(ctx, user_id=uuid.UUID(conn.user_id), sid=conn.sid)
