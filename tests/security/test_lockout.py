"""Finding 4: strangers must not lock the owner out of signing in or of recovery."""

from __future__ import annotations

import asyncio

import httpx

from models.core.context import Context
from tests.factories import PASSWORD, login, make_account, random_ip
from tests.mail import Mailbox, link_in


async def _try(client: httpx.AsyncClient, who: str, password: str, ip: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/token",
        data={"username": who, "password": password},
        headers={"X-Forwarded-For": ip},
    )


async def test_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    """The account-wide limit was keyed on the login alone: 100 wrong passwords from anywhere
    locked the owner out everywhere for 15 minutes."""
    owner = await make_account(ctx, client)
    for _ in range(110):
        r = await _try(client, owner.user.email, "not the password", random_ip())
        assert r.status_code == 401, r.text
    assert (await login(client, owner.user.email))["access_token"]  # from a new address


async def test_guessing_from_one_client_is_still_limited(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    acct = await make_account(ctx, client)
    ip = random_ip()
    for _ in range(10):
        assert (await _try(client, acct.user.username, "not the password", ip)).status_code == 401
    blocked = await _try(client, acct.user.username, PASSWORD, ip)
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    assert (await _try(client, acct.user.username, PASSWORD, random_ip())).status_code == 200


async def _forgot(client: httpx.AsyncClient, email: str, ip: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/password/forgot", json={"email": email}, headers={"X-Forwarded-For": ip}
    )


async def test_strangers_cannot_use_up_the_owners_recovery(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """Three recovery requests from anywhere used the owner's hourly quota: the owner's own
    request then got 429. Now the limit is per address and client; the owner's mailbox gets at
    most a few links an hour, and each still works."""
    owner = await make_account(ctx, client)
    for _ in range(12):
        assert (await _forgot(client, owner.user.email, random_ip())).status_code == 202
    r = await _forgot(client, owner.user.email, random_ip())
    assert r.status_code == 202, r.text
    for _ in range(200):
        if len(mailbox.to(owner.user.email)) >= 5:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(1.0)  # any mail beyond the cap would have arrived by now
    mails = mailbox.to(owner.user.email)
    assert len(mails) == 5, "the owner's mailbox is not flooded: 5 reset mails an hour"
    token = link_in(mails[0]).split("token=", 1)[1]
    r = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "a new passphrase!"}
    )
    assert r.status_code == 200, r.text


async def test_recovery_from_one_client_is_still_limited(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    acct = await make_account(ctx, client)
    ip = random_ip()
    for _ in range(3):
        assert (await _forgot(client, acct.user.email, ip)).status_code == 202
    assert (await _forgot(client, acct.user.email, ip)).status_code == 429
