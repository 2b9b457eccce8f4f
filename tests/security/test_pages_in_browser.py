"""Finding 9 in a real browser: every page we serve works under its Content-Security-Policy
(a policy that broke a page would be worse than none) and reports no violation."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer
from tests.factories import PASSWORD, random_ip
from tests.mail import Mailbox, confirm, link_in
from tests.security.cdp import CHROMIUM, chromium

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium"),
]


async def _register(http: httpx.AsyncClient, mailbox: Mailbox) -> tuple[str, str]:
    email, username = f"p{uuid.uuid4().hex[:10]}@example.com", f"p{uuid.uuid4().hex[:10]}"
    r = await http.post(
        "/api/v1/auth/register",
        json={"email": email, "username": username, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert r.is_success, r.text
    assert (
        await confirm(http, link_in(await mailbox.wait_for(email, subject="confirm")))
    ).is_success
    return email, username


def _here(base: str, link: str) -> str:
    """The mailed link on this server (the worker of the test run mails its own PUBLIC_URL)."""
    return base + "/" + link.split("/", 3)[3]


async def _login(http: httpx.AsyncClient, who: str, password: str) -> httpx.Response:
    return await http.post(
        "/api/v1/auth/token",
        data={"username": who, "password": password},
        headers={"X-Forwarded-For": random_ip()},
    )


async def test_pages_work_under_the_policy(
    web_app: Path, live_server: LiveServer, mailbox: Mailbox, worker: Any
) -> None:
    base = live_server.url
    async with httpx.AsyncClient(base_url=base) as http, chromium() as page:
        # The API docs render (Swagger UI's bundle, our init script).
        await page.open(f"{base}/docs")
        # Swagger UI 5 (from the web build) renders the OpenAPI 3.1 document's operations
        # (those in view: it renders the rest as they scroll in).
        await page.until("document.querySelectorAll('#ui .opblock').length > 2")
        assert await page.violations() == []

        # The party demo's module runs (no token: it says so; the point is that it ran).
        await page.open(f"{base}/parties/demo")
        await page.until("typeof window.partyDebug === 'function'")
        assert await page.violations() == []

        # Reset the password from the mailed link, in the page.
        email, _ = await _register(http, mailbox)
        await page.open(f"{base}/reset-password")  # the web app's page
        await page.until("document.querySelector('#forgot button') !== null")
        await page.eval(
            f"document.querySelector('#forgot [name=email]').value = {json.dumps(email)};"
            "document.querySelector('#forgot button').click(); true"
        )
        await page.until("document.getElementById('result').textContent.length > 0")
        link = link_in(await mailbox.wait_for(email, subject="reset"))
        await page.open(_here(base, link))
        await page.until("document.querySelector('#reset button') !== null")
        await page.eval(
            "document.querySelector('#reset [name=new_password]').value = 'browser-set-pass-1';"
            "document.querySelector('#reset button').click(); true"
        )
        said = await page.until(
            "document.getElementById('result').textContent.includes('Password changed') &&"
            " document.getElementById('result').textContent"
        )
        assert "Log in" in said
        assert (await _login(http, email, "browser-set-pass-1")).status_code == 200
        assert await page.violations() == []

        # Undo an email change from the old address's mail, in the page.
        tokens = (await _login(http, email, "browser-set-pass-1")).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        r = await http.patch(
            "/api/v1/me",
            json={
                "email": f"n{uuid.uuid4().hex[:8]}@example.com",
                "current_password": "browser-set-pass-1",
            },
            headers=auth,
        )
        assert r.status_code == 200, r.text
        await page.open(_here(base, link_in(await mailbox.wait_for(email, subject="email change"))))
        await page.until("document.querySelector('#undo button') !== null")
        await page.eval("document.querySelector('#undo button').click(); true")
        said = await page.until(
            "document.getElementById('result').textContent.includes('signed out') &&"
            " document.getElementById('result').textContent"
        )
        assert email in said
        assert (await http.get("/api/v1/me", headers=auth)).status_code == 401
        assert await page.violations() == []

        # Keep the account from the "will be deleted" mail's link, in the page.
        tokens = (await _login(http, email, "browser-set-pass-1")).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        r = await http.post(
            "/api/v1/me/deletion", json={"current_password": "browser-set-pass-1"}, headers=auth
        )
        assert r.status_code == 202, r.text
        await page.open(_here(base, link_in(await mailbox.wait_for(email, subject="be deleted"))))
        await page.until("document.querySelector('#undo button') !== null")  # the app's page
        await page.eval("document.querySelector('#undo button').click(); true")
        said = await page.until(
            "document.getElementById('result').textContent.includes('will not be deleted') &&"
            " document.getElementById('result').textContent"
        )
        tokens = (await _login(http, email, "browser-set-pass-1")).json()
        me = await http.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
        )
        assert me.json()["deletion_scheduled_at"] is None
        assert await page.violations() == []
