"""A revision's manifest (which streams, tracks and thumbnails it has) and the HLS and DASH
files written from it, over the very same CMAF segments.

ffmpeg encodes and lays out the segments; what it says about them (its MPD) is read once into
a `Manifest`, kept beside the files as `tracks.json`. Both the DASH manifest and the HLS
playlists are written from that one model, so a revision made later without re-encoding
(a dub added, a subtitle replaced) only writes new manifests next to the same segments. The
HLS side is VOD-typed, carries no wall-clock dates, and declares BANDWIDTH as the measured
peak segment bitrate (with AVERAGE-BANDWIDTH), which is what the HLS spec asks for.
"""

from __future__ import annotations

import hashlib
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from models.media import languages
from models.media.subtitles import Cue, format_time, segment_webvtt, to_webvtt

NS = {"d": "urn:mpeg:dash:schema:mpd:2011"}
MASTER = "master.m3u8"
MPD = "manifest.mpd"
TRACKS = "tracks.json"
THUMBNAILS_VTT = "thumbnails.vtt"
AUDIO_GROUP = "audio"
TEXT_GROUP = "subs"
DESCRIBES_VIDEO = "public.accessibility.describes-video"
SDH = (
    "public.accessibility.transcribes-spoken-dialog,public.accessibility.describes-music-and-sound"
)

AudioKind = Literal["main", "description", "commentary"]
TextKind = Literal["subtitles", "captions", "forced"]


class PackagingError(Exception):
    pass


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Segment(_Frozen):
    name: str
    duration: int  # in the stream's timescale
    size: int


class Stream(_Frozen):
    """One representation: a video rendition or an audio rendition, with its segments."""

    name: str  # unique in the revision: "0" (ffmpeg's id) or "a12-0" (a later encode)
    kind: Literal["video", "audio"]
    codecs: str
    timescale: int
    start: int  # presentation time of the first segment, in timescale
    init: str
    media: str  # the segment template with $Number$ (DASH), names filled in (HLS)
    start_number: int
    segments: list[Segment]
    width: int | None = None
    height: int | None = None
    frame_rate: str | None = None  # "25/1" as DASH writes it
    channels: int | None = None
    sample_rate: int | None = None

    @property
    def peak_bps(self) -> int:
        return max(
            (
                math.ceil(s.size * 8 * self.timescale / s.duration)
                for s in self.segments
                if s.duration > 0
            ),
            default=0,
        )

    @property
    def average_bps(self) -> int:
        total = sum(s.duration for s in self.segments)
        if not total:
            return 0
        return math.ceil(sum(s.size for s in self.segments) * 8 * self.timescale / total)

    @property
    def duration_s(self) -> float:
        return sum(s.duration for s in self.segments) / self.timescale

    @property
    def playlist(self) -> str:
        return f"{self.kind}-{self.name}.m3u8"

    def files(self) -> list[str]:
        return [self.init, *(s.name for s in self.segments)]


class AudioTrack(_Frozen):
    id: int
    language: str | None
    label: str
    kind: AudioKind = "main"
    default: bool = False
    streams: list[Stream]  # stereo first, then 5.1 when the input has it


class TextTrack(_Frozen):
    id: int
    language: str | None
    label: str
    kind: TextKind = "subtitles"
    default: bool = False
    sha256: str  # of the WebVTT text: a later revision keeps the files when it is the same
    vtt: str  # the whole file (DASH sidecar, downloads)
    segments: list[str]  # HLS WebVTT segments, one per video segment

    def files(self) -> list[str]:
        return [self.vtt, *self.segments]


class Thumbnails(_Frozen):
    interval_ms: int
    width: int  # of one thumbnail
    height: int
    columns: int
    rows: int
    count: int
    sheets: list[str]
    sheet_bytes: int  # the largest sheet, for the DASH bandwidth

    def files(self) -> list[str]:
        return [THUMBNAILS_VTT, *self.sheets]


