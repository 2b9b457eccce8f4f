from __future__ import annotations

import asyncio
import logging
import uuid
from pathlib import Path

import httpx
import pytest

from models.accounts import tokens
from models.accounts.sessions import SessionStore
from models.core.context import Context
from tests.factories import PASSWORD, login, make_account, make_user, random_ip
from tests.mail import Mailbox, link_in


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_reuse_revokes_the_session(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    acct = await make_account(ctx, client)
    first = await _refresh(client, acct.refresh_token)
    assert first.status_code == 200, first.text
    rotated = first.json()
    assert rotated["refresh_token"] != acct.refresh_token
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {rotated['access_token']}"}
    )
    assert me.status_code == 200
    second = await _refresh(client, rotated["refresh_token"])
    assert second.status_code == 200, second.text
    # A token rotated two steps ago comes back: theft (a retry of the one rotated just
    # before is a lost answer, see test_refresh_grace). The whole session ends.
    reused = await _refresh(client, acct.refresh_token)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    for token in (acct.access_token, rotated["access_token"], second.json()["access_token"]):
        r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    assert (await _refresh(client, second.json()["refresh_token"])).status_code == 401


async def test_sessions_list_revoke_logout_everywhere(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    user = await make_user(ctx)
    phone = await login(client, user.email, **{"User-Agent": "phone"})
    laptop = await login(client, user.email, **{"User-Agent": "laptop"})
    tablet = await login(client, user.email, **{"User-Agent": "tablet"})
    auth = {"Authorization": f"Bearer {laptop['access_token']}"}
    listed = (await client.get("/api/v1/auth/sessions", headers=auth)).json()
    assert sorted(s["user_agent"] for s in listed) == ["laptop", "phone", "tablet"]
    assert [s["user_agent"] for s in listed if s["current"]] == ["laptop"]
    phone_id = next(s["id"] for s in listed if s["user_agent"] == "phone")
    assert (
        await client.delete(f"/api/v1/auth/sessions/{phone_id}", headers=auth)
    ).status_code == 204
    phone_auth = {"Authorization": f"Bearer {phone['access_token']}"}
    assert (await client.get("/api/v1/me", headers=phone_auth)).status_code == 401
    # someone else's session id is not found, not revoked
    other = await make_account(ctx, client)
    other_sessions = (await client.get("/api/v1/auth/sessions", headers=other.headers)).json()
    r = await client.delete(f"/api/v1/auth/sessions/{other_sessions[0]['id']}", headers=auth)
    assert r.status_code == 404
    assert (await client.get("/api/v1/me", headers=other.headers)).status_code == 200
    # log out of this one
    assert (await client.post("/api/v1/auth/logout", headers=auth)).status_code == 204
    assert (await client.get("/api/v1/me", headers=auth)).status_code == 401
    tablet_auth = {"Authorization": f"Bearer {tablet['access_token']}"}
    assert (await client.get("/api/v1/me", headers=tablet_auth)).status_code == 200
    again = await login(client, user.email)
    r = await client.post(
        "/api/v1/auth/logout-all", headers={"Authorization": f"Bearer {again['access_token']}"}
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=tablet_auth)).status_code == 401


