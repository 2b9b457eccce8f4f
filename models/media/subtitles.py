"""Subtitle files: decode, parse SRT or WebVTT strictly, write WebVTT, cut it for HLS.

Uploaded subtitles are untrusted text made by every tool under the sun. The lenient parsers
(pysubs2, webvtt-py) silently merge a cue with a broken timing line into the one before it,
or drop it; an editor would only find out from a viewer. So this parser is strict where a
mistake changes what viewers see (timings, cue boundaries, tags) and says which line is wrong,
and forgiving where players are too (an unclosed <i> at the end of a cue, SRT's 2-digit
milliseconds, a byte order mark).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace

import charset_normalizer

MAX_CUES = 50_000
MAX_CUE_CHARS = 2_000


class SubtitleError(ValueError):
    """A file we refuse; `line` is 1-based, None when it is about the whole file."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


@dataclass(frozen=True)
class Cue:
    start_ms: int
    end_ms: int
    text: str  # WebVTT cue text, markup checked, lines joined with "\n"
    settings: str = ""  # WebVTT cue settings ("line:0 align:start"), checked
    line: int = 0  # where it started in the file it came from, for messages


# --- bytes to text ---------------------------------------------------------------------------

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)


# The code page subtitle files in a language were saved in before UTF-8 (what VLC and mpv
# ask their users to pick). Guessing from a few hundred bytes confuses the Latin ones with
# each other: a short French cp1252 file reads as Baltic cp1257 to charset-normalizer.
_LEGACY = {
    **dict.fromkeys("en fr de es it pt nl sv da no nb nn fi is ga ca eu gl af sq id ms".split(),
                    "cp1252"),
    **dict.fromkeys("ru uk be bg sr mk".split(), "cp1251"),
    **dict.fromkeys("pl cs sk hu hr sl ro bs".split(), "cp1250"),
    **dict.fromkeys("lt lv et".split(), "cp1257"),
    "el": "cp1253", "tr": "cp1254", "he": "cp1255", "ar": "cp1256", "fa": "cp1256",
    "vi": "cp1258", "th": "cp874", "ja": "shift_jis", "ko": "cp949", "zh": "gb18030",
    "zh-Hant": "big5",
}  # fmt: skip


def _legacy(language: str | None) -> str | None:
    if not language:
        return None
    return _LEGACY.get(language) or _LEGACY.get(language.split("-", 1)[0])


