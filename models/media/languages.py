"""Language tags of tracks: whatever a source's tags or an editor say, as BCP 47 for players.

Sources tag streams with ISO 639-2 codes ("eng", "fre", "ger"); HLS LANGUAGE and DASH @lang
want BCP 47 ("en", "fr", "pt-BR"), whose primary subtag is the shortest ISO 639 code.
"""

from __future__ import annotations

import functools
import re

import pycountry

_TAG = re.compile(
    r"^(?P<lang>[A-Za-z]{2,3})(?:-(?P<script>[A-Za-z]{4}))?(?:-(?P<region>[A-Za-z]{2}|\d{3}))?$"
)
# Tags that say "no particular language": a track tagged so has no language.
_NONE = {"und", "mis", "zxx", "mul"}


class UnknownLanguage(ValueError):
    pass


@functools.lru_cache(maxsize=1)
def _bibliographic() -> dict[str, object]:
    # ISO 639-2/B codes ("fre", "ger", "chi") are still what most files carry.
    return {
        lang.bibliographic: lang
        for lang in pycountry.languages
        if getattr(lang, "bibliographic", None)
    }


def _lookup(code: str) -> object | None:
    code = code.lower()
    if len(code) == 2:
        return pycountry.languages.get(alpha_2=code)
    return pycountry.languages.get(alpha_3=code) or _bibliographic().get(code)


def normalize(tag: str | None) -> str | None:
    """ "eng" -> "en", "fre" -> "fr", "pt_br" -> "pt-BR", "und" -> None.

    Raises UnknownLanguage for what is not a language tag: editors get told.
    """
    if tag is None or not tag.strip():
        return None
    m = _TAG.match(tag.strip().replace("_", "-"))
    if m is None:
        raise UnknownLanguage(f"{tag!r} is not a language tag (use e.g. en, fr, pt-BR)")
    if m.group("lang").lower() in _NONE:
        return None
    lang = _lookup(m.group("lang"))
    if lang is None:
        raise UnknownLanguage(f"{tag!r} is not a known language")
    out = getattr(lang, "alpha_2", None) or lang.alpha_3  # type: ignore[attr-defined]
    if m.group("script"):
        out += "-" + m.group("script").title()
    if m.group("region"):
        out += "-" + m.group("region").upper()
    return str(out)


def from_source(tag: str | None) -> str | None:
    """A source's tag, or None when it is missing or nonsense (sources are not refused)."""
    try:
        return normalize(tag)
    except UnknownLanguage:
        return None


def name(tag: str | None) -> str:
    """A label for a language: "English", "Portuguese (BR)", "Unknown language"."""
    if not tag:
        return "Unknown language"
    primary, *rest = tag.split("-")
    lang = _lookup(primary)
    base = str(getattr(lang, "name", None) or tag)
    region = next((r for r in rest if len(r) != 4), None)
    return f"{base} ({region})" if region else base


def primary(tag: str | None) -> str | None:
    """The language without script or region: "pt-BR" -> "pt"."""
    return tag.split("-", 1)[0] if tag else None


def matches(wanted: str, tag: str | None) -> bool:
    """Does a track in `tag` serve a viewer who asked for `wanted`? "pt" takes "pt-BR";
    "pt-BR" takes "pt-BR" first (see rank) but also plain "pt"."""
    if not tag:
        return False
    return primary(wanted) == primary(tag)