async def test_password_recovery_by_mail(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox, web_app: Path
) -> None:
    user = await make_user(ctx)
    other_device = await login(client, user.email)
    unknown = await client.post(
        "/api/v1/auth/password/forgot",
        json={"email": "ghost@example.com"},
        headers={"X-Forwarded-For": random_ip()},
    )
    known = await client.post(
        "/api/v1/auth/password/forgot",
        json={"email": user.email},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    mail = await mailbox.wait_for(user.email, subject="reset")
    link = link_in(mail)
    assert link.startswith("http://testserver/reset-password?token=")
    page = await client.get(link)
    assert page.status_code == 200 and '<div id="app">' in page.text  # the app's page
    token = link.split("token=", 1)[1]
    weak = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "12345678"}
    )
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    # a weak attempt used the token up? No: validation runs in the same rolled-back transaction.
    ok = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "brand-new-secret-9"}
    )
    assert ok.status_code == 200, ok.text
    again = await client.post(
        "/api/v1/auth/password/reset", json={"token": token, "new_password": "another-secret-99"}
    )
    assert again.status_code == 422 and again.json()["error"]["code"] == "invalid_token"
    r = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {other_device['access_token']}"}
    )
    assert r.status_code == 401  # every session ended
    await login(client, user.email, "brand-new-secret-9")
    bad = await client.post(
        "/api/v1/auth/token",
        data={"username": user.email, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert bad.status_code == 401
    await mailbox.wait_for(user.email, subject="password was changed")
    assert not mailbox.to("ghost@example.com")


async def test_login_is_rate_limited_per_ip_and_account(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    user = await make_user(ctx)
    ip = random_ip()
    codes = []
    for _ in range(12):
        r = await client.post(
            "/api/v1/auth/token",
            data={"username": user.email, "password": "wrong-one-123"},
            headers={"X-Forwarded-For": ip},
        )
        codes.append(r.status_code)
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["error"]["code"] == "rate_limited"
    # the same account from another network still gets in: no lockout from everywhere
    await login(client, user.email)


async def test_profile_update_and_password_change(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox
) -> None:
    acct = await make_account(ctx, client)
    second = await login(client, acct.user.email)
    r = await client.patch("/api/v1/me", json={"display_name": "Ann Lee"}, headers=acct.headers)
    assert r.status_code == 200 and r.json()["display_name"] == "Ann Lee"
    r = await client.patch("/api/v1/me", json={"role": "admin"}, headers=acct.headers)
    assert r.status_code == 422  # unknown fields are refused, not ignored
    other = await make_user(ctx)
    r = await client.patch("/api/v1/me", json={"username": other.username}, headers=acct.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "username_taken"
    new_email = f"new-{acct.user.username}@example.com"
    r = await client.patch(
        "/api/v1/me",
        json={"email": new_email, "current_password": PASSWORD},
        headers=acct.headers,
    )
    # The new address waits for its link (tests/security/test_email_change.py).
    assert r.status_code == 200 and r.json()["pending_email"] == new_email
    await mailbox.wait_for(new_email, subject="confirm")
    wrong = await client.post(
        "/api/v1/me/password",
        json={"current_password": "nope-nope-nope", "new_password": "fresh-password-1"},
        headers=acct.headers,
    )
    assert wrong.status_code == 403
    r = await client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "fresh-password-1"},
        headers=acct.headers,
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=acct.headers)).status_code == 200
    r = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"}
    )
    assert r.status_code == 401


async def test_roles_are_changed_by_admins_only(client: httpx.AsyncClient, ctx: Context) -> None:
    admin = await make_account(ctx, client, role="admin")
    user = await make_account(ctx, client)
    r = await client.put(
        f"/api/v1/users/{admin.id}/role", json={"role": "user"}, headers=user.headers
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    r = await client.put(
        f"/api/v1/users/{user.id}/role", json={"role": "editor"}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["role"] == "editor"
    # the live session sees the new role at once
    principal_role = await ctx.redis.hget(
        ctx.keys(
            "session",
            (await client.get("/api/v1/auth/sessions", headers=user.headers)).json()[0]["id"],
        ),
        "role",
    )
    assert principal_role == "editor"
    r = await client.put(
        "/api/v1/users/not-a-uuid/role", json={"role": "user"}, headers=admin.headers
    )
    assert r.status_code == 422


async def test_concurrent_registrations_of_one_email(client: httpx.AsyncClient) -> None:
    async def attempt(i: int) -> int:
        r = await client.post(
            "/api/v1/auth/register",
            json={"email": "race@example.com", "username": f"racer{i}", "password": PASSWORD},
            headers={"X-Forwarded-For": random_ip()},
        )
        return r.status_code

    codes = await asyncio.gather(*(attempt(i) for i in range(5)))
    # One account is made; the others answer alike (tests/security/test_registration.py).
    assert codes == [202] * 5


async def test_session_writes_wait_for_a_replica_but_never_fail_for_want_of_one(
    ctx: Context, caplog: pytest.LogCaptureFixture
) -> None:
    """Through Sentinel, logins, refreshes and revocations WAIT for a replica (on the
    connection that wrote); a Redis with no replica answers after the wait, with a warning."""
    store = SessionStore(
        ctx.redis, ctx.keys, idle_ttl_s=60, absolute_ttl_s=600, replicas=1, replica_wait_ms=50
    )
    sid, user = tokens.new_id(), str(uuid.uuid4())
    with caplog.at_level(logging.WARNING, logger="cinema.sessions"):
        await store.create(
            session_id=sid, user_id=user, role="user", refresh_jti="r1", now=1000,
            user_agent="t", ip="127.0.0.1",
        )  # fmt: skip
        assert await store.role_if_alive(sid) == "user"
        rotation = await store.rotate_refresh(
            sid, user_id=user, presented="r1", new="r2", now_ms=1_001_000, grace_ms=30_000
        )
        assert rotation.outcome.name == "rotated"
        await store.revoke(sid)
    assert await store.role_if_alive(sid) is None
    warned = [r for r in caplog.records if getattr(r, "event", None) == "session_not_replicated"]
    assert len(warned) == 3
