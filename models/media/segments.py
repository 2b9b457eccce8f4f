"""Intro, recap and credits: from the source's chapters, from editors, and suggested from
how viewers watch (many different viewers skipping the same early span, or stopping at the
same late point), for an editor to confirm.

The self-hosted servers find intros by fingerprinting audio across episodes; this needs no
audio analysis and works for films too, but only once enough people have watched.
"""

from __future__ import annotations

import re
import statistics
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.errors import InvalidInput, NotFound
from models.media.ffmpeg import Chapter
from models.media.schemas import SegmentOut, SegmentsOut, SuggestionOut
from models.media.tables import (
    MediaAsset,
    MediaSegment,
    SegmentSuggestion,
    SkipEvent,
    ViewingProgress,
)

KINDS = ("intro", "recap", "credits")
# Chapter titles that name a segment (case-insensitive, whole title).
_CHAPTER_KINDS = {
    "intro": re.compile(r"^(intro|introduction|opening( credits| titles)?|op|title sequence)$"),
    "recap": re.compile(r"^(recap|previously( on .*)?)$"),
    "credits": re.compile(r"^(credits|end credits|closing credits|ending( credits)?|ed|outro)$"),
}
SKIP_RETENTION_DAYS = 90
INTRO_WINDOW = 0.3  # intros are skipped within the first 30 % ...
INTRO_WINDOW_MAX_MS = 15 * 60_000  # ... and the first 15 minutes
CREDITS_WINDOW = 0.75  # credits start in the last quarter
FROM_TOLERANCE_MS = 10_000  # viewers press "skip" some seconds into an intro
TO_TOLERANCE_MS = 5_000  # and land within a few seconds of its end
STOP_TOLERANCE_MS = 10_000
STOPPED_FOR = timedelta(hours=1)  # a viewer quiet this long stopped watching
MIN_STOP_SHARE = 0.25  # of the viewers who got that far
ACTIVE_WITHIN = timedelta(days=2)  # a pass looks at items watched since (it runs nightly)


def segment_out(row: MediaSegment) -> SegmentOut:
    return SegmentOut(
        kind=row.kind,
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        origin=row.origin,
    )


async def list_segments(session: AsyncSession, *, asset_id: int) -> list[MediaSegment]:
    rows = (
        await session.execute(select(MediaSegment).where(MediaSegment.asset_id == asset_id))
    ).scalars()
    return sorted(rows, key=lambda r: r.start_ms)


def chapter_kind(title: str | None) -> str | None:
    text = re.sub(r"[\s_-]+", " ", (title or "").strip().lower())
    return next((k for k, rx in _CHAPTER_KINDS.items() if rx.match(text)), None)


async def sync_chapters(
    session: AsyncSession, *, asset_id: int, chapters: tuple[Chapter, ...], duration_ms: int
) -> None:
    """Named chapters become segments, where no editor or viewers' segment of the kind is."""
    found: dict[str, tuple[int, int]] = {}
    for ch in chapters:
        kind = chapter_kind(ch.title)
        if kind and kind not in found:
            end = min(ch.end_ms, duration_ms)
            if end > ch.start_ms:
                found[kind] = (ch.start_ms, end)
    existing = {r.kind: r for r in await list_segments(session, asset_id=asset_id)}
    for kind, old in existing.items():
        if old.origin == "chapter" and kind not in found:
            await session.delete(old)
    for kind, (start, end) in found.items():
        row = existing.get(kind)
        if row is None:
            session.add(
                MediaSegment(
                    asset_id=asset_id, kind=kind, start_ms=start, end_ms=end, origin="chapter"
                )
            )
        elif row.origin == "chapter":
            row.start_ms, row.end_ms = start, end
    await session.flush()


def _check_span(asset: MediaAsset, start_ms: int, end_ms: int) -> None:
    if end_ms <= start_ms:
        raise InvalidInput("end_ms must be after start_ms", code="invalid_segment")
    if asset.duration_ms is not None and start_ms >= asset.duration_ms:
        raise InvalidInput(
            f"The segment starts after the end of the video ({asset.duration_ms} ms)",
            code="invalid_segment",
        )


async def do_set_segment(
    session: AsyncSession,
    *,
    asset: MediaAsset,
    kind: str,
    start_ms: int,
    end_ms: int,
    user_id: uuid.UUID | None,
    origin: str = "editor",
) -> MediaSegment:
    if kind not in KINDS:
        raise NotFound(f"No segment kind {kind!r}: {', '.join(KINDS)}", code="not_found")
    _check_span(asset, start_ms, end_ms)
    if asset.duration_ms is not None:
        end_ms = min(end_ms, asset.duration_ms)
    values = {
        "asset_id": asset.id,
        "kind": kind,
        "start_ms": start_ms,
        "end_ms": end_ms,
        "origin": origin,
        "updated_by": user_id,
    }
    await session.execute(
        insert(MediaSegment)
        .values(**values)
        .on_conflict_do_update(index_elements=["asset_id", "kind"], set_=values)
    )
    row = await session.get(MediaSegment, (asset.id, kind), populate_existing=True)
    assert row is not None
    return row


