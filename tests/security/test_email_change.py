"""Findings 2 and 3: an email address counts only once its owner confirms it, and a stolen
access token alone cannot move the account to another address."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from models.core.context import Context
from tests.factories import PASSWORD, login, make_account, random_ip
from tests.mail import Mailbox, body_of, confirm, link_in


def _address(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}@example.com"


def _auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


async def _me(client: httpx.AsyncClient, headers: dict[str, str]) -> dict[str, object]:
    r = await client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200, r.text
    me: dict[str, object] = r.json()
    return me


async def _token_of(link: str) -> str:
    return link.split("token=", 1)[1]


async def test_a_confirmation_link_confirms_only_its_own_address(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """Register with my address, point the account at someone else's, redeem my link: their
    address must not show as confirmed (it did: the token was bound to the user only)."""
    mine, theirs = _address("mine"), _address("victim")
    username = f"u{uuid.uuid4().hex[:10]}"
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": mine, "username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.status_code in (201, 202), r.text
    my_link = link_in(await mailbox.wait_for(mine, subject="confirm"))
    headers = _auth(await login(client, username))
    change = await client.patch("/api/v1/me", json={"email": theirs}, headers=headers)
    if change.status_code == 403:  # the attacker owns this account: they know its password
        change = await client.patch(
            "/api/v1/me", json={"email": theirs, "current_password": PASSWORD}, headers=headers
        )
    assert change.status_code == 200, change.text
    assert (await confirm(client, my_link)).status_code == 200
    me = await _me(client, headers)
    assert not (me["email"] == theirs and me["email_confirmed"]), me
    assert me["email"] == mine and me["email_confirmed"] is True
    assert me["pending_email"] == theirs


async def test_a_stolen_access_token_cannot_change_the_email(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """With only an access token, moving the email (then asking for a reset link at the new
    address) took the account. The email change needs the current password."""
    victim = await make_account(ctx, client)
    attacker = _address("attacker")
    stolen = await client.patch("/api/v1/me", json={"email": attacker}, headers=victim.headers)
    assert stolen.status_code == 403, stolen.text
    assert stolen.json()["error"]["code"] == "password_required"
    wrong = await client.patch(
        "/api/v1/me",
        json={"email": attacker, "current_password": "not-the-password"},
        headers=victim.headers,
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "invalid_credentials"
    me = await _me(client, victim.headers)
    assert me["email"] == victim.user.email and me["pending_email"] is None
    r = await client.post(
        "/api/v1/auth/password/forgot",
        json={"email": attacker},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.status_code == 202
    # The same token still changes harmless things.
    ok = await client.patch("/api/v1/me", json={"display_name": "Still me"}, headers=victim.headers)
    assert ok.status_code == 200 and ok.json()["display_name"] == "Still me"
    assert not mailbox.to(attacker)


async def test_email_change_is_pending_until_confirmed_and_the_old_address_can_undo_it(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox, web_app: Path
) -> None:
    acct = await make_account(ctx, client)
    old, new = acct.user.email, _address("new")
    r = await client.patch(
        "/api/v1/me", json={"email": new, "current_password": PASSWORD}, headers=acct.headers
    )
    assert r.status_code == 200, r.text
    assert r.json()["email"] == old and r.json()["pending_email"] == new
    notice = await mailbox.wait_for(old, subject="email change")
    assert new in body_of(notice)
    undo = link_in(notice)
    assert undo.startswith("http://testserver/email-change/undo?token=")
    page = await client.get(undo)  # the web app's page: a button; opening it changes nothing
    assert page.status_code == 200 and '<div id="app">' in page.text
    confirm_link = link_in(await mailbox.wait_for(new, subject="confirm"))
    # Not counted before it is confirmed: the old address still signs in, the new one not.
    await login(client, old)
    r = await client.post(
        "/api/v1/auth/token",
        data={"username": new, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.status_code == 401
    done = await confirm(client, confirm_link)
    assert done.status_code == 200 and done.json()["email"] == new
    me = await _me(client, acct.headers)
    assert me["email"] == new and me["email_confirmed"] is True and me["pending_email"] is None
    await login(client, new)

    # The old address's owner did not ask for it: undo restores it and ends every session.
    other_device = _auth(await login(client, new))
    r = await client.post("/api/v1/auth/email/undo", json={"token": await _token_of(undo)})
    assert r.status_code == 200, r.text
    for headers in (acct.headers, other_device):
        gone = await client.get("/api/v1/me", headers=headers)
        assert gone.status_code == 401 and gone.json()["error"]["code"] == "session_revoked"
    again = _auth(await login(client, old))
    me = await _me(client, again)
    assert me["email"] == old and me["email_confirmed"] is True and me["pending_email"] is None
    # Single use.
    r = await client.post("/api/v1/auth/email/undo", json={"token": await _token_of(undo)})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_token"


async def test_undo_before_confirming_cancels_the_change(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    acct = await make_account(ctx, client)
    old, new = acct.user.email, _address("new")
    r = await client.patch(
        "/api/v1/me", json={"email": new, "current_password": PASSWORD}, headers=acct.headers
    )
    assert r.status_code == 200
    undo = link_in(await mailbox.wait_for(old, subject="email change"))
    confirm_link = link_in(await mailbox.wait_for(new, subject="confirm"))
    r = await client.post("/api/v1/auth/email/undo", json={"token": await _token_of(undo)})
    assert r.status_code == 200
    assert (
        await confirm(client, confirm_link)
    ).status_code == 422  # the cancelled change's link died
    me = await _me(client, _auth(await login(client, old)))
    assert me["email"] == old and me["pending_email"] is None


async def test_a_link_sent_to_an_old_address_confirms_nothing_later(
    client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    """Confirmation tokens are bound to the address they were mailed to."""
    first, second = _address("first"), _address("second")
    username = f"u{uuid.uuid4().hex[:10]}"
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": first, "username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.status_code in (201, 202)
    first_link = link_in(await mailbox.wait_for(first, subject="confirm"))
    headers = _auth(await login(client, username))
    r = await client.patch(
        "/api/v1/me", json={"email": second, "current_password": PASSWORD}, headers=headers
    )
    assert r.status_code == 200
    assert (
        await confirm(client, link_in(await mailbox.wait_for(second, subject="confirm")))
    ).is_success
    stale = await confirm(client, first_link)
    assert stale.status_code == 422
    me = await _me(client, headers)
    assert me["email"] == second and me["email_confirmed"] is True


async def test_changing_to_a_taken_address_answers_alike_and_tells_its_owner(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    acct, owner = await make_account(ctx, client), await make_account(ctx, client)
    r = await client.patch(
        "/api/v1/me",
        json={"email": owner.user.email.upper(), "current_password": PASSWORD},
        headers=acct.headers,
    )
    assert r.status_code == 200, r.text
    assert str(r.json()["pending_email"]).lower() == owner.user.email.lower()
    told = await mailbox.wait_for(owner.user.email, subject="already")
    assert "token=" not in body_of(told)
    me = await _me(client, acct.headers)
    assert me["email"] == acct.user.email


async def test_password_change_needs_the_current_one_and_is_told(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    acct = await make_account(ctx, client)
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": "a guess at it", "new_password": "a brand new passphrase"},
        headers=acct.headers,
    )
    assert r.status_code == 403
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=acct.headers,
    )
    assert r.status_code == 204
    notice = await mailbox.wait_for(acct.user.email, subject="password was changed")
    assert "reset" in body_of(notice).lower()


async def test_guessing_the_current_password_with_a_stolen_token_is_limited(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    """Both changes that ask for the current password share a per-user limit, so a stolen
    access token does not become an unlimited password oracle."""
    acct = await make_account(ctx, client)
    for i in range(10):
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": f"guess number {i}", "new_password": "a brand new one!"},
            headers=acct.headers,
        )
        assert r.status_code == 403, r.text
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "a brand new one!"},
        headers=acct.headers,
    )
    assert r.status_code == 429 and r.headers["retry-after"], r.text
    r = await client.patch(
        "/api/v1/me",
        json={"email": _address("x"), "current_password": PASSWORD},
        headers=acct.headers,
    )
    assert r.status_code == 429 and r.headers["retry-after"], r.text
