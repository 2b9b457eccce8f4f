"""Friends: requests, friendships with live presence, blocks."""

from __future__ import annotations

from http_api.routing import Api, Call
from http_api.social_common import actor_of, int_param, user_param
from models.core.pagination import Page
from models.social.friends import service
from models.social.friends.schemas import (
    BlockIn,
    BlockOut,
    FriendOut,
    FriendRequestIn,
    FriendRequestOut,
    PageQuery,
    RequestsQuery,
)

api = Api(tags=["social: friends"])


@api.post(
    "/friends/requests",
    body=FriendRequestIn,
    response=FriendRequestOut,
    status=201,
    errors=(403, 404, 409, 422, 429),
)
async def send_request(call: Call) -> FriendRequestOut:
    """Ask a user to be friends (if they already asked you, you become friends).

    At most 30 new requests an hour per user; past that, 429 with Retry-After.
    """
    async with call.transaction() as session:
        return await service.do_send_request(
            call.ctx, session, call.outbox, actor=actor_of(call), to_user_id=call.body.user_id
        )


@api.get("/friends/requests", query=RequestsQuery, response=Page[FriendRequestOut])
async def list_requests(call: Call) -> Page[FriendRequestOut]:
    """Open friend requests sent to me (incoming) or by me (outgoing), newest first."""
    async with call.ctx.sessions() as session:
        return await service.list_requests(
            session,
            actor=actor_of(call),
            incoming=call.query.direction == "incoming",
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.post(
    "/friends/requests/{request_id}/accept", response=FriendRequestOut, errors=(403, 404, 409)
)
async def accept_request(call: Call) -> FriendRequestOut:
    """Accept a request sent to me."""
    async with call.transaction() as session:
        return await service.do_accept_request(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            request_id=int_param(call, "request_id"),
        )


@api.post(
    "/friends/requests/{request_id}/decline", response=FriendRequestOut, errors=(403, 404, 409)
)
async def decline_request(call: Call) -> FriendRequestOut:
    """Decline a request sent to me (the sender is not told)."""
    async with call.transaction() as session:
        return await service.do_decline_request(
            session, call.outbox, actor=actor_of(call), request_id=int_param(call, "request_id")
        )


@api.post(
    "/friends/requests/{request_id}/cancel", response=FriendRequestOut, errors=(403, 404, 409)
)
async def cancel_request(call: Call) -> FriendRequestOut:
    """Withdraw a request I sent."""
    async with call.transaction() as session:
        return await service.do_cancel_request(
            session, call.outbox, actor=actor_of(call), request_id=int_param(call, "request_id")
        )


@api.get("/friends", query=PageQuery, response=Page[FriendOut])
async def list_friends(call: Call) -> Page[FriendOut]:
    """My friends, newest first, each with live presence."""
    async with call.ctx.sessions() as session:
        return await service.list_friends(
            call.ctx,
            session,
            actor=actor_of(call),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.delete("/friends/{user_id:uuid}", status=204, errors=(404,))
async def remove_friend(call: Call) -> None:
    """End a friendship (both sides)."""
    async with call.transaction() as session:
        await service.do_remove_friend(
            session, call.outbox, actor=actor_of(call), friend_id=user_param(call)
        )


@api.post("/blocks", body=BlockIn, response=BlockOut, status=201, errors=(404, 422))
async def block(call: Call) -> BlockOut:
    """Block a user: ends the friendship, open requests and shares; stops messages."""
    async with call.transaction() as session:
        return await service.do_block(
            session, call.outbox, actor=actor_of(call), user_id=call.body.user_id
        )


@api.get("/blocks", query=PageQuery, response=Page[BlockOut])
async def list_blocks(call: Call) -> Page[BlockOut]:
    """Users I blocked, newest first."""
    async with call.ctx.sessions() as session:
        return await service.list_blocks(
            session, actor=actor_of(call), cursor=call.query.cursor, limit=call.query.limit
        )


@api.delete("/blocks/{user_id}", status=204, errors=(404,))
async def unblock(call: Call) -> None:
    """Lift a block (friendship is not restored)."""
    async with call.transaction() as session:
        await service.do_unblock(
            session, call.outbox, actor=actor_of(call), user_id=user_param(call)
        )
