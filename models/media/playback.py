"""The playback answer: signed URLs of the published revision, its tracks, thumbnails and
segments, which tracks this viewer starts with, and what comes next."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.family import max_age_of
from models.catalog import maturity
from models.core.context import Context
from models.media import history, preferences, segments, service, streams
from models.media.schemas import (
    AudioTrackOut,
    PlaybackOut,
    TextTrackOut,
    ThumbnailsOut,
)
from models.media.state import watched_from_ms


async def access_playback(
    ctx: Context,
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    target: service.Target,
    now: datetime,
    session_id: str,
    device_name: str | None = None,
) -> PlaybackOut:
    """Signed, short-lived URLs of the item's HLS master and DASH manifest, and the rest a
    player needs to start (tracks to pick, where the intro and credits are). The asking
    screen takes one of the account's MAX_STREAMS places (409 `too_many_streams` past it);
    a child asking for a title above their limit gets 403 `maturity_restricted`."""
    maturity.check_allowed(target.title.min_age, await max_age_of(session, user_id=user_id))
    asset = await service.access_asset(session, target=target)
    if asset.revision is not None:  # (one not yet playable answers its 409 below)
        await streams.check_stream(
            ctx,
            user_id=user_id,
            session_id=session_id,
            target=target,
            device_name=device_name,
            heartbeat=False,
        )
    root, expires = service.sign_revision(ctx, asset=asset, user_id=user_id, now=now)
    summary = asset.tracks or {}
    audio = summary.get("audio") or []
    text = summary.get("text") or []
    thumbs = summary.get("thumbnails")
    prefs, choice = await preferences.load(session, user_id=user_id, title_id=target.title_id)
    spans = await segments.list_segments(session, asset_id=asset.id)
    credits = next((s.start_ms for s in spans if s.kind == "credits"), None)
    nxt = (
        await history.next_episode(session, episode_id=target.episode.id)
        if target.episode is not None
        else None
    )
    return PlaybackOut(
        hls=root + "master.m3u8",
        dash=root + "manifest.mpd",
        expires_at=expires,
        duration_ms=asset.duration_ms,
        audio=[
            AudioTrackOut(
                id=t["id"],
                language=t["language"],
                label=t["label"],
                kind=t["kind"],
                default=t["default"],
                channels=t["channels"],
                hls_name=t["hls_name"],
                dash_adaptation_set=t["dash_adaptation_set"],
            )
            for t in audio
        ],
        text=[
            TextTrackOut(
                id=t["id"],
                language=t["language"],
                label=t["label"],
                kind=t["kind"],
                default=t["default"],
                vtt=root + t["file"],
                hls_name=t["hls_name"],
                dash_adaptation_set=t["dash_adaptation_set"],
            )
            for t in text
        ],
        thumbnails=(
            ThumbnailsOut(
                vtt=root + thumbs["file"],
                interval_ms=thumbs["interval_ms"],
                width=thumbs["width"],
                height=thumbs["height"],
            )
            if thumbs
            else None
        ),
        segments=[segments.segment_out(s) for s in spans],
        start=preferences.choose(audio, text, prefs, choice),
        watched_at_ms=watched_from_ms(asset.duration_ms, credits),
        next_episode=nxt,
    )
