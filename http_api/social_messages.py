"""Private messages over HTTP: send, history, conversations, unread counts, read receipts."""

from __future__ import annotations

from starlette.responses import Response

from http_api.routing import Api, Call, JSONResponse
from http_api.social_common import actor_of, int_param, user_param
from models.core.pagination import Page
from models.social.friends.schemas import PageQuery
from models.social.messages import service
from models.social.messages.schemas import (
    ConversationOut,
    HistoryQuery,
    MessageEditIn,
    MessageIn,
    MessageOut,
    ReactionIn,
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
        reply_to_id=call.body.reply_to_id,
    )
    return JSONResponse(msg.model_dump(mode="json"), status_code=201 if created else 200)


@api.patch(
    "/messages/{message_id}",
    body=MessageEditIn,
    response=MessageOut,
    errors=(403, 404, 410, 422),
)
async def edit_message(call: Call) -> MessageOut:
    """Rewrite a message you sent (shown edited); both sides get it live on dm:message."""
    async with call.transaction() as session:
        return await service.do_edit_message(
            session,
            call.outbox,
            actor=actor_of(call),
            message_id=int_param(call, "message_id"),
            text=call.body.text,
        )


@api.delete("/messages/{message_id}", status=204, errors=(403, 404, 422))
async def delete_message(call: Call) -> None:
    """Delete a message you sent, for everyone (a tombstone stays in its place)."""
    async with call.transaction() as session:
        await service.do_delete_message(
            session, call.outbox, actor=actor_of(call), message_id=int_param(call, "message_id")
        )


@api.post(
    "/messages/{message_id}/reactions",
    body=ReactionIn,
    response=MessageOut,
    errors=(403, 404, 409, 410, 422),
)
async def react(call: Call) -> MessageOut:
    """Put an emoji on a message of your conversation, or take it back (`on: false`)."""
    body: ReactionIn = call.body
    async with call.transaction() as session:
        return await service.do_react(
            session,
            call.outbox,
            actor=actor_of(call),
            message_id=int_param(call, "message_id"),
            emoji=body.emoji,
            on=body.on,
        )


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