class Manifest(_Frozen):
    duration_ms: int
    video: list[Stream]
    audio: list[AudioTrack] = []
    text: list[TextTrack] = []
    thumbnails: Thumbnails | None = None

    def files(self) -> list[str]:
        """Every media file the manifests point at (manifests themselves excluded)."""
        out = [f for s in self.video for f in s.files()]
        out += [f for t in self.audio for s in t.streams for f in s.files()]
        out += [f for t in self.text for f in t.files()]
        if self.thumbnails is not None:
            out += self.thumbnails.files()
        return out


# --- reading what ffmpeg wrote -------------------------------------------------------------

_NUMBER = re.compile(r"\$Number(%0(\d+)d)?\$")


def _fill(template: str, rep_id: str, number: int | None = None) -> str:
    out = template.replace("$RepresentationID$", rep_id)
    if number is not None:
        out = _NUMBER.sub(lambda m: str(number).zfill(int(m.group(2) or 0)), out)
        if "$" in out:
            raise PackagingError(f"unsupported segment template {template!r}")
    if "/" in out or out.startswith("."):
        raise PackagingError(f"unsupported segment template {template!r}")
    return out


def read_mpd(out_dir: Path, mpd: str = MPD) -> list[Stream]:
    """Every representation of an MPD that ffmpeg wrote, with its segments and their sizes."""
    try:
        root = ET.parse(out_dir / mpd).getroot()
    except (OSError, ET.ParseError) as e:
        raise PackagingError(f"cannot read the DASH manifest: {e}") from e
    streams: list[Stream] = []
    for aset in root.iterfind("d:Period/d:AdaptationSet", NS):
        set_kind = aset.get("contentType") or ""
        for rep in aset.iterfind("d:Representation", NS):
            rep_id = rep.get("id") or ""
            kind = set_kind or (rep.get("mimeType") or "").split("/")[0]
            tmpl = rep.find("d:SegmentTemplate", NS)
            if tmpl is None:
                tmpl = aset.find("d:SegmentTemplate", NS)
            if tmpl is None or kind not in ("video", "audio"):
                raise PackagingError(f"representation {rep_id} has no usable segment template")
            timescale = int(tmpl.get("timescale") or 1)
            start_number = int(tmpl.get("startNumber") or 1)
            media = _fill(tmpl.get("media") or "", rep_id)
            number = start_number
            start: int | None = None
            segments: list[Segment] = []
            for s in tmpl.iterfind("d:SegmentTimeline/d:S", NS):
                if start is None:
                    start = int(s.get("t") or 0)
                d = int(s.get("d") or 0)
                for _ in range(int(s.get("r") or 0) + 1):
                    name = _fill(media, rep_id, number)
                    path = out_dir / name
                    if not path.is_file():
                        raise PackagingError(f"segment {name} is listed but missing")
                    segments.append(Segment(name=name, duration=d, size=path.stat().st_size))
                    number += 1
            if not segments:
                raise PackagingError(f"representation {rep_id} has no segments")
            channels_el = rep.find("d:AudioChannelConfiguration", NS)
            channels = int(channels_el.get("value") or 0) if channels_el is not None else 0
            streams.append(
                Stream(
                    name=rep_id,
                    kind=kind,
                    codecs=rep.get("codecs") or "",
                    timescale=timescale,
                    start=start or 0,
                    init=_fill(tmpl.get("initialization") or "", rep_id),
                    media=media,
                    start_number=start_number,
                    segments=segments,
                    width=int(rep.get("width") or 0) or None,
                    height=int(rep.get("height") or 0) or None,
                    frame_rate=rep.get("frameRate") or aset.get("frameRate"),
                    channels=channels or None,
                    sample_rate=int(rep.get("audioSamplingRate") or 0) or None,
                )
            )
    return streams


# --- text tracks ----------------------------------------------------------------------------


