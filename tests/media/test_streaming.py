"""Ingest to playback through the running servers, with ffmpeg as the player."""

from __future__ import annotations

import asyncio
import os
import re
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import delete, select

from cinema.demo_video import queue_demo_video
from cinema.ingest import resolve_target
from models.accounts.tables import Role
from models.catalog.tables import Title
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import InvalidInput, NotFound
from models.core.events import Outbox
from models.core.settings import Settings
from models.media import signing
from models.media.publish import do_prune_orphans, run_transcode
from models.media.service import access_target, do_attach_source, media_key
from models.media.tables import MediaAsset
from tests.conftest import ROOT, LiveServer, settings_env
from tests.factories import Account, make_account
from tests.media.helpers import FF, make_film, make_series, make_video, wait_media
from tests.realtime_client import connected

pytestmark = pytest.mark.timeout(120)


async def _ffmpeg(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        FF,
        "-hide_banner",
        "-nostdin",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def _video_streams(url: str) -> list[tuple[int, str]]:
    """What a player sees at `url`: (stream index, WxH) of every video stream."""
    _, _, err = await _ffmpeg("-i", url)
    found = re.findall(r"Stream #0:(\d+)\S*: Video: .*?, (\d+x\d+)", err)
    assert found, err[-2000:]
    return [(int(i), size) for i, size in found]


async def _decode(url: str, stream: str, frames: int = 8) -> int:
    """Decode `frames` frames of one stream through the server; returns how many came out."""
    code, out, err = await _ffmpeg(
        "-v", "error", "-i", url, "-map", stream, "-frames:v", str(frames), "-f", "framemd5", "-"
    )
    assert code == 0, err[-2000:]
    return sum(1 for line in out.splitlines() if line and not line.startswith("#"))


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("clips") / "clip.mp4", size="640x360")


