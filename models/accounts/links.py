"""Every link we mail, built in one place.

The pages behind them (the confirm page, the reset and undo forms) may move into the web app:
change the paths here and every mail follows. Each link carries a token in its query, so the
pages they open are served with `Referrer-Policy: no-referrer` (http_api/security_headers.py
reads `TOKEN_PAGES`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from models.core.settings import Settings

CONFIRM_PATH = "/api/v1/auth/confirm"
RESET_PATH = "/reset-password"
UNDO_EMAIL_PATH = "/email-change/undo"
TOKEN_PAGES = frozenset({CONFIRM_PATH, RESET_PATH, UNDO_EMAIL_PATH})


def _link(settings: Settings, path: str, token: str) -> str:
    return f"{settings.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


def confirm_link(settings: Settings, token: str) -> str:
    """Confirms an address: a new account's, or the new one of an email change."""
    return _link(settings, CONFIRM_PATH, token)


def reset_link(settings: Settings, token: str) -> str:
    return _link(settings, RESET_PATH, token)


def forgot_page(settings: Settings) -> str:
    """Where someone asks for a reset link (the reset page without a token offers it)."""
    return f"{settings.public_url.rstrip('/')}{RESET_PATH}"


def undo_email_link(settings: Settings, token: str) -> str:
    """Sent to the old address: restores it and ends every session."""
    return _link(settings, UNDO_EMAIL_PATH, token)