async def do_remove_segment(session: AsyncSession, *, asset: MediaAsset, kind: str) -> None:
    gone = await session.execute(
        delete(MediaSegment)
        .where(MediaSegment.asset_id == asset.id, MediaSegment.kind == kind)
        .returning(MediaSegment.kind)
    )
    if gone.scalar_one_or_none() is None:
        raise NotFound("No such segment", code="segment_not_found")


def suggestion_out(row: SegmentSuggestion) -> SuggestionOut:
    return SuggestionOut(
        id=row.id,
        kind=row.kind,
        start_ms=row.start_ms,
        end_ms=row.end_ms,
        viewers=row.viewers,
        status=row.status,
        created_at=row.created_at,
    )


async def segments_view(session: AsyncSession, *, asset: MediaAsset) -> SegmentsOut:
    suggestions = (
        await session.execute(
            select(SegmentSuggestion)
            .where(SegmentSuggestion.asset_id == asset.id)
            .order_by(SegmentSuggestion.status != "pending", SegmentSuggestion.id.desc())
            .limit(50)
        )
    ).scalars()
    return SegmentsOut(
        segments=[segment_out(r) for r in await list_segments(session, asset_id=asset.id)],
        suggestions=[suggestion_out(r) for r in suggestions],
    )


async def _suggestion(
    session: AsyncSession, *, asset: MediaAsset, suggestion_id: int
) -> SegmentSuggestion:
    row = await session.get(SegmentSuggestion, suggestion_id, with_for_update=True)
    if row is None or row.asset_id != asset.id:
        raise NotFound("No such suggestion", code="suggestion_not_found")
    if row.status != "pending":
        raise InvalidInput(f"The suggestion is already {row.status}", code="suggestion_closed")
    return row


async def do_confirm_suggestion(
    session: AsyncSession,
    *,
    asset: MediaAsset,
    suggestion_id: int,
    kind: str | None,
    start_ms: int | None,
    end_ms: int | None,
    user_id: uuid.UUID,
) -> MediaSegment:
    """The editor says yes (possibly correcting kind or times): it becomes the segment."""
    row = await _suggestion(session, asset=asset, suggestion_id=suggestion_id)
    segment = await do_set_segment(
        session,
        asset=asset,
        kind=kind or row.kind,
        start_ms=row.start_ms if start_ms is None else start_ms,
        end_ms=row.end_ms if end_ms is None else end_ms,
        user_id=user_id,
        origin="viewers",
    )
    row.status = "confirmed"
    return segment


async def do_dismiss_suggestion(
    session: AsyncSession, *, asset: MediaAsset, suggestion_id: int
) -> None:
    """Not a segment: it is not suggested again (nor anything close to it)."""
    row = await _suggestion(session, asset=asset, suggestion_id=suggestion_id)
    row.status = "dismissed"


# --- what viewers' behaviour suggests --------------------------------------------------------


@dataclass(frozen=True)
class Found:
    kind: str
    start_ms: int
    end_ms: int
    viewers: int


def find_intro(skips: list[tuple[uuid.UUID, int, int]], *, min_viewers: int) -> Found | None:
    """The early span most different viewers skipped: (user, from_ms, to_ms) per skip.

    Each viewer counts once per candidate; the candidate with the most viewers whose skips
    start and end near its own wins, and the suggestion is their median span.
    """
    best: list[tuple[uuid.UUID, int, int]] = []
    for _, f, t in skips:
        near = [
            s
            for s in skips
            if abs(s[1] - f) <= FROM_TOLERANCE_MS and abs(s[2] - t) <= TO_TOLERANCE_MS
        ]
        if len({s[0] for s in near}) > len({s[0] for s in best}):
            best = near
    users = {s[0] for s in best}
    if len(users) < min_viewers:
        return None
    # One skip per viewer: the median is not pulled by someone who skipped ten times.
    per_user = {s[0]: s for s in best}
    start = int(statistics.median(s[1] for s in per_user.values()))
    end = int(statistics.median(s[2] for s in per_user.values()))
    if end <= start:
        return None
    return Found("intro", start, end, len(users))


def find_credits(
    stops: list[int], *, late_viewers: int, duration_ms: int, min_viewers: int
) -> Found | None:
    """The late point most viewers stopped at (one position per viewer)."""
    best: list[int] = []
    for p in stops:
        near = [q for q in stops if abs(q - p) <= STOP_TOLERANCE_MS]
        if len(near) > len(best):
            best = near
    if len(best) < min_viewers or len(best) < MIN_STOP_SHARE * late_viewers:
        return None
    start = int(statistics.median(best))
    return Found("credits", start, duration_ms, len(best)) if start < duration_ms else None


