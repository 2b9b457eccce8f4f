"""Two pages a link opens outside the app's navigation, now the app's own: the TV sign-in's
verification page (/device, RFC 8628) and the mailed "keep my account" page
(/account/deletion/undo)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from models.accounts.device_grant import DEVICE_CODE_GRANT
from models.core.context import Context
from tests.factories import PASSWORD, login, make_user
from tests.mail import Mailbox, link_in
from tests.web.conftest import axe_problems, expect, new_page, problems

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def _poll(tv: httpx.AsyncClient, device_code: str) -> httpx.Response:
    return await tv.post(
        "/api/v1/oauth/token",
        data={"grant_type": DEVICE_CODE_GRANT, "device_code": device_code, "client_id": "tv-app"},
    )


async def test_the_device_page_signs_a_tv_in(
    site: str, browser: Any, ctx: Context, web_app: Path
) -> None:
    user = await make_user(ctx)
    page = await new_page(browser)  # signed out, as on a phone that scanned the TV's QR code
    async with httpx.AsyncClient(base_url=site) as tv:
        start = (
            await tv.post(
                "/api/v1/oauth/device_authorization",
                data={"client_id": "tv-app", "device_name": "Bedroom TV"},
            )
        ).json()
        assert start["verification_uri"] == f"{site}/device"
        # The QR code holds verification_uri_complete: sign in first, back with the code.
        await page.goto(start["verification_uri_complete"])
        await page.locator("#main").get_by_role("link", name="Sign in").click()
        await page.get_by_label("Email or username").fill(user.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url(start["verification_uri_complete"])
        # The device that asks is named before anything is approved.
        await expect(page.locator("#decide #device")).to_have_text("Bedroom TV")
        await expect(page.locator("#decide #client")).to_have_text("tv-app")
        assert (await _poll(tv, start["device_code"])).json()["error"] == "authorization_pending"
        assert await axe_problems(page, web_app) == []
        await page.get_by_role("button", name="Approve").click()
        await expect(page.locator("#result")).to_have_text(
            "Bedroom TV is signed in. You can close this page."
        )
        r = await _poll(tv, start["device_code"])
        assert r.status_code == 200, r.text
        me = await tv.get(
            "/api/v1/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
        )
        assert me.json()["id"] == str(user.id)

        # Typed by hand on the page (signed in now), in any case and spacing; then denied.
        start = (
            await tv.post(
                "/api/v1/oauth/device_authorization",
                data={"client_id": "tv-app", "device_name": "Kitchen TV"},
            )
        ).json()
        await page.goto(site + "/device")
        await page.get_by_label("Code shown on the TV").fill("NOPE-NOPE")
        await page.get_by_role("button", name="Continue").click()
        await page.locator("#result[role=alert]").wait_for()  # an unknown code: the server's word
        code = await page.get_by_label("Code shown on the TV").input_value()
        assert code == "NOPE-NOPE"  # kept to correct
        await page.get_by_label("Code shown on the TV").fill(
            start["user_code"].lower().replace("-", " ")
        )
        await page.get_by_role("button", name="Continue").click()
        await expect(page.locator("#decide #device")).to_have_text("Kitchen TV")
        await page.get_by_role("button", name="Deny").click()
        await expect(page.locator("#result")).to_have_text("Kitchen TV was not signed in.")
        r = await _poll(tv, start["device_code"])
        assert r.json()["error"] == "access_denied", r.text
    assert await problems(page) == []


async def test_the_mailed_link_keeps_an_account_that_is_to_be_deleted(
    site: str, browser: Any, ctx: Context, mailbox: Mailbox, worker: Any
) -> None:
    user = await make_user(ctx)
    async with httpx.AsyncClient(base_url=site) as http:
        tokens = await login(http, user.email)
        r = await http.post(
            "/api/v1/me/deletion",
            json={"current_password": PASSWORD},
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        assert r.status_code == 202, r.text
        link = link_in(await mailbox.wait_for(user.email, subject="be deleted"))
        link = site + "/" + link.split("/", 3)[3]  # the worker mails its own PUBLIC_URL
        assert link.startswith(site + "/account/deletion/undo?token=")

        page = await new_page(browser)
        await page.goto(link)  # opening it changes nothing (mail scanners open links)
        await page.get_by_role("heading", name="Keep your account?").wait_for()
        tokens = await login(http, user.email)
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        assert (await http.get("/api/v1/me", headers=auth)).json()["deletion_scheduled_at"]
        # The page is served with no referrer leaving it: its URL holds the token.
        answer = await http.get(link)
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["content-type"].startswith("text/html")

        await page.get_by_role("button", name="Keep my account").click()
        await expect(page.locator("#result")).to_contain_text("will not be deleted")
        assert await page.locator("#undo").count() == 0  # done: nothing left to press
        me = (await http.get("/api/v1/me", headers=auth)).json()
        assert me["deletion_scheduled_at"] is None

        # The same link again: the server's refusal, in words.
        await page.goto(link)
        await page.get_by_role("button", name="Keep my account").click()
        await page.locator("#result[role=alert]").wait_for()
        assert (await page.locator("#result").inner_text()).strip()
    assert await problems(page) == []
