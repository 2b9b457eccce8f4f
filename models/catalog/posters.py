"""Posters and backdrops drawn from a title's facts, for a catalog that has no images of its
own (the demo seed): SVG, so one small file is sharp on a phone and on a 4K TV, with no
imaging library and no network.

Pure: the same (id, title, year, genres) always give the same bytes. The palette comes from
the first genre, the motif and the small variations from the id, so neighbours in a row
differ. Text is wrapped here with estimated glyph widths (an <img> SVG cannot measure it)
and squeezed with textLength when a line might still overflow.
"""

from __future__ import annotations

import colorsys
import hashlib
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

# Where the server serves the folder of drawn images (MEDIA_DIR/images), cached for good:
# each file's name carries its content hash.
IMAGES_PATH = "/images"
POSTER_W, POSTER_H = 600, 900  # 2:3, the cards' aspect ratio
BACKDROP_W, BACKDROP_H = 1600, 900  # 16:9, the hero's
_FONT = "'Helvetica Neue', Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif"


@dataclass(frozen=True)
class Palette:
    hue: float  # degrees
    sat: float  # 0..1
    accent_shift: float  # degrees from hue to the accent
    motifs: tuple[str, ...]


# By the first genre: what a cinema's poster wall tends to look like for it.
_PALETTES = {
    "crime": Palette(2, 0.70, 35, ("bars", "rings", "dots")),
    "thriller": Palette(190, 0.55, 170, ("rings", "bars", "dots")),
    "drama": Palette(265, 0.45, 60, ("peaks", "rings", "sun")),
    "comedy": Palette(42, 0.85, -30, ("dots", "sun", "rays")),
    "romance": Palette(335, 0.65, 30, ("sun", "rings", "dots")),
    "sci-fi": Palette(215, 0.75, 110, ("sun", "rings", "rays")),
    "animation": Palette(165, 0.70, 150, ("dots", "rays", "sun")),
    "documentary": Palette(95, 0.40, 60, ("peaks", "dots", "rings")),
    "adventure": Palette(24, 0.80, 180, ("peaks", "sun", "rays")),
    "family": Palette(50, 0.75, 150, ("sun", "dots", "peaks")),
}
_DEFAULT = Palette(230, 0.5, 40, ("rings", "peaks", "dots", "sun", "rays", "bars"))


def _hex(hue: float, sat: float, light: float) -> str:
    r, g, b = colorsys.hls_to_rgb((hue % 360) / 360, light, max(0.0, min(1.0, sat)))
    return f"#{round(r * 255):02x}{round(g * 255):02x}{round(b * 255):02x}"


@dataclass(frozen=True)
class _Look:
    top: str
    bottom: str
    accent: str
    shade: str
    motif: str
    rng: random.Random


def _look(title_id: int, genres: Sequence[str]) -> _Look:
    palette = next((_PALETTES[g] for g in genres if g in _PALETTES), _DEFAULT)
    rng = random.Random(f"poster:{title_id}")
    hue = palette.hue + rng.uniform(-14, 14)
    sat = palette.sat + rng.uniform(-0.08, 0.08)
    return _Look(
        top=_hex(hue, sat, rng.uniform(0.30, 0.40)),
        bottom=_hex(hue + 18, sat, rng.uniform(0.07, 0.11)),
        accent=_hex(hue + palette.accent_shift, min(1.0, sat + 0.15), rng.uniform(0.58, 0.68)),
        shade=_hex(hue - 10, sat * 0.8, 0.05),
        motif=rng.choice(palette.motifs),
        rng=rng,
    )


# --- motifs: shapes in a w x h box, lighter than the background, behind the text ---------


