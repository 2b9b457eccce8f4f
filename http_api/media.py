"""Streaming: ingest (upload or register a source), playback URLs, viewing history, and the
signed media files themselves."""

from __future__ import annotations

import asyncio
import os
import re
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.responses import FileResponse, RedirectResponse, Response

from http_api.routing import Api, Call, Handler
from models.core import clock
from models.core.errors import DomainError, Forbidden, Gone, InvalidInput, NotFound, parse_id
from models.core.pagination import Page
from models.media import (
    history,
    playback,
    preferences,
    segments,
    service,
    signing,
    streams,
    tracks,
)
from models.media.ffmpeg import find_ffmpeg
from models.media.objects import SERVED_THROUGH, ObjectStore, content_type
from models.media.schemas import (
    AssetsQuery,
    ConfirmIn,
    ContinueOut,
    HistoryEntryOut,
    HistoryPage,
    HistoryQuery,
    MediaAssetOut,
    NextEpisodeOut,
    PlaybackOut,
    PlaybackQuery,
    PreferencesIn,
    PreferencesOut,
    ProgressIn,
    RegisterSourceIn,
    ResumeOut,
    SegmentIn,
    SegmentOut,
    SegmentsOut,
    StreamOut,
    TitleChoiceIn,
    TitleChoiceOut,
    TrackOut,
    TrackPatch,
    TrackQuery,
    UploadQuery,
)
from models.media.storage import BadImportPath, TooLarge, safe_name
from models.media.tables import TrackType

api = Api(tags=["media"])
# The media files sit outside /api/v1: /media/<token>/<asset>/<revision>/<file>.
files = Api(tags=["media"], prefix="")


# --- ingest (editors) ----------------------------------------------------------------------


def _id(call: Call, name: str) -> int:
    """A numeric path parameter; anything else names nothing."""
    value = parse_id(str(call.params[name]))
    if value is None:
        raise NotFound(f"No such {name.removesuffix('_id')}", code="not_found")
    return value


async def _target(call: Call) -> service.Target:
    async with call.transaction() as session:
        if "episode_id" in call.params:
            return await service.access_target(session, episode_id=_id(call, "episode_id"))
        return await service.access_target(session, title_id=_id(call, "title_id"))


async def _upload(call: Call) -> MediaAssetOut:
    user = call.require_role("editor")
    target = await _target(call)
    limit = call.ctx.settings.media_max_upload_bytes
    declared = call.request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise DomainError(
            f"The upload is larger than {limit} bytes", code="payload_too_large", status=413
        )
    media = service.store(call.ctx)
    name = safe_name(call.query.filename)
    dest = media.new_source_path(target.key, name)
    try:
        size = await media.save_stream(call.request.stream(), dest, max_bytes=limit)
    except TooLarge as exc:
        raise DomainError(str(exc), code="payload_too_large", status=413) from exc
    if size == 0:
        dest.unlink(missing_ok=True)
        raise InvalidInput("The upload is empty", code="empty_upload")
    try:
        async with call.transaction() as session:
            asset = await service.do_attach_source(
                session,
                call.outbox,
                target=target,
                source_path=dest,
                source_name=name,
                source_size=size,
                user_id=user.user_id,
            )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return service.asset_out(asset)


@api.put(
    "/titles/{title_id}/media/source",
    query=UploadQuery,
    response=MediaAssetOut,
    status=202,
    summary="Upload a film's source video",
    errors=(403, 404, 413),
)
async def upload_title_source(call: Call) -> MediaAssetOut:
    """Upload a source video as the raw request body (application/octet-stream or video/*).

    Streamed to disk; over MEDIA_MAX_UPLOAD_BYTES is refused with 413. The transcode is
    queued and `media:ingest` socket events report its progress to editors and admins.
    """
    return await _upload(call)


