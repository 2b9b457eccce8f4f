"""Finding 11: registration must not tell who has an account."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from models.core.context import Context
from tests.factories import PASSWORD, login, make_user, random_ip
from tests.mail import Mailbox, body_of


async def _register(client: httpx.AsyncClient, email: str, username: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={"email": email, "username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )


async def test_a_taken_address_answers_like_a_new_one(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """409 email_taken told anyone whether an address had an account here."""
    owner = await make_user(ctx)
    fresh = f"n{uuid.uuid4().hex[:10]}@example.com"
    new = await _register(client, fresh, f"n{uuid.uuid4().hex[:10]}")
    taken = await _register(client, owner.email.upper(), f"t{uuid.uuid4().hex[:10]}")
    assert (new.status_code, new.json()) == (taken.status_code, taken.json())
    assert new.status_code == 202 and "mail" in new.json()["message"]
    # The new address is asked to confirm; the owner of the taken one is told, no link.
    assert "confirm" in body_of(await mailbox.wait_for(fresh, subject="confirm")).lower()
    told = await mailbox.wait_for(owner.email, subject="already")
    assert "token=" not in body_of(told)
    # The account was made, and signs in before it is confirmed, as before.
    assert (await login(client, fresh))["access_token"]


async def test_usernames_are_public_and_still_say_taken(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    owner = await make_user(ctx)
    for email in (f"z{uuid.uuid4().hex[:10]}@example.com", owner.email):
        r = await _register(client, email, owner.username.upper())
        assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"


async def test_concurrent_registrations_of_one_address_make_one_account(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    email = f"race{uuid.uuid4().hex[:8]}@example.com"
    answers = await asyncio.gather(
        *(_register(client, email, f"racer{uuid.uuid4().hex[:10]}") for _ in range(5))
    )
    assert {r.status_code for r in answers} == {202}
    await mailbox.wait_for(email, subject="confirm")
    await asyncio.sleep(1)
    confirms = [m for m in mailbox.to(email) if "confirm" in str(m["Subject"]).lower()]
    assert len(confirms) == 1
