"""Tracks without the app: subtitle files, languages, probing streams, which tracks a viewer
starts with, skips and segment suggestions, and the manifests written for them."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Literal

import pytest

from models.core.errors import InvalidInput
from models.media import languages, subtitles
from models.media.ffmpeg import parse_probe
from models.media.packaging import (
    NS,
    AudioTrack,
    Manifest,
    Segment,
    Stream,
    Thumbnails,
    master_playlist,
    mpd,
    text_track,
    thumbnails_vtt,
)
from models.media.preferences import Choice, Prefs, choose
from models.media.segments import chapter_kind, find_credits, find_intro
from models.media.state import Heartbeat, Progress, decide, detect_skip, watched_from_ms
from models.media.tracks import check_dub
from tests.media.helpers import FF, make_audio

# --- subtitle files --------------------------------------------------------------------------

GOOD_SRT = """1
00:00:01,000 --> 00:00:02,500
<i>Hello</i> & welcome

2
00:00:03,000 --> 00:00:04,000
{\\an8}<font color="#ff0">Top</font> line
second line
"""


def test_srt_becomes_checked_webvtt() -> None:
    cues = subtitles.load(GOOD_SRT.encode())
    assert [(c.start_ms, c.end_ms) for c in cues] == [(1000, 2500), (3000, 4000)]
    assert cues[0].text == "<i>Hello</i> &amp; welcome"
    assert cues[1].settings == "line:0" and cues[1].text == "Top line\nsecond line"
    vtt = subtitles.to_webvtt(cues)
    assert vtt.startswith("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n")
    # What we write, we read back the same.
    assert subtitles.parse(vtt) == [c.__class__(**{**c.__dict__, "line": r.line}) for c, r in
                                    zip(cues, subtitles.parse(vtt), strict=True)]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        # A broken timing line: lenient parsers glue the cue onto the one before.
        ("1\n00:00:01,000 --> 00:00:02,000\nA\n\n2\n00:00:03,000 --> 00:00:0x,500\nB\n", 6,
         "bad timing line"),
        ("1\n00:00:05,000 --> 00:00:04,000\nBackwards\n", 2, "before it starts"),
        ("1\n00:00:01,000 --> 00:00:02,000\nA\nB\n\nstray text\n", 6, "expected a cue number"),
        ("1\n00:00:01,000 --> 00:00:02,000\n<script>x</script>\n", 3, "unknown tag <script>"),
        ("1\n00:00:01,000 --> 00:00:02,000\nOK\nA</b>\n", 4, "closes a tag that is not open"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nA < B\n", 4, "write it as &lt;"),
        ("WEBVTT\n\n00:01.000 -> 00:02.000\nBroken arrow\n", 4, "bad timing line"),
        ("WEBVTT\n00:01.000 --> 00:02.000\nno blank line\n", 2, "blank line must separate"),
        ("WEBVTT\n\n00:01.000 --> 00:02.000\nA\n00:02.000 --> 00:03.000\nB\n", 5,
         "a blank line is missing"),
        ("WEBVTX\n\n00:01.000 --> 00:02.000\nA\n", 1, "starts with the line WEBVTT"),
        ("1\n01:10:00,000 --> 01:10:02,000\nLate\n", 2, "after the end of the video"),
    ],
)  # fmt: skip
def test_bad_files_are_refused_with_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(subtitles.SubtitleError) as e:
        subtitles.load(text.encode(), duration_ms=60 * 60_000)
    assert e.value.line == line and words in str(e.value), str(e.value)
    assert str(e.value).startswith(f"line {line}: ")


def test_no_cues_and_binary_are_refused() -> None:
    with pytest.raises(subtitles.SubtitleError, match="no cues"):
        subtitles.load(b"WEBVTT\n\nNOTE nothing here\n")
    with pytest.raises(subtitles.SubtitleError, match="not a text file"):
        subtitles.load(b"\x00\x01\x02PNG")


@pytest.mark.parametrize(
    ("encoding", "language", "text"),
    [
        ("cp1251", None, "Привет, мир! Это проверка кодировки для русских субтитров."),
        ("cp1252", "fr", "Déjà vu, très bien. À bientôt, chère Amélie, où êtes-vous?"),
        ("cp1250", "pl", "Zażółć gęślą jaźń, proszę państwa."),
        ("shift_jis", "ja", "日本語の字幕です。"),
        ("utf-16", None, "日本語の字幕です。"),
        ("utf-8-sig", None, "Ünïcödé with a byte order mark"),
    ],
)
def test_encodings_are_detected(encoding: str, language: str | None, text: str) -> None:
    data = f"1\n00:00:01,000 --> 00:00:02,000\n{text}\n".encode(encoding)
    (cue,) = subtitles.load(data, language=language)
    assert cue.text == text


def test_cues_past_the_end_are_cut_and_segments_repeat_spanning_cues() -> None:
    cues = subtitles.load(b"1\n00:00:03,000 --> 00:00:09,000\nLong\n", duration_ms=5_000)
    assert [(c.start_ms, c.end_ms) for c in cues] == [(3000, 5000)]
    first = subtitles.segment_webvtt(cues, 0, 4000, mpegts=900)
    second = subtitles.segment_webvtt(cues, 4000, 8000)
    assert "X-TIMESTAMP-MAP=MPEGTS:900,LOCAL:00:00:00.000" in first
    assert "Long" in first and "Long" in second
    assert "Long" not in subtitles.segment_webvtt(cues, 5000, 9000)


# --- languages and probing -----------------------------------------------------------------


def test_languages() -> None:
    assert languages.normalize("eng") == "en"
    assert languages.normalize("fre") == "fr" and languages.normalize("ger") == "de"
    assert languages.normalize("pt_br") == "pt-BR" and languages.normalize("zh-hant") == "zh-Hant"
    assert languages.normalize("yue") == "yue" and languages.normalize("und") is None
    with pytest.raises(languages.UnknownLanguage):
        languages.normalize("xx")
    assert languages.from_source("qqq") is None
    assert languages.name("pt-BR") == "Portuguese (BR)"
    assert languages.matches("pt", "pt-BR") and not languages.matches("en", "fr")


PROBE = "\n".join(
    [
        "Input #0, matroska,webm, from 'file:/x/src.mkv':",
        "  Duration: 00:42:00.00, start: 0.000000, bitrate: 876 kb/s",
        "  Chapters:",
        "    Chapter #0:0: start 0.000000, end 65.500000",
        "      Metadata:",
        "        title           : Opening Credits",
        "    Chapter #0:1: start 65.500000, end 2400.000000",
        "      Metadata:",
        "        title           : Chapter 2",
        "  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080, 24 fps, 24 tbr",
        "  Stream #0:1(eng): Audio: eac3, 48000 Hz, 5.1(side), fltp, 640 kb/s (default)",
        "    Metadata:",
        "      title           : English Atmos",
        "  Stream #0:2(fre): Audio: aac (LC), 48000 Hz, stereo, fltp",
        "  Stream #0:3(eng): Audio: aac (LC), 48000 Hz, stereo, fltp (visual impaired)",
        "  Stream #0:4(eng): Subtitle: subrip (hearing impaired)",
        "  Stream #0:5(fre): Subtitle: subrip (forced)",
        "  Stream #0:6(ger): Subtitle: hdmv_pgs_subtitle, 1920x1080",
        "",
    ]
)


def test_probe_reads_every_stream_and_chapter() -> None:
    info = parse_probe(PROBE)
    a = info.audio
    assert [(x.index, x.language, x.channels) for x in a] == [
        (0, "eng", 6),
        (1, "fre", 2),
        (2, "eng", 2),
    ]
    assert a[0].default and a[0].title == "English Atmos" and a[2].description
    s = info.subtitles
    assert [(x.codec, x.is_text) for x in s] == [
        ("subrip", True),
        ("subrip", True),
        ("hdmv_pgs_subtitle", False),
    ]
    assert s[0].hearing_impaired and s[1].forced
    assert [(c.start_ms, c.title) for c in info.chapters] == [
        (0, "Opening Credits"),
        (65500, "Chapter 2"),
    ]
    assert chapter_kind("Opening Credits") == "intro" and chapter_kind("End Credits") == "credits"
    assert chapter_kind("Previously on Lost") == "recap" and chapter_kind("Chapter 2") is None


# --- which tracks a viewer starts with ------------------------------------------------------

AUDIO = [
    {"id": 1, "language": "en", "kind": "main", "default": True},
    {"id": 2, "language": "fr", "kind": "main", "default": False},
    {"id": 3, "language": "en", "kind": "description", "default": False},
]
TEXT = [
    {"id": 10, "language": "en", "kind": "subtitles", "default": False},
    {"id": 11, "language": "en", "kind": "captions", "default": False},
    {"id": 12, "language": "fr", "kind": "subtitles", "default": False},
    {"id": 13, "language": "fr", "kind": "forced", "default": False},
]


@pytest.mark.parametrize(
    ("prefs", "choice", "start"),
    [
        (Prefs(), None, (1, None)),  # nothing known: the default track, no subtitles
        (Prefs(audio_languages=("fr",)), None, (2, 13)),  # French + its forced subtitles
        (Prefs(audio_languages=("de", "fr-CA")), None, (2, 13)),  # fr-CA takes fr
        # Only English audio is understood? No: Japanese speaker, English subtitles.
        (Prefs(audio_languages=("ja",), subtitle_languages=("en",)), None, (1, 10)),
        (Prefs(audio_languages=("en",), subtitle_languages=("en",)), None, (1, None)),
        (Prefs(audio_languages=("en",), subtitle_languages=("fr",), subtitles="always"), None,
         (1, 12)),
        (Prefs(audio_languages=("ja",), subtitle_languages=("en",), captions=True), None,
         (1, 11)),
        (Prefs(audio_languages=("en",), audio_description=True), None, (3, None)),
        # The title's own choice wins over the account's preferences.
        (Prefs(audio_languages=("en",)), Choice(audio_language="fr", subtitle_language="en"),
         (2, 10)),
        (Prefs(audio_languages=("ja",), subtitle_languages=("en",)), Choice(subtitles_off=True),
         (1, None)),
    ],
)  # fmt: skip
def test_start_tracks(prefs: Prefs, choice: Choice | None, start: tuple[int, int | None]) -> None:
    got = choose(AUDIO, TEXT, prefs, choice)
    assert (got.audio_track_id, got.text_track_id) == start


def test_start_tracks_without_any() -> None:
    got = choose([], [], Prefs(audio_languages=("fr",)), None)
    assert got.audio_track_id is None and got.text_track_id is None


# --- watched at the credits, skips, suggestions ---------------------------------------------


def test_watched_counts_from_the_credits_when_known() -> None:
    assert watched_from_ms(100_000, None) == 90_000
    assert watched_from_ms(100_000, 80_000) == 80_000
    assert watched_from_ms(None, None) is None
    p, _ = decide(None, Heartbeat(81_000, 100_000, credits_ms=80_000), 1)
    assert p.completed
    p, _ = decide(None, Heartbeat(79_000, 100_000, credits_ms=80_000), 1)
    assert not p.completed


def test_skips_are_jumps_past_where_playing_would_get() -> None:
    prev = Progress(30_000, 600_000, False, None, updated_at_ms=1_000_000, version=3)
    assert detect_skip(prev, 95_000, 1_005_000) == (35_000, 95_000)
    assert detect_skip(prev, 40_000, 1_005_000) is None  # 2x playback, not a skip
    assert detect_skip(prev, 10_000, 1_005_000) is None  # back
    assert detect_skip(prev, 95_000, 1_000_000 + 3 * 3600_000) is None  # a new session
    assert detect_skip(None, 95_000, 1_005_000) is None


def test_intro_is_the_span_most_viewers_skip() -> None:
    users = [uuid.uuid4() for _ in range(7)]
    skips = [(u, 62_000 + i * 800, 151_000 + (i % 3) * 900) for i, u in enumerate(users[:5])]
    skips += [(users[0], 63_000, 150_500)]  # the same viewer twice counts once
    skips += [(users[5], 10_000, 900_000), (users[6], 300_000, 400_000)]  # noise
    found = find_intro(skips, min_viewers=5)
    assert found is not None and found.viewers == 5
    assert 62_000 <= found.start_ms <= 66_000 and 150_000 <= found.end_ms <= 153_000
    assert find_intro(skips, min_viewers=6) is None


def test_credits_is_the_late_point_many_viewers_stop_at() -> None:
    stops = [2_410_000, 2_412_000, 2_405_000, 2_409_000, 2_300_000]
    found = find_credits(stops, late_viewers=12, duration_ms=2_520_000, min_viewers=4)
    assert found is not None and found.kind == "credits" and found.viewers == 4
    assert 2_405_000 <= found.start_ms <= 2_412_000 and found.end_ms == 2_520_000
    # Four of forty who got that far is not a pattern.
    assert find_credits(stops, late_viewers=40, duration_ms=2_520_000, min_viewers=4) is None


# --- manifests written from the model --------------------------------------------------------


def _stream(name: str, kind: Literal["video", "audio"], **kw: Any) -> Stream:
    return Stream(
        name=name,
        kind=kind,
        codecs="avc1.64001f" if kind == "video" else "mp4a.40.2",
        timescale=1000,
        start=0,
        init=f"init-{name}.m4s",
        media=f"chunk-{name}-$Number%05d$.m4s",
        start_number=1,
        segments=[
            Segment(name=f"chunk-{name}-{i:05d}.m4s", duration=4000, size=50_000) for i in (1, 2)
        ],
        **kw,
    )


def test_manifests_carry_languages_roles_and_thumbnails() -> None:
    video = _stream("0", "video", width=640, height=360, frame_rate="24/1")
    text, files = text_track(
        id=9,
        language="fr",
        label="Français",
        kind="captions",
        default=False,
        cues=subtitles.load(GOOD_SRT.encode()),
        video=video,
    )
    assert sorted(files) == ["text-9-00001.vtt", "text-9-00002.vtt", "text-9.vtt"]
    assert "Top line" in files["text-9-00001.vtt"] and "Top line" not in files["text-9-00002.vtt"]
    m = Manifest(
        duration_ms=8000,
        video=[video],
        audio=[
            AudioTrack(id=4, language="en", label="English", default=True,
                       streams=[_stream("1", "audio", channels=2),
                                _stream("2", "audio", channels=6)]),
            AudioTrack(id=5, language="en", label="English", kind="description",
                       streams=[_stream("3", "audio", channels=2)]),
        ],
        text=[text],
        thumbnails=Thumbnails(interval_ms=3000, width=160, height=90, columns=2, rows=2, count=3,
                              sheets=["sprite-0001.jpg"], sheet_bytes=10_000),
    )  # fmt: skip
    master = master_playlist(m)
    assert 'NAME="English",LANGUAGE="en",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2"' in master
    assert 'NAME="English (5.1)",LANGUAGE="en",DEFAULT=NO,AUTOSELECT=YES,CHANNELS="6"' in master
    assert 'NAME="English 2"' in master  # NAMEs are unique in a group
    assert 'CHARACTERISTICS="public.accessibility.describes-video"' in master
    assert "TYPE=SUBTITLES" in master and "public.accessibility.transcribes-spoken-dialog" in master
    assert 'AUDIO="audio",SUBTITLES="subs"' in master
    root = ET.fromstring(mpd(m))
    sets = root.findall("d:Period/d:AdaptationSet", NS)
    by_id = {str(s.get("id")): s for s in sets}
    assert sorted(by_id) == ["0", "1", "40", "41", "50", "90"]
    assert by_id["40"].get("lang") == "en" and by_id["40"].get("selectionPriority") == "4"
    role = by_id["50"].find("d:Role", NS)
    assert role is not None and role.get("value") == "description"
    assert by_id["50"].find("d:Accessibility", NS) is not None
    text_set = by_id["90"]
    assert text_set.get("contentType") == "text" and text_set.get("mimeType") == "text/vtt"
    assert text_set.find("d:Role", NS).get("value") == "caption"  # type: ignore[union-attr]
    image = by_id["1"]
    assert image.get("mimeType") == "image/jpeg"
    prop = image.find("d:Representation/d:EssentialProperty", NS)
    assert prop is not None and prop.get("schemeIdUri") == "http://dashif.org/thumbnail_tile"
    assert prop.get("value") == "2x2"
    assert thumbnails_vtt(m.thumbnails, 8000).splitlines()[2:] == [  # type: ignore[arg-type]
        "00:00:00.000 --> 00:00:03.000",
        "sprite-0001.jpg#xywh=0,0,160,90",
        "",
        "00:00:03.000 --> 00:00:06.000",
        "sprite-0001.jpg#xywh=160,0,160,90",
        "",
        "00:00:06.000 --> 00:00:08.000",
        "sprite-0001.jpg#xywh=0,90,160,90",
    ]


@pytest.mark.parametrize("ext", ["flac", "ac3", "eac3", "wav", "m4a"])
async def test_dubs_come_in_the_usual_audio_formats(ext: str, tmp_path: Path) -> None:
    dub = make_audio(tmp_path / f"dub.{ext}", seconds=3, channels=6 if ext != "wav" else 2)
    channels = await check_dub(FF, dub, video_ms=3000, fit=False)
    assert channels == (6 if ext != "wav" else 2)
    with pytest.raises(InvalidInput) as e:
        await check_dub(FF, dub, video_ms=60_000, fit=False)
    assert e.value.code == "audio_length_mismatch"
    assert await check_dub(FF, dub, video_ms=60_000, fit=True) == channels
