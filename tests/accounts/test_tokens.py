"""Access tokens verified once are remembered per process; expiry still holds on every use.
Our own tokens are verified without PyJWT, as strictly."""

from __future__ import annotations

import base64
import hmac
import json
import random
import string
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest

from models.accounts import tokens
from models.core.errors import Unauthorized

SECRET = b"token-test-secret-" + b"x" * 32


def _access(ttl_s: int, secret: bytes = SECRET, *, issued: datetime | None = None) -> str:
    token, _ = tokens.encode(
        secret,
        typ="access",
        user_id="u1",
        session_id="s1",
        now=issued or datetime.now(UTC),
        ttl_s=ttl_s,
    )
    return token


def test_a_remembered_token_expires_on_time() -> None:
    # Valid (with the leeway) for about one more second.
    issued = datetime.now(UTC) - timedelta(seconds=60 + tokens.LEEWAY_S - 1)
    token = _access(60, issued=issued)
    first = tokens.decode(SECRET, token, typ="access")
    assert tokens.decode(SECRET, token, typ="access") is first  # remembered, not re-verified
    time.sleep(1.5)
    with pytest.raises(Unauthorized) as exc:
        tokens.decode(SECRET, token, typ="access")
    assert exc.value.code == "token_expired"
    assert (SECRET, token) not in tokens._VERIFIED


def test_a_remembered_token_is_no_token_under_another_secret_or_purpose() -> None:
    token = _access(60)
    tokens.decode(SECRET, token, typ="access")
    with pytest.raises(Unauthorized):
        tokens.decode(b"another-secret-" + b"y" * 32, token, typ="access")
    with pytest.raises(Unauthorized):
        tokens.decode(SECRET, token, typ="refresh")


# Our own tokens are verified without PyJWT (tokens._verified_payload); everything else goes
# to PyJWT. The fast path must never accept what PyJWT refuses, nor read a token differently.


def _signed(payload: dict[str, Any], secret: bytes = SECRET, **kw: Any) -> str:
    return jwt.encode(payload, secret, algorithm=kw.pop("algorithm", "HS256"), **kw)


def _claims(**changes: Any) -> dict[str, Any]:
    t = int(time.time())
    claims: dict[str, Any] = {
        "sub": "u1",
        "sid": "s1",
        "jti": "j1",
        "typ": "access",
        "iat": t,
        "nbf": t,
        "exp": t + 60,
        "aud": "cinema",
        "iss": "cinema",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not _DROP}


_DROP = object()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _pyjwt(token: str, typ: tokens.TokenType = "access") -> dict[str, Any] | str:
    """PyJWT's verdict: the payload, or the error code."""
    try:
        return tokens._pyjwt_payload(SECRET, token, typ)
    except Unauthorized as exc:
        return exc.code


def _agrees(token: str, typ: tokens.TokenType = "access") -> dict[str, Any] | None:
    """The fast path's answer, checked against PyJWT's: None, or the very payload PyJWT reads."""
    fast = tokens._verified_payload(SECRET, token, typ, time.time())
    if fast is not None:
        assert fast == _pyjwt(token, typ)
    return fast


def _refused(token: str, code: str = "invalid_token", typ: tokens.TokenType = "access") -> None:
    assert _agrees(token, typ) is None
    with pytest.raises(Unauthorized) as exc:
        tokens.decode(SECRET, token, typ=typ)
    assert exc.value.code == code
    assert (SECRET, token) not in tokens._VERIFIED


def test_our_tokens_take_the_fast_path_and_read_as_pyjwt_reads_them() -> None:
    token = _access(60)
    payload = _agrees(token)
    assert payload is not None and payload["sub"] == "u1"
    extra = tokens.encode(
        SECRET, typ="media", user_id="u1", session_id="s1", now=datetime.now(UTC), ttl_s=60,
        path="/media/1/", v=3,
    )[0]  # fmt: skip
    assert _agrees(extra, "media") is not None
    assert tokens.decode(SECRET, extra, typ="media").extra == {"path": "/media/1/", "v": 3}


def test_expired_and_not_yet_valid_tokens_are_refused() -> None:
    t = int(time.time())
    _refused(_signed(_claims(exp=t - tokens.LEEWAY_S - 1)), "token_expired")
    _refused(_signed(_claims(exp=t - tokens.LEEWAY_S)), "token_expired")  # the boundary
    _refused(_signed(_claims(nbf=t + tokens.LEEWAY_S + 30)))
    _refused(_signed(_claims(iat=t + tokens.LEEWAY_S + 30)))
    # Within the leeway, both accept.
    assert _agrees(_signed(_claims(exp=t - 1, nbf=t + 2, iat=t + 2))) is not None


