"""Two-step sign-in set up from the web app's security page with the QR code's key."""

from __future__ import annotations

from typing import Any

import httpx
import pyotp
import pytest

from models.core.context import Context
from tests.factories import PASSWORD, make_account
from tests.web.conftest import expect, problems, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_two_step_sign_in_is_set_up_with_the_qr_code(
    site: str, browser: Any, ctx: Context
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        viewer = await make_account(ctx, http)
    page = await signed_in_page(browser, site, viewer)
    await page.goto(f"{site}/security")
    await page.get_by_label("Password").first.fill(PASSWORD)
    await page.get_by_role("button", name="Set up").click()
    qr = page.get_by_role("img", name="QR code for your authenticator app")
    await qr.wait_for()
    assert (await qr.get_attribute("src") or "").startswith("data:image/")
    secret = await page.locator(".totp-secret").inner_text()
    await page.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Turn on").click()
    await page.locator(".totp-on").wait_for()
    await expect(page.locator(".recovery-codes li")).not_to_have_count(0)
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        r = await http.get("/api/v1/me/2fa", headers=viewer.headers)
        assert r.json()["totp_enabled"] is True, r.text
    assert await problems(page) == []
