"""Recommendation routes: "more like this" for anyone, personal rows for the signed-in."""

from __future__ import annotations

from http_api.routing import Api, Call
from models.recommendations import schemas, service

api = Api(tags=["recommendations"])


@api.get(
    "/titles/{title_id:int}/similar",
    query=schemas.RecommendationQuery,
    response=schemas.SimilarPage,
    auth="optional",
    errors=(404, 422),
)
async def similar_titles(call: Call) -> schemas.SimilarPage:
    """More like this title (genres, tags, people, era, and what its audience also liked),
    best first; signed in, without the titles you finished or hid."""
    async with call.ctx.sessions() as session:
        page = await service.more_like_this(
            session,
            title_id=call.params["title_id"],
            user_id=call.user.user_id if call.user else None,
            limit=call.query.limit,
            max_age=call.user.max_age if call.user else None,
        )
    return schemas.SimilarPage.model_validate(page)


@api.get(
    "/me/recommendations",
    query=schemas.RecommendationQuery,
    response=schemas.RecommendationPage,
    errors=(401, 422),
)
async def for_you(call: Call) -> schemas.RecommendationPage:
    """My home row: titles like the ones I watched, liked or rated well, each with its
    reason; a new user gets the popular titles of the genres they rated, then popular ones.
    Never a title I already rated, liked, favorited, started, finished or hid."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        page = await service.for_you(
            session, user_id=user.user_id, limit=call.query.limit, max_age=user.max_age
        )
    return schemas.RecommendationPage.model_validate(page)


@api.get(
    "/me/recommendations/because",
    query=schemas.BecauseQuery,
    response=schemas.BecauseRows,
    errors=(401, 422),
)
async def because_you_watched(call: Call) -> schemas.BecauseRows:
    """ "Because you watched X" rows: my latest titles (watched or loved first) and titles
    like each that I have not met."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        rows = await service.because_you_watched(
            session,
            user_id=user.user_id,
            rows=call.query.rows,
            limit=call.query.limit,
            max_age=user.max_age,
        )
    return schemas.BecauseRows.model_validate(rows)


@api.get("/me/recommendations/hidden", response=schemas.HiddenPage, errors=(401,))
async def list_hidden(call: Call) -> schemas.HiddenPage:
    """Titles I said I am not interested in."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        return schemas.HiddenPage.model_validate(
            await service.list_hidden(session, user_id=user.user_id)
        )


@api.put("/me/recommendations/hidden/{title_id:int}", status=204, errors=(401, 404))
async def hide(call: Call) -> None:
    """Not interested: never recommend this title to me (doing it twice is harmless)."""
    user = call.require_user()
    async with call.transaction() as session:
        await service.do_hide(session, user_id=user.user_id, title_id=call.params["title_id"])


@api.delete("/me/recommendations/hidden/{title_id:int}", status=204, errors=(401, 404))
async def unhide(call: Call) -> None:
    """Undo "not interested"."""
    user = call.require_user()
    async with call.transaction() as session:
        await service.do_unhide(session, user_id=user.user_id, title_id=call.params["title_id"])
