"""schemathesis hooks for tests/system/test_api_conformance.py (SCHEMATHESIS_HOOKS names this
module): every request carries an access token of the run's user and role.

The token is minted as a login would (a session in Redis, a signed access token), without
the login route and its rate limits: a run ends its own session often (logout, logout-all,
revoking a listed session), and schemathesis fetches a new token after any 401."""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

import schemathesis

from models.accounts import tokens
from models.accounts.sessions import SessionStore
from models.core.redis import Keys, make_redis
from models.core.settings import Settings


async def _mint(user_id: str, role: str) -> str:
    settings = Settings()
    assert settings.redis_url is not None
    redis = make_redis(settings.redis_url)
    session_id = tokens.new_id()
    try:
        await SessionStore(
            redis,
            Keys(settings.redis_prefix),
            idle_ttl_s=settings.session_idle_ttl_s,
            absolute_ttl_s=settings.session_absolute_ttl_s,
        ).create(
            session_id=session_id,
            user_id=user_id,
            role=role,
            refresh_jti=tokens.new_id(),
            now=int(datetime.now(UTC).timestamp()),
            user_agent="schemathesis",
            ip="127.0.0.1",
        )
    finally:
        await redis.aclose()
    access, _ = tokens.encode(
        settings.secret,
        typ="access",
        user_id=user_id,
        session_id=session_id,
        now=datetime.now(UTC),
        ttl_s=settings.access_token_ttl_s,
    )
    return access


@schemathesis.auth()
class SessionToken:
    def get(self, case: Any, ctx: Any) -> str:
        return asyncio.run(_mint(os.environ["CONFORMANCE_USER_ID"], os.environ["CONFORMANCE_ROLE"]))

    def set(self, case: Any, data: str, ctx: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
