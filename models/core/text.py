"""Text people write for others to read (messages, comments, names): one rule on every door.

NFC, trimmed, not blank, and no control characters (a newline or tab only where text has
lines): a bell or an escape in a display name or a comment reaches every reader's screen."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

from models.core.errors import InvalidInput


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


# The same rule for the OpenAPI document, so a client knows what it may send: some character
# that is not a space, and no control character (Cc: U+0000-001F, U+007F-009F) but newlines
# and tabs in multi-line text. Validation stays clean_text (its messages say what is wrong).
_CC = "\\x00-\\x1f\\x7f-\\x9f"
_CC_BUT_LINES = "\\x00-\\x08\\x0b-\\x1f\\x7f-\\x9f"
TEXT_PATTERN = f"^[^{_CC_BUT_LINES}]*[^\\s{_CC}][^{_CC_BUT_LINES}]*$"
LINE_PATTERN = f"^[^{_CC}]*[^\\s{_CC}][^{_CC}]*$"

# Multi-line text (a comment, a message) and a one-line name.
UserText = Annotated[
    str, AfterValidator(clean_text), Field(json_schema_extra={"pattern": TEXT_PATTERN})
]
UserLine = Annotated[str, AfterValidator(_line), Field(json_schema_extra={"pattern": LINE_PATTERN})]


def check_emoji(emoji: str) -> str:
    """One emoji-ish grapheme cluster: symbols, joiners and modifiers, no letters or digits."""
    emoji = unicodedata.normalize("NFC", emoji)
    allowed = {"So", "Sk", "Mn", "Me", "Cf"}
    if not emoji or any(unicodedata.category(c) not in allowed for c in emoji):
        raise InvalidInput("A reaction is a single emoji", code="invalid_emoji")
    return emoji
