"""A Latin transliteration of titles in other scripts, so "ironiya sudby" finds
"Ирония судьбы" and "stalker" finds "Сталкер" (anyascii: ISC licence, every script).

Han characters become one syllable each ("卧虎藏龙" -> "wo hu cang long"), and the run
joined is added too ("wohucanglong"), since people type pinyin either way. Hangul and kana
keep the word boundaries of the source ("기생충" -> "gisaengchung"). Latin letters, accented
or not, are left as they are: the database's unaccent already folds those.
"""

from __future__ import annotations

import unicodedata

from anyascii import anyascii


def _foreign(ch: str) -> bool:
    return ch.isalpha() and not ch.isascii() and not unicodedata.name(ch, "").startswith("LATIN")


def _han(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY IDEOGRAPH"))


def _one(text: str) -> str:
    out: list[str] = []
    han: list[str] = []

    def flush() -> None:
        if han:
            out.append(" " + " ".join(han) + " " + "".join(han) + " ")
            han.clear()

    for ch in text:
        if _han(ch):
            han.append(anyascii(ch).lower())
            continue
        flush()
        out.append(anyascii(ch).lower() if _foreign(ch) else ch)
    flush()
    return " ".join("".join(out).split())


def latin_form(*texts: str | None) -> str:
    """The transliteration of those texts that have letters of another script, else ''."""
    return " ".join(_one(t) for t in texts if t and any(_foreign(ch) for ch in t))