def _sun(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    cx, cy, rad = (
        w * r.uniform(0.3, 0.7),
        h * r.uniform(0.28, 0.4),
        min(w, h) * r.uniform(0.22, 0.3),
    )
    stripes = "".join(
        f'<rect x="0" y="{cy + rad * (0.15 + i * 0.22):.0f}" width="{w}" '
        f'height="{rad * (0.05 + i * 0.03):.0f}" fill="url(#bg)"/>'
        for i in range(4)
    )
    horizon = cy + rad * 0.95
    return (
        f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{rad:.0f}" fill="url(#sun)"/>{stripes}'
        f'<path d="M0 {horizon:.0f} L{w} {horizon - h * 0.04:.0f} L{w} {h} L0 {h}Z" '
        f'fill="{lk.shade}" opacity="0.85"/>'
    )


def _rings(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    cx, cy = w * r.uniform(0.25, 0.75), h * r.uniform(0.25, 0.45)
    step = min(w, h) * r.uniform(0.06, 0.09)
    return "".join(
        f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{step * (i + 1):.0f}" fill="none" '
        f'stroke="{lk.accent}" stroke-width="{max(2.0, step * 0.18 * (1 - i / 9)):.1f}" '
        f'opacity="{0.75 - i * 0.07:.2f}"/>'
        for i in range(9)
    )


def _peaks(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    layers = []
    for i in range(4):
        base = h * (0.42 + i * 0.1)
        points = [f"0,{h}", f"0,{base:.0f}"]
        x = 0.0
        while x < w:
            x += w * r.uniform(0.12, 0.3)
            points.append(f"{min(x, w):.0f},{base - h * r.uniform(0.02, 0.16):.0f}")
        points.append(f"{w},{h}")
        colour = lk.accent if i == 0 else lk.shade
        opacity = 0.55 if i == 0 else 0.35 + i * 0.18
        layers.append(
            f'<polygon points="{" ".join(points)}" fill="{colour}" opacity="{opacity:.2f}"/>'
        )
    mx, my, mr = w * r.uniform(0.6, 0.85), h * 0.18, min(w, h) * 0.07
    moon = f'<circle cx="{mx:.0f}" cy="{my:.0f}" r="{mr:.0f}" fill="{lk.accent}" opacity="0.9"/>'
    return moon + "".join(layers)


def _rays(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    cx, cy = w * r.uniform(0.2, 0.8), h * r.uniform(0.2, 0.4)
    n = r.choice((12, 16, 20))
    far = (w + h) * 1.2
    out = []
    for i in range(0, n, 2):
        a0, a1 = i / n, (i + 1) / n
        p0 = (cx + far * math.cos(a0 * 2 * math.pi), cy + far * math.sin(a0 * 2 * math.pi))
        p1 = (cx + far * math.cos(a1 * 2 * math.pi), cy + far * math.sin(a1 * 2 * math.pi))
        out.append(
            f'<path d="M{cx:.0f} {cy:.0f} L{p0[0]:.0f} {p0[1]:.0f} L{p1[0]:.0f} {p1[1]:.0f}Z" '
            f'fill="{lk.accent}" opacity="0.22"/>'
        )
    out.append(
        f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{min(w, h) * 0.09:.0f}" fill="{lk.accent}"/>'
    )
    return "".join(out)


def _bars(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    tilt = r.uniform(-0.35, 0.35) * h
    out = []
    for _ in range(r.randint(3, 5)):
        y = h * r.uniform(0.08, 0.55)
        y2 = y + h * r.uniform(0.015, 0.06)
        out.append(
            f'<path d="M0 {y:.0f} L{w} {y + tilt:.0f} L{w} {y2 + tilt:.0f} L0 {y2:.0f}Z" '
            f'fill="{lk.accent}" opacity="{r.uniform(0.35, 0.9):.2f}"/>'
        )
    return "".join(out)


def _dots(lk: _Look, w: int, h: int) -> str:
    r = lk.rng
    gap = min(w, h) * r.uniform(0.055, 0.075)
    cx, cy = w * r.uniform(0.3, 0.7), h * r.uniform(0.2, 0.4)
    reach = min(w, h) * 0.55
    out = []
    y = gap / 2
    while y < h * 0.7:
        x = gap / 2
        while x < w:
            d = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5
            size = gap * 0.45 * max(0.0, 1 - d / reach)
            if size > 1:
                out.append(f'<circle cx="{x:.0f}" cy="{y:.0f}" r="{size:.1f}"/>')
            x += gap
        y += gap
    return f'<g fill="{lk.accent}" opacity="0.8">{"".join(out)}</g>'


_MOTIFS: dict[str, Callable[[_Look, int, int], str]] = {
    "sun": _sun,
    "rings": _rings,
    "peaks": _peaks,
    "rays": _rays,
    "bars": _bars,
    "dots": _dots,
}


# --- text -----------------------------------------------------------------------------------

# Advance widths in em of a bold sans (Arial/Liberation Bold, DejaVu a little wider): an
# estimate on the wide side, so a line rarely needs squeezing.
_NARROW = set("IJ1.,:;'!|- ")
_WIDE = set("MW@%&")


def _width(text: str, size: float, tracking: float = 0.0) -> float:
    em = sum(0.34 if c in _NARROW else 0.98 if c in _WIDE else 0.74 for c in text)
    return (em + tracking * len(text)) * size


def _wrap(words: list[str], size: float, room: float) -> list[str]:
    lines: list[str] = []
    for word in words:
        if lines and _width(f"{lines[-1]} {word}", size) <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _title_lines(title: str, room: float) -> tuple[float, list[str]]:
    """The largest size at which the title fits in four lines or fewer, and its lines."""
    words = title.upper().split() or [""]
    fitting: list[tuple[float, list[str]]] = []
    for size in (92, 84, 76, 68, 60, 54, 48, 42, 36):
        lines = _wrap(words, size, room)
        if len(lines) <= 4 and all(_width(line, size) <= room for line in lines):
            fitting.append((size, lines))
    # A last line of one or two letters ("PADDINGTON / 2") reads badly: a size smaller
    # by a step or two that keeps them together wins.
    for fit_size, fit_lines in fitting[:3]:
        if len(fit_lines) == 1 or len(fit_lines[-1]) > 2:
            return fit_size, fit_lines
    return fitting[0] if fitting else (36, _wrap(words, 36, room)[:5])


def _text(
    x: float, y: float, value: str, size: float, room: float, attrs: str, tracking: float = 0.0
) -> str:
    squeeze = (
        f' textLength="{room:.0f}" lengthAdjust="spacingAndGlyphs"'
        if _width(value, size, tracking) > room
        else ""
    )
    at = f'x="{x:.0f}" y="{y:.0f}" font-size="{size:.0f}"'
    return f"<text {at}{squeeze} {attrs}>{escape(value)}</text>"


def _defs(lk: _Look, *, horizontal: bool) -> str:
    to = 'x2="1" y2="0"' if horizontal else 'x2="0" y2="1"'
    return (
        "<defs>"
        f'<linearGradient id="bg" x1="0" y1="0" {to}>'
        f'<stop offset="0" stop-color="{lk.top}"/><stop offset="1" stop-color="{lk.bottom}"/>'
        "</linearGradient>"
        '<linearGradient id="sun" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{lk.accent}"/><stop offset="1" stop-color="{lk.top}"/>'
        "</linearGradient>"
        '<linearGradient id="veil" x1="0" y1="0" x2="0" y2="1">'
        f'<stop offset="0" stop-color="{lk.shade}" stop-opacity="0"/>'
        f'<stop offset="1" stop-color="{lk.shade}" stop-opacity="0.95"/>'
        "</linearGradient>"
        "</defs>"
    )


def poster_svg(*, title_id: int, title: str, year: int | None, genres: Sequence[str]) -> str:
    """A 2:3 poster: genre palette and motif, the title wrapped at the bottom, year and genres."""
    lk = _look(title_id, genres)
    w, h, margin = POSTER_W, POSTER_H, 44
    room = w - 2 * margin
    size, lines = _title_lines(title, room)
    lead = size * 1.02
    meta_y = h - margin
    last_y = meta_y - 46
    first_y = last_y - lead * (len(lines) - 1)
    title_text = "".join(
        _text(margin, first_y + i * lead, line, size, room, 'font-weight="800" fill="#fff"')
        for i, line in enumerate(lines)
    )
    meta = " · ".join(str(p) for p in (year, *(g.replace("-", " ") for g in genres[:2])) if p)
    meta_text = (
        _text(
            margin,
            meta_y,
            meta.upper(),
            26,
            room,
            f'font-weight="600" letter-spacing="3" fill="{lk.accent}"',
            tracking=3 / 26,
        )
        if meta
        else ""
    )
    veil_top = first_y - size * 1.6
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
        f'font-family="{_FONT}">'
        f"<title>{escape(title)}</title>"
        f"{_defs(lk, horizontal=False)}"
        f'<rect width="{w}" height="{h}" fill="url(#bg)"/>'
        f"{_MOTIFS[lk.motif](lk, w, h)}"
        f'<rect y="{veil_top:.0f}" width="{w}" height="{h - veil_top:.0f}" fill="url(#veil)"/>'
        f'<rect x="{margin}" y="{first_y - size - 18:.0f}" width="64" height="6" '
        f'fill="{lk.accent}"/>'
        f"{title_text}" + meta_text + "</svg>"
    )


def backdrop_svg(*, title_id: int, genres: Sequence[str]) -> str:
    """A 16:9 backdrop in the poster's palette and motif, without text (pages write on it)."""
    lk = _look(title_id, genres)
    w, h = BACKDROP_W, BACKDROP_H
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}">'
        f"{_defs(lk, horizontal=True)}"
        f'<rect width="{w}" height="{h}" fill="url(#bg)"/>'
        f"{_MOTIFS[lk.motif](lk, w, h)}"
        "</svg>"
    )


def file_name(kind: str, title_id: int, svg: str) -> str:
    """`poster-12-<hash>.svg`: the content hash lets the file be cached for good."""
    digest = hashlib.sha256(svg.encode()).hexdigest()[:12]
    return f"{kind}-{title_id}-{digest}.svg"