@api.put(
    "/episodes/{episode_id}/media/source",
    query=UploadQuery,
    response=MediaAssetOut,
    status=202,
    summary="Upload an episode's source video",
    errors=(403, 404, 413),
)
async def upload_episode_source(call: Call) -> MediaAssetOut:
    """Upload an episode's source video (see the film upload)."""
    return await _upload(call)


async def _register(call: Call) -> MediaAssetOut:
    user = call.require_role("editor")
    target = await _target(call)
    media = service.store(call.ctx)
    try:
        src = media.resolve_import(call.body.path)
    except BadImportPath as exc:
        raise InvalidInput(str(exc), code="bad_import_path") from exc
    dest = media.new_source_path(target.key, src.name)
    size = await media.copy_in(src, dest)
    try:
        async with call.transaction() as session:
            asset = await service.do_attach_source(
                session,
                call.outbox,
                target=target,
                source_path=dest,
                source_name=safe_name(src.name),
                source_size=size,
                user_id=user.user_id,
            )
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return service.asset_out(asset)


@api.post(
    "/titles/{title_id}/media/register",
    body=RegisterSourceIn,
    response=MediaAssetOut,
    status=202,
    errors=(403, 404),
)
async def register_title_source(call: Call) -> MediaAssetOut:
    """Use a file from the media imports directory as a film's source."""
    return await _register(call)


@api.post(
    "/episodes/{episode_id}/media/register",
    body=RegisterSourceIn,
    response=MediaAssetOut,
    status=202,
    errors=(403, 404),
)
async def register_episode_source(call: Call) -> MediaAssetOut:
    """Use a file from the media imports directory as an episode's source."""
    return await _register(call)


async def _retranscode(call: Call) -> MediaAssetOut:
    user = call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.do_retranscode(
            session, call.outbox, media=service.store(call.ctx), target=target, user_id=user.user_id
        )
    return service.asset_out(asset)


@api.post(
    "/titles/{title_id}/media/transcode",
    response=MediaAssetOut,
    status=202,
    errors=(403, 404, 409),
)
async def retranscode_title(call: Call) -> MediaAssetOut:
    """Transcode a film's kept source again (safe to repeat)."""
    return await _retranscode(call)


@api.post(
    "/episodes/{episode_id}/media/transcode",
    response=MediaAssetOut,
    status=202,
    errors=(403, 404, 409),
)
async def retranscode_episode(call: Call) -> MediaAssetOut:
    """Transcode an episode's kept source again (safe to repeat)."""
    return await _retranscode(call)


async def _asset(call: Call) -> MediaAssetOut:
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        rows = await tracks.list_tracks(session, asset_id=asset.id)
        published = tracks.published_ids(asset)
        return service.asset_out(asset, [tracks.track_out(r, published) for r in rows])


@api.get("/media/assets", query=AssetsQuery, response=Page[MediaAssetOut], errors=(403,))
async def media_assets(call: Call) -> Page[MediaAssetOut]:
    """Every film's and episode's media with its transcode state (editors), newest first;
    `status=processing` lists the transcodes running now, `failed` those to look at."""
    call.require_role("editor")
    async with call.ctx.sessions() as session:
        return await service.list_assets(
            session, status=call.query.status, cursor=call.query.cursor, limit=call.query.limit
        )


@api.get("/titles/{title_id}/media", response=MediaAssetOut, errors=(403, 404))
async def title_media(call: Call) -> MediaAssetOut:
    """A film's media: transcode status, progress, error, renditions, tracks."""
    return await _asset(call)


@api.get("/episodes/{episode_id}/media", response=MediaAssetOut, errors=(403, 404))
async def episode_media(call: Call) -> MediaAssetOut:
    """An episode's media: transcode status, progress, error, renditions, tracks."""
    return await _asset(call)


# --- tracks and segments (editors), for films and episodes alike -------------------------


