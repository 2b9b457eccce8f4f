"""Private messages over HTTP: send, history, conversations, unread counts, read receipts."""

from __future__ import annotations

import asyncio
import os
import stat
import time
import uuid

from starlette.responses import FileResponse, RedirectResponse, Response

from http_api.routing import Api, Call, JSONResponse
from http_api.social_common import actor_of, int_param, user_param
from models.core.errors import DomainError, InvalidInput, NotFound
from models.core.pagination import Page
from models.social.friends.schemas import PageQuery
from models.social.messages import attachments, images, service
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
    UploadedOut,
)

api = Api(tags=["social: messages"])
# The images themselves sit beside the other signed media: /media/dm/<token>/<file>.
files = Api(tags=["social: messages"], prefix="")
_NO_STORE = {"Cache-Control": "no-store"}


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
        title_id=call.body.title_id,
        attachment_id=call.body.attachment_id,
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
            call.ctx,
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
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            message_id=int_param(call, "message_id"),
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
            call.ctx,
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
            session,
            actor=actor_of(call),
            cursor=call.query.cursor,
            limit=call.query.limit,
            sign=attachments.signer(call.ctx),
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
            sign=attachments.signer(call.ctx),
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


@api.post(
    "/message-attachments",
    response=UploadedOut,
    status=201,
    errors=(413, 415, 422, 429),
    raw_body=images.TYPES,
)
async def upload_attachment(call: Call) -> UploadedOut:
    """Upload an image to send in a message: the file as the raw request body, its type in
    Content-Type (image/jpeg, image/png or image/webp; the bytes must agree).

    At most 5 MB and 40 megapixels (12000 on a side). It is decoded and encoded again, so
    what is stored has no metadata (no EXIF, no GPS position), and scaled to fit 2560 px.
    Send it with `attachment_id` in a message (POST /messages or dm:send) within a day;
    until then only you can see it.
    """
    user = call.require_user()
    images.check_declared(call.request.headers.get("content-type"))
    declared = call.request.headers.get("content-length")
    limit = images.MAX_BYTES
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise DomainError(
            f"An image may be at most {limit} bytes", code="payload_too_large", status=413
        )
    data = bytearray()
    async for chunk in call.request.stream():
        data += chunk
        if len(data) > limit:
            raise DomainError(
                f"An image may be at most {limit} bytes", code="payload_too_large", status=413
            )
    return await attachments.do_upload(
        call.ctx,
        user_id=user.user_id,
        data=bytes(data),
        declared_type=call.request.headers.get("content-type"),
    )


def _attachment_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(str(call.params["attachment_id"]))
    except ValueError as exc:
        raise InvalidInput("Not a valid attachment id", code="invalid_id") from exc


@api.delete("/message-attachments/{attachment_id}", status=204, errors=(403, 404, 409))
async def discard_attachment(call: Call) -> None:
    """Discard an image you uploaded and did not send (one in a message goes with the message:
    DELETE /messages/{id})."""
    user = call.require_user()
    async with call.transaction() as session:
        await attachments.do_discard(
            call.ctx,
            session,
            call.outbox,
            user_id=user.user_id,
            attachment_id=_attachment_id(call),
        )


@files.get(
    "/media/dm/{token}/{name}",
    auth="none",
    raw_response="image/webp",
    errors=(403, 404, 410),
)
async def attachment_file(call: Call) -> Response:
    """A message's image or its thumbnail by signed URL (as messages carry them).

    The URL is signed for one of the conversation's two members; the image is there only
    while its message is (deleted, or hidden by a moderator, it answers 404).
    """
    try:
        served = await attachments.access_file(
            call.ctx, token=call.params["token"], name=call.params["name"], now_s=int(time.time())
        )
    except DomainError as exc:
        exc.headers = {**exc.headers, **_NO_STORE}
        raise
    headers = {
        "Cache-Control": f"private, max-age={served.max_age_s}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if served.objects is not None and served.key is not None:
        objects, key = served.objects, served.key
        if call.ctx.settings.media_s3_delivery == "redirect":
            url = await asyncio.to_thread(objects.presigned_get, key, expires_s=60)
            return RedirectResponse(
                url, status_code=302, headers={"Cache-Control": "private, max-age=60"}
            )
        try:
            body, _, _ = await asyncio.to_thread(objects.get, key)
        except KeyError as exc:
            raise NotFound("No such image", code="not_found", headers=_NO_STORE) from exc
        return Response(body, headers=headers, media_type=served.content_type)
    assert served.path is not None
    try:
        st = os.stat(served.path)
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(served.path)
    except OSError as exc:
        raise NotFound("No such image", code="not_found", headers=_NO_STORE) from exc
    return FileResponse(
        served.path, headers=headers, media_type=served.content_type, stat_result=st
    )
