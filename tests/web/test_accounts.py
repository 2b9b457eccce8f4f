"""A person's account in the web app: sign up, confirm from the mailed link, sign in, edit the
profile, see and end sessions, sign out; and /docs renders the API's operations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from models.core.settings import Settings
from tests.factories import PASSWORD
from tests.mail import Mailbox, link_in
from tests.web.conftest import expect, new_page, problems, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_sign_up_confirm_sign_in_profile_sessions_sign_out(
    site: str, browser: Any, mailbox: Mailbox, worker: Any, settings: Settings
) -> None:
    shots = settings.log_dir / "screenshots"
    name = f"w{uuid.uuid4().hex[:10]}"
    email = f"{name}@example.com"
    page = await new_page(browser)

    # Sign up from the home page's header.
    await page.goto(site + "/")
    await page.get_by_role("link", name="Sign up").click()
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password").fill(PASSWORD)
    await shot(page, "signup", shots)
    await page.get_by_role("button", name="Create account").click()
    await page.wait_for_url(site + "/signin?registered=1")
    await page.get_by_text("Check your mail").wait_for()

    # The mailed link opens the app's confirm page, which confirms.
    link = link_in(await mailbox.wait_for(email, subject="confirm"))
    assert link.startswith(site + "/confirm-email?token=")
    await page.goto(link)
    await page.get_by_text(f"Email confirmed: {email}").wait_for()

    # A wrong password: the server's message, shown in the form.
    await page.goto(site + "/signin?next=/profile")
    await page.get_by_label("Email or username").fill(name)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    alert = page.locator("#signin [role=alert]")
    await alert.wait_for()
    assert "password" in (await alert.inner_text()).lower()

    # Sign in, back to where we were going: the profile, confirmed.
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(site + "/profile")
    await page.get_by_text("Email confirmed.").wait_for()

    # Edit the display name: saved by the server, shown in the header.
    await page.get_by_label("Display name").fill("Wanda Web")
    await page.locator("#profile").get_by_role("button", name="Save").click()
    await page.locator("#profile .status.ok").wait_for()
    await page.get_by_role("banner").get_by_role("link", name="Wanda Web").wait_for()

    # A second device signs in; this one lists both and signs the other out.
    other = await new_page(browser)
    await other.goto(site + "/signin")
    await other.get_by_label("Email or username").fill(email)
    await other.get_by_label("Password").fill(PASSWORD)
    await other.get_by_role("button", name="Sign in").click()
    await other.wait_for_url(site + "/")
    await page.reload()
    rows = page.locator(".sessions li")
    await expect(rows).to_have_count(2)
    await shot(page, "profile", shots)
    await rows.filter(has_not_text="this device").get_by_role("button").click()
    await page.get_by_text("Session signed out.").wait_for()
    await expect(rows).to_have_count(1)
    # The other device is told at once (its socket closed), with no request of its own...
    await other.get_by_role("alert").filter(has_text="You have been signed out").wait_for()
    await other.get_by_role("banner").get_by_role("link", name="Sign in").wait_for()
    # ...and stays signed out.
    await other.goto(site + "/profile")
    await other.get_by_role("heading", name="Sign in to continue").wait_for()

    # Sign out here: the tokens are gone, the header offers sign in again.
    await page.get_by_role("banner").get_by_role("button", name="Sign out").click()
    await page.wait_for_url(site + "/signin")
    assert await page.evaluate("localStorage.getItem('cinema.tokens')") is None
    assert await problems(page) == [] and await problems(other) == []


async def test_docs_render_the_openapi_31_operations(site: str, browser: Any) -> None:
    page = await new_page(browser)
    await page.goto(site + "/docs")
    await page.locator("#ui .opblock").nth(5).wait_for()  # Swagger UI 5 reads OpenAPI 3.1
    text = await page.locator("#ui").inner_text()
    assert "OAS 3.1" in text and "/api/v1/auth/register" in text
    assert await problems(page) == []