async def _skips(
    session: AsyncSession, asset: MediaAsset, since: datetime
) -> list[tuple[uuid.UUID, int, int]]:
    assert asset.duration_ms is not None
    window = min(asset.duration_ms * INTRO_WINDOW, INTRO_WINDOW_MAX_MS)
    rows = (
        await session.execute(
            select(SkipEvent.user_id, SkipEvent.from_ms, SkipEvent.to_ms)
            .where(
                SkipEvent.asset_id == asset.id,
                SkipEvent.at >= since,
                SkipEvent.from_ms < window,
            )
            .order_by(SkipEvent.at.desc())
            .limit(5000)
        )
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]


async def _stops(session: AsyncSession, asset: MediaAsset, now: datetime) -> tuple[list[int], int]:
    """Where viewers who reached the last quarter stopped (and how many reached it)."""
    assert asset.duration_ms is not None
    late = int(asset.duration_ms * CREDITS_WINDOW)
    target = (
        ViewingProgress.episode_id == asset.episode_id
        if asset.episode_id is not None
        else and_(ViewingProgress.title_id == asset.title_id, ViewingProgress.episode_id.is_(None))
    )
    rows = (
        await session.execute(
            select(ViewingProgress.position_ms)
            .where(
                target,
                ViewingProgress.version > 0,
                ViewingProgress.position_ms >= late,
                ViewingProgress.updated_at < now - STOPPED_FOR,
            )
            .limit(5000)
        )
    ).scalars()
    positions = [int(p) for p in rows]
    # Those who watched to the very end did not stop at the credits: they watched them.
    stops = [p for p in positions if p < asset.duration_ms - TO_TOLERANCE_MS]
    return stops, len(positions)


async def _propose(session: AsyncSession, asset: MediaAsset, found: Found) -> bool:
    existing = await session.get(MediaSegment, (asset.id, found.kind))
    if existing is not None:
        return False
    closed = (
        await session.execute(
            select(SegmentSuggestion).where(
                SegmentSuggestion.asset_id == asset.id,
                SegmentSuggestion.kind == found.kind,
                SegmentSuggestion.status != "pending",
            )
        )
    ).scalars()
    # An editor already answered about (nearly) this span: do not ask again.
    for c in closed:
        if abs(c.start_ms - found.start_ms) <= 15_000 and abs(c.end_ms - found.end_ms) <= 15_000:
            return False
    values = {
        "asset_id": asset.id,
        "kind": found.kind,
        "start_ms": found.start_ms,
        "end_ms": found.end_ms,
        "viewers": found.viewers,
        "status": "pending",
    }
    await session.execute(
        insert(SegmentSuggestion)
        .values(**values)
        .on_conflict_do_update(
            index_elements=["asset_id", "kind"],
            index_where=SegmentSuggestion.status == "pending",
            set_={k: values[k] for k in ("start_ms", "end_ms", "viewers")},
        )
    )
    return True


async def do_suggest_segments(
    session: AsyncSession, *, now: datetime, min_viewers: int
) -> list[Found]:
    """One pass over every playable item: propose intros and credits, forget old skips."""
    await session.execute(
        delete(SkipEvent).where(SkipEvent.at < now - timedelta(days=SKIP_RETENTION_DAYS))
    )
    # Only items with new evidence since the last passes: nothing else can change.
    recent = now - ACTIVE_WITHIN
    skipped = select(SkipEvent.asset_id).where(SkipEvent.at >= recent)
    watched = (
        select(MediaAsset.id)
        .join(
            ViewingProgress,
            or_(
                ViewingProgress.episode_id == MediaAsset.episode_id,
                and_(
                    ViewingProgress.episode_id.is_(None),
                    ViewingProgress.title_id == MediaAsset.title_id,
                ),
            ),
        )
        .where(ViewingProgress.updated_at >= recent - STOPPED_FOR)
    )
    assets = (
        await session.execute(
            select(MediaAsset).where(
                MediaAsset.revision.is_not(None),
                MediaAsset.duration_ms.is_not(None),
                or_(MediaAsset.id.in_(skipped), MediaAsset.id.in_(watched)),
            )
        )
    ).scalars()
    proposed: list[Found] = []
    since = now - timedelta(days=SKIP_RETENTION_DAYS)
    for asset in list(assets):
        intro = find_intro(await _skips(session, asset, since), min_viewers=min_viewers)
        stops, late = await _stops(session, asset, now)
        credits = find_credits(
            stops, late_viewers=late, duration_ms=asset.duration_ms or 0, min_viewers=min_viewers
        )
        for found in (intro, credits):
            if found is not None and await _propose(session, asset, found):
                proposed.append(found)
    return proposed