def decode(data: bytes, *, language: str | None = None) -> str:
    """The file's text: a BOM decides, else UTF-8 if it is valid, else the code page of the
    track's language, else the encoding that charset-normalizer finds."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError as exc:
                raise SubtitleError(f"the file starts as {encoding} but is not") from exc
    if b"\0" in data:
        raise SubtitleError("this is not a text file (it has NUL bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if legacy := _legacy(language):
        try:
            return data.decode(legacy)
        except UnicodeDecodeError:
            pass
    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        raise SubtitleError("cannot tell the text encoding: save the file as UTF-8")
    return str(best)


# --- timings ---------------------------------------------------------------------------------

_VTT_TIME = r"(?:(\d{2,}):)?([0-5]\d):([0-5]\d)\.(\d{3})"
_VTT_TIMING = re.compile(rf"^{_VTT_TIME}[ \t]+-->[ \t]+{_VTT_TIME}(?:[ \t]+(.*))?$")
_SRT_TIME = r"(\d{1,3}):(\d{1,2}):(\d{1,2})[,.](\d{1,3})"
_SRT_TIMING = re.compile(rf"^{_SRT_TIME}[ \t]*-->[ \t]*{_SRT_TIME}(?:[ \t]+.*)?$")


def _ms(h: str | None, m: str, s: str, frac: str) -> int:
    return ((int(h or 0) * 60 + int(m)) * 60 + int(s)) * 1000 + int(frac.ljust(3, "0"))


def format_time(ms: int) -> str:
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, frac = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}.{frac:03d}"


# --- cue text --------------------------------------------------------------------------------

_VOICE_TAGS = {"c", "i", "b", "u", "v", "lang", "ruby", "rt"}
_TAG = re.compile(r"<(/?)([A-Za-z]+|\d[\d:.]*)([^>]*)>")
_ENTITY = re.compile(r"&(?:amp|lt|gt|lrm|rlm|nbsp|#\d{1,7}|#x[0-9A-Fa-f]{1,6});")
_SRT_FONT = re.compile(r"</?font\b[^>]*>", re.I)
_ASS_OVERRIDE = re.compile(r"\{\\[^}]*\}")
_ASS_POS = re.compile(r"\{\\an([1-9])\}")
_INNER_TIME = re.compile(rf"^{_VTT_TIME}$")


def _escape_text(text: str) -> str:
    """'&' that starts no entity is a literal ampersand."""
    out = []
    i = 0
    while i < len(text):
        if text[i] == "&" and not _ENTITY.match(text, i):
            out.append("&amp;")
        else:
            out.append(text[i])
        i += 1
    return "".join(out)


def check_markup(text: str, *, line: int, srt: bool = False) -> str:
    """Cue text with its tags checked and balanced; raises SubtitleError naming the line
    (`line` is the file's line of the text's first line)."""
    out: list[str] = []
    open_tags: list[str] = []
    pos = 0

    def at(i: int) -> int:
        return line + text.count("\n", 0, i)

    for m in _TAG.finditer(text):
        before = text[pos : m.start()]
        if "<" in before:
            if not srt:
                raise SubtitleError(
                    "a '<' that starts no tag: write it as &lt;", at(pos + before.index("<"))
                )
            before = before.replace("<", "&lt;")
        out.append(_escape_text(before).replace(">", "&gt;"))
        pos = m.end()
        closing, name, rest = m.group(1), m.group(2), m.group(3)
        lname = name.lower()
        if name[0].isdigit():
            if closing or rest or not _INNER_TIME.match(name):
                raise SubtitleError(f"bad timestamp tag <{m.group(0)[1:-1]}>", at(m.start()))
            out.append(m.group(0))
            continue
        if lname not in _VOICE_TAGS or (srt and lname not in {"i", "b", "u"}):
            allowed = "i, b, u" if srt else "c, i, b, u, v, lang, ruby, rt"
            raise SubtitleError(
                f"unknown tag <{closing}{name}>: allowed are {allowed}", at(m.start())
            )
        if closing:
            if lname not in open_tags:
                raise SubtitleError(f"</{name}> closes a tag that is not open", at(m.start()))
            while open_tags:
                top = open_tags.pop()
                out.append(f"</{top}>")
                if top == lname:
                    break
            continue
        if lname in {"i", "b", "u", "ruby", "rt"} and rest.strip():
            raise SubtitleError(f"<{name}> takes no annotation", at(m.start()))
        if lname == "lang" and not rest.strip():
            raise SubtitleError("<lang> needs a language, e.g. <lang en>", at(m.start()))
        if not re.match(r"^(?:\.[\w-]+)*(?:[ \t][^<>]*)?$", rest):
            raise SubtitleError(f"malformed tag <{m.group(0)[1:-1]}>", at(m.start()))
        open_tags.append(lname)
        out.append(f"<{lname}{rest}>")
    tail = text[pos:]
    if "<" in tail:
        if not srt:
            raise SubtitleError(
                "a '<' that starts no tag: write it as &lt;", at(pos + tail.index("<"))
            )
        tail = tail.replace("<", "&lt;")
    out.append(_escape_text(tail).replace(">", "&gt;"))
    # Players close what a cue leaves open; so do we, explicitly.
    out.extend(f"</{t}>" for t in reversed(open_tags))
    return "".join(out)


_SETTING = re.compile(
    r"^(?:vertical:(?:rl|lr)"
    r"|line:(?:-?\d+|\d+(?:\.\d+)?%)(?:,(?:start|center|end))?"
    r"|position:\d+(?:\.\d+)?%(?:,(?:line-left|center|line-right))?"
    r"|size:\d+(?:\.\d+)?%"
    r"|align:(?:start|center|end|left|right))$"
)


def _settings(raw: str | None) -> str:
    # Browsers ignore settings they do not understand; so do we (regions are not kept).
    return " ".join(t for t in (raw or "").split() if _SETTING.match(t))


# --- parsing ---------------------------------------------------------------------------------


def sniff(text: str) -> str:
    # "WEBVTX" is a WebVTT file with a typo, better told so than read as SRT.
    return "vtt" if text.lstrip("\ufeff")[:4].upper() == "WEBV" else "srt"


def _lines(text: str) -> list[str]:
    return text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _cue(
    start: int, end: int, text_lines: list[str], settings: str, line: int, *, srt: bool
) -> Cue | None:
    if end <= start:
        raise SubtitleError(
            f"the cue ends ({format_time(end)}) before it starts ({format_time(start)})", line
        )
    raw = "\n".join(text_lines).strip("\n")
    if srt:
        pos = _ASS_POS.search(raw)
        if pos and pos.group(1) in "789" and not settings:
            settings = "line:0"
        raw = _SRT_FONT.sub("", _ASS_OVERRIDE.sub("", raw))
    if not raw.strip():
        return None  # an empty cue shows nothing
    if len(raw) > MAX_CUE_CHARS:
        raise SubtitleError(f"the cue text is longer than {MAX_CUE_CHARS} characters", line)
    for offset, text_line in enumerate(text_lines):
        if "-->" in text_line:
            raise SubtitleError(
                "'-->' inside cue text: a blank line is missing before this timing",
                line + 1 + offset,
            )
    first = line + 1 + next((i for i, t in enumerate(text_lines) if t.strip()), 0)
    return Cue(start, end, check_markup(raw, line=first, srt=srt), settings, line)


def _parse_vtt(lines: list[str]) -> list[Cue]:
    header = lines[0]
    if not re.match(r"^WEBVTT(?:[ \t].*)?$", header):
        raise SubtitleError("a WebVTT file starts with the line WEBVTT", 1)
    cues: list[Cue] = []
    i = 1
    # The header runs to the first blank line.
    while i < len(lines) and lines[i].strip():
        if "-->" in lines[i]:
            raise SubtitleError("a blank line must separate the WEBVTT header from cues", i + 1)
        i += 1
    while i < len(lines):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            break
        start_line = i
        block: list[str] = []
        while i < len(lines) and lines[i].strip():
            block.append(lines[i])
            i += 1
        first = block[0]
        if re.match(r"^(?:NOTE|STYLE|REGION)(?:[ \t]|$)", first) and "-->" not in first:
            continue  # comments, styles and regions are not kept
        timing_at = 0 if "-->" in first else 1
        if timing_at >= len(block):
            raise SubtitleError(
                "expected a timing line (00:00:01.000 --> 00:00:02.000) after the cue id",
                start_line + 1,
            )
        m = _VTT_TIMING.match(block[timing_at].strip())
        if m is None:
            raise SubtitleError(
                f"bad timing line {block[timing_at].strip()[:80]!r}: "
                "expected 00:00:01.000 --> 00:00:02.000",
                start_line + timing_at + 1,
            )
        g = m.groups()
        cue = _cue(
            _ms(*g[0:4]),
            _ms(*g[4:8]),
            block[timing_at + 1 :],
            _settings(g[8]),
            start_line + timing_at + 1,
            srt=False,
        )
        if cue is not None:
            cues.append(cue)
    return cues


def _parse_srt(lines: list[str]) -> list[Cue]:
    cues: list[Cue] = []
    i = 0
    while i < len(lines):
        while i < len(lines) and not lines[i].strip():
            i += 1
        if i >= len(lines):
            break
        if lines[i].strip().isdigit() and i + 1 < len(lines) and "-->" in lines[i + 1]:
            i += 1  # the cue number
        timing = lines[i].strip()
        m = _SRT_TIMING.match(timing)
        if m is None:
            what = "bad timing line" if "-->" in timing else "expected a cue number or timing"
            raise SubtitleError(
                f"{what} {timing[:80]!r}: expected 00:00:01,000 --> 00:00:02,000", i + 1
            )
        g = m.groups()
        for value in (g[1], g[2], g[5], g[6]):
            if int(value) > 59:
                raise SubtitleError(f"bad timing line {timing[:80]!r}: {value} > 59", i + 1)
        at = i + 1
        i += 1
        text_lines: list[str] = []
        while i < len(lines) and lines[i].strip():
            text_lines.append(lines[i].rstrip())
            i += 1
        cue = _cue(_ms(*g[0:4]), _ms(*g[4:8]), text_lines, "", at, srt=True)
        if cue is not None:
            cues.append(cue)
    return cues


def parse(text: str, *, duration_ms: int | None = None) -> list[Cue]:
    """Cues of an SRT or WebVTT text, in order of start; refuses what players would misread.

    With the video's duration known, a cue that starts after the end is refused (a file
    for another cut); one that runs past the end is cut there.
    """
    lines = _lines(text)
    cues = _parse_vtt(lines) if sniff(text) == "vtt" else _parse_srt(lines)
    if not cues:
        raise SubtitleError("the file has no cues")
    if len(cues) > MAX_CUES:
        raise SubtitleError(f"more than {MAX_CUES} cues")
    if duration_ms is not None:
        late = next((c for c in cues if c.start_ms >= duration_ms + 1000), None)
        if late is not None:
            raise SubtitleError(
                f"the cue starts at {format_time(late.start_ms)}, after the end of the video "
                f"({format_time(duration_ms)}): is this file for another cut?",
                late.line,
            )
        cues = [replace(c, end_ms=min(c.end_ms, duration_ms)) for c in cues]
        cues = [c for c in cues if c.end_ms > c.start_ms]
    return sorted(cues, key=lambda c: (c.start_ms, c.end_ms))


def load(data: bytes, *, duration_ms: int | None = None, language: str | None = None) -> list[Cue]:
    return parse(decode(data, language=language), duration_ms=duration_ms)


# --- writing ---------------------------------------------------------------------------------


def _block(c: Cue) -> str:
    timing = f"{format_time(c.start_ms)} --> {format_time(c.end_ms)}"
    if c.settings:
        timing += " " + c.settings
    return f"{timing}\n{c.text}\n"


def to_webvtt(cues: list[Cue]) -> str:
    return "WEBVTT\n\n" + "\n".join(_block(c) for c in cues)


def segment_webvtt(cues: list[Cue], start_ms: int, end_ms: int, *, mpegts: int = 0) -> str:
    """The cues showing in [start_ms, end_ms) as one HLS WebVTT segment.

    X-TIMESTAMP-MAP ties cue times to the media's timestamps (`mpegts`, 90 kHz, of media
    time 0); a cue that spans a boundary is in both segments, as players expect.
    """
    head = f"WEBVTT\nX-TIMESTAMP-MAP=MPEGTS:{mpegts},LOCAL:00:00:00.000\n\n"
    inside = [c for c in cues if c.start_ms < end_ms and c.end_ms > start_ms]
    return head + "\n".join(_block(c) for c in inside)


def plain_text(cue_text: str) -> str:
    """What a viewer reads: tags out, entities decoded (for tests and search)."""
    return html.unescape(_TAG.sub("", cue_text))
