"""New releases: titles (and series episodes) released on a day notify the users who
favorited the title, follow it, or follow one of its genres; each user once per release,
however many of those apply and however often the job runs (the notification's dedupe key)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import text

from models.core.context import Context
from models.notifications.service import do_fan_out

_TITLE_AUDIENCE = """
    SELECT user_id FROM favorites WHERE title_id = :t
    UNION SELECT user_id FROM title_follows WHERE title_id = :t
    UNION SELECT f.user_id FROM genre_follows f
          JOIN title_genres g ON g.genre_id = f.genre_id WHERE g.title_id = :t
"""
# A new episode is news for those who care about the series itself, not its whole genre.
_SERIES_AUDIENCE = """
    SELECT user_id FROM favorites WHERE title_id = :t
    UNION SELECT user_id FROM title_follows WHERE title_id = :t
"""


async def _audience(ctx: Context, sql: str, title_id: int) -> list[uuid.UUID]:
    async with ctx.sessions() as session:
        return list((await session.execute(text(sql), {"t": title_id})).scalars())


async def notify_new_releases(ctx: Context, *, day: date) -> dict[str, int]:
    async with ctx.sessions() as session:
        titles = (
            await session.execute(
                text("SELECT id, title, kind FROM titles WHERE release_date = :d ORDER BY id"),
                {"d": day},
            )
        ).all()
        episodes = (
            await session.execute(
                text(
                    "SELECT e.id, e.number, e.title AS episode_title, s.number AS season,"
                    " t.id AS title_id, t.title"
                    " FROM episodes e JOIN seasons s ON s.id = e.season_id"
                    " JOIN titles t ON t.id = s.title_id"
                    " WHERE e.release_date = :d ORDER BY e.id"
                ),
                {"d": day},
            )
        ).all()
    created = 0
    for t in titles:
        data: dict[str, Any] = {"title_id": t.id, "title": t.title, "kind": str(t.kind)}
        created += await do_fan_out(
            ctx,
            user_ids=await _audience(ctx, _TITLE_AUDIENCE, t.id),
            type="new_release",
            data=data,
            dedupe_key=f"new_release:title:{t.id}",
        )
    for e in episodes:
        data = {
            "title_id": e.title_id,
            "title": e.title,
            "episode_id": e.id,
            "season": e.season,
            "episode": e.number,
            "episode_title": e.episode_title,
        }
        created += await do_fan_out(
            ctx,
            user_ids=await _audience(ctx, _SERIES_AUDIENCE, e.title_id),
            type="new_release",
            data=data,
            dedupe_key=f"new_release:episode:{e.id}",
        )
    return {"titles": len(titles), "episodes": len(episodes), "notified": created}
