"""Family controls in the web app: a parent sets the PIN and creates a child with a limit of
12 from the family page; the child's player says plainly that an 18 film is not for this
profile (the playback answer's 403 maturity_restricted)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.factories import PASSWORD, login, make_account, make_title
from tests.web.conftest import new_page, problems, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_a_parent_makes_a_child_who_cannot_play_an_adult_film(
    site: str, browser: Any, ctx: Context
) -> None:
    adult = await make_title(ctx, age_rating="18")
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        parent = await make_account(ctx, http)
    page = await signed_in_page(browser, site, parent)
    await page.goto(f"{site}/family")
    await page.get_by_label("Your password").fill(PASSWORD)
    await page.get_by_label("New PIN").fill("4321")
    await page.get_by_role("button", name="Set PIN").click()
    await page.get_by_text("PIN set.").wait_for()

    name = f"kid{uuid.uuid4().hex[:8]}"
    await page.get_by_label("Username").fill(name)
    await page.get_by_label("Password", exact=True).fill(PASSWORD)
    await page.get_by_label("Oldest age rating allowed").select_option("12")
    await page.get_by_label("Family PIN").fill("4321")
    await page.get_by_role("button", name="Create").click()
    await page.get_by_text("Child account created.").wait_for()
    await (
        page.locator("#family .sessions li")
        .filter(has_text=name)
        .filter(has_text="up to age 12")
        .wait_for()
    )
    assert await problems(page) == []

    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        tokens = await login(http, name)
    kid = await new_page(browser, tokens)
    await kid.goto(f"{site}/watch/{adult.id}")
    await kid.get_by_role("heading", name="Not available on this profile").wait_for()
    assert await kid.locator("video").count() == 0
