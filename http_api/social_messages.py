"""Private messages over HTTP: send, history, conversations, unread counts, read receipts."""

from __future__ import annotations

from starlette.responses import Response

from http_api.routing import Api, Call, JSONResponse
from http_api.social_common import actor_of, user_param
from models.core.pagination import Page
from models.social.friends.schemas import PageQuery
from models.social.messages import service
from models.social.messages.schemas import (
    ConversationOut,
    HistoryQuery,
    MessageIn,
    MessageOut,
    ReadIn,
    ReadOut,
    UnreadOut,
)

api = Api(tags=["social: messages"])


@api.post(
    "/messages", body=MessageIn, response=MessageOut, status=201, errors=(403, 404, 409, 422, 429)
)
async def send_message(call: Call) -> Response:
    """Send a private message to a friend; a resent client_msg_id returns the stored one (200)."""
    msg, created = await service.do_send_message(
        call.ctx,
        call.outbox,
        actor=actor_of(call),
        to_user_id=call.body.to_user_id,
        client_msg_id=call.body.client_msg_id,
        text=call.body.text,
    )
    return JSONResponse(msg.model_dump(mode="json"), status_code=201 if created else 200)


@api.get("/conversations", query=PageQuery, response=Page[ConversationOut])
async def list_conversations(call: Call) -> Page[ConversationOut]:
    """My conversations, latest activity first, with unread counts and read positions."""
    async with call.ctx.sessions() as session:
        return await service.list_conversations(
            session, actor=actor_of(call), cursor=call.query.cursor, limit=call.query.limit
        )


@api.get("/conversations/unread", response=UnreadOut)
async def unread(call: Call) -> UnreadOut:
    """Unread messages in total and per conversation."""
    async with call.ctx.sessions() as session:
        return await service.unread_summary(session, actor=actor_of(call))


@api.get(
    "/conversations/{user_id}/messages",
    query=HistoryQuery,
    response=Page[MessageOut],
    errors=(422,),
)
async def history(call: Call) -> Page[MessageOut]:
    """Messages with one user, newest first."""
    async with call.ctx.sessions() as session:
        return await service.list_history(
            session,
            actor=actor_of(call),
            peer_id=user_param(call),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.post("/conversations/{user_id}/read", body=ReadIn, response=ReadOut, errors=(404, 422))
async def mark_read(call: Call) -> ReadOut:
    """Mark messages up to an id as read; the other side gets a read receipt."""
    async with call.transaction() as session:
        return await service.do_mark_read(
            session,
            call.outbox,
            actor=actor_of(call),
            peer_id=user_param(call),
            up_to_id=call.body.up_to_id,
        )
