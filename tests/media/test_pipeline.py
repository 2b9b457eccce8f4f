"""The pipeline without the app: probing, the ladder, packaging, signing, history rules."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest

from models.media import signing
from models.media.ffmpeg import FfmpegError, find_ffmpeg, parse_probe, synthetic_clip_command
from models.media.ladder import parse_ladder, plan_renditions
from models.media.state import (
    Heartbeat,
    IllegalHeartbeat,
    apply,
    decide,
    resume_position_ms,
)
from models.media.transcode import source_manifest, transcode

FF = find_ffmpeg()

# What `ffmpeg -i` prints (5.1 and later write the same shape); long lines split for lint.
PROBE_51 = "\n".join(
    [
        "Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'file:/x/src.mp4':",
        "  Duration: 00:01:02.50, start: 0.000000, bitrate: 1869 kb/s",
        "  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), "
        "yuv420p(tv, bt709, progressive), 1920x1080 [SAR 1:1 DAR 16:9], 1791 kb/s, "
        "29.97 fps, 29.97 tbr, 30k tbn (default)",
        "    Side data:",
        "      displaymatrix: rotation of -90.00 degrees",
        "  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 44100 Hz, stereo, "
        "fltp, 69 kb/s (default)",
        "  Stream #0:2[0x3](und): Video: mjpeg (Baseline), yuvj420p, 600x600, 90k tbr "
        "(attached pic)",
        "",
    ]
)


def test_probe_parses_rotation_fps_audio() -> None:
    info = parse_probe(PROBE_51)
    assert (info.width, info.height) == (1080, 1920)
    assert info.duration_ms == 62500
    assert info.fps == pytest.approx(29.97)
    assert info.has_audio and info.audio_channels == 2
    assert info.video_codec == "h264"


def test_ladder_never_upscales() -> None:
    ladder = parse_ladder("1080:5000,720:2800,360:800")
    src = parse_probe(PROBE_51.replace("rotation of -90.00", "rotation of 0"))
    assert [r.name for r in plan_renditions(src, ladder)] == ["1080p", "720p", "360p"]
    small = parse_probe(PROBE_51.replace("1920x1080", "640x360").replace("rotation of -90.00", ""))
    assert [(r.width, r.height) for r in plan_renditions(small, ladder)] == [(640, 360)]
    tiny = parse_probe(PROBE_51.replace("1920x1080", "320x240").replace("rotation of -90.00", ""))
    (only,) = plan_renditions(tiny, ladder)
    assert (only.width, only.height) == (320, 240) and only.video_kbps < 800
    with pytest.raises(ValueError):
        parse_ladder("1080")


def test_sign_verify() -> None:
    key = signing.media_key(b"s" * 32)
    uid = uuid.uuid4()
    tok = signing.sign(key, prefix="7/r1-abc", user_id=uid, expires=1000)
    assert signing.verify(key, token=tok, prefix="7/r1-abc", now=999).user_id == uid
    with pytest.raises(signing.Expired):
        signing.verify(key, token=tok, prefix="7/r1-abc", now=1000)
    with pytest.raises(signing.BadSignature):
        signing.verify(key, token=tok, prefix="8/r1-abc", now=0)
    forged = tok.replace(tok.split(".")[0], "ffff", 1)
    with pytest.raises(signing.BadSignature):
        signing.verify(key, token=forged, prefix="7/r1-abc", now=0)
    with pytest.raises(signing.BadSignature):
        signing.verify(signing.media_key(b"t" * 32), token=tok, prefix="7/r1-abc", now=0)


def test_history_rules() -> None:
    p, ev = decide(None, Heartbeat(10_000, 100_000), 1)
    assert not p.completed and resume_position_ms(p) == 10_000 and len(ev) == 1
    p, ev = decide(p, Heartbeat(90_000, None), 2)
    assert p.completed and p.watched_at_ms == 2 and resume_position_ms(p) == 0 and len(ev) == 2
    p2, ev = decide(p, Heartbeat(5_000, None), 3)
    assert not p2.completed and p2.watched_at_ms == 2 and len(ev) == 1
    with pytest.raises(IllegalHeartbeat):
        decide(p2, Heartbeat(200_000, None), 4)
    with pytest.raises(IllegalHeartbeat):
        decide(p2, Heartbeat(-1, None), 4)
    # Replaying the events reproduces the state.
    state = None
    rebuilt = None
    for i, hb in enumerate([Heartbeat(1, 100), Heartbeat(95, None), Heartbeat(3, None)]):
        state, events = decide(state, hb, i)
        for e in events:
            rebuilt = apply(rebuilt, e, i)
        assert rebuilt == state


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "src.mp4"
    subprocess.run(
        synthetic_clip_command(
            FF,
            path,
            seconds=2,
            size="640x360",
            rate=25,
            # moov first, so a file cut short still probes (as an interrupted upload would)
            extra=("-movflags", "+faststart"),
        ),
        check=True,
    )
    return path


def _binaries() -> list[str]:
    """The system ffmpeg and, where the wheel is installed, the fallback one (no ffprobe)."""
    found = [FF]
    try:
        import imageio_ffmpeg
    except ImportError:
        return found
    wheel = str(imageio_ffmpeg.get_ffmpeg_exe())
    return found if wheel == FF else [*found, wheel]


@pytest.mark.parametrize("ffmpeg", _binaries(), ids=lambda p: Path(p).name)
async def test_ladder_is_aligned_cmaf_with_hls_from_the_mpd(
    source: Path, tmp_path: Path, ffmpeg: str
) -> None:
    seen: list[float] = []

    async def on_progress(x: float) -> None:
        seen.append(x)

    out = tmp_path / "42" / "r1-x"
    result = await transcode(
        ffmpeg=ffmpeg,
        source_path=source,
        work_dir=out,
        ladder=parse_ladder("360:600,180:200"),
        segment_s=1,
        preset="ultrafast",
        on_progress=on_progress,
    )
    assert seen[-1] == 1.0
    assert [r.name for r in result.renditions] == ["360p", "180p"]
    source_manifest(out, result)
    master = (out / "master.m3u8").read_text()
    assert "RESOLUTION=640x360" in master and 'CODECS="avc1.' in master
    assert "#EXT-X-STREAM-INF:" in master and "AVERAGE-BANDWIDTH=" in master
    vids = [t for t in result.tracks if t.kind == "video"]
    # Aligned: the same segment boundaries in every rendition (keyframes forced on them).
    assert [s.duration for s in vids[0].segments] == [s.duration for s in vids[1].segments]
    assert len(vids[0].segments) == 2
    init = (out / vids[0].init).read_bytes()
    assert init[4:8] == b"ftyp" and b"cmfc" in init[:64]
    for t in result.tracks:
        playlist = (out / t.playlist).read_text()
        assert playlist.count("#EXTINF:") == len(t.segments) and "#EXT-X-ENDLIST" in playlist


async def test_bad_source_reports_ffmpeg_reason(tmp_path: Path) -> None:
    bad = tmp_path / "movie.mp4"
    bad.write_bytes(b"this is not a video" * 100)
    with pytest.raises(FfmpegError) as e:
        await transcode(
            ffmpeg=FF,
            source_path=bad,
            work_dir=tmp_path / "o",
            ladder=parse_ladder("360:600"),
            segment_s=1,
            preset="ultrafast",
        )
    assert "Invalid data" in e.value.reason and str(tmp_path) not in e.value.reason
    playlist = tmp_path / "evil.mp4"
    playlist.write_text("#EXTM3U\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    with pytest.raises(FfmpegError) as e:
        await transcode(
            ffmpeg=FF,
            source_path=playlist,
            work_dir=tmp_path / "o",
            ladder=parse_ladder("360:600"),
            segment_s=1,
            preset="ultrafast",
        )
    assert "whitelist" in e.value.reason or "Invalid data" in e.value.reason


def _cut(source: Path, dest: Path, fraction: float) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * fraction)])
    return dest


async def test_a_source_cut_short_fails_instead_of_publishing_half_a_film(
    source: Path, tmp_path: Path
) -> None:
    cut = _cut(source, tmp_path / "cut.mp4", 0.4)
    with pytest.raises(FfmpegError) as e:
        await transcode(
            ffmpeg=FF,
            source_path=cut,
            work_dir=tmp_path / "o",
            ladder=parse_ladder("360:600"),
            segment_s=1,
            preset="ultrafast",
        )
    # What ffmpeg itself says about the damage differs between builds; ours is the promise.
    assert "is the file complete?" in e.value.reason and "ffmpeg said" in e.value.reason


def _silent_clip(path: Path) -> Path:
    subprocess.run(
        [FF, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
         "testsrc2=size=320x240:rate=25:duration=1", "-c:v", "libx264", "-preset",
         "ultrafast", str(path)],
        check=True,
    )  # fmt: skip
    return path


async def test_a_silent_source_gets_video_only_manifests(tmp_path: Path) -> None:
    silent = _silent_clip(tmp_path / "silent.mkv")
    out = tmp_path / "out"
    result = await transcode(
        ffmpeg=FF,
        source_path=silent,
        work_dir=out,
        ladder=parse_ladder("1080:5000,720:2800,360:800"),
        segment_s=1,
        preset="ultrafast",
    )
    # Smaller than every rung: one rendition at its own size, never upscaled.
    assert [(r.width, r.height) for r in result.renditions] == [(320, 240)]
    assert [t.kind for t in result.tracks] == ["video"]
    source_manifest(out, result)
    master = (out / "master.m3u8").read_text()
    assert "AUDIO=" not in master and "#EXT-X-MEDIA:" not in master
    assert 'CODECS="avc1.' in master and "mp4a" not in master
