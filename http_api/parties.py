"""Watch parties over HTTP: the same service as the socket events (models/parties/service.py).

Live playback needs the socket (party:state broadcasts, time:sync); these routes let any
client create, inspect, invite, read and post chat, and give the same commands.
"""

from __future__ import annotations

import uuid
from importlib import resources

from starlette.responses import Response

from http_api.routing import Api, Call
from models.core.errors import InvalidInput
from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from models.parties import replay, service
from models.parties.schemas import (
    AutoplayCmd,
    ChatAckOut,
    ChatPageOut,
    ChatPageQuery,
    ChatPostIn,
    CommandIn,
    ControlModeCmd,
    CreatedOut,
    CreatePartyIn,
    EndCmd,
    FriendPartiesOut,
    InviteIn,
    KickCmd,
    NextCmd,
    PartyPreviewOut,
    PartyReplaysOut,
    PartyStateOut,
    PauseCmd,
    PlayCmd,
    QueueAcceptCmd,
    QueueItemsIn,
    QueueMoveCmd,
    QueueRemoveCmd,
    RateCmd,
    ReplayListQuery,
    ReplayOut,
    ReplayQuery,
    SeekCmd,
    TransferHostCmd,
)
from models.parties.state import (
    Command,
    End,
    Kick,
    Leave,
    Media,
    Next,
    Pause,
    Play,
    QueueAccept,
    QueueAdd,
    QueueMove,
    QueueRemove,
    Seek,
    SetAutoplay,
    SetControlMode,
    SetRate,
    TransferHost,
)

api = Api(tags=["parties"])
assets = Api(tags=["parties"], prefix="")


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise InvalidInput("Not a valid id", code="invalid_id") from exc


@api.post("/parties", body=CreatePartyIn, response=CreatedOut, status=201, errors=(403, 404, 422))
async def create_party(call: Call) -> CreatedOut:
    """Create a party; join it over the socket within the grace period to keep it."""
    user = call.require_user()
    body: CreatePartyIn = call.body
    async with call.transaction() as session:
        party, state = await service.do_create_party(
            call.ctx,
            session,
            user_id=user.user_id,
            title_id=body.title_id,
            episode_id=body.episode_id,
            capacity=body.capacity,
            control_mode=body.control_mode,
            host_connected=False,
        )
    return CreatedOut(
        party_id=str(party.id),
        invite_code=party.invite_code,
        state=service.current_view(state, members=True),
    )


@api.get("/parties/by-code/{code}", response=PartyPreviewOut, errors=(403, 404, 410))
async def party_by_code(call: Call) -> PartyPreviewOut:
    """What an invite code leads to (before joining over the socket)."""
    user = call.require_user()
    async with call.transaction() as session:
        party = await service.access_party_for_join(
            call.ctx, session, user_id=user.user_id, invite_code=call.params["code"]
        )
    return await service.preview(call.ctx, party=party, user_id=user.user_id)


@api.get("/parties/friends", response=FriendPartiesOut)
async def friends_parties(call: Call) -> FriendPartiesOut:
    """Parties your friends host and listed for their friends ("Ann is watching Alien"): join
    them by id."""
    user = call.require_user()
    async with call.transaction() as session:
        items = await service.list_friends_parties(call.ctx, session, user_id=user.user_id)
    return FriendPartiesOut(items=items)


@api.get("/parties/{party_id}", response=PartyStateOut, errors=(403, 404))
async def get_party(call: Call) -> PartyStateOut:
    """The live state with its members (members only)."""
    user = call.require_user()
    state = await service.access_live(
        call.ctx, party_id=_uuid(call.params["party_id"]), user_id=user.user_id
    )
    return service.current_view(state, members=True)


def _to_command(wrapped: CommandIn, by: str) -> Command:
    body = wrapped.root
    if isinstance(body, PlayCmd):
        return Play(by)
    if isinstance(body, PauseCmd):
        return Pause(by)
    if isinstance(body, SeekCmd):
        return Seek(by, body.position_ms)
    if isinstance(body, RateCmd):
        return SetRate(by, body.rate)
    if isinstance(body, TransferHostCmd):
        return TransferHost(by, str(body.user_id))
    if isinstance(body, KickCmd):
        return Kick(by, str(body.user_id))
    if isinstance(body, ControlModeCmd):
        return SetControlMode(by, body.mode)
    if isinstance(body, QueueRemoveCmd):
        return QueueRemove(by, body.item_id)
    if isinstance(body, QueueMoveCmd):
        return QueueMove(by, body.item_id, body.index)
    if isinstance(body, QueueAcceptCmd):
        return QueueAccept(by, body.item_id)
    if isinstance(body, NextCmd):
        return Next(by)
    if isinstance(body, AutoplayCmd):
        return SetAutoplay(by, body.enabled)
    assert isinstance(body, EndCmd)
    return End(by)


@api.post(
    "/parties/{party_id}/commands",
    body=CommandIn,
    response=PartyStateOut,
    errors=(403, 404, 409, 410, 422),
)
async def command(call: Call) -> PartyStateOut:
    """Play, pause, seek, rate, transfer_host, kick, control_mode, end, or the queue's
    queue_remove, queue_move, queue_accept, next and autoplay: as the socket does."""
    user = call.require_user()
    state = await service.do_command(
        call.ctx,
        party_id=_uuid(call.params["party_id"]),
        command=_to_command(call.body, str(user.user_id)),
    )
    return service.current_view(state, queue=call.body.root.type.startswith(("queue", "next")))