def test_tampered_tokens_are_refused() -> None:
    token = _access(60)
    header, body, signature = token.split(".")
    forged = json.dumps({**_claims(), "sub": "someone-else"}, separators=(",", ":"))
    _refused(f"{header}.{_b64(forged.encode())}.{signature}")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    _refused(f"{header}.{body}.{flipped}")
    _refused(f"{header}.{body}.")
    _refused(f"{header}.{body}.{signature[:-1]}")
    _refused(_access(60, secret=b"another-secret-" + b"y" * 32))


def test_other_algorithms_are_refused() -> None:
    body = _b64(json.dumps(_claims()).encode())
    for header in (
        {"alg": "none", "typ": "JWT"},
        {"alg": "None"},
        {"alg": "RS256", "typ": "JWT"},
        {"alg": "HS512", "typ": "JWT"},
        {"typ": "JWT"},
    ):
        head = _b64(json.dumps(header).encode())
        signing = f"{head}.{body}".encode()
        good_mac = _b64(hmac.digest(SECRET, signing, "sha256"))
        _refused(f"{head}.{body}.")
        _refused(f"{head}.{body}.{good_mac}")  # signed with our key, under another alg name
    head = _b64(b'{"alg":"HS512","typ":"JWT"}')
    _refused(f"{head}.{body}.{_b64(hmac.digest(SECRET, f'{head}.{body}'.encode(), 'sha512'))}")
    # Our exact header with alg "none"'s empty signature.
    _refused(f"{tokens._HEADER}.{body}.")


def test_malformed_tokens_are_refused() -> None:
    token = _access(60)
    header, body, signature = token.split(".")
    for bad in (
        "",
        "x",
        "a.b",
        "a.b.c",
        f"{header}.{body}",
        f"{token}.",
        f"{header}.{body}.{signature}.{signature}",
        f"{header}..{signature}",
        f"{header}.{body}é.{signature}",
        f"{header}.{body}!.{signature}",
        " " + token,
    ):
        _refused(bad)


def test_signed_but_wrong_claims_are_refused() -> None:
    t = int(time.time())
    for claims in (
        _claims(aud="elsewhere"),
        _claims(aud=_DROP),
        _claims(iss="elsewhere"),
        _claims(iss=_DROP),
        _claims(exp=_DROP),
        _claims(nbf=_DROP),
        _claims(iat=_DROP),
        _claims(sid=_DROP),
        _claims(jti=_DROP),
        _claims(sub=_DROP),
        _claims(sub=12),
        _claims(jti=12),
        _claims(typ=_DROP),
        _claims(typ="refresh"),
        _claims(exp="soon"),
        _claims(exp=None),
        _claims(iat=[t]),
    ):
        _refused(_signed(claims))
    # Not an object at all, though validly signed.
    head = tokens._HEADER
    for raw in (b"[1, 2]", b"null", b"{", b"\xff\xfe"):
        signing = f"{head}.{_b64(raw)}".encode()
        _refused(f"{head}.{_b64(raw)}.{_b64(hmac.digest(SECRET, signing, 'sha256'))}")


def test_unusual_but_valid_tokens_go_to_pyjwt() -> None:
    t = int(time.time())
    for token in (
        _signed(_claims(), headers={"kid": "k1"}),  # another header
        _signed(_claims(aud=["other", "cinema"])),  # an audience list
        _signed(_claims(exp=t + 60.5)),  # a float time
        _signed(_claims(sid=7)),  # a number where we write a string
        _access(60) + "=",  # a padded signature
    ):
        assert _agrees(token) is None
        assert isinstance(_pyjwt(token), dict)
        assert tokens.decode(SECRET, token, typ="access").user_id == "u1"


def test_no_mutation_of_a_token_gets_through() -> None:
    token = _access(60)
    alphabet = string.ascii_letters + string.digits + "-_.=+/"
    rnd = random.Random(17)
    for _ in range(3000):
        chars = list(token)
        i = rnd.randrange(len(chars))
        match rnd.randrange(3):
            case 0:
                chars[i] = rnd.choice(alphabet)
            case 1:
                chars.insert(i, rnd.choice(alphabet))
            case _:
                del chars[i]
        mutated = "".join(chars)
        if mutated != token:
            # Our path reads only the canonical encoding: even a signature PyJWT still takes
            # (other trailing bits, padding) is left to PyJWT.
            assert tokens._verified_payload(SECRET, mutated, "access", time.time()) is None


def test_a_secret_pyjwt_refuses_is_left_to_pyjwt() -> None:
    pem = (
        b"-----BEGIN PUBLIC KEY-----\n"
        b"MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE\n"
        b"-----END PUBLIC KEY-----\n"
    )
    assert not tokens._hmac_key_ok(pem)
    signing = f"{tokens._HEADER}.{_b64(json.dumps(_claims()).encode())}"
    token = f"{signing}.{_b64(hmac.digest(pem, signing.encode(), 'sha256'))}"
    assert tokens._verified_payload(pem, token, "access", time.time()) is None
    assert not tokens._hmac_key_ok(b"")
    assert not tokens._hmac_key_ok(b"short")  # PyJWT warns about it: its call
    assert tokens._hmac_key_ok(SECRET)
