"""Finding 5: the public development SECRET_KEY must never sign tokens a stranger can reach,
and a token whose session belongs to someone else is refused."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import pytest
from pydantic import ValidationError

from cinema.ports import free_port
from models.accounts import tokens
from models.core.context import Context
from models.core.settings import DEV_SECRET, Settings
from tests.conftest import ROOT, settings_env
from tests.factories import make_account


@pytest.mark.parametrize(
    "where",
    [
        {"host": "0.0.0.0"},
        {"host": "::"},
        {"host": "192.0.2.10"},
        {"public_url": "https://cinema.example.org"},
        {"host": "0.0.0.0", "env": "development"},
    ],
)
def test_the_development_secret_is_refused_off_loopback(where: dict[str, str]) -> None:
    """ENV defaults to development, and development accepted the published key: a deploy
    that forgot ENV signed sessions with a key anyone can read in our repository."""
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(secret_key=DEV_SECRET, **where)  # type: ignore[arg-type]


def test_the_development_secret_still_serves_a_laptop() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        assert Settings(secret_key=DEV_SECRET, host=host).secret == DEV_SECRET.encode()
    real = "r" * 40
    assert Settings(secret_key=real, host="0.0.0.0", env="production").secret == real.encode()


@pytest.mark.slow  # starts `cinema serve` (which refuses to run)
def test_cinema_serve_on_all_interfaces_refuses_the_development_secret(
    settings: Settings,
) -> None:
    env = settings_env(settings, ENV="development")
    env.pop("SECRET_KEY")
    env.pop("PUBLIC_URL", None)
    env.pop("HOST", None)
    port = str(free_port())
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cinema.cli", "serve", "--host", "0.0.0.0", "--port", port],
            env={**env, "PATH": os.environ.get("PATH", "")},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError("the server started with the development secret") from exc
    assert done.returncode == 2, done.stderr
    assert "SECRET_KEY" in done.stderr


def _forge(ctx: Context, typ: tokens.TokenType, *, sub: str, sid: str, jti: str = "") -> str:
    token, _ = tokens.encode(
        ctx.settings.secret,
        typ=typ,
        user_id=sub,
        session_id=sid,
        now=datetime.now(UTC),
        ttl_s=600,
        jti=jti or None,
    )
    return token


async def test_a_token_naming_another_users_session_is_refused(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    """Whoever holds the signing key (the development one is public) and a session of their
    own must not become another user by changing `sub`."""
    attacker, victim = await make_account(ctx, client), await make_account(ctx, client)
    mine = tokens.decode(ctx.settings.secret, attacker.refresh_token, typ="refresh")
    forged = _forge(ctx, "access", sub=str(victim.id), sid=mine.session_id)
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401, r.text
    forged_refresh = _forge(ctx, "refresh", sub=str(victim.id), sid=mine.session_id, jti=mine.jti)
    r = await client.post("/api/v1/auth/refresh", json={"refresh_token": forged_refresh})
    assert r.status_code == 401, r.text
    # The attacker's own tokens still work: nothing was revoked by the attempt.
    me = await client.get("/api/v1/me", headers=attacker.headers)
    assert me.status_code == 200 and me.json()["id"] == str(attacker.id)