def text_track(
    *,
    id: int,
    language: str | None,
    label: str,
    kind: TextKind,
    default: bool,
    cues: list[Cue],
    video: Stream,
) -> tuple[TextTrack, dict[str, str]]:
    """A text track cut along the video's segments: the model and the files to write."""
    body = to_webvtt(cues)
    files = {f"text-{id}.vtt": body}
    mpegts = video.start * 90_000 // video.timescale
    t = video.start
    segments = []
    for n, seg in enumerate(video.segments, start=1):
        start_ms = (t - video.start) * 1000 // video.timescale
        t += seg.duration
        end_ms = (t - video.start) * 1000 // video.timescale
        name = f"text-{id}-{n:05d}.vtt"
        files[name] = segment_webvtt(cues, start_ms, end_ms, mpegts=mpegts)
        segments.append(name)
    track = TextTrack(
        id=id,
        language=language,
        label=label,
        kind=kind,
        default=default,
        sha256=hashlib.sha256(body.encode()).hexdigest(),
        vtt=f"text-{id}.vtt",
        segments=segments,
    )
    return track, files


def thumbnails_vtt(t: Thumbnails, duration_ms: int) -> str:
    """The WebVTT thumbnails track: each cue's text is a sprite region (`#xywh=`)."""
    per_sheet = t.columns * t.rows
    blocks = []
    for i in range(t.count):
        start = i * t.interval_ms
        end = min(duration_ms, start + t.interval_ms)
        if end <= start:
            break
        sheet, cell = divmod(i, per_sheet)
        x, y = (cell % t.columns) * t.width, (cell // t.columns) * t.height
        blocks.append(
            f"{format_time(start)} --> {format_time(end)}\n"
            f"{t.sheets[sheet]}#xywh={x},{y},{t.width},{t.height}\n"
        )
    return "WEBVTT\n\n" + "\n".join(blocks)


# --- HLS ------------------------------------------------------------------------------------


def _q(value: str) -> str:
    """A quoted-string attribute: no double quotes or line breaks inside (RFC 8216 4.2)."""
    return '"' + re.sub(r'["\r\n]', "'", value) + '"'


def media_playlist(stream: Stream) -> str:
    target = max(1, max(round(s.duration / stream.timescale) for s in stream.segments))
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{target}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
        "#EXT-X-INDEPENDENT-SEGMENTS",
        f"#EXT-X-MAP:URI={_q(stream.init)}",
    ]
    for s in stream.segments:
        lines += [f"#EXTINF:{s.duration / stream.timescale:.6f},", s.name]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def text_playlist(track: TextTrack, video: Stream) -> str:
    durations = [s.duration / video.timescale for s in video.segments]
    lines = [
        "#EXTM3U",
        "#EXT-X-VERSION:7",
        f"#EXT-X-TARGETDURATION:{max(1, max(round(d) for d in durations))}",
        "#EXT-X-MEDIA-SEQUENCE:0",
        "#EXT-X-PLAYLIST-TYPE:VOD",
    ]
    for name, d in zip(track.segments, durations, strict=True):
        lines += [f"#EXTINF:{d:.6f},", name]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"


def unique_names(labels: list[str]) -> list[str]:
    """NAME must be unique within a group: "English", "English 2"."""
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        n = seen.get(label.casefold(), 0) + 1
        seen[label.casefold()] = n
        out.append(label if n == 1 else f"{label} {n}")
    return out


def _layout(channels: int | None) -> str:
    return {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}.get(channels or 2, f"{channels} ch")


def audio_renditions(m: Manifest) -> list[tuple[AudioTrack, Stream, str, bool]]:
    """Every audio rendition with its HLS NAME and whether it is the group's DEFAULT."""
    rows = [(t, s) for t in m.audio for s in t.streams]
    labels = [
        t.label if i == 0 else f"{t.label} ({_layout(s.channels)})"
        for t in m.audio
        for i, s in enumerate(t.streams)
    ]
    default_track = next((t for t in m.audio if t.default), m.audio[0] if m.audio else None)
    return [
        (t, s, name, t is default_track and s is t.streams[0])
        for (t, s), name in zip(rows, unique_names(labels), strict=True)
    ]


