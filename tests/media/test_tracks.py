"""Audio languages, subtitles, thumbnails, segments and track preferences, from upload to
what real players (ffmpeg's HLS and DASH demuxers) read through signed URLs."""

from __future__ import annotations

import asyncio
import json
import os
import re
import struct
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.accounts.tables import Role
from models.core import clock
from models.core.context import Context
from models.core.db import transaction
from models.media import segments
from models.media.publish import do_prune_orphans
from tests.conftest import LiveServer
from tests.factories import Account, make_account
from tests.media.helpers import (
    make_audio,
    make_film,
    make_series,
    make_source,
    make_video,
    wait_media,
    wait_tracks,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

ENGLISH_SRT = """1
00:00:00,500 --> 00:00:01,500
Hello from the source

2
00:00:02,000 --> 00:00:02,800
Second line
"""
RU_TEXT = "Привет, это проверка!"
RU_NEW = "Новый текст"
CHAPTERS = ((0, 1000, "Intro"), (1000, 2200, "Story"), (2200, 3000, "End Credits"))


def _path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


async def _probe(url: str, *extra: str) -> list[dict[str, str]]:
    """What ffprobe sees at `url`: (type, codec, language, channels) of each stream."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", *extra, "-show_entries",
        "stream=index,codec_type,codec_name,channels:stream_tags=language", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    return [
        {
            "codec_type": s["codec_type"],
            "codec_name": s["codec_name"],
            "language": s.get("tags", {}).get("language", ""),
            "channels": str(s.get("channels", "")),
        }
        for s in json.loads(out)["streams"]
    ]


def _jpeg_size(data: bytes) -> tuple[int, int]:
    """Width and height from a JPEG's SOF marker."""
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2 : i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    raise AssertionError("no SOF marker")


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


async def _ingest(
    api: httpx.AsyncClient, editor: Account, path: str, source: Path
) -> dict[str, Any]:
    r = await api.put(
        f"/api/v1/{path}/media/source?filename={source.name}",
        content=await asyncio.to_thread(source.read_bytes),
        headers=editor.headers,
    )
    assert r.status_code == 202, r.text
    media = await wait_media(api, f"/api/v1/{path}/media", editor.headers)
    assert media["status"] == "ready", media
    return media


@pytest.fixture(scope="module")
async def multilingual(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Any]:
    """A film whose source has English stereo and French 5.1 audio, English subtitles, a
    German PGS subtitle stream and named chapters."""
    src = make_source(
        tmp_path_factory.mktemp("src") / "master.mkv",
        subtitles=(("eng", ENGLISH_SRT),),
        pgs="ger",
        chapters=CHAPTERS,
    )
    film = await make_film(ctx, name="Multilingual")
    return {"film": film, **await _ingest(api, editor, f"titles/{film}", src)}


async def test_every_language_reaches_ffprobe_through_hls_and_dash(
    ctx: Context,
    live_server: LiveServer,
    viewer: Account,
    multilingual: dict[str, Any],
) -> None:
    media = multilingual
    tracks = {(t["type"], t["language"]): t for t in media["tracks"]}
    assert set(tracks) == {("audio", "en"), ("audio", "fr"), ("text", "en")}
    assert tracks[("audio", "fr")]["channels"] == 6 and tracks[("audio", "en")]["default"]
    assert all(t["status"] == "published" and t["origin"] == "source" for t in tracks.values())
    assert media["thumbnails"] and not media["tracks_pending"]
    (note,) = media["notes"]  # the PGS stream, said plainly
    assert "hdmv_pgs_subtitle" in note and "bitmap" in note and "not converted" in note
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        r = await http.get(f"/api/v1/titles/{media['film']}/playback", headers=viewer.headers)
        assert r.status_code == 200, r.text
        play = r.json()
        assert [(a["language"], a["channels"]) for a in play["audio"]] == [
            ("en", [2]),
            ("fr", [2, 6]),
        ]
        assert [(t["language"], t["kind"]) for t in play["text"]] == [("en", "subtitles")]
        assert [(s["kind"], s["start_ms"], s["origin"]) for s in play["segments"]] == [
            ("intro", 0, "chapter"),
            ("credits", 2200, "chapter"),
        ]
        assert play["watched_at_ms"] == 2200  # the credits, not 90 %
        # Thumbnails: every cue points into a sprite sheet that exists and holds it.
        thumbs = play["thumbnails"]
        assert thumbs["interval_ms"] == 1000 and thumbs["width"] == 160
        vtt = (await http.get(thumbs["vtt"])).text
        cues = re.findall(r"(\S+\.jpg)#xywh=(\d+),(\d+),(\d+),(\d+)", vtt)
        assert len(cues) == 3, vtt
        base = thumbs["vtt"].rsplit("/", 1)[0]
        for sheet in {c[0] for c in cues}:
            r = await http.get(f"{base}/{sheet}")
            assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
            width, height = _jpeg_size(r.content)
            for name, x, y, w, h in cues:
                if name == sheet:
                    assert int(x) + int(w) <= width and int(y) + int(h) <= height
        # The whole subtitle track for downloads and the DASH sidecar.
        text = (await http.get(play["text"][0]["vtt"])).text
        assert text.startswith("WEBVTT") and "Hello from the source" in text

    # ffmpeg's HLS demuxer reads subtitle renditions only with -strict experimental.
    hls = await _probe(play["hls"], "-strict", "experimental")
    dash = await _probe(play["dash"])
    for streams in (hls, dash):
        audio = {(s["language"], s["channels"]) for s in streams if s["codec_type"] == "audio"}
        assert audio == {("en", "2"), ("fr", "2"), ("fr", "6")}, streams
        subs = [(s["codec_name"], s["language"]) for s in streams if s["codec_type"] == "subtitle"]
        assert subs == [("webvtt", "en")]


async def test_editors_add_dubs_and_subtitles_without_re_encoding_video(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    viewer: Account,
    tmp_path: Path,
) -> None:
    film = await make_film(ctx, name="Dubbed")
    src = make_source(tmp_path / "src.mkv", audio=(("eng", 2), ("fre", 2)), seconds=3)
    await _ingest(api, editor, f"titles/{film}", src)
    media_path = f"/api/v1/titles/{film}/media"
    before = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    old_master = _path(before["hls"])
    asset_dir = ctx.settings.media_dir / "assets" / str(before["hls"].split("/")[-3])

    # A German dub: an audio-only file, encoded alone into a new revision.
    dub = make_audio(tmp_path / "de.m4a", seconds=3, channels=6)
    r = await api.put(
        f"{media_path[:-6]}/media/audio?language=ger&label=Deutsch",
        content=dub.read_bytes(),
        headers=editor.headers,
    )
    assert r.status_code == 202, r.text
    dub_track = r.json()
    assert dub_track["status"] == "pending" and dub_track["language"] == "de"
    assert dub_track["channels"] == 6 and dub_track["origin"] == "upload"
    media = await wait_tracks(api, media_path, editor.headers)
    assert {t["id"]: t["status"] for t in media["tracks"]}[dub_track["id"]] == "published"
    after = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert after["hls"] != before["hls"]
    assert [(a["label"], a["channels"]) for a in after["audio"]][-1] == ("Deutsch", [2, 6])
    # Same video: the new revision's video segments are the old ones, hard-linked.
    old_rev, new_rev = before["hls"].split("/")[-2], after["hls"].split("/")[-2]
    for name in ("init-0.m4s", "chunk-0-00001.m4s"):
        assert (
            os.stat(asset_dir / old_rev / name).st_ino == os.stat(asset_dir / new_rev / name).st_ino
        )
    master = (await api.get(_path(after["hls"]))).text
    assert 'NAME="Deutsch",LANGUAGE="de"' in master and 'NAME="Deutsch (5.1)"' in master
    # Players holding the old manifest keep playing until their grant expires.
    assert (await api.get(old_master)).status_code == 200
    old_playlist = next(ln for ln in (await api.get(old_master)).text.splitlines()
                        if ln.endswith(".m3u8"))  # fmt: skip
    assert (await api.get(old_master.rsplit("/", 1)[0] + "/" + old_playlist)).status_code == 200

    # Russian subtitles in cp1251 (the encoding found from the language).
    srt = f"1\n00:00:00,200 --> 00:00:01,800\n{RU_TEXT}\n".encode("cp1251")
    r = await api.put(
        f"/api/v1/titles/{film}/media/subtitles?language=ru&kind=captions",
        content=srt,
        headers=editor.headers,
    )
    assert r.status_code == 201, r.text
    subs = r.json()
    assert subs["cues"] == 1 and subs["kind"] == "captions" and subs["label"] == "Russian (CC)"
    # A broken file is refused with its line, and nothing else changes.
    version_before = (await api.get(media_path, headers=editor.headers)).json()
    bad = b"1\n00:00:01,000 --> 00:00:02,000\nOK\n\n2\n00:00:03,000 --> 00:00:0x,500\nBroken\n"
    r = await api.put(
        f"/api/v1/titles/{film}/media/subtitles?language=en", content=bad, headers=editor.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_subtitles"
    assert "line 6" in r.json()["error"]["message"]
    r = await api.put(
        f"/api/v1/titles/{film}/media/subtitles?language=klingon",
        content=srt,
        headers=editor.headers,
    )
    assert r.status_code == 422
    await wait_tracks(api, media_path, editor.headers)
    assert len((await api.get(media_path, headers=editor.headers)).json()["tracks"]) == len(
        version_before["tracks"]
    )
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    (ru,) = play["text"]
    master = (await api.get(_path(play["hls"]))).text
    assert 'TYPE=SUBTITLES,GROUP-ID="subs",NAME="Russian (CC)",LANGUAGE="ru"' in master
    segment = await api.get(_path(play["hls"]).rsplit("/", 1)[0] + f"/text-{ru['id']}-00001.vtt")
    assert segment.headers["content-type"].startswith("text/vtt")
    assert "X-TIMESTAMP-MAP=" in segment.text and RU_TEXT in segment.text
    mpd = (await api.get(_path(play["dash"]))).text
    assert 'contentType="text" mimeType="text/vtt" lang="ru"' in mpd and 'value="caption"' in mpd

    # Replace the cues, rename the dub, hide the French source track, remove subtitles.
    r = await api.put(
        f"/api/v1/titles/{film}/media/subtitles/{ru['id']}",
        content=f"WEBVTT\n\n00:01.000 --> 00:02.000\n{RU_NEW}\n".encode(),
        headers=editor.headers,
    )
    assert r.status_code == 200, r.text
    r = await api.patch(
        f"/api/v1/titles/{film}/media/tracks/{dub_track['id']}",
        json={"language": "de-AT", "label": "Deutsch (AT)", "default": True},
        headers=editor.headers,
    )
    assert r.status_code == 200 and r.json()["default"], r.text
    fre = next(t for t in media["tracks"] if t["language"] == "fr")
    r = await api.delete(f"/api/v1/titles/{film}/media/tracks/{fre['id']}", headers=editor.headers)
    assert r.status_code == 204
    media = await wait_tracks(api, media_path, editor.headers)
    assert {t["id"]: t["status"] for t in media["tracks"]}[fre["id"]] == "hidden"
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert [(a["language"], a["default"]) for a in play["audio"]] == [
        ("en", False),
        ("de-AT", True),
    ]
    assert RU_NEW in (await api.get(_path(play["text"][0]["vtt"]))).text
    r = await api.delete(f"/api/v1/titles/{film}/media/tracks/{ru['id']}", headers=editor.headers)
    assert r.status_code == 204
    # The hidden source track comes back: encoded again from the kept source, alone.
    r = await api.patch(
        f"/api/v1/titles/{film}/media/tracks/{fre['id']}",
        json={"hidden": False},
        headers=editor.headers,
    )
    assert r.status_code == 200
    await wait_tracks(api, media_path, editor.headers)
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert [a["language"] for a in play["audio"]] == ["en", "fr", "de-AT"] and play["text"] == []
    mpd = (await api.get(_path(play["dash"]))).text
    assert re.findall(r'lang="([^"]+)"', mpd) == ["en", "fr", "de-AT", "de-AT"]  # + 5.1

    # Dubs must fit the video (or say fit=true), and must be audio.
    long_dub = make_audio(tmp_path / "long.m4a", seconds=8)
    r = await api.put(
        f"/api/v1/titles/{film}/media/audio?language=it",
        content=long_dub.read_bytes(),
        headers=editor.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "audio_length_mismatch"
    r = await api.put(
        f"/api/v1/titles/{film}/media/audio?language=it&fit=true",
        content=long_dub.read_bytes(),
        headers=editor.headers,
    )
    assert r.status_code == 202
    r = await api.put(
        f"/api/v1/titles/{film}/media/audio?language=it",
        content=b"not audio at all" * 100,
        headers=editor.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_audio"
    r = await api.put(
        f"/api/v1/titles/{film}/media/audio?language=it&kind=karaoke",
        content=long_dub.read_bytes(),
        headers=editor.headers,
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_track_kind"
    # Viewers may not touch tracks.
    r = await api.delete(
        f"/api/v1/titles/{film}/media/tracks/{dub_track['id']}", headers=viewer.headers
    )
    assert r.status_code == 403
    media = await wait_tracks(api, media_path, editor.headers)
    it = next(t for t in media["tracks"] if t["language"] == "it")
    assert it["status"] == "published"
    # Nothing but the audio was encoded: no work directories or stray files are left.
    assert not [p for p in asset_dir.iterdir() if p.name.startswith(".")]
    # A removed dub's file goes with the nightly prune; the others stay.
    dubs = ctx.settings.media_dir / "tracks" / asset_dir.name
    assert len(list(dubs.iterdir())) == 2
    r = await api.delete(f"/api/v1/titles/{film}/media/tracks/{it['id']}", headers=editor.headers)
    assert r.status_code == 204
    await wait_tracks(api, media_path, editor.headers)
    await do_prune_orphans(ctx, grace_s=0)
    assert len(list(dubs.iterdir())) == 1
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert [a["language"] for a in play["audio"]] == ["en", "fr", "de-AT"]


@pytest.mark.parametrize(
    ("audio", "expect"),
    [
        ((), []),
        (
            tuple((lang, 2) for lang in "eng fre ger spa ita por rus jpn kor chi".split()),
            "en fr de es it pt ru ja ko zh".split(),
        ),
    ],
    ids=["no-audio", "ten-audio-streams"],
)
async def test_sources_without_audio_and_with_ten_audio_streams(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    viewer: Account,
    tmp_path: Path,
    audio: tuple[tuple[str, int], ...],
    expect: list[str],
) -> None:
    film = await make_film(ctx)
    src = make_source(tmp_path / "src.mkv", audio=audio, seconds=2, size="160x90")
    media = await _ingest(api, editor, f"titles/{film}", src)
    assert [t["language"] for t in media["tracks"]] == expect and media["notes"] == []
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert [a["language"] for a in play["audio"]] == expect
    assert play["start"]["audio_track_id"] == (play["audio"][0]["id"] if expect else None)
    master = (await api.get(_path(play["hls"]))).text
    assert master.count("TYPE=AUDIO") == len(expect)
    assert ("AUDIO=" in master) == bool(expect) and "mp4a" in master if expect else True
    mpd = (await api.get(_path(play["dash"]))).text
    assert mpd.count('contentType="audio"') == len(expect)


async def test_segments_watched_at_credits_and_next_episode(
    ctx: Context,
    api: httpx.AsyncClient,
    editor: Account,
    viewer: Account,
    multilingual: dict[str, Any],
    tmp_path: Path,
) -> None:
    film = multilingual["film"]
    base = f"/api/v1/titles/{film}/media/segments"
    r = await api.put(f"{base}/recap", json={"start_ms": 0, "end_ms": 800}, headers=editor.headers)
    assert r.status_code == 200 and r.json()["origin"] == "editor"
    r = await api.put(f"{base}/credits", json={"start_ms": 2500, "end_ms": 9999},
                      headers=editor.headers)  # fmt: skip
    assert r.status_code == 200 and r.json()["end_ms"] == multilingual["duration_ms"]
    r = await api.put(f"{base}/outro", json={"start_ms": 0, "end_ms": 5}, headers=editor.headers)
    assert r.status_code == 404
    r = await api.put(f"{base}/intro", json={"start_ms": 9000, "end_ms": 9500},
                      headers=editor.headers)  # fmt: skip
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_segment"
    r = await api.put(f"{base}/intro", json={"start_ms": 5, "end_ms": 5}, headers=editor.headers)
    assert r.status_code == 422
    assert (await api.get(base, headers=viewer.headers)).status_code == 403
    view = (await api.get(base, headers=editor.headers)).json()
    assert [(s["kind"], s["origin"]) for s in view["segments"]] == [
        ("intro", "chapter"),
        ("recap", "editor"),
        ("credits", "editor"),
    ]
    # Watched counts from the credits on.
    r = await api.post(
        "/api/v1/me/history/progress",
        json={"title_id": film, "position_ms": 2400},
        headers=viewer.headers,
    )
    assert not r.json()["completed"]
    r = await api.post(
        "/api/v1/me/history/progress",
        json={"title_id": film, "position_ms": 2600},
        headers=viewer.headers,
    )
    assert r.json()["completed"] and r.json()["watched"]
    assert (await api.delete(f"{base}/recap", headers=editor.headers)).status_code == 204
    assert (await api.delete(f"{base}/recap", headers=editor.headers)).status_code == 404

    # An episode: the next one is offered with playback.
    _, seasons = await make_series(ctx, episodes_per_season=(2,))
    first, second = seasons[0]
    clip = make_video(tmp_path / "ep.mp4", seconds=1, size="160x90")
    await _ingest(api, editor, f"episodes/{first}", clip)
    play = (await api.get(f"/api/v1/episodes/{first}/playback", headers=viewer.headers)).json()
    assert play["next_episode"]["episode_id"] == second and play["segments"] == []
    assert play["watched_at_ms"] == round(0.9 * play["duration_ms"])


async def test_viewers_behaviour_suggests_intro_and_credits(
    ctx: Context, api: httpx.AsyncClient, editor: Account, tmp_path: Path
) -> None:
    """Five viewers skip the same early span and stop at the same late point: an intro and
    credits are suggested; the editor confirms one and dismisses the other."""
    film = await make_film(ctx, name="Forty seconds")
    clip = make_video(tmp_path / "forty.mp4", seconds=40, size="160x90")
    await _ingest(api, editor, f"titles/{film}", clip)
    beat = "/api/v1/me/history/progress"
    for _ in range(5):
        v = await make_account(ctx, api)
        for position in (1_000, 13_000, 34_000):
            r = await api.post(beat, json={"title_id": film, "position_ms": position},
                               headers=v.headers)  # fmt: skip
            assert r.status_code == 200, r.text
    async with transaction(ctx.sessions) as session:
        # An hour later they have stopped: their last positions count as stops.
        found = await segments.do_suggest_segments(
            session, now=clock.now() + segments.STOPPED_FOR * 2, min_viewers=5
        )
    kinds = {f.kind: f for f in found}
    assert set(kinds) >= {"intro", "credits"}
    assert 1_000 <= kinds["intro"].start_ms <= 3_000 and kinds["intro"].end_ms == 13_000
    assert kinds["credits"].start_ms == 34_000 and kinds["intro"].viewers == 5
    base = f"/api/v1/titles/{film}/media/segments"
    view = (await api.get(base, headers=editor.headers)).json()
    pending = {s["kind"]: s for s in view["suggestions"] if s["status"] == "pending"}
    assert set(pending) == {"intro", "credits"} and view["segments"] == []
    r = await api.post(
        f"{base}/suggestions/{pending['intro']['id']}/confirm",
        json={"end_ms": 12_500},
        headers=editor.headers,
    )
    assert r.status_code == 200 and r.json() == {
        "kind": "intro",
        "start_ms": pending["intro"]["start_ms"],
        "end_ms": 12_500,
        "origin": "viewers",
    }
    r = await api.post(
        f"{base}/suggestions/{pending['credits']['id']}/dismiss", headers=editor.headers
    )
    assert r.status_code == 204
    r = await api.post(
        f"{base}/suggestions/{pending['credits']['id']}/confirm", json={}, headers=editor.headers
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "suggestion_closed"
    # Asked and answered: the next pass proposes neither again.
    async with transaction(ctx.sessions) as session:
        again = await segments.do_suggest_segments(
            session, now=clock.now() + segments.STOPPED_FOR * 2, min_viewers=5
        )
    assert [f for f in again if f.kind in ("intro", "credits")] == []


async def test_preferences_choose_the_tracks_to_start_with(
    api: httpx.AsyncClient, viewer: Account, multilingual: dict[str, Any]
) -> None:
    film = multilingual["film"]
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    ids = {(a["language"]): a["id"] for a in play["audio"]}
    (en_subs,) = play["text"]
    r = await api.put(
        "/api/v1/me/playback-preferences",
        json={"audio_languages": ["fra", "en"], "subtitle_languages": ["en"]},
        headers=viewer.headers,
    )
    assert r.status_code == 200 and r.json()["audio_languages"] == ["fr", "en"]
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    # French is understood: no subtitles (there are no forced French ones).
    assert play["start"] == {"audio_track_id": ids["fr"], "text_track_id": None}
    r = await api.put(
        f"/api/v1/me/playback-preferences/titles/{film}",
        json={"audio_language": "en", "subtitle_language": "en"},
        headers=viewer.headers,
    )
    assert r.status_code == 200 and r.json()["title_id"] == film
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert play["start"] == {"audio_track_id": ids["en"], "text_track_id": en_subs["id"]}
    r = await api.delete(f"/api/v1/me/playback-preferences/titles/{film}", headers=viewer.headers)
    assert r.status_code == 204
    play = (await api.get(f"/api/v1/titles/{film}/playback", headers=viewer.headers)).json()
    assert play["start"]["audio_track_id"] == ids["fr"]
    r = await api.put(
        "/api/v1/me/playback-preferences",
        json={"audio_languages": ["xx"]},
        headers=viewer.headers,
    )
    assert r.status_code == 422
    r = await api.put(
        "/api/v1/me/playback-preferences/titles/999999999", json={}, headers=viewer.headers
    )
    assert r.status_code == 404
    assert (await api.get("/api/v1/me/playback-preferences")).status_code == 401