def _item_route(method: str, suffix: str, **kw: Any) -> Callable[[Handler], Handler]:
    """Declare `handler` under /titles/{title_id}/media/… and /episodes/{episode_id}/media/…
    (two operations in the OpenAPI document, one rule)."""

    def register(handler: Handler) -> Handler:
        for prefix, param, item in (
            ("titles", "title_id", "film"),
            ("episodes", "episode_id", "episode"),
        ):

            async def endpoint(call: Call, _h: Handler = handler) -> Any:
                return await _h(call)

            endpoint.__name__ = f"{handler.__name__}_{item}"
            article = "an episode" if item == "episode" else "a film"
            endpoint.__doc__ = (handler.__doc__ or "").replace("ITEM", article)
            api.route(method, f"/{prefix}/{{{param}}}/media/{suffix}", **kw)(endpoint)
        return handler

    return register


async def _read_body(call: Call, limit: int) -> bytes:
    """The raw request body, refused past `limit` bytes while it streams in."""
    data = bytearray()
    async for chunk in call.request.stream():
        data += chunk
        if len(data) > limit:
            raise DomainError(
                f"The upload is larger than {limit} bytes", code="payload_too_large", status=413
            )
    if not data:
        raise InvalidInput("The upload is empty", code="empty_upload")
    return bytes(data)


@_item_route(
    "PUT", "audio", query=TrackQuery, response=TrackOut, status=202, errors=(403, 404, 413)
)
async def add_audio(call: Call) -> TrackOut:
    """Add a dub or another audio track to ITEM: the audio file as the raw request body.

    Streamed to disk; it must be about as long as the video (`fit=true` pads or cuts it).
    Nothing is re-encoded but this audio: a new revision with it is published when the
    compose job is done (`status` goes from pending to published in `GET …/media`).
    """
    user = call.require_role("editor")
    target = await _target(call)
    q: TrackQuery = call.query
    tracks.check_kind(TrackType.audio, q.kind)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        asset_id, video_ms = asset.id, asset.duration_ms
    media = service.store(call.ctx)
    dest = media.new_track_path(asset_id, q.filename)
    try:
        size = await media.save_stream(
            call.request.stream(), dest, max_bytes=call.ctx.settings.media_max_upload_bytes
        )
        if size == 0:
            raise InvalidInput("The upload is empty", code="empty_upload")
        channels = await tracks.check_dub(
            find_ffmpeg(call.ctx.settings.ffmpeg_path), dest, video_ms=video_ms, fit=q.fit
        )
        async with call.transaction() as session:
            asset = await service.access_asset(session, target=target, lock=True)
            row = await tracks.do_add_track(
                session,
                call.outbox,
                asset=asset,
                track_type=TrackType.audio,
                language=q.language,
                label=q.label,
                kind=q.kind,
                default=q.default,
                file_path=dest,
                channels=channels,
                user_id=user.user_id,
            )
            return tracks.track_out(row, tracks.published_ids(asset))
    except TooLarge as exc:
        dest.unlink(missing_ok=True)
        raise DomainError(str(exc), code="payload_too_large", status=413) from exc
    except BaseException:
        dest.unlink(missing_ok=True)
        raise


@_item_route(
    "PUT",
    "subtitles",
    query=TrackQuery,
    response=TrackOut,
    status=201,
    errors=(403, 404, 413),
)
async def add_subtitles(call: Call) -> TrackOut:
    """Add subtitles or captions to ITEM: an SRT or WebVTT file as the raw request body.

    The text encoding is detected; timings and tags are checked and a bad file is refused
    with the line that is wrong (422 `invalid_subtitles`). Published with the next revision.
    """
    user = call.require_role("editor")
    target = await _target(call)
    q: TrackQuery = call.query
    tracks.check_kind(TrackType.text, q.kind)
    data = await _read_body(call, tracks.MAX_SUBTITLE_BYTES)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target, lock=True)
        vtt = tracks.check_subtitle(data, duration_ms=asset.duration_ms, language=q.language)
        row = await tracks.do_add_track(
            session,
            call.outbox,
            asset=asset,
            track_type=TrackType.text,
            language=q.language,
            label=q.label,
            kind=q.kind,
            default=q.default,
            vtt=vtt,
            user_id=user.user_id,
        )
        return tracks.track_out(row, tracks.published_ids(asset))