def text_renditions(m: Manifest) -> list[tuple[TextTrack, str]]:
    """Every text track with its HLS NAME."""
    return list(zip(m.text, unique_names([t.label for t in m.text]), strict=True))


def master_playlist(m: Manifest) -> str:
    videos = sorted(m.video, key=lambda s: s.peak_bps, reverse=True)
    audio = audio_renditions(m)
    lines = ["#EXTM3U", "#EXT-X-VERSION:7", "#EXT-X-INDEPENDENT-SEGMENTS"]
    for t, s, name, default in audio:
        attrs = [
            "TYPE=AUDIO",
            f"GROUP-ID={_q(AUDIO_GROUP)}",
            f"NAME={_q(name)}",
        ]
        if t.language:
            attrs.append(f"LANGUAGE={_q(t.language)}")
        attrs += [
            f"DEFAULT={'YES' if default else 'NO'}",
            "AUTOSELECT=YES",
            f"CHANNELS={_q(str(s.channels or 2))}",
        ]
        if t.kind == "description":
            attrs.append(f"CHARACTERISTICS={_q(DESCRIBES_VIDEO)}")
        attrs.append(f"STABLE-RENDITION-ID={_q(f'a{t.id}-{s.channels or 2}')}")
        attrs.append(f"URI={_q(s.playlist)}")
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    for tt, name in text_renditions(m):
        attrs = ["TYPE=SUBTITLES", f"GROUP-ID={_q(TEXT_GROUP)}", f"NAME={_q(name)}"]
        if tt.language:
            attrs.append(f"LANGUAGE={_q(tt.language)}")
        attrs += [
            f"DEFAULT={'YES' if tt.default else 'NO'}",
            "AUTOSELECT=YES",
            f"FORCED={'YES' if tt.kind == 'forced' else 'NO'}",
        ]
        if tt.kind == "captions":
            attrs.append(f"CHARACTERISTICS={_q(SDH)}")
        attrs += [f"STABLE-RENDITION-ID={_q(f't{tt.id}')}", f"URI={_q(f'text-{tt.id}.m3u8')}"]
        lines.append("#EXT-X-MEDIA:" + ",".join(attrs))
    # A variant's BANDWIDTH holds with any audio rendition of its group playing.
    audio_peak = max((s.peak_bps for _, s, _, _ in audio), default=0)
    audio_avg = max((s.average_bps for _, s, _, _ in audio), default=0)
    audio_codecs = sorted({s.codecs for _, s, _, _ in audio if s.codecs})
    for v in videos:
        codecs = ",".join([c for c in [v.codecs] if c] + audio_codecs)
        attrs = [
            f"BANDWIDTH={v.peak_bps + audio_peak}",
            f"AVERAGE-BANDWIDTH={v.average_bps + audio_avg}",
            f"CODECS={_q(codecs)}",
        ]
        if v.width and v.height:
            attrs.append(f"RESOLUTION={v.width}x{v.height}")
        if v.frame_rate:
            num, _, den = v.frame_rate.partition("/")
            attrs.append(f"FRAME-RATE={float(num) / float(den or 1):.3f}")
        if audio:
            attrs.append(f'AUDIO="{AUDIO_GROUP}"')
        if m.text:
            attrs.append(f'SUBTITLES="{TEXT_GROUP}"')
        lines += ["#EXT-X-STREAM-INF:" + ",".join(attrs), v.playlist]
    return "\n".join(lines) + "\n"


# --- DASH -----------------------------------------------------------------------------------

