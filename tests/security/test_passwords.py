"""Finding 10: a real breached-password floor, and old argon2 hashes raised at sign-in."""

from __future__ import annotations

import uuid

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from models.accounts.tables import User
from models.core.context import Context
from models.core.db import transaction
from tests.factories import PASSWORD, login, make_user, random_ip

# From the top 100,000 of the breached 10-million-password list, none in the old 126-entry
# list: they were accepted before.
BREACHED = ["commercial", "metallica", "salomon45", "Zxcvb12345", "hannover96", "catering"]


@pytest.mark.parametrize("password", BREACHED)
async def test_breached_passwords_are_refused(client: httpx.AsyncClient, password: str) -> None:
    tag = uuid.uuid4().hex[:10]
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": f"b{tag}@example.com", "username": f"b{tag}", "password": password},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "weak_password"


async def test_weak_argon2_hashes_are_raised_at_sign_in(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    """A hash made with weaker parameters (an older release, an import) is re-made with the
    current ones the next time its password is given."""
    user = await make_user(ctx)
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    async with transaction(ctx.sessions) as session:
        await session.execute(update(User).where(User.id == user.id).values(password_hash=weak))
    await login(client, user.email)
    async with ctx.sessions() as session:
        stored = (await session.get(User, user.id)).password_hash  # type: ignore[union-attr]
    assert stored != weak and "m=19456,t=2,p=1" in stored
    await login(client, user.email)  # the new hash verifies
