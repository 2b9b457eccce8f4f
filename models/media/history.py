"""Use cases of viewing history: heartbeats, resume, continue watching, next episode."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, or_, select, tuple_
from sqlalchemy.dialects.postgresql import distinct_on, insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog.tables import Episode, Season, Title
from models.core.context import Context
from models.core.errors import NotFound
from models.core.events import Outbox, user_room
from models.core.pagination import InvalidCursor, decode_cursor, encode_cursor
from models.core.ratelimit import Limit, RateLimiter
from models.media.schemas import (
    ContinueItemOut,
    EpisodeRef,
    HistoryEntryOut,
    HistoryPage,
    ProgressEvent,
    ResumeOut,
)
from models.media.service import Target
from models.media.state import Heartbeat, Progress, decide, detect_skip, resume_position_ms
from models.media.tables import MediaAsset, MediaSegment, SkipEvent, ViewingProgress

CONTINUE_LIMIT = 20
# Players beat every 5-10 s and on seek/pause; this leaves room for several devices at once.
HEARTBEATS = Limit("history_heartbeat", limit=120, window_s=60)


async def check_heartbeat_rate(ctx: Context, *, user_id: uuid.UUID) -> None:
    """Each heartbeat is a row write: bound them per user (429 / rate_limited ack)."""
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        HEARTBEATS, str(user_id), message="Too many progress heartbeats"
    )


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _state(row: ViewingProgress) -> Progress | None:
    if row.version == 0:
        return None
    return Progress(
        position_ms=row.position_ms,
        duration_ms=row.duration_ms,
        completed=row.completed,
        watched_at_ms=_ms(row.watched_at) if row.watched_at else None,
        updated_at_ms=_ms(row.updated_at),
        version=row.version,
    )


def entry_out(
    row: ViewingProgress, title: str, season: int | None = None, episode: int | None = None
) -> HistoryEntryOut:
    return HistoryEntryOut(
        id=row.id,
        title_id=row.title_id,
        episode_id=row.episode_id,
        title=title,
        season_number=season,
        episode_number=episode,
        position_ms=row.position_ms,
        duration_ms=row.duration_ms,
        completed=row.completed,
        watched=row.watched_at is not None,
        watched_at=row.watched_at,
        resume_position_ms=resume_position_ms(_state(row)),
        updated_at=row.updated_at,
        version=row.version,
    )


async def _media_facts(
    session: AsyncSession, target: Target
) -> tuple[int | None, int | None, int | None]:
    """(asset id, duration, credits start): the video's real duration when it is
    transcoded, else the catalog's runtime; the credits when an editor or the source's
    chapters placed them."""
    col = MediaAsset.episode_id if target.episode else MediaAsset.title_id
    key = target.episode_id if target.episode else target.title_id
    row = (
        await session.execute(
            select(MediaAsset.id, MediaAsset.duration_ms, MediaSegment.start_ms)
            .outerjoin(
                MediaSegment,
                and_(MediaSegment.asset_id == MediaAsset.id, MediaSegment.kind == "credits"),
            )
            .where(col == key, MediaAsset.revision.is_not(None))
        )
    ).one_or_none()
    if row is not None and row[1]:
        return int(row[0]), int(row[1]), int(row[2]) if row[2] is not None else None
    minutes = target.episode.runtime_minutes if target.episode else target.title.runtime_minutes
    return None, minutes * 60_000 if minutes else None, None


async def do_record_progress(
    session: AsyncSession,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    target: Target,
    position_ms: int,
    duration_ms: int | None,
    now_ms: int,
) -> HistoryEntryOut:
    """Apply one heartbeat; concurrent heartbeats of one item serialize on its row."""
    asset_id, known, credits = await _media_facts(session, target)
    placeholder: dict[str, Any] = {
        "user_id": user_id,
        "title_id": target.title_id,
        "episode_id": target.episode_id,
        "position_ms": 0,
        "duration_ms": None,
        "completed": False,
        "updated_at": _dt(now_ms),
        "version": 0,
    }
    await session.execute(insert(ViewingProgress).values(**placeholder).on_conflict_do_nothing())
    where = (
        ViewingProgress.episode_id == target.episode_id
        if target.episode
        else and_(ViewingProgress.title_id == target.title_id, ViewingProgress.episode_id.is_(None))
    )
    row = (
        await session.execute(
            select(ViewingProgress)
            .where(ViewingProgress.user_id == user_id, where)
            .with_for_update()
        )
    ).scalar_one()
    before = _state(row)
    new, _events = decide(before, Heartbeat(position_ms, known or duration_ms, credits), now_ms)
    skip = detect_skip(before, new.position_ms, now_ms)
    if skip is not None and asset_id is not None:
        # The raw material of intro suggestions (models/media/segments.py).
        session.add(
            SkipEvent(
                asset_id=asset_id, user_id=user_id, from_ms=skip[0], to_ms=skip[1], at=_dt(now_ms)
            )
        )
    row.position_ms = new.position_ms
    row.duration_ms = new.duration_ms
    row.completed = new.completed
    row.watched_at = _dt(new.watched_at_ms) if new.watched_at_ms is not None else None
    row.updated_at = _dt(new.updated_at_ms)
    row.version = new.version
    await session.flush()
    out = entry_out(
        row,
        target.title.title,
        target.season.number if target.season else None,
        target.episode.number if target.episode else None,
    )
    outbox.emit(
        "history:progress",
        ProgressEvent(entry=out).model_dump(mode="json"),
        room=user_room(user_id),
    )
    return out


def _entries_query() -> Any:
    return (
        select(ViewingProgress, Title.title, Season.number, Episode.number)
        .join(Title, Title.id == ViewingProgress.title_id)
        .outerjoin(Episode, Episode.id == ViewingProgress.episode_id)
        .outerjoin(Season, Season.id == Episode.season_id)
        .where(ViewingProgress.version > 0)
    )


async def list_history(
    session: AsyncSession, *, user_id: uuid.UUID, cursor: str | None, limit: int
) -> HistoryPage:
    """Newest first; the cursor is (updated_at, id) of the last entry seen."""
    q = _entries_query().where(ViewingProgress.user_id == user_id)
    if cursor:
        c = decode_cursor(cursor)
        try:
            at, last_id = datetime.fromisoformat(str(c["t"])), int(c["id"])
        except (KeyError, ValueError, TypeError) as exc:
            raise InvalidCursor() from exc
        q = q.where(tuple_(ViewingProgress.updated_at, ViewingProgress.id) < tuple_(at, last_id))
    rows = (
        await session.execute(
            q.order_by(ViewingProgress.updated_at.desc(), ViewingProgress.id.desc()).limit(
                limit + 1
            )
        )
    ).all()
    items = [entry_out(r[0], r[1], r[2], r[3]) for r in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1][0]
        next_cursor = encode_cursor({"t": last.updated_at.isoformat(), "id": last.id})
    return HistoryPage(items=items, next_cursor=next_cursor)


async def do_delete_entry(session: AsyncSession, *, user_id: uuid.UUID, entry_id: int) -> None:
    gone = await session.execute(
        delete(ViewingProgress)
        .where(ViewingProgress.id == entry_id, ViewingProgress.user_id == user_id)
        .returning(ViewingProgress.id)
    )
    if gone.scalar_one_or_none() is None:
        raise NotFound("No such history entry", code="history_entry_not_found")


async def do_delete_title(session: AsyncSession, *, user_id: uuid.UUID, title_id: int) -> int:
    """Forget a film or a whole series (every episode) for this user."""
    gone = await session.execute(
        delete(ViewingProgress)
        .where(ViewingProgress.title_id == title_id, ViewingProgress.user_id == user_id)
        .returning(ViewingProgress.id)
    )
    return len(gone.all())


async def next_episode(session: AsyncSession, *, episode_id: int) -> EpisodeRef | None:
    """The following episode: the next number in the season, else the next season's first."""
    cur = (
        await session.execute(
            select(Episode.number, Season.number, Season.title_id)
            .join(Season, Season.id == Episode.season_id)
            .where(Episode.id == episode_id)
        )
    ).one_or_none()
    if cur is None:
        raise NotFound("No such episode", code="episode_not_found")
    ep_no, season_no, title_id = cur
    row = (
        await session.execute(
            select(Episode, Season.number)
            .join(Season, Season.id == Episode.season_id)
            .where(
                Season.title_id == title_id,
                or_(
                    and_(Season.number == season_no, Episode.number > ep_no),
                    Season.number > season_no,
                ),
            )
            .order_by(Season.number, Episode.number)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return EpisodeRef(
        episode_id=row[0].id, season_number=row[1], episode_number=row[0].number, title=row[0].title
    )


async def _first_episode(session: AsyncSession, *, title_id: int) -> EpisodeRef | None:
    row = (
        await session.execute(
            select(Episode, Season.number)
            .join(Season, Season.id == Episode.season_id)
            .where(Season.title_id == title_id)
            .order_by(Season.number, Episode.number)
            .limit(1)
        )
    ).one_or_none()
    if row is None:
        return None
    return EpisodeRef(
        episode_id=row[0].id, season_number=row[1], episode_number=row[0].number, title=row[0].title
    )


def _latest_ids(user_id: uuid.UUID, title_id: int | None = None) -> Any:
    """Ids of each title's most recent entry (a film's row, or the series' latest episode)."""
    q = (
        select(ViewingProgress.id)
        .where(ViewingProgress.user_id == user_id, ViewingProgress.version > 0)
        .ext(distinct_on(ViewingProgress.title_id))
        .order_by(
            ViewingProgress.title_id, ViewingProgress.updated_at.desc(), ViewingProgress.id.desc()
        )
    )
    if title_id is not None:
        q = q.where(ViewingProgress.title_id == title_id)
    return q


async def _latest_per_title(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    title_id: int | None = None,
    limit: int = 1,
    continuable: bool = False,
) -> list[Any]:
    q = (
        _entries_query()
        .where(ViewingProgress.id.in_(_latest_ids(user_id, title_id)))
        .order_by(ViewingProgress.updated_at.desc(), ViewingProgress.id.desc())
        .limit(limit)
    )
    if continuable:
        # Finished films and untouched items never show; finished episodes may (next one).
        q = q.where(
            or_(
                and_(ViewingProgress.completed.is_(False), ViewingProgress.position_ms > 0),
                and_(ViewingProgress.completed.is_(True), ViewingProgress.episode_id.is_not(None)),
            )
        )
    return list((await session.execute(q)).all())


async def continue_watching(
    session: AsyncSession, *, user_id: uuid.UUID, limit: int = CONTINUE_LIMIT
) -> list[ContinueItemOut]:
    """Per title, the most recent activity: unfinished -> resume it; a finished episode ->
    the next episode from its start; a finished film or series finale -> nothing."""
    items: list[ContinueItemOut] = []
    # A few more than asked: series whose finale was the last thing watched drop out below.
    rows = await _latest_per_title(session, user_id=user_id, limit=limit + 5, continuable=True)
    for row, title, season_no, episode_no in rows:
        if len(items) >= limit:
            break
        if not row.completed:
            if row.position_ms <= 0:
                continue
            items.append(
                ContinueItemOut(
                    reason="resume",
                    title_id=row.title_id,
                    title=title,
                    episode_id=row.episode_id,
                    season_number=season_no,
                    episode_number=episode_no,
                    position_ms=row.position_ms,
                    duration_ms=row.duration_ms,
                    updated_at=row.updated_at,
                )
            )
        elif row.episode_id is not None:
            nxt = await next_episode(session, episode_id=row.episode_id)
            if nxt is None:
                continue
            items.append(
                ContinueItemOut(
                    reason="next_episode",
                    title_id=row.title_id,
                    title=title,
                    episode_id=nxt.episode_id,
                    season_number=nxt.season_number,
                    episode_number=nxt.episode_number,
                    position_ms=0,
                    duration_ms=None,
                    updated_at=row.updated_at,
                )
            )
    return items


async def resume(session: AsyncSession, *, user_id: uuid.UUID, title: Title) -> ResumeOut:
    """What to play for a title and from where: a film resumes unless finished; a series
    resumes its latest unfinished episode, else moves to the next one, else starts over."""
    rows = await _latest_per_title(session, user_id=user_id, title_id=title.id)
    row = rows[0][0] if rows else None
    if row is None or row.episode_id is None:
        if title.kind == "series":
            first = await _first_episode(session, title_id=title.id)
            return ResumeOut(
                title_id=title.id, episode_id=first.episode_id if first else None, position_ms=0
            )
        return ResumeOut(
            title_id=title.id,
            episode_id=None,
            position_ms=resume_position_ms(_state(row)) if row else 0,
        )
    if not row.completed:
        return ResumeOut(title_id=title.id, episode_id=row.episode_id, position_ms=row.position_ms)
    nxt = await next_episode(session, episode_id=row.episode_id) or await _first_episode(
        session, title_id=title.id
    )
    return ResumeOut(title_id=title.id, episode_id=nxt.episode_id if nxt else None, position_ms=0)


async def access_title(session: AsyncSession, *, title_id: int) -> Title:
    title = await session.get(Title, title_id)
    if title is None:
        raise NotFound("No such title", code="title_not_found")
    return title
