"""Users, logins and titles for tests, made through the real services and the real API."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from models.accounts.service import do_create_user
from models.accounts.tables import Role, User
from models.catalog.tables import Title, TitleKind
from models.core.context import Context
from models.core.db import transaction

PASSWORD = "correct-horse-battery"


def random_ip() -> str:
    return f"10.{random.randint(0, 255)}.{random.randint(0, 255)}.{random.randint(1, 254)}"


@dataclass
class Account:
    user: User
    password: str
    access_token: str = ""
    refresh_token: str = ""

    @property
    def id(self) -> uuid.UUID:
        return self.user.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}


async def make_user(
    ctx: Context, *, role: Role | str = Role.user, password: str = PASSWORD
) -> User:
    tag = uuid.uuid4().hex[:10]
    async with transaction(ctx.sessions) as session:
        return await do_create_user(
            session,
            email=f"u{tag}@example.com",
            username=f"u{tag}",
            password=password,
            role=Role(role),
        )


async def login(
    client: httpx.AsyncClient, login: str, password: str = PASSWORD, **headers: str
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/auth/token",
        data={"username": login, "password": password, "grant_type": "password"},
        headers={"X-Forwarded-For": random_ip(), **headers},
    )
    assert r.status_code == 200, r.text
    tokens: dict[str, Any] = r.json()
    return tokens


async def make_account(
    ctx: Context, client: httpx.AsyncClient, *, role: Role | str = Role.user
) -> Account:
    user = await make_user(ctx, role=role)
    tokens = await login(client, user.email)
    return Account(user, PASSWORD, tokens["access_token"], tokens["refresh_token"])


async def make_title(
    ctx: Context, name: str | None = None, *, kind: TitleKind = TitleKind.film, **values: Any
) -> Title:
    """A title row (any other column as a keyword), enough to rate, list, play or throw a
    party on; the name is unique unless given."""
    async with transaction(ctx.sessions) as session:
        title = Title(kind=kind, title=name or f"A film {uuid.uuid4().hex[:6]}", **values)
        session.add(title)
        await session.flush()
    return title
