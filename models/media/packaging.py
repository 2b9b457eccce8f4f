"""HLS playlists written from the DASH manifest, over the very same CMAF segments.

ffmpeg's DASH muxer lays out the segments and the MPD; the HLS side is written here so that
it is VOD-typed, carries no wall-clock dates, and declares BANDWIDTH as the measured peak
segment bitrate (with AVERAGE-BANDWIDTH), which is what the HLS spec asks for.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
MASTER = "master.m3u8"
MPD = "manifest.mpd"


class PackagingError(Exception):
    pass


@dataclass(frozen=True)
class Segment:
    name: str
    duration_s: float
    size: int


@dataclass(frozen=True)
class Track:
    rep_id: str
    kind: str  # "video" | "audio"
    codecs: str
    width: int | None
    height: int | None
    frame_rate: float | None
    channels: int | None
    init: str
    segments: list[Segment]

    @property
    def peak_bps(self) -> int:
        return max(
            (math.ceil(s.size * 8 / s.duration_s) for s in self.segments if s.duration_s > 0),
            default=0,
        )

    @property
    def average_bps(self) -> int:
        total = sum(s.duration_s for s in self.segments)
        return math.ceil(sum(s.size for s in self.segments) * 8 / total) if total else 0

    @property
    def duration_s(self) -> float:
        return sum(s.duration_s for s in self.segments)

    @property
    def playlist(self) -> str:
        return f"{self.kind}-{self.rep_id}.m3u8"


_NUMBER = re.compile(r"\$Number(%0(\d+)d)?\$")


def _fill(template: str, rep_id: str, number: int | None = None) -> str:
    out = template.replace("$RepresentationID$", rep_id)
    if number is not None:
        out = _NUMBER.sub(lambda m: str(number).zfill(int(m.group(2) or 0)), out)
    if "$" in out or "/" in out or out.startswith("."):
        raise PackagingError(f"unsupported segment template {template!r}")
    return out


def _frame_rate(value: str | None) -> float | None:
    if not value:
        return None
    num, _, den = value.partition("/")
    return float(num) / float(den or 1)


def read_tracks(out_dir: Path) -> list[Track]:
    """Every representation of the MPD with its segments, their durations and sizes."""
    try:
        root = ET.parse(out_dir / MPD).getroot()
    except (OSError, ET.ParseError) as e:
        raise PackagingError(f"cannot read the DASH manifest: {e}") from e
    tracks: list[Track] = []
    for aset in root.iterfind("d:Period/d:AdaptationSet", NS):
        kind = aset.get("contentType") or ""
        for rep in aset.iterfind("d:Representation", NS):
            rep_id = rep.get("id") or ""
            kind = kind or (rep.get("mimeType") or "").split("/")[0]
            tmpl = rep.find("d:SegmentTemplate", NS)
            if tmpl is None:
                tmpl = aset.find("d:SegmentTemplate", NS)
            if tmpl is None or kind not in ("video", "audio"):
                raise PackagingError(f"representation {rep_id} has no usable segment template")
            timescale = int(tmpl.get("timescale") or 1)
            number = int(tmpl.get("startNumber") or 1)
            segments: list[Segment] = []
            for s in tmpl.iterfind("d:SegmentTimeline/d:S", NS):
                d = int(s.get("d") or 0)
                for _ in range(int(s.get("r") or 0) + 1):
                    name = _fill(tmpl.get("media") or "", rep_id, number)
                    path = out_dir / name
                    if not path.is_file():
                        raise PackagingError(f"segment {name} is listed but missing")
                    segments.append(Segment(name, d / timescale, path.stat().st_size))
                    number += 1
            if not segments:
                raise PackagingError(f"representation {rep_id} has no segments")
            channels_el = rep.find("d:AudioChannelConfiguration", NS)
            channels = int(channels_el.get("value") or 0) if channels_el is not None else 0
            tracks.append(
                Track(
                    rep_id=rep_id,
                    kind=kind,
                    codecs=rep.get("codecs") or "",
                    width=int(rep.get("width") or 0) or None,
                    height=int(rep.get("height") or 0) or None,
                    frame_rate=_frame_rate(rep.get("frameRate") or aset.get("frameRate")),
                    channels=channels or None,
                    init=_fill(tmpl.get("initialization") or "", rep_id),
                    segments=segments,
                )
            )
    if not any(t.kind == "video" for t in tracks):
        raise PackagingError("the DASH manifest has no video representation")
    return tracks


def media_playlist(track: Track) -> str:
    target = max(1, max(round(s.duration_s) for s in track.segments))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f'#EXT-X-MAP:URI="{track.init}"',
    ]
    for s in track.segments:
        lines += [f"#EXTINF:{s.duration_s:.6f},", s.name]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def master_playlist(tracks: list[Track]) -> str:
    videos = sorted(
        (t for t in tracks if t.kind == "video"), key=lambda t: t.peak_bps, reverse=True
    )
    audio = next((t for t in tracks if t.kind == "audio"), None)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    if audio is not None:
        lines.append(
            '#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="default",DEFAULT=YES,'
            f'AUTOSELECT=YES,CHANNELS="{audio.channels or 2}",URI="{audio.playlist}"'
        )
    for v in videos:
        peak = v.peak_bps + (audio.peak_bps if audio else 0)
        avg = v.average_bps + (audio.average_bps if audio else 0)
        codecs = ",".join(c for c in (v.codecs, audio.codecs if audio else "") if c)
        attrs = [f"BANDWIDTH={peak}", f"AVERAGE-BANDWIDTH={avg}", f'CODECS="{codecs}"']
        if v.width and v.height:
            attrs.append(f"RESOLUTION={v.width}x{v.height}")
        if v.frame_rate:
            attrs.append(f"FRAME-RATE={v.frame_rate:.3f}")
        if audio is not None:
            attrs.append('AUDIO="audio"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), v.playlist]
    return "\n".join(lines) + "\n"


def write_hls(out_dir: Path) -> list[Track]:
    """Write the master and one media playlist per track next to the MPD; return the tracks."""
    tracks = read_tracks(out_dir)
    for t in tracks:
        (out_dir / t.playlist).write_text(media_playlist(t))
    (out_dir / MASTER).write_text(master_playlist(tracks))
    return tracks
