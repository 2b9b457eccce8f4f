"""Passkeys in headless Chromium with a virtual authenticator (DevTools protocol
WebAuthn.addVirtualAuthenticator) against a real server process: register, passwordless
sign-in, second factor, list/rename/delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright import async_api as playwright_api

from cinema.ports import free_port
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import PASSWORD, make_user, random_ip
from tests.security.cdp import CHROMIUM

pytestmark = pytest.mark.slow

CREATE = """async (options) => {
  const cred = await navigator.credentials.create(
    {publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)});
  return cred.toJSON();
}"""
GET = """async (options) => {
  const cred = await navigator.credentials.get(
    {publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
  return cred.toJSON();
}"""


@pytest.fixture(scope="module")
def rp_server(settings: Settings) -> Any:
    """Passkeys need a domain for their relying party id (an IP address cannot be one):
    the browser opens the server as http://localhost, a secure context."""
    port = free_port()
    server = LiveServer(
        settings,
        port,
        {"WEBAUTHN_RP_ID": "localhost", "WEBAUTHN_ORIGINS": f'["http://localhost:{port}"]'},
    )
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
async def page(rp_server: LiveServer) -> AsyncIterator[Any]:
    async with playwright_api.async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM)
        try:
            context = await browser.new_context()
            page = await context.new_page()
            await page.goto(f"http://localhost:{rp_server.port}/docs")
            cdp = await context.new_cdp_session(page)
            await cdp.send("WebAuthn.enable")
            await cdp.send(
                "WebAuthn.addVirtualAuthenticator",
                {
                    "options": {
                        "protocol": "ctap2",
                        "transport": "internal",
                        "hasResidentKey": True,
                        "hasUserVerification": True,
                        "isUserVerified": True,
                        "automaticPresenceSimulation": True,
                    }
                },
            )
            yield page
        finally:
            await browser.close()


async def _login(http: httpx.AsyncClient, email: str, ip: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/token",
        data={"username": email, "password": PASSWORD},
        headers={"X-Forwarded-For": ip},
    )


async def test_passkey_register_sign_in_second_factor_and_manage(
    rp_server: LiveServer, page: Any, ctx: Context
) -> None:
    user = await make_user(ctx)
    ip = random_ip()
    async with httpx.AsyncClient(base_url=rp_server.url, timeout=30) as http:
        tokens = (await _login(http, user.email, ip)).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}

        # Register: options (password needed), the browser's create(), then the credential.
        refused = await http.post(
            "/api/v1/me/passkeys/options", json={"current_password": "not-it-at-all"}, headers=auth
        )
        assert refused.status_code == 403
        started = await http.post(
            "/api/v1/me/passkeys/options", json={"current_password": PASSWORD}, headers=auth
        )
        assert started.status_code == 201, started.text
        options = started.json()["options"]
        assert options["rp"]["id"] == "localhost"
        assert options["authenticatorSelection"]["residentKey"] == "required"
        credential = await page.evaluate(CREATE, options)
        created = await http.post(
            "/api/v1/me/passkeys",
            json={
                "ceremony_id": started.json()["ceremony_id"],
                "credential": credential,
                "name": "Laptop",
            },
            headers=auth,
        )
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["passkey"]["name"] == "Laptop" and body["passkey"]["last_used_at"] is None
        assert len(body["recovery_codes"]) == 10  # the first second factor brings them
        passkey_id = body["passkey"]["id"]
        # A ceremony is used once.
        again = await http.post(
            "/api/v1/me/passkeys",
            json={"ceremony_id": started.json()["ceremony_id"], "credential": credential},
            headers=auth,
        )
        assert again.status_code == 404 and again.json()["error"]["code"] == "ceremony_not_found"
        # The same authenticator cannot register twice: it is excluded in the options.
        second = await http.post(
            "/api/v1/me/passkeys/options", json={"current_password": PASSWORD}, headers=auth
        )
        excluded = second.json()["options"]["excludeCredentials"]
        assert [c["id"] for c in excluded] == [credential["id"]]

        # Passwordless: no account named; the authenticator offers its discoverable passkey.
        start = await http.post("/api/v1/auth/passkey/options", headers={"X-Forwarded-For": ip})
        assert start.status_code == 201, start.text
        assert start.json()["options"].get("allowCredentials", []) == []
        assertion = await page.evaluate(GET, start.json()["options"])
        assert assertion["response"]["userHandle"]
        signed = await http.post(
            "/api/v1/auth/passkey",
            json={"ceremony_id": start.json()["ceremony_id"], "credential": assertion},
        )
        assert signed.status_code == 200, signed.text
        me = await http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {signed.json()['access_token']}"}
        )
        assert me.status_code == 200 and me.json()["id"] == str(user.id)
        # The same assertion replayed against a new ceremony: its challenge is not this one.
        start2 = await http.post("/api/v1/auth/passkey/options", headers={"X-Forwarded-For": ip})
        replay = await http.post(
            "/api/v1/auth/passkey",
            json={"ceremony_id": start2.json()["ceremony_id"], "credential": assertion},
        )
        assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_passkey"

        # As a second factor after the password.
        first = await _login(http, user.email, ip)
        assert first.status_code == 403, first.text
        details = first.json()["error"]["details"]
        assert details["methods"] == ["passkey", "recovery_code"]
        opts = await http.post(
            "/api/v1/auth/mfa/passkey-options", json={"mfa_token": details["mfa_token"]}
        )
        assert opts.status_code == 200, opts.text
        allowed = opts.json()["options"]["allowCredentials"]
        assert [c["id"] for c in allowed] == [credential["id"]]
        answer = await page.evaluate(GET, opts.json()["options"])
        done = await http.post(
            "/api/v1/auth/mfa",
            json={"mfa_token": details["mfa_token"], "passkey": answer},
            headers={"X-Forwarded-For": ip},
        )
        assert done.status_code == 200, done.text

        # Someone else's passkey is no second factor for this account: the step's challenge
        # signed by another account's credential is refused (and counts as a wrong answer).
        other_user = await make_user(ctx)
        other_tokens = (await _login(http, other_user.email, ip)).json()
        other_h = {"Authorization": f"Bearer {other_tokens['access_token']}"}
        reg = await http.post(
            "/api/v1/me/passkeys/options", json={"current_password": PASSWORD}, headers=other_h
        )
        theirs = await page.evaluate(CREATE, reg.json()["options"])
        added = await http.post(
            "/api/v1/me/passkeys",
            json={"ceremony_id": reg.json()["ceremony_id"], "credential": theirs},
            headers=other_h,
        )
        assert added.status_code == 201, added.text
        step = (await _login(http, other_user.email, ip)).json()["error"]["details"]
        opts = await http.post(
            "/api/v1/auth/mfa/passkey-options", json={"mfa_token": step["mfa_token"]}
        )
        swapped = {**opts.json()["options"], "allowCredentials": allowed}  # mine, not theirs
        wrong = await page.evaluate(GET, swapped)
        assert wrong["id"] == credential["id"]
        refused = await http.post(
            "/api/v1/auth/mfa",
            json={"mfa_token": step["mfa_token"], "passkey": wrong},
            headers={"X-Forwarded-For": ip},
        )
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "invalid_code"

        # List, rename; another user sees none of it.
        listed = (await http.get("/api/v1/me/passkeys", headers=auth)).json()
        assert [p["name"] for p in listed] == ["Laptop"] and listed[0]["last_used_at"]
        renamed = await http.patch(
            f"/api/v1/me/passkeys/{passkey_id}", json={"name": "Work laptop"}, headers=auth
        )
        assert renamed.status_code == 200 and renamed.json()["name"] == "Work laptop"
        other = await make_user(ctx)
        other_token = (await _login(http, other.email, ip)).json()["access_token"]
        other_auth = {"Authorization": f"Bearer {other_token}"}
        assert (await http.get("/api/v1/me/passkeys", headers=other_auth)).json() == []
        stolen = await http.delete(f"/api/v1/me/passkeys/{passkey_id}", headers=other_auth)
        assert stolen.status_code == 404

        # Deleted: it signs in no more, and the password alone is enough again.
        deleted = await http.delete(f"/api/v1/me/passkeys/{passkey_id}", headers=auth)
        assert deleted.status_code == 204
        start3 = await http.post("/api/v1/auth/passkey/options", headers={"X-Forwarded-For": ip})
        gone = await http.post(
            "/api/v1/auth/passkey",
            json={
                "ceremony_id": start3.json()["ceremony_id"],
                # (the authenticator holds the other account's passkey too: ask for mine)
                "credential": await page.evaluate(
                    GET, {**start3.json()["options"], "allowCredentials": allowed}
                ),
            },
        )
        assert gone.status_code == 401
        assert (await _login(http, user.email, ip)).status_code == 200
        status = (await http.get("/api/v1/me/2fa", headers=auth)).json()
        assert status["passkeys"] == 0 and status["methods"] == []