@pytest.fixture(scope="module")
async def api(app: Any, worker: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture(scope="module")
async def editor(ctx: Context, api: httpx.AsyncClient) -> Account:
    return await make_account(ctx, api, role=Role.editor)


@pytest.fixture(scope="module")
async def viewer(ctx: Context, api: httpx.AsyncClient) -> Account:
    return await make_account(ctx, api)


@pytest.fixture(scope="module")
async def ready_film(
    ctx: Context, api: httpx.AsyncClient, editor: Account, clip: Path
) -> dict[str, Any]:
    film = await make_film(ctx, name="Ready Film")
    return {"title_id": film, **await _upload_ready(api, editor, film, clip)}


async def _upload_ready(
    api: httpx.AsyncClient, editor: Account, film: int, clip: Path
) -> dict[str, Any]:
    """Upload `clip` as the film's source and wait for its transcode to be ready."""
    r = await api.put(
        f"/api/v1/titles/{film}/media/source?filename=clip.mp4",
        content=await asyncio.to_thread(clip.read_bytes),
        headers={**editor.headers, "Content-Type": "video/mp4"},
    )
    assert r.status_code == 202, r.text
    media: dict[str, Any] = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert media["status"] == "ready", media
    return media


@pytest.mark.slow
async def test_upload_transcode_and_a_real_player_reads_hls_and_dash(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer], worker: Any, tmp_path: Path
) -> None:
    a, b = two_servers
    source = make_video(tmp_path / "movie.mov", seconds=2, size="1280x720")
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        editor = await make_account(ctx, http, role=Role.editor)
        viewer = await make_account(ctx, http)
        film = await make_film(ctx)
        # The uploader listens on the *other* server: progress comes from the worker via Redis.
        async with connected(b.url, editor.access_token) as sock:

            async def body() -> AsyncIterator[bytes]:
                with source.open("rb") as f:
                    while chunk := f.read(256 * 1024):
                        yield chunk

            r = await http.put(
                f"/api/v1/titles/{film}/media/source",
                params={"filename": "../../My Movie.mov"},
                content=body(),
                headers={**editor.headers, "Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 202, r.text
            assert r.json()["status"] == "queued" and r.json()["source_name"] == "My_Movie.mov"
            media = await wait_media(http, f"/api/v1/titles/{film}/media", editor.headers)
            assert media["status"] == "ready", media
            events = await sock.wait_event("media:ingest", 1)
            deadline = time.monotonic() + 10
            while events[-1]["status"] != "ready" and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
        statuses = [e["status"] for e in events]
        assert statuses[0] == "queued" and "processing" in statuses and statuses[-1] == "ready"
        assert events[-1]["progress"] == 1.0 and events[-1]["asset_id"] == media["id"]
        assert [(r["width"], r["height"]) for r in media["renditions"]] == [(1280, 720), (640, 360)]
        assert all(
            r["codecs"].startswith("avc1.") and "mp4a.40.2" in r["codecs"]
            for r in media["renditions"]
        )
        assert 1900 <= media["duration_ms"] <= 2200

        r = await http.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)
        assert r.status_code == 200, r.text
        play = r.json()
        assert {"hls", "dash", "expires_at", "audio", "text", "start"} <= set(play)
        assert [a["channels"] for a in play["audio"]] == [[2]] and play["text"] == []
        assert play["start"] == {"audio_track_id": play["audio"][0]["id"], "text_track_id": None}
        assert play["hls"].startswith(a.url + "/media/") and play["hls"].endswith("/master.m3u8")
        assert play["dash"].endswith("/manifest.mpd")

        master = (await http.get(play["hls"])).text
        assert master.count("#EXT-X-STREAM-INF:") == 2
        for attr in ("BANDWIDTH=", "RESOLUTION=1280x720", "RESOLUTION=640x360", 'CODECS="avc1.'):
            assert attr in master

    # ffmpeg as the player: both manifests, every rendition decoded, through signed URLs.
    for url in (play["hls"], play["dash"]):
        streams = await _video_streams(url)
        assert sorted({size for _, size in streams}) == ["1280x720", "640x360"], (url, streams)
        for index, _ in streams:
            assert await _decode(url, f"0:{index}") == 8
        code, _, err = await _ffmpeg("-v", "error", "-i", url, "-map", "0:a:0", "-f", "null", "-")
        assert code == 0, err
    # The same URLs with a forged signature are refused, for the player too.
    forged = re.sub(r"\.[A-Za-z0-9_-]{22}/", ".AAAAAAAAAAAAAAAAAAAAAA/", play["hls"])
    code, _, err = await _ffmpeg("-v", "error", "-i", forged, "-f", "null", "-")
    assert code != 0 and "403" in err


async def test_signed_delivery_range_types_cors_cache(
    ctx: Context, api: httpx.AsyncClient, viewer: Account, ready_film: dict[str, Any]
) -> None:
    r = await api.get(f"/api/v1/titles/{ready_film['title_id']}/playback", headers=viewer.headers)
    play = r.json()
    hls, dash = _path(play["hls"]), _path(play["dash"])
    base = hls.rsplit("/", 1)[0]

    r = await api.get(hls)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.apple.mpegurl"
    cache = r.headers["cache-control"]
    assert cache.startswith("public, max-age=") and "immutable" in cache
    assert 0 < int(cache.split("max-age=")[1].split(",")[0]) <= ctx.settings.media_url_ttl_s
    variant = next(ln for ln in r.text.splitlines() if ln.endswith(".m3u8"))
    playlist = (await api.get(f"{base}/{variant}")).text
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in playlist and "#EXT-X-ENDLIST" in playlist
    init = re.search(r'#EXT-X-MAP:URI="([^"]+)"', playlist).group(1)  # type: ignore[union-attr]
    segment = next(ln for ln in playlist.splitlines() if ln.endswith(".m4s"))

    r = await api.get(dash)
    assert r.headers["content-type"] == "application/dash+xml" and "<MPD" in r.text
    r = await api.get(f"{base}/{init}")
    assert r.headers["content-type"] == "video/mp4" and r.content[4:8] == b"ftyp"
    assert b"cmfc" in r.content[:64]  # the CMAF brand
    full = await api.get(f"{base}/{segment}")
    assert full.headers["content-type"] == "video/iso.segment"
    assert full.headers["accept-ranges"] == "bytes"
    size = len(full.content)

    # Range: players and CDNs fetch pieces.
    r = await api.get(f"{base}/{segment}", headers={"Range": "bytes=100-199"})
    assert r.status_code == 206 and r.content == full.content[100:200]
    assert r.headers["content-range"] == f"bytes 100-199/{size}"
    r = await api.get(f"{base}/{segment}", headers={"Range": f"bytes=-{size // 2}"})
    assert r.status_code == 206 and r.content == full.content[-(size // 2) :]
    r = await api.get(f"{base}/{segment}", headers={"Range": f"bytes={size + 10}-"})
    assert r.status_code == 416
    r = await api.head(f"{base}/{segment}")
    assert r.status_code == 200 and int(r.headers["content-length"]) == size and not r.content

    # CORS for web players on an allowed origin, including the preflight for Range.
    origin = "http://testserver"
    r = await api.get(f"{base}/{segment}", headers={"Origin": origin, "Range": "bytes=0-9"})
    assert r.headers["access-control-allow-origin"] == origin
    assert "Content-Range" in r.headers["access-control-expose-headers"]
    r = await api.options(
        f"{base}/{segment}",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "range",
        },
    )
    assert r.status_code == 200 and "range" in r.headers["access-control-allow-headers"].lower()

    # Signature, expiry, scope.
    token, asset_id, revision = base.split("/")[2:5]
    bad = token[:-1] + ("A" if token[-1] != "A" else "B")
    r = await api.get(f"/media/{bad}/{asset_id}/{revision}/master.m3u8")
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_signature"
    assert r.headers["cache-control"] == "no-store"
    r = await api.get(f"/media/{token}/{int(asset_id) + 1}/{revision}/master.m3u8")
    assert r.status_code == 403
    longer = token.replace(token.split(".")[0], format(int(token.split(".")[0], 16) + 3600, "x"))
    assert (await api.get(f"/media/{longer}/{asset_id}/{revision}/master.m3u8")).status_code == 403
    expired = signing.sign(
        media_key(ctx),
        prefix=f"{asset_id}/{revision}",
        user_id=viewer.id,
        expires=int(time.time()) - 1,
    )
    r = await api.get(f"/media/{expired}/{asset_id}/{revision}/master.m3u8")
    assert r.status_code == 410 and r.json()["error"]["code"] == "expired"
    assert (await api.get(f"{base}/nothing.m4s")).status_code == 404
    assert (await api.get(f"{base}/..%2f..%2fsources")).status_code in (403, 404)


async def test_the_videos_own_duration_decides_watched(
    api: httpx.AsyncClient, viewer: Account, ready_film: dict[str, Any]
) -> None:
    # The catalog says 100 minutes and the player claims more; the video is ~2 s long.
    r = await api.post(
        "/api/v1/me/history/progress",
        json={"title_id": ready_film["title_id"], "position_ms": 1_900, "duration_ms": 6_000_000},
        headers=viewer.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["duration_ms"] == ready_film["duration_ms"] and r.json()["completed"]


async def test_authorization(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    viewer: Account,
    ready_film: dict[str, Any],
    clip: Path,
) -> None:
    film = ready_film["title_id"]
    assert (await api.get(f"/api/v1/titles/{film}/playback")).status_code == 401
    r = await api.put(
        f"/api/v1/titles/{film}/media/source", content=b"x" * 10, headers=viewer.headers
    )
    assert r.status_code == 403
    assert (
        await api.get(f"/api/v1/titles/{film}/media", headers=viewer.headers)
    ).status_code == 403
    r = await api.post(f"/api/v1/titles/{film}/media/transcode", headers=viewer.headers)
    assert r.status_code == 403
    r = await api.post(
        f"/api/v1/titles/{film}/media/register",
        json={"path": "../../../etc/passwd"},
        headers=editor.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "bad_import_path"

    no_media = await make_film(ctx)
    r = await api.get(f"/api/v1/titles/{no_media}/playback", headers=viewer.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "no_media"
    series, _ = await make_series(ctx)
    r = await api.get(f"/api/v1/titles/{series}/playback", headers=viewer.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "series_needs_episode"
    r = await api.get("/api/v1/episodes/999999999/playback", headers=viewer.headers)
    assert r.status_code == 404

    # Size limit: refused while streaming, and nothing is left behind.
    sources = ctx.settings.media_dir / "sources"
    before = set(sources.rglob("*"))
    saved = ctx.settings.media_max_upload_bytes
    ctx.settings.media_max_upload_bytes = 100_000
    try:

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b"\0" * 50_000

        r = await api.put(
            f"/api/v1/titles/{no_media}/media/source", content=chunks(), headers=editor.headers
        )
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"
        r = await api.put(
            f"/api/v1/titles/{no_media}/media/source",
            content=b"\0" * 200_000,
            headers=editor.headers,
        )
        assert r.status_code == 413
    finally:
        ctx.settings.media_max_upload_bytes = saved
    assert {p for p in sources.rglob("*") if p.is_file()} <= before


async def test_failure_reported_then_rerun_is_safe(
    ctx: Context, api: httpx.AsyncClient, editor: Account, viewer: Account, clip: Path
) -> None:
    film = await make_film(ctx)
    r = await api.put(
        f"/api/v1/titles/{film}/media/source?filename=broken.mp4",
        content=b"definitely not a video " * 500,
        headers=editor.headers,
    )
    assert r.status_code == 202
    media = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert media["status"] == "failed" and "Invalid data" in media["error"], media
    assert str(ctx.settings.media_dir) not in media["error"]
    r = await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)
    assert r.status_code == 409 and "Invalid data" in r.json()["error"]["message"]

    # A good source; then a re-run from the kept source publishes a new revision while
    # URLs signed for the old one keep working.
    r = await api.put(
        f"/api/v1/titles/{film}/media/source?filename=good.mp4",
        content=await asyncio.to_thread(clip.read_bytes),
        headers=editor.headers,
    )
    first = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert first["status"] == "ready" and first["error"] is None
    old = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    r = await api.post(f"/api/v1/titles/{film}/media/transcode", headers=editor.headers)
    assert r.status_code == 202 and r.json()["status"] == "queued"
    second = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert second["status"] == "ready"
    new = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert new["hls"] != old["hls"]
    assert (await api.get(_path(old["hls"]))).status_code == 200
    assert (await api.get(_path(new["dash"]))).status_code == 200
    async with transaction(ctx.sessions) as session:
        asset = (
            await session.execute(select(MediaAsset).where(MediaAsset.title_id == film))
        ).scalar_one()
    kept = list((ctx.settings.media_dir / "sources" / f"film-{film}").iterdir())
    assert [p.name for p in kept] == [Path(asset.source_path).name]  # broken one pruned

    # Deleting the film from the catalog takes its asset row along; the nightly prune
    # then removes the files.
    async with transaction(ctx.sessions) as session:
        await session.execute(delete(Title).where(Title.id == film))
    removed = await do_prune_orphans(ctx, grace_s=0)
    assert ctx.settings.media_dir / "assets" / str(asset.id) in removed
    assert not (ctx.settings.media_dir / "sources" / f"film-{film}").exists()
    assert (await api.get(_path(new["hls"]))).status_code == 404


async def test_cli_ingest_waits_and_prints(
    ctx: Context, settings: Settings, worker: Any, clip: Path
) -> None:
    _, episodes = await make_series(ctx, episodes_per_season=(1,))
    episode = episodes[0][0]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cinema.cli",
        "ingest-media",
        f"episode:{episode}",
        str(clip),
        env=settings_env(settings),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 90)
    assert proc.returncode == 0, err.decode()[-2000:]
    text = out.decode()
    assert "ready" in text and "360p" in text, text
    # How targets are named (in-process: a second command run would only cost start-up).
    film = await make_film(ctx)
    async with transaction(ctx.sessions) as session:
        assert (await resolve_target(session, f"title:{film}")).title_id == film
        assert (await resolve_target(session, f"episode:{episode}")).episode_id == episode
        try:  # a bare id works unless a film has the same id
            bare = await resolve_target(session, str(episode))
            assert bare.episode_id == episode or bare.title_id == episode
        except InvalidInput as exc:
            assert "both a film and an episode" in exc.message
        with pytest.raises(NotFound):
            await resolve_target(session, "title:999999999")
        with pytest.raises(InvalidInput):
            await resolve_target(session, "film:12")


def _ffmpeg_children() -> list[int]:
    """PIDs of ffmpeg processes this test process started (read from /proc)."""
    me = str(os.getpid())
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        ppid = stat[stat.rindex(")") + 2 :].split()[1]
        if ppid == me and "ffmpeg" in name:
            found.append(int(entry.name))
    return found


async def test_a_transcode_interrupted_mid_run_leaves_nothing_half_done(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    viewer: Account,
    clip: Path,
    tmp_path: Path,
) -> None:
    """A job cancelled while ffmpeg runs (worker shutdown, job timeout): ffmpeg is killed,
    no half revision stays on disk, the asset says what happened and the revision already
    published keeps playing; a re-run then goes through."""
    film = await make_film(ctx, name="Interrupted")
    await _upload_ready(api, editor, film, clip)
    before = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    long_clip = await asyncio.to_thread(
        make_video, tmp_path / "long.mp4", seconds=40, size="640x360"
    )
    async with transaction(ctx.sessions) as session:
        target = await access_target(session, title_id=film)
        # The job is not queued (this outbox is never flushed): the test runs it itself.
        asset = await do_attach_source(
            session,
            Outbox(),
            target=target,
            source_path=long_clip,
            source_name="long.mp4",
            source_size=long_clip.stat().st_size,
            user_id=None,
        )
        asset_id, token = asset.id, asset.job_token
    job = asyncio.create_task(run_transcode(ctx, asset_id=asset_id, token=token))
    deadline = time.monotonic() + 60
    while True:
        async with ctx.sessions() as session:
            row = await session.get(MediaAsset, asset_id)
            assert row is not None
            progress, status = row.progress, row.status
        if status == "processing" and progress > 0 and _ffmpeg_children():
            break
        assert time.monotonic() < deadline and not job.done(), (status, progress)
        await asyncio.sleep(0.05)
    work = ctx.settings.media_dir / "assets" / str(asset_id)
    assert any(p.name.startswith(".work-") for p in work.iterdir())

    job.cancel()
    with pytest.raises(asyncio.CancelledError):
        await job
    assert _ffmpeg_children() == []
    assert not any(p.name.startswith(".work-") for p in work.iterdir())
    assert await ctx.redis.get(ctx.keys("media", "transcode-lock", asset_id)) is None
    media = (await api.get(f"/api/v1/titles/{film}/media", headers=editor.headers)).json()
    assert media["status"] == "failed" and "interrupted" in media["error"], media
    after = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert after["hls"].split("/")[-3:-1] == before["hls"].split("/")[-3:-1]  # same revision
    assert (await api.get(_path(after["hls"]))).status_code == 200

    # Running it again (the worker this time) publishes the long source.
    r = await api.post(f"/api/v1/titles/{film}/media/transcode", headers=editor.headers)
    assert r.status_code == 202
    media = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert media["status"] == "ready" and media["duration_ms"] >= 39_000, media


async def test_make_run_gives_the_demo_film_a_playable_video(
    ctx: Context, settings: Settings, api: httpx.AsyncClient, editor: Account, viewer: Account
) -> None:
    name = f"Demo {time.time_ns()}"
    film = await make_film(ctx, name=name)
    said = await queue_demo_video(settings, seconds=3, film_name=name)
    assert f"title {film}) gets a 3 s demo video" in said, said
    media = await wait_media(api, f"/api/v1/titles/{film}/media", editor.headers)
    assert media["status"] == "ready" and media["duration_ms"] >= 2_900, media
    assert {r["name"] for r in media["renditions"]} == {"720p", "360p"}  # never upscaled
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    master = await api.get(_path(play["hls"]))
    assert master.status_code == 200
    assert "RESOLUTION=1280x720" in master.text and "RESOLUTION=640x360" in master.text
    assert (await api.get(_path(play["dash"]))).status_code == 200
    # Once: starting again finds the video there.
    assert "already has a video" in await queue_demo_video(settings, film_name=name)
    assert "no demo film" in await queue_demo_video(settings, film_name=f"Missing {name}")