@_item_route("PUT", "subtitles/{track_id}", response=TrackOut, errors=(403, 404, 413))
async def replace_subtitles(call: Call) -> TrackOut:
    """Replace the cues of a text track of ITEM (an SRT or WebVTT file as the body)."""
    call.require_role("editor")
    target = await _target(call)
    data = await _read_body(call, tracks.MAX_SUBTITLE_BYTES)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target, lock=True)
        row = await tracks.access_track(session, asset=asset, track_id=_id(call, "track_id"))
        vtt = tracks.check_subtitle(data, duration_ms=asset.duration_ms, language=row.language)
        row = await tracks.do_replace_subtitle(
            session, call.outbox, asset=asset, track_id=row.id, vtt=vtt
        )
        return tracks.track_out(row, tracks.published_ids(asset))


@_item_route("PATCH", "tracks/{track_id}", body=TrackPatch, response=TrackOut, errors=(403, 404))
async def update_track(call: Call) -> TrackOut:
    """Change a track of ITEM: language, label, kind, default; hide or show a source track."""
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target, lock=True)
        row = await tracks.do_update_track(
            session,
            call.outbox,
            asset=asset,
            track_id=_id(call, "track_id"),
            changes=call.body.model_dump(exclude_unset=True),
        )
        return tracks.track_out(row, tracks.published_ids(asset))


@_item_route("DELETE", "tracks/{track_id}", status=204, errors=(403, 404))
async def remove_track(call: Call) -> None:
    """Remove a track of ITEM (a source track is hidden; an uploaded one is deleted).

    Viewers keep the published revision until the next one is out; players holding its
    manifest keep working until their grant expires."""
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target, lock=True)
        await tracks.do_remove_track(
            session, call.outbox, asset=asset, track_id=_id(call, "track_id")
        )


@_item_route("GET", "segments", response=SegmentsOut, errors=(403, 404))
async def list_segments(call: Call) -> SegmentsOut:
    """The intro, recap and credits of ITEM, and what viewers' behaviour suggests."""
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        return await segments.segments_view(session, asset=asset)


@_item_route("PUT", "segments/{kind}", body=SegmentIn, response=SegmentOut, errors=(403, 404))
async def set_segment(call: Call) -> SegmentOut:
    """Set the intro, recap or credits (`kind`) of ITEM; players get it with playback."""
    user = call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        row = await segments.do_set_segment(
            session,
            asset=asset,
            kind=str(call.params["kind"]),
            start_ms=call.body.start_ms,
            end_ms=call.body.end_ms,
            user_id=user.user_id,
        )
        return segments.segment_out(row)


@_item_route("DELETE", "segments/{kind}", status=204, errors=(403, 404))
async def remove_segment(call: Call) -> None:
    """Remove the intro, recap or credits of ITEM."""
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        await segments.do_remove_segment(session, asset=asset, kind=str(call.params["kind"]))


@_item_route(
    "POST",
    "segments/suggestions/{suggestion_id}/confirm",
    body=ConfirmIn,
    response=SegmentOut,
    errors=(403, 404),
)
async def confirm_suggestion(call: Call) -> SegmentOut:
    """Make a suggested segment of ITEM real, as suggested or corrected."""
    user = call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        row = await segments.do_confirm_suggestion(
            session,
            asset=asset,
            suggestion_id=_id(call, "suggestion_id"),
            kind=call.body.kind,
            start_ms=call.body.start_ms,
            end_ms=call.body.end_ms,
            user_id=user.user_id,
        )
        return segments.segment_out(row)