@api.post(
    "/parties/{party_id}/queue",
    body=QueueItemsIn,
    response=PartyStateOut,
    errors=(403, 404, 409, 410, 422),
)
async def queue_add(call: Call) -> PartyStateOut:
    """Append films, episodes (a series: its first episode) and/or a playlist's titles to the
    queue, as party:queue_add does; the answer carries the queue."""
    user = call.require_user()
    body: QueueItemsIn = call.body
    async with call.transaction() as session:
        items = await service.queue_media_for(
            call.ctx,
            session,
            user_id=user.user_id,
            items=[(i.title_id, i.episode_id) for i in body.items],
            playlist_id=body.playlist_id,
        )
    state = await service.do_command(
        call.ctx,
        party_id=_uuid(call.params["party_id"]),
        command=QueueAdd(str(user.user_id), items),
    )
    return service.current_view(state, queue=True)


@api.delete("/parties/{party_id}/members/me", status=204, errors=(403, 404, 410))
async def leave_party(call: Call) -> None:
    """Leave the party for good."""
    user = call.require_user()
    await service.do_command(
        call.ctx, party_id=_uuid(call.params["party_id"]), command=Leave(str(user.user_id))
    )


@api.post("/parties/{party_id}/invites", body=InviteIn, status=204, errors=(403, 404))
async def invite(call: Call) -> None:
    """Invite a friend: they are notified and may then join by the party's id."""
    user = call.require_user()
    async with call.transaction() as session:
        party = await service.access_party(session, party_id=_uuid(call.params["party_id"]))
        await service.do_invite(
            call.ctx,
            session,
            call.outbox,
            party=party,
            by=user.user_id,
            user_id=call.body.user_id,
        )


@api.get(
    "/parties/{party_id}/messages", query=ChatPageQuery, response=ChatPageOut, errors=(403, 404)
)
async def list_messages(call: Call) -> ChatPageOut:
    """Party chat, newest first (members only)."""
    user = call.require_user()
    party_id = _uuid(call.params["party_id"])
    await service.access_live(call.ctx, party_id=party_id, user_id=user.user_id)
    q: ChatPageQuery = call.query
    before = None
    if q.cursor is not None:
        raw = decode_cursor(q.cursor).get("before")
        if not isinstance(raw, int):
            raise InvalidCursor()
        before = raw
    async with call.transaction() as session:
        items = await service.list_chat(session, party_id=party_id, before=before, limit=q.limit)
    next_cursor = encode_cursor({"before": items[-1].id}) if len(items) == q.limit else None
    return ChatPageOut(items=items, next_cursor=next_cursor)


@api.post(
    "/parties/{party_id}/messages",
    body=ChatPostIn,
    response=ChatAckOut,
    status=201,
    errors=(403, 404, 410, 422, 429),
)
async def post_message(call: Call) -> ChatAckOut:
    """Post to the party chat (members only; rate- and length-limited)."""
    user = call.require_user()
    body: ChatPostIn = call.body
    async with call.transaction() as session:
        message, created = await service.do_chat(
            call.ctx,
            session,
            party_id=_uuid(call.params["party_id"]),
            user_id=user.user_id,
            text=body.text,
            client_id=body.client_id,
            reply_to_id=body.reply_to_id,
        )
    if created:
        await service.publish_chat(call.ctx, message)
    return ChatAckOut(message=message)


def _replay_media(q: ReplayListQuery | ReplayQuery) -> Media:
    if q.title_id is not None:
        return Media(kind="title", id=q.title_id)
    assert q.episode_id is not None
    return Media(kind="episode", id=q.episode_id)


@api.get("/party-replays", query=ReplayListQuery, response=PartyReplaysOut)
async def party_replays(call: Call) -> PartyReplaysOut:
    """Parties that watched this title or episode with a friend of yours in them: watch it
    'with their party', seeing its chat and reactions at the same moments."""
    user = call.require_user()
    async with call.transaction() as session:
        items = await replay.list_replays(
            session, user_id=user.user_id, media=_replay_media(call.query)
        )
    return PartyReplaysOut(items=items)


@api.get("/parties/{party_id}/replay", query=ReplayQuery, response=ReplayOut, errors=(404, 422))
async def party_replay(call: Call) -> ReplayOut:
    """A party's chat and reactions between two positions of a title or episode it watched,
    in order (deleted messages left out, edits as they are now, nobody either side blocked)."""
    user = call.require_user()
    q: ReplayQuery = call.query
    async with call.transaction() as session:
        return await replay.replay_window(
            session,
            user_id=user.user_id,
            party_id=_uuid(call.params["party_id"]),
            media=_replay_media(q),
            from_ms=q.from_ms,
            to_ms=q.to_ms,
            limit=q.limit,
            cursor=q.cursor,
        )


@assets.get("/static/party-client.js", auth="none", raw_response="text/javascript")
async def party_client_js(call: Call) -> Response:
    """The reference watch-party client (ES module, no dependencies)."""
    source = resources.files("http_api").joinpath("static/party-client.js").read_text()
    return Response(
        source,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=300"},
    )


@assets.get("/parties/demo", auth="none", raw_response="text/html")
async def party_demo(call: Call) -> Response:
    """A watch page built on the reference client (token and options in the URL fragment)."""
    page = resources.files("http_api").joinpath("static/party-demo.html").read_text()
    return Response(page, media_type="text/html")
