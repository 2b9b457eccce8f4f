"""What a user follows to hear of new releases: titles and genres."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.tables import Genre, Title
from models.core.errors import NotFound
from models.notifications.schemas import FollowsOut
from models.notifications.tables import GenreFollow, TitleFollow


async def list_follows(session: AsyncSession, *, user_id: uuid.UUID) -> FollowsOut:
    titles = await session.execute(
        select(TitleFollow.title_id)
        .where(TitleFollow.user_id == user_id)
        .order_by(TitleFollow.title_id)
    )
    genres = await session.execute(
        select(GenreFollow.genre_id)
        .where(GenreFollow.user_id == user_id)
        .order_by(GenreFollow.genre_id)
    )
    return FollowsOut(titles=list(titles.scalars()), genres=list(genres.scalars()))


async def do_follow(
    session: AsyncSession, *, user_id: uuid.UUID, kind: str, target_id: int, follow: bool
) -> FollowsOut:
    """Follow (or stop following) a title or a genre; both are idempotent."""
    model: type[TitleFollow] | type[GenreFollow]
    parent: type[Title] | type[Genre]
    if kind == "titles":
        model, parent, column = TitleFollow, Title, "title_id"
    elif kind == "genres":
        model, parent, column = GenreFollow, Genre, "genre_id"
    else:  # pragma: no cover - the routes only pass these two
        raise NotFound("Nothing to follow there", code="not_found")
    if follow:
        if await session.get(parent, target_id) is None:
            raise NotFound(f"No such {kind[:-1]}", code=f"{kind[:-1]}_not_found")
        await session.execute(
            pg_insert(model)
            .values({"user_id": user_id, column: target_id})
            .on_conflict_do_nothing()
        )
    else:
        await session.execute(
            delete(model).where(model.user_id == user_id, getattr(model, column) == target_id)
        )
    return await list_follows(session, user_id=user_id)