@_item_route("POST", "segments/suggestions/{suggestion_id}/dismiss", status=204, errors=(403, 404))
async def dismiss_suggestion(call: Call) -> None:
    """Say a suggested segment of ITEM is wrong: it (and anything close) is not asked again."""
    call.require_role("editor")
    target = await _target(call)
    async with call.transaction() as session:
        asset = await service.access_asset(session, target=target)
        await segments.do_dismiss_suggestion(
            session, asset=asset, suggestion_id=_id(call, "suggestion_id")
        )


# --- playback ------------------------------------------------------------------------------


async def _playback(call: Call) -> PlaybackOut:
    user = call.require_user()
    target = await _target(call)
    async with call.transaction() as session:
        return await playback.access_playback(
            call.ctx,
            session,
            user_id=user.user_id,
            target=target,
            now=clock.now(),
            session_id=user.session_id,
            device_name=call.query.device_name,
        )


@api.get(
    "/titles/{title_id}/playback",
    query=PlaybackQuery,
    response=PlaybackOut,
    errors=(403, 404, 409),
)
async def title_playback(call: Call) -> PlaybackOut:
    """Signed HLS and DASH URLs of a film (valid for MEDIA_URL_TTL_S), its audio and text
    tracks, thumbnails, intro and credits, and which tracks this viewer starts with.

    This screen takes one of the account's MAX_STREAMS places, kept by its player's
    heartbeats; past the limit 409 `too_many_streams` lists the screens playing.
    """
    return await _playback(call)


@api.get(
    "/episodes/{episode_id}/playback",
    query=PlaybackQuery,
    response=PlaybackOut,
    errors=(403, 404, 409),
)
async def episode_playback(call: Call) -> PlaybackOut:
    """Like a film's playback, plus the next episode to offer at the credits."""
    return await _playback(call)


# --- track preferences ----------------------------------------------------------------------


@api.get("/me/playback-preferences", response=PreferencesOut)
async def get_playback_preferences(call: Call) -> PreferencesOut:
    """My audio and subtitle languages (what playback answers start with)."""
    user = call.require_user()
    async with call.transaction() as session:
        return await preferences.get_preferences(session, user_id=user.user_id)


@api.put("/me/playback-preferences", body=PreferencesIn, response=PreferencesOut)
async def set_playback_preferences(call: Call) -> PreferencesOut:
    """Set my audio and subtitle languages, in order of preference."""
    user = call.require_user()
    async with call.transaction() as session:
        return await preferences.do_set_preferences(session, user_id=user.user_id, prefs=call.body)


@api.get("/me/playback-preferences/titles/{title_id}", response=TitleChoiceOut, errors=(404,))
async def get_title_choice(call: Call) -> TitleChoiceOut:
    """What I picked for this title (all nulls: nothing, my preferences apply)."""
    user = call.require_user()
    async with call.transaction() as session:
        title_id = _id(call, "title_id")
        await preferences.title_exists(session, title_id=title_id)
        return await preferences.get_title_choice(session, user_id=user.user_id, title_id=title_id)


@api.put(
    "/me/playback-preferences/titles/{title_id}",
    body=TitleChoiceIn,
    response=TitleChoiceOut,
    errors=(404,),
)
async def set_title_choice(call: Call) -> TitleChoiceOut:
    """Remember the tracks I picked for this title (a series: for all its episodes).

    Players send this when the viewer switches track; it overrides my preferences here."""
    user = call.require_user()
    async with call.transaction() as session:
        title_id = _id(call, "title_id")
        await preferences.title_exists(session, title_id=title_id)
        return await preferences.do_set_title_choice(
            session, user_id=user.user_id, title_id=title_id, choice=call.body
        )


@api.delete("/me/playback-preferences/titles/{title_id}", status=204, errors=(404,))
async def forget_title_choice(call: Call) -> None:
    """Forget what I picked for this title: my preferences apply again."""
    user = call.require_user()
    async with call.transaction() as session:
        await preferences.do_forget_title_choice(
            session, user_id=user.user_id, title_id=_id(call, "title_id")
        )


