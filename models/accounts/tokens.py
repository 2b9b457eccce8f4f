"""JWTs with the algorithm pinned and a purpose claim, so token kinds never interchange."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt

from models.core.errors import Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "cinema"
ISSUER = "cinema"
TokenType = Literal["access", "refresh", "media"]


@dataclass(frozen=True)
class Claims:
    user_id: str
    session_id: str
    jti: str
    typ: TokenType
    expires_at: datetime
    extra: dict[str, Any]


def new_id() -> str:
    """128+ random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def encode(
    secret: bytes,
    *,
    typ: TokenType,
    user_id: str,
    session_id: str,
    now: datetime,
    ttl_s: int,
    jti: str | None = None,
    **extra: Any,
) -> tuple[str, Claims]:
    jti = jti or new_id()
    exp = now + timedelta(seconds=ttl_s)
    payload = {
        "sub": user_id,
        "sid": session_id,
        "jti": jti,
        "typ": typ,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int(exp.timestamp()),
        "aud": AUDIENCE,
        "iss": ISSUER,
        **extra,
    }
    token = jwt.encode(payload, secret, algorithm=ALGORITHM)
    return token, Claims(user_id, session_id, jti, typ, exp, extra)


# Access tokens already verified in this process: a client sends the same one with every
# request for its lifetime, and verifying it again (base64, JSON, HMAC, claim checks) was
# about a tenth of a small write's CPU. Only the expiry can change its answer, and it is
# checked on every use (its not-before passed at the first and stays passed); the signature of
# the very same string cannot change.
_VERIFIED: dict[tuple[bytes, str], tuple[Claims, float]] = {}
_VERIFIED_MAX = 10_000
LEEWAY_S = 5


def decode(secret: bytes, token: str, *, typ: TokenType) -> Claims:
    """Verify signature, expiry, audience and purpose before reading anything."""
    if typ == "access":
        known = _VERIFIED.get((secret, token))
        if known is not None:
            claims, expires = known
            if time.time() <= expires + LEEWAY_S:
                return claims
            _VERIFIED.pop((secret, token), None)
    claims = _decode(secret, token, typ=typ)
    if typ == "access":
        if len(_VERIFIED) >= _VERIFIED_MAX:
            _VERIFIED.pop(next(iter(_VERIFIED)))  # the oldest
        _VERIFIED[(secret, token)] = (claims, claims.expires_at.timestamp())
    return claims


def _decode(secret: bytes, token: str, *, typ: TokenType) -> Claims:
    try:
        payload = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["exp", "iat", "nbf", "sub", "sid", "jti", "typ"]},
            leeway=LEEWAY_S,
        )
    except jwt.ExpiredSignatureError as exc:
        raise Unauthorized("Token has expired", code="token_expired") from exc
    except jwt.InvalidTokenError as exc:
        raise Unauthorized("Token is invalid", code="invalid_token") from exc
    if payload.get("typ") != typ:
        raise Unauthorized(f"Not an {typ} token", code="invalid_token")

    known = {"sub", "sid", "jti", "typ", "iat", "nbf", "exp", "aud", "iss"}
    return Claims(
        user_id=str(payload["sub"]),
        session_id=str(payload["sid"]),
        jti=str(payload["jti"]),
        typ=typ,
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        extra={k: v for k, v in payload.items() if k not in known},
    )