_ROLE = "urn:mpeg:dash:role:2011"
_AUDIO_PURPOSE = "urn:tva:metadata:cs:AudioPurposeCS:2007"
_CHANNEL_CONFIG = "urn:mpeg:dash:23003:3:audio_channel_configuration:2011"
_TEXT_ROLE = {"subtitles": "subtitle", "captions": "caption", "forced": "forced-subtitle"}


def _iso_duration(seconds: float) -> str:
    return f"PT{seconds:.3f}S"


def _segment_template(parent: ET.Element, s: Stream) -> None:
    tmpl = ET.SubElement(
        parent,
        "SegmentTemplate",
        timescale=str(s.timescale),
        initialization=s.init,
        media=s.media,
        startNumber=str(s.start_number),
    )
    timeline = ET.SubElement(tmpl, "SegmentTimeline")
    runs: list[list[int]] = []  # [duration, repeat]
    for seg in s.segments:
        if runs and runs[-1][0] == seg.duration:
            runs[-1][1] += 1
        else:
            runs.append([seg.duration, 0])
    for i, (d, r) in enumerate(runs):
        attrs = {"d": str(d)}
        if i == 0:
            attrs = {"t": str(s.start), **attrs}
        if r:
            attrs["r"] = str(r)
        ET.SubElement(timeline, "S", attrs)


def adaptation_set_id(track_id: int, index: int = 0) -> int:
    """DASH AdaptationSet ids are numbers: track id x 10 (+1 for its 5.1 rendition)."""
    return track_id * 10 + index


