"""JWTs with the algorithm pinned and a purpose claim, so token kinds never interchange."""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jwt
from jwt.algorithms import HMACAlgorithm
from jwt.exceptions import InvalidKeyError

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
    payload = _verified_payload(secret, token, typ, time.time())
    if payload is not None:
        return _claims(payload, typ)
    return _claims(_pyjwt_payload(secret, token, typ), typ)


# Our own tokens have one shape: this header (what `encode` writes), HS256, integer times, one
# audience and issuer, string ids. Such a token is checked here in a few microseconds; PyJWT
# 2.15 spends ~45 on it (a per-character alphabet scan of each segment, and a check that the
# secret is no public key, made again for every token). Anything else (another header, a
# failed check, an odd claim) goes to PyJWT, which decides and names the error: this path
# accepts only what PyJWT would accept (tests/accounts/test_tokens.py compares the two).
_HEADER = base64.urlsafe_b64encode(b'{"alg":"HS256","typ":"JWT"}').rstrip(b"=").decode()
_URLSAFE_TO_STD = bytes.maketrans(b"-_", b"+/")


@functools.lru_cache(maxsize=4)
def _hmac_key_ok(secret: bytes) -> bool:
    """What PyJWT checks of an HMAC secret (not empty, not a public key, long enough not to be
    warned about), once per secret."""
    algorithm = HMACAlgorithm(HMACAlgorithm.SHA256)
    try:
        return algorithm.check_key_length(algorithm.prepare_key(secret)) is None
    except InvalidKeyError:
        return False


def _verified_payload(
    secret: bytes, token: str, typ: TokenType, now: float
) -> dict[str, Any] | None:
    """The payload of a valid token of our own shape, else None (not a verdict: PyJWT's)."""
    header, _, rest = token.partition(".")
    body, dot, signature = rest.partition(".")
    if header != _HEADER or not dot or not token.isascii() or not _hmac_key_ok(secret):
        return None
    signed = token[: len(header) + 1 + len(body)].encode()
    expected = base64.urlsafe_b64encode(hmac.digest(secret, signed, "sha256")).rstrip(b"=")
    # Against the canonical encoding: a signature written another way goes to PyJWT.
    if not hmac.compare_digest(expected, signature.encode()):
        return None
    if "+" in body or "/" in body:  # the standard alphabet's, not base64url's
        return None
    try:
        raw = binascii.a2b_base64(
            body.encode().translate(_URLSAFE_TO_STD) + b"=" * (-len(body) % 4), strict_mode=True
        )
        payload = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if type(payload) is not dict:
        return None
    exp, iat, nbf = payload.get("exp"), payload.get("iat"), payload.get("nbf")
    if type(exp) is not int or type(iat) is not int or type(nbf) is not int:
        return None
    if exp <= now - LEEWAY_S or iat > now + LEEWAY_S or nbf > now + LEEWAY_S:
        return None
    if payload.get("aud") != AUDIENCE or payload.get("iss") != ISSUER:
        return None
    for name in ("sub", "sid", "jti", "typ"):
        if type(payload.get(name)) is not str:
            return None
    if payload["typ"] != typ:
        return None
    return payload


def _pyjwt_payload(secret: bytes, token: str, typ: TokenType) -> dict[str, Any]:
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
    return payload


def _claims(payload: dict[str, Any], typ: TokenType) -> Claims:
    known = {"sub", "sid", "jti", "typ", "iat", "nbf", "exp", "aud", "iss"}
    return Claims(
        user_id=str(payload["sub"]),
        session_id=str(payload["sid"]),
        jti=str(payload["jti"]),
        typ=typ,
        expires_at=datetime.fromtimestamp(payload["exp"], UTC),
        extra={k: v for k, v in payload.items() if k not in known},
    )
