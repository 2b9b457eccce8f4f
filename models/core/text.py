"""Text people write for others to read (messages, comments, names): one rule on every door.

NFC, trimmed, not blank, and no control characters (a newline or tab only where text has
lines): a bell or an escape in a display name or a comment reaches every reader's screen."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator


def clean_text(value: str, *, lines: bool = True) -> str:
    value = unicodedata.normalize("NFC", value).strip()
    if not value:
        raise ValueError("Text must not be blank")
    allowed = "\n\t" if lines else ""
    if any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValueError("Text must not contain control characters")
    return value


def _line(value: str) -> str:
    return clean_text(value, lines=False)


# Multi-line text (a comment, a message) and a one-line name.
UserText = Annotated[str, AfterValidator(clean_text)]
UserLine = Annotated[str, AfterValidator(_line)]
