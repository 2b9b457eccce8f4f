"""Browsing in the web app: a filter from the address, facet counts under it, a decade facet
narrowing the list, a sort, infinite scroll through the cursors, and "did you mean" when a
search finds nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from models.accounts.tables import Role
from models.core.context import Context
from tests.factories import make_account, make_title
from tests.web.conftest import expect, new_page, problems

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_facets_sort_and_infinite_scroll(
    site: str, browser: Any, ctx: Context, client: httpx.AsyncClient
) -> None:
    rating = "T" + uuid.uuid4().hex[:8]  # an age rating only these titles have
    for i in range(35):
        await make_title(
            ctx, f"Scroll {i:02d} {rating}", year=1950 + (i % 2) * 10, age_rating=rating
        )
    page = await new_page(browser)
    await page.goto(f"{site}/browse?age_rating={rating}&sort=title")
    cards = page.locator(".grid > li")
    await expect(cards).to_have_count(30)  # the first page
    await expect(cards.first).to_contain_text(f"Scroll 00 {rating}")  # sorted by title

    # Facets count under the same filter: 18 from the 1950s, 17 from the 1960s.
    await expect(page.get_by_role("button", name="1950s 18")).to_be_visible()
    await expect(page.get_by_role("button", name="1960s 17")).to_be_visible()

    # Scrolling to the end brings the next page (the cursor), and no more after it.
    await cards.last.scroll_into_view_if_needed()
    await page.mouse.wheel(0, 5000)
    await expect(cards).to_have_count(35)
    await expect(page.get_by_role("button", name="Show more")).to_have_count(0)

    # A decade facet narrows the list, in the address too.
    await page.get_by_role("button", name="1960s 17").click()
    await page.wait_for_url(lambda url: "year_from=1960" in url and "year_to=1969" in url)
    await expect(cards).to_have_count(17)
    await expect(page.get_by_role("button", name="1960s 17")).to_have_attribute(
        "aria-pressed", "true"
    )

    # A search that finds nothing offers what the server suggests; the link searches it.
    editor = await make_account(ctx, client, role=Role.editor)
    made = await client.post(
        "/api/v1/titles", json={"kind": "film", "title": "Marmalade Skies"}, headers=editor.headers
    )
    assert made.status_code == 201, made.text
    await page.goto(f"{site}/browse?q=Marmelade%20qqq")
    suggestion = page.locator(".did-you-mean a").first
    await suggestion.wait_for()
    await suggestion.click()
    await page.get_by_role("link", name="Marmalade Skies").first.wait_for()
    assert await problems(page) == []
