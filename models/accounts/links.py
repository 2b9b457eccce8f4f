"""Every link we mail, built in one place.

The pages behind them (confirm the address, reset the password, undo an email change, keep an
account that is to be deleted) are the web app's (web/src/pages/tokens.tsx): each sends the
token to the API when opened or when the person acts. Change the paths here and every mail
follows. Each link carries a token in its query, so the pages they open are served with
`Referrer-Policy: no-referrer` (http_api/security_headers.py reads `TOKEN_PAGES`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from models.core.settings import Settings

CONFIRM_PATH = "/confirm-email"  # the web app's page: it posts the token to /auth/confirm
RESET_PATH = "/reset-password"
UNDO_EMAIL_PATH = "/email-change/undo"
# Where a user types the code a TV shows (RFC 8628 verification_uri): web/src/pages/device.tsx.
DEVICE_PATH = "/device"
UNDO_DELETION_PATH = "/account/deletion/undo"
TOKEN_PAGES = frozenset({CONFIRM_PATH, RESET_PATH, UNDO_EMAIL_PATH, UNDO_DELETION_PATH})


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


def device_page(settings: Settings) -> str:
    """verification_uri: the page where a signed-in user enters a TV's code."""
    return f"{settings.public_url.rstrip('/')}{DEVICE_PATH}"


def device_link(settings: Settings, user_code: str) -> str:
    """verification_uri_complete: the same page with the code filled in (a QR code on the TV)."""
    return f"{device_page(settings)}?{urlencode({'user_code': user_code})}"


def undo_deletion_link(settings: Settings, token: str) -> str:
    """In the "your account will be deleted" mail: keeps the account."""
    return _link(settings, UNDO_DELETION_PATH, token)
