"""Title cards: a title shared in a message, shown to each reader as they may see it.

A message shares a title by naming it (`title_id`), or by a link to one of this site's title
pages in its text (`<PUBLIC_URL>/titles/<id>`); other URLs stay text. The card is made for each
reader when it is read: a child (family controls) gets a card saying only that the title is
not available to them, no name and no poster, and a title deleted from the catalog gives a
card saying so.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.family import max_age_of
from models.catalog import maturity
from models.catalog.tables import Episode, Season, Title
from models.core.errors import NotFound
from models.media.tables import MediaAsset
from models.social.messages.schemas import TitleCardOut


def title_in_text(text: str, public_url: str) -> int | None:
    """The first of our own title links in a message's text (any other URL is just text)."""
    own = re.escape(public_url.rstrip("/"))
    found = re.search(rf"(?<![\w/.:-]){own}/titles/([1-9][0-9]{{0,17}})(?![\w-])", text)
    return int(found.group(1)) if found else None


async def check_shareable(session: AsyncSession, *, title_id: int, max_age: int | None) -> None:
    """A title the sender names must exist, and be one they may see themselves."""
    row = (await session.execute(select(Title.min_age).where(Title.id == title_id))).first()
    if row is None:
        raise NotFound(f"Title {title_id} not found", code="title_not_found")
    maturity.check_allowed(row[0], max_age)


async def shareable_link(
    session: AsyncSession, *, title_id: int, max_age: int | None
) -> int | None:
    """A linked title becomes a card when it exists and the sender may see it; else the link
    stays plain text."""
    row = (await session.execute(select(Title.min_age).where(Title.id == title_id))).first()
    if row is None or not maturity.allowed(row[0], max_age):
        return None
    return title_id


def _playable() -> object:
    film = exists().where(MediaAsset.title_id == Title.id, MediaAsset.revision.is_not(None))
    episode = (
        exists()
        .where(
            Season.title_id == Title.id,
            Episode.season_id == Season.id,
            MediaAsset.episode_id == Episode.id,
            MediaAsset.revision.is_not(None),
        )
        .correlate(Title)
    )
    return or_(film, episode)


class Cards:
    """The titles of a batch of messages, loaded once, rendered per reader."""

    def __init__(self, rows: dict[int, tuple[str, str, int | None, str | None, int | None, bool]]):
        self._rows = rows

    @classmethod
    async def load(cls, session: AsyncSession, title_ids: Iterable[int]) -> Cards:
        ids = sorted(set(title_ids))
        if not ids:
            return cls({})
        result = await session.execute(
            select(
                Title.id,
                Title.kind,
                Title.title,
                Title.year,
                Title.poster_url,
                Title.min_age,
                _playable(),  # type: ignore[call-overload]
            ).where(Title.id.in_(ids))
        )
        return cls({r[0]: (str(r[1]), r[2], r[3], r[4], r[5], bool(r[6])) for r in result})

    def card(self, title_id: int, max_age: int | None) -> TitleCardOut:
        row = self._rows.get(title_id)
        if row is None:
            return TitleCardOut(title_id=title_id, available=False, reason="removed")
        kind, name, year, poster, min_age, playable = row
        if not maturity.allowed(min_age, max_age):
            return TitleCardOut(title_id=title_id, available=False, reason="maturity_restricted")
        return TitleCardOut(
            title_id=title_id,
            available=True,
            kind=kind,
            name=name,
            year=year,
            poster_url=poster,
            playable=playable,
        )


async def max_ages(
    session: AsyncSession, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, int | None]:
    return {u: await max_age_of(session, user_id=u) for u in set(user_ids)}