# --- viewing history -----------------------------------------------------------------------


@api.post("/me/history/progress", body=ProgressIn, response=HistoryEntryOut, errors=(404, 409, 429))
async def record_progress(call: Call) -> HistoryEntryOut:
    """A player heartbeat (also over the socket as `history:heartbeat`); it keeps this
    screen's place among the account's MAX_STREAMS (409 `stream_stopped` once its owner
    stopped it from another device, `too_many_streams` when its place was lost and taken)."""
    user = call.require_user()
    await history.check_heartbeat_rate(call.ctx, user_id=user.user_id)
    async with call.transaction() as session:
        target = await service.access_target(
            session, title_id=call.body.title_id, episode_id=call.body.episode_id
        )
        await streams.check_stream(
            call.ctx,
            user_id=user.user_id,
            session_id=user.session_id,
            target=target,
            heartbeat=True,
        )
        return await history.do_record_progress(
            session,
            call.outbox,
            user_id=user.user_id,
            target=target,
            position_ms=call.body.position_ms,
            duration_ms=call.body.duration_ms,
            now_ms=clock.now_ms(),
        )


@api.get("/me/history", query=HistoryQuery, response=HistoryPage)
async def list_history(call: Call) -> HistoryPage:
    """What I watched, most recent first."""
    user = call.require_user()
    async with call.transaction() as session:
        return await history.list_history(
            session, user_id=user.user_id, cursor=call.query.cursor, limit=call.query.limit
        )


@api.delete("/me/history/{entry_id:int}", status=204, errors=(404,))
async def delete_history_entry(call: Call) -> None:
    """Remove one entry (a film, or one episode) from my history."""
    user = call.require_user()
    async with call.transaction() as session:
        await history.do_delete_entry(session, user_id=user.user_id, entry_id=_id(call, "entry_id"))


@api.delete("/me/history/titles/{title_id}", status=204, errors=(404,))
async def delete_title_history(call: Call) -> None:
    """Remove a film or a whole series from my history."""
    user = call.require_user()
    async with call.transaction() as session:
        await history.do_delete_title(session, user_id=user.user_id, title_id=_id(call, "title_id"))


@api.get("/me/continue-watching", response=ContinueOut)
async def continue_watching(call: Call) -> ContinueOut:
    """The "continue watching" row: unfinished items and next episodes, most recent first."""
    user = call.require_user()
    async with call.transaction() as session:
        return ContinueOut(items=await history.continue_watching(session, user_id=user.user_id))


@api.get("/titles/{title_id}/resume", response=ResumeOut, errors=(404,))
async def resume(call: Call) -> ResumeOut:
    """What to play for a title and where to start (a series: which episode)."""
    user = call.require_user()
    async with call.transaction() as session:
        title = await history.access_title(session, title_id=_id(call, "title_id"))
        return await history.resume(session, user_id=user.user_id, title=title)


@api.get("/episodes/{episode_id}/next", response=NextEpisodeOut, errors=(404,))
async def next_episode(call: Call) -> NextEpisodeOut:
    """The episode after this one (across seasons), or null after the finale."""
    call.require_user()
    async with call.transaction() as session:
        nxt = await history.next_episode(session, episode_id=_id(call, "episode_id"))
    return NextEpisodeOut(next=nxt)


# --- the signed files ----------------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}\.(m3u8|mpd|m4s|mp4|vtt|jpg)$")
MAX_CACHE_S = 24 * 3600
_NO_STORE = {"Cache-Control": "no-store"}


