"""Ratings, title likes, comments with replies, comment likes."""

from __future__ import annotations

from http_api.routing import Api, Call
from http_api.social_common import actor_of, int_param
from models.core.pagination import Page
from models.social.reviews import service
from models.social.reviews.schemas import (
    CommentIn,
    CommentLikeOut,
    CommentOut,
    CommentPatch,
    CommentsQuery,
    RatingIn,
    RatingOut,
    TitleSocialOut,
)

api = Api(tags=["social: reviews"])


@api.get("/titles/{title_id}/social", response=TitleSocialOut, auth="optional", errors=(404,))
async def title_social(call: Call) -> TitleSocialOut:
    """Average rating, count, distribution and likes of a title (cached), and mine."""
    return await service.title_social(
        call.ctx, actor=actor_of(call), title_id=int_param(call, "title_id")
    )


@api.put("/titles/{title_id:int}/rating", body=RatingIn, response=RatingOut, errors=(404, 409))
async def rate(call: Call) -> RatingOut:
    """Rate a title 1 to 10 (again to change it).

    409 `rating_conflict` only if other requests of mine kept changing it at the same moment."""
    return await service.do_rate(
        call.ctx, actor=actor_of(call), title_id=int_param(call, "title_id"), score=call.body.score
    )


@api.delete("/titles/{title_id:int}/rating", response=RatingOut, errors=(404,))
async def unrate(call: Call) -> RatingOut:
    """Remove my rating."""
    return await service.do_unrate(
        call.ctx, actor=actor_of(call), title_id=int_param(call, "title_id")
    )


@api.put("/titles/{title_id}/like", response=TitleSocialOut, errors=(404,))
async def like_title(call: Call) -> TitleSocialOut:
    """Like a title (twice counts once)."""
    return await service.do_like_title(
        call.ctx, actor=actor_of(call), title_id=int_param(call, "title_id"), like=True
    )


@api.delete("/titles/{title_id}/like", response=TitleSocialOut, errors=(404,))
async def unlike_title(call: Call) -> TitleSocialOut:
    """Take a like back."""
    return await service.do_like_title(
        call.ctx, actor=actor_of(call), title_id=int_param(call, "title_id"), like=False
    )


@api.get(
    "/titles/{title_id}/comments",
    query=CommentsQuery,
    response=Page[CommentOut],
    auth="optional",
    errors=(404,),
)
async def list_comments(call: Call) -> Page[CommentOut]:
    """Top-level comments on a title, newest first (deleted ones stay as placeholders).

    Signed in, comments by users I blocked are left out (pages stay full).
    """
    async with call.ctx.sessions() as session:
        return await service.list_comments(
            session,
            actor=actor_of(call),
            title_id=int_param(call, "title_id"),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.post(
    "/titles/{title_id}/comments",
    body=CommentIn,
    response=CommentOut,
    status=201,
    errors=(403, 404, 422, 429),
)
async def post_comment(call: Call) -> CommentOut:
    """Comment on a title, or reply to a comment (one level deep)."""
    async with call.transaction() as session:
        return await service.do_post_comment(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            title_id=int_param(call, "title_id"),
            data=call.body,
        )


@api.get("/comments/{comment_id}", response=CommentOut, auth="optional", errors=(404,))
async def get_comment(call: Call) -> CommentOut:
    """One comment (404 when it is by a user I blocked: my lists leave it out too)."""
    async with call.ctx.sessions() as session:
        return await service.get_comment(
            session, actor=actor_of(call), comment_id=int_param(call, "comment_id")
        )


@api.get(
    "/comments/{comment_id}/replies",
    query=CommentsQuery,
    response=Page[CommentOut],
    auth="optional",
    errors=(404,),
)
async def list_replies(call: Call) -> Page[CommentOut]:
    """Replies to a comment, oldest first.

    Signed in, replies by users I blocked are left out (pages stay full), and a comment by a
    user I blocked has none to read (404).
    """
    async with call.ctx.sessions() as session:
        return await service.list_replies(
            session,
            actor=actor_of(call),
            comment_id=int_param(call, "comment_id"),
            cursor=call.query.cursor,
            limit=call.query.limit,
        )


@api.patch("/comments/{comment_id}", body=CommentPatch, response=CommentOut, errors=(403, 404, 422))
async def edit_comment(call: Call) -> CommentOut:
    """Edit my comment's text or spoiler flag."""
    async with call.transaction() as session:
        return await service.do_edit_comment(
            session, actor=actor_of(call), comment_id=int_param(call, "comment_id"), data=call.body
        )


@api.delete("/comments/{comment_id}", status=204, errors=(403, 404))
async def delete_comment(call: Call) -> None:
    """Delete a comment (author, editor or admin); its replies stay."""
    async with call.transaction() as session:
        await service.do_delete_comment(
            session, actor=actor_of(call), comment_id=int_param(call, "comment_id")
        )


@api.put("/comments/{comment_id}/like", response=CommentLikeOut, errors=(403, 404))
async def like_comment(call: Call) -> CommentLikeOut:
    """Like a comment; its author is told."""
    async with call.transaction() as session:
        return await service.do_like_comment(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            comment_id=int_param(call, "comment_id"),
            like=True,
        )


@api.delete("/comments/{comment_id}/like", response=CommentLikeOut, errors=(404,))
async def unlike_comment(call: Call) -> CommentLikeOut:
    """Take a comment like back."""
    async with call.transaction() as session:
        return await service.do_like_comment(
            call.ctx,
            session,
            call.outbox,
            actor=actor_of(call),
            comment_id=int_param(call, "comment_id"),
            like=False,
        )
