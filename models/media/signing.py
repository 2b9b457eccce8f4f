"""Short-lived signed media URLs: an HMAC over a path prefix, an expiry and a user.

The token sits in the path, before the prefix it grants:

    /media/<expires>.<user>.<sig>/<asset_id>/<revision>/master.m3u8

so every relative URL inside a manifest (media playlists, init and media segments) resolves
under the same token and needs no rewriting per viewer; players drop query strings when they
resolve relative URLs, paths they keep. The signature covers exactly `<asset_id>/<revision>`,
so a token opens that one rendition set and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from dataclasses import dataclass

_PURPOSE = b"cinema/media-url/v1"
_TOKEN = re.compile(r"^([0-9a-f]{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$")
_PREFIX = re.compile(r"^[0-9]{1,19}/r[0-9a-z-]{1,40}$")


class BadSignature(Exception):
    pass


class Expired(Exception):
    pass


@dataclass(frozen=True)
class Grant:
    prefix: str
    user_id: uuid.UUID
    expires: int


def media_key(secret: bytes) -> bytes:
    """A key of its own, so a media signature can never stand in for any other token."""
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def _mac(key: bytes, prefix: str, user_hex: str, expires_hex: str) -> str:
    msg = f"{prefix}\n{user_hex}\n{expires_hex}".encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def sign(key: bytes, *, prefix: str, user_id: uuid.UUID, expires: int) -> str:
    """The path token granting `prefix` to `user_id` until `expires` (unix seconds)."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"not a media prefix: {prefix!r}")
    expires_hex = format(expires, "x")
    return f"{expires_hex}.{user_id.hex}.{_mac(key, prefix, user_id.hex, expires_hex)}"


def verify(key: bytes, *, token: str, prefix: str, now: int) -> Grant:
    """Check a token for `prefix`: BadSignature (403) first, then Expired (410).

    The expiry is inside the MAC, so an expired token cannot be revived by editing it; the
    signature is checked before the expiry so that nothing is said about forged tokens.
    """
    m = _TOKEN.match(token)
    if m is None or not _PREFIX.match(prefix):
        raise BadSignature("malformed media token")
    expires_hex, user_hex, sig = m.groups()
    if not hmac.compare_digest(sig, _mac(key, prefix, user_hex, expires_hex)):
        raise BadSignature("bad media signature")
    expires = int(expires_hex, 16)
    if now >= expires:
        raise Expired("media URL expired")
    return Grant(prefix=prefix, user_id=uuid.UUID(hex=user_hex), expires=expires)
