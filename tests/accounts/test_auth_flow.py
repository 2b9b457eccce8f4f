from __future__ import annotations

import httpx

from tests.factories import PASSWORD, login, make_account, random_ip
from tests.mail import Mailbox, confirm, link_in


async def _register(
    client: httpx.AsyncClient, email: str, username: str, password: str = PASSWORD
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={"email": email, "username": username, "password": password},
        headers={"X-Forwarded-For": random_ip()},
    )


async def test_register_login_me(client: httpx.AsyncClient) -> None:
    r = await _register(client, "Neo@Example.com", "neo_one")
    # 202 and the same answer whether or not the address has an account (test_registration).
    assert r.status_code == 202, r.text
    assert "mail" in r.json()["message"]
    tokens = await login(client, "neo@example.com")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    body = me.json()
    assert me.status_code == 200 and body["username"] == "neo_one"
    assert body["email"] == "Neo@example.com" and body["role"] == "user"
    assert body["email_confirmed"] is False
    # by username too, case-insensitive
    assert (await login(client, "NEO_ONE"))["access_token"]


async def test_register_errors(client: httpx.AsyncClient) -> None:
    assert (await _register(client, "trin@example.com", "trinity")).status_code == 202
    # A taken email answers like a new one; its owner is mailed (tests/security).
    assert (await _register(client, "TRIN@example.com", "other_name")).status_code == 202
    taken = await _register(client, "other@example.com", "Trinity")
    assert taken.status_code == 409 and taken.json()["error"]["code"] == "username_taken"
    weak = await _register(client, "w@example.com", "weakling", password="password")
    assert weak.status_code == 422 and weak.json()["error"]["code"] == "weak_password"
    short = await _register(client, "s@example.com", "shorty", password="abc")
    assert short.status_code == 422
    bad = await client.post("/api/v1/auth/register", json={"email": "nope", "username": "x"})
    assert bad.status_code == 422
    err = bad.json()["error"]
    assert err["code"] == "invalid_input" and {tuple(d["loc"]) for d in err["details"]} >= {
        ("email",),
        ("username",),
        ("password",),
    }
    garbage = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] == "invalid_json"


async def test_confirmation_mail_link_works(client: httpx.AsyncClient, mailbox: Mailbox) -> None:
    r = await _register(client, "morpheus@example.com", "morpheus")
    assert r.status_code == 202
    mail = await mailbox.wait_for("morpheus@example.com", subject="confirm")
    link = link_in(mail)
    assert link.startswith("http://testserver/confirm-email?token=")  # the web app's page
    done = await confirm(client, link)
    assert done.status_code == 200 and done.json()["email_confirmed"] is True
    again = await confirm(client, link)
    assert again.status_code == 422  # single use
    tokens = await login(client, "morpheus@example.com")
    me = await client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["email_confirmed"] is True


async def test_bad_tokens_are_refused(client: httpx.AsyncClient, ctx) -> None:  # type: ignore[no-untyped-def]
    for header in ("Bearer nonsense", "Basic abc", "Bearer "):
        r = await client.get("/api/v1/me", headers={"Authorization": header})
        assert r.status_code == 401, header
        assert r.json()["error"]["code"] in {"invalid_token", "unauthorized"}
    r = await client.get("/api/v1/me")
    assert r.status_code == 401 and r.json()["error"]["code"] == "unauthorized"
    acct = await make_account(ctx, client)
    # a refresh token is not an access token
    r = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {acct.refresh_token}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


async def test_wrong_password_and_unknown_user_answer_alike(client: httpx.AsyncClient, ctx) -> None:  # type: ignore[no-untyped-def]
    acct = await make_account(ctx, client)
    answers = []
    for login_name in (acct.user.email, "nobody-here@example.com"):
        r = await client.post(
            "/api/v1/auth/token",
            data={"username": login_name, "password": "wrong-password-123"},
            headers={"X-Forwarded-For": random_ip()},
        )
        answers.append((r.status_code, r.json()))
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