def mpd(m: Manifest) -> str:
    longest = max((seg.duration / s.timescale for s in [*m.video] for seg in s.segments), default=1)
    root = ET.Element(
        "MPD",
        {
            "xmlns": NS["d"],
            "profiles": "urn:mpeg:dash:profile:isoff-live:2011",
            "type": "static",
            "mediaPresentationDuration": _iso_duration(m.duration_ms / 1000),
            "maxSegmentDuration": _iso_duration(longest),
            "minBufferTime": "PT2S",
        },
    )
    period = ET.SubElement(root, "Period", id="0", start="PT0S")
    videos = sorted(m.video, key=lambda s: s.peak_bps, reverse=True)
    vset = ET.SubElement(
        period,
        "AdaptationSet",
        id="0",
        contentType="video",
        mimeType="video/mp4",
        segmentAlignment="true",
        startWithSAP="1",
        maxWidth=str(max(v.width or 0 for v in videos)),
        maxHeight=str(max(v.height or 0 for v in videos)),
    )
    for v in videos:
        rep = ET.SubElement(
            vset,
            "Representation",
            id=f"v{v.name}",
            codecs=v.codecs,
            bandwidth=str(v.peak_bps),
            width=str(v.width or 0),
            height=str(v.height or 0),
            sar="1:1",
        )
        if v.frame_rate:
            rep.set("frameRate", v.frame_rate)
        _segment_template(rep, v)
    default_track = next((t for t in m.audio if t.default), m.audio[0] if m.audio else None)
    for t in m.audio:
        for i, s in enumerate(t.streams):
            aset = ET.SubElement(
                period,
                "AdaptationSet",
                id=str(adaptation_set_id(t.id, i)),
                contentType="audio",
                mimeType="audio/mp4",
                segmentAlignment="true",
                startWithSAP="1",
                # Players pick the highest first: the default track's stereo, then stereo.
                selectionPriority=str((2 if t is default_track else 1) * (2 if i == 0 else 1)),
            )
            if t.language:
                aset.set("lang", t.language)
            ET.SubElement(aset, "Label").text = (
                t.label if i == 0 else f"{t.label} ({_layout(s.channels)})"
            )
            if t.kind == "description":
                # TV-Anytime: 1 = for the visually impaired (the schema wants it before Role).
                ET.SubElement(aset, "Accessibility", schemeIdUri=_AUDIO_PURPOSE, value="1")
            ET.SubElement(aset, "Role", schemeIdUri=_ROLE, value=t.kind)
            rep = ET.SubElement(
                aset,
                "Representation",
                id=f"a{t.id}-{s.channels or 2}",
                codecs=s.codecs,
                bandwidth=str(s.peak_bps),
            )
            if s.sample_rate:
                rep.set("audioSamplingRate", str(s.sample_rate))
            ET.SubElement(
                rep,
                "AudioChannelConfiguration",
                schemeIdUri=_CHANNEL_CONFIG,
                value=str(s.channels or 2),
            )
            _segment_template(rep, s)
    for tt in m.text:
        tset = ET.SubElement(
            period,
            "AdaptationSet",
            id=str(adaptation_set_id(tt.id)),
            contentType="text",
            mimeType="text/vtt",
        )
        if tt.language:
            tset.set("lang", tt.language)
        ET.SubElement(tset, "Label").text = tt.label
        ET.SubElement(tset, "Role", schemeIdUri=_ROLE, value=_TEXT_ROLE[tt.kind])
        rep = ET.SubElement(tset, "Representation", id=f"t{tt.id}", bandwidth="256")
        ET.SubElement(rep, "BaseURL").text = tt.vtt
    if m.thumbnails is not None:
        th = m.thumbnails
        per_sheet_s = th.interval_ms * th.columns * th.rows
        iset = ET.SubElement(
            period, "AdaptationSet", id="1", contentType="image", mimeType="image/jpeg"
        )
        ET.SubElement(
            iset,
            "SegmentTemplate",
            media="sprite-$Number%04d$.jpg",
            timescale="1000",
            duration=str(per_sheet_s),
            startNumber="1",
        )
        rep = ET.SubElement(
            iset,
            "Representation",
            id="thumbnails",
            bandwidth=str(math.ceil(th.sheet_bytes * 8 * 1000 / per_sheet_s)),
            width=str(th.width * th.columns),
            height=str(th.height * th.rows),
        )
        ET.SubElement(
            rep,
            "EssentialProperty",
            schemeIdUri="http://dashif.org/thumbnail_tile",
            value=f"{th.columns}x{th.rows}",
        )
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_manifests(out_dir: Path, m: Manifest) -> None:
    """Write tracks.json, the MPD, the HLS master and media playlists and the thumbnails
    track next to the media files, which must all be there already."""
    missing = [f for f in m.files() if f != THUMBNAILS_VTT and not (out_dir / f).is_file()]
    if missing:
        raise PackagingError(f"{len(missing)} media files are missing, e.g. {missing[0]}")
    if not m.video:
        raise PackagingError("the revision has no video")
    for s in m.video:
        (out_dir / s.playlist).write_text(media_playlist(s))
    for t in m.audio:
        for s in t.streams:
            (out_dir / s.playlist).write_text(media_playlist(s))
    for tt in m.text:
        (out_dir / f"text-{tt.id}.m3u8").write_text(text_playlist(tt, m.video[0]))
    if m.thumbnails is not None:
        (out_dir / THUMBNAILS_VTT).write_text(thumbnails_vtt(m.thumbnails, m.duration_ms))
    (out_dir / MPD).write_text(mpd(m))
    (out_dir / MASTER).write_text(master_playlist(m))
    (out_dir / TRACKS).write_text(m.model_dump_json())


def read_manifest(out_dir: Path) -> Manifest:
    try:
        return Manifest.model_validate_json((out_dir / TRACKS).read_bytes())
    except (OSError, ValueError) as e:
        raise PackagingError(f"cannot read {TRACKS}: {e}") from e


def default_label(language: str | None, kind: str) -> str:
    base = languages.name(language) if language else "Unknown language"
    suffix = {
        "description": " (audio description)",
        "commentary": " (commentary)",
        "captions": " (CC)",
        "forced": " (forced)",
    }.get(kind, "")
    return base + suffix
