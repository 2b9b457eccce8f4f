"""The back office's frame in the web app: an editor finds it from the header and sees the
editors' sections (not the admins' users and audit log); an admin sees all of them; a viewer
who opens /admin by hand is told it is not for them and sees no section."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.factories import make_account
from tests.web.conftest import problems, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_the_back_office_shows_each_role_its_sections(
    site: str, browser: Any, ctx: Context
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        editor = await make_account(ctx, http, role="editor")
        admin = await make_account(ctx, http, role="admin")
        viewer = await make_account(ctx, http)

    page = await signed_in_page(browser, site, editor)
    await page.get_by_role("link", name="Back office").click()
    await page.get_by_role("heading", name="Back office", exact=True).wait_for()
    nav = page.get_by_role("navigation", name="Back office")
    assert await nav.get_by_role("link").all_inner_texts() == [
        "Titles",
        "People",
        "Genres",
        "Collections",
        "Media",
        "Moderation",
    ]
    assert await problems(page) == []

    page = await signed_in_page(browser, site, admin)
    await page.goto(f"{site}/admin")
    nav = page.get_by_role("navigation", name="Back office")
    await nav.wait_for()
    assert "Audit log" in await nav.get_by_role("link").all_inner_texts()

    page = await signed_in_page(browser, site, viewer)
    assert await page.get_by_role("link", name="Back office").count() == 0
    await page.goto(f"{site}/admin")
    await page.get_by_text("The back office is for editors and admins.").wait_for()
    assert await page.get_by_role("navigation", name="Back office").count() == 0