@files.get(
    "/media/{token}/{asset_id}/{revision}/{name}",
    auth="none",
    raw_response="application/octet-stream",
    errors=(403, 404, 410),
)
async def media_file(call: Call) -> Response:
    """A manifest or segment by signed URL (as handed out by /playback); Range supported.

    No database and no session: the token is the authorization, so this is as cheap as a
    static file and a CDN can sit in front (responses are public and immutable for as long
    as the grant lasts).
    """
    p = call.params
    name = p["name"]
    prefix = f"{p['asset_id']}/{p['revision']}"
    now = clock.now().timestamp()
    try:
        grant = signing.verify(
            service.media_key(call.ctx), token=p["token"], prefix=prefix, now=int(now)
        )
    except signing.BadSignature as exc:
        raise Forbidden(str(exc), code="bad_signature", headers=_NO_STORE) from exc
    except signing.Expired as exc:
        raise Gone(str(exc), code="expired", headers=_NO_STORE) from exc
    if not _NAME.match(name):
        raise NotFound("No such media file", code="not_found", headers=_NO_STORE)
    max_age = max(0, min(MAX_CACHE_S, grant.expires - int(now)))
    headers = {
        "Cache-Control": f"public, max-age={max_age}, immutable",
        "X-Content-Type-Options": "nosniff",
        "Timing-Allow-Origin": "*",
    }
    objects = service.objects_of(call.ctx)
    if objects is not None:
        key = objects.revision_key(p["asset_id"], p["revision"], name)
        return await _from_objects(call, objects, key, name, headers, grant.expires - int(now))
    path = Path(call.ctx.settings.media_dir, "assets", p["asset_id"], p["revision"], name)
    try:
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise FileNotFoundError(name)
    except OSError as exc:
        raise NotFound("No such media file", code="not_found", headers=_NO_STORE) from exc
    return FileResponse(path, headers=headers, media_type=content_type(name), stat_result=st)


_RANGE = re.compile(r"^bytes=\d*-\d*$")


async def _from_objects(
    call: Call,
    objects: ObjectStore,
    key: str,
    name: str,
    headers: dict[str, str],
    left_s: int,
) -> Response:
    """A file of a revision in the object store: segments and images by a redirect to a
    presigned URL valid no longer than the grant (MEDIA_S3_DELIVERY=redirect), manifests
    and subtitles served through (players resolve relative URIs against their URL)."""
    if call.ctx.settings.media_s3_delivery == "redirect" and not name.endswith(SERVED_THROUGH):
        url = await asyncio.to_thread(objects.presigned_get, key, expires_s=left_s)
        # The redirect names a URL signed for this grant only: caches keep it no longer.
        return RedirectResponse(
            url,
            status_code=302,
            headers={"Cache-Control": f"private, max-age={min(left_s, 60)}"},
        )
    wanted = call.request.headers.get("range")
    byte_range = wanted if wanted and _RANGE.match(wanted) else None
    try:
        body, content_range, _ = await asyncio.to_thread(objects.get, key, byte_range=byte_range)
    except KeyError as exc:
        raise NotFound("No such media file", code="not_found", headers=_NO_STORE) from exc
    out = {**headers, "Accept-Ranges": "bytes"}
    if content_range:
        out["Content-Range"] = content_range
    return Response(
        body, status_code=206 if content_range else 200, headers=out, media_type=content_type(name)
    )


# --- screens playing at once ----------------------------------------------------------------


@api.get("/me/streams", response=list[StreamOut])
async def my_streams(call: Call) -> list[StreamOut]:
    """The screens playing on my account now (at most MAX_STREAMS), longest playing first."""
    user = call.require_user()
    return await streams.list_streams(call.ctx, user_id=user.user_id, session_id=user.session_id)


@api.delete("/me/streams/{stream_id}", status=204, errors=(404,))
async def stop_stream(call: Call) -> None:
    """Stop one of my screens: its place is free at once, its player gets
    `playback:stopped` over its sockets and its heartbeats are refused until it plays again."""
    user = call.require_user()
    await streams.do_stop_stream(
        call.ctx, call.outbox, user_id=user.user_id, stream_id=call.params["stream_id"]
    )
