"""Access tokens verified once are remembered per process; expiry still holds on every use."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

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
