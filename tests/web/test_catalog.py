"""The catalog in the web app: search as you type (with a typo), a title's page with its
cast (a person page), rating, like, favorite, a playlist, comments with a spoiler, a reply
and a like from another viewer; the home page's rows follow."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from models.accounts.tables import Role
from models.core.context import Context
from models.core.settings import Settings
from tests.factories import login, make_account
from tests.web.conftest import expect, new_page, problems, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_search_title_rate_favorite_playlist_comment(
    site: str, browser: Any, ctx: Context, client: httpx.AsyncClient, settings: Settings
) -> None:
    shots = settings.log_dir / "screenshots"
    word = "Zanzibar" + uuid.uuid4().hex[:6]
    editor = await make_account(ctx, client, role=Role.editor)
    person = await client.post(
        "/api/v1/people", json={"name": f"Ottilie {word}"}, headers=editor.headers
    )
    assert person.status_code == 201, person.text
    made = await client.post(
        "/api/v1/titles",
        json={
            "kind": "film",
            "title": f"The {word} Lighthouse",
            "year": 1999,
            "runtime_minutes": 97,
            "description": "A keeper and a storm.",
            "credits": [{"person_id": person.json()["id"], "role": "actor", "character": "Keeper"}],
        },
        headers=editor.headers,
    )
    assert made.status_code == 201, made.text
    title_id = made.json()["id"]
    ann, bob = await make_account(ctx, client), await make_account(ctx, client)
    page = await new_page(browser, await login(client, ann.user.email))

    # The header's search opens browse; there, search as you type, with a typo: the
    # typo-tolerant search finds it.
    await page.goto(site + "/")
    await page.get_by_role("searchbox", name="Search the catalog").fill("lighthouse")
    await page.keyboard.press("Enter")
    await page.wait_for_url(lambda url: "/browse?q=lighthouse" in url)
    await page.get_by_role("searchbox").fill(f"{word} Lighthuose")
    await page.wait_for_url(lambda url: f"q={word}" in url)  # the search is in the address
    await expect(page.get_by_role("heading", level=1)).to_contain_text(f"Results for “{word}")
    card = page.get_by_role("link", name=f"The {word} Lighthouse").first
    await card.wait_for()
    await shot(page, "browse", shots)
    await card.click()
    await page.wait_for_url(f"{site}/titles/{title_id}")
    await page.get_by_role("heading", name=f"The {word} Lighthouse").wait_for()

    # Rate, like, favorite, add to a new playlist: each confirmed by the server.
    status = page.locator("#title-status")
    await page.get_by_role("button", name="Rate 8 out of 10").click()
    await expect(status).to_have_text("Rated 8/10.")
    await expect(page.locator("#social")).to_contain_text("8.0/10 · 1 rating")
    await page.get_by_role("button", name="♥ Like").click()
    await expect(status).to_have_text("Liked.")
    await expect(page.locator("#social")).to_contain_text("♥ 1")
    await page.get_by_role("button", name="☆ Add to favorites").click()
    await expect(status).to_have_text("Added to favorites.")
    await page.get_by_role("button", name="+ Playlist").click()
    await page.get_by_label("New playlist").fill("Storm nights")
    await page.get_by_role("button", name="Create and add").click()
    await expect(status).to_have_text("Added to Storm nights.")

    # A comment marked as a spoiler.
    await page.get_by_label("Add a comment").fill("The keeper was the storm all along.")
    await page.get_by_label("Contains spoilers").first.check()
    await page.get_by_role("button", name="Post").click()
    mine = page.locator(".comment").first
    await expect(mine).to_contain_text("Spoiler: show the comment")
    await shot(page, "title", shots)

    # Bob sees the spoiler hidden, opens it, likes it and replies.
    other = await new_page(browser, await login(client, bob.user.email))
    await other.goto(f"{site}/titles/{title_id}")
    theirs = other.locator(".comment").first
    await theirs.get_by_role("button", name="Spoiler: show the comment").click()
    await expect(theirs).to_contain_text("The keeper was the storm all along.")
    await theirs.get_by_role("button", name="Like · 0").click()
    await expect(theirs.get_by_role("button", name="Liked · 1")).to_be_visible()
    await theirs.get_by_role("button", name="Reply").click()
    await theirs.get_by_label("Your reply").fill("No spoilers please!")
    await theirs.get_by_role("button", name="Reply", exact=True).last.click()
    await expect(theirs.locator(".replies .comment")).to_contain_text("No spoilers please!")

    # Ann sees the like and the reply; the cast links to the person's page.
    await page.reload()
    await expect(mine.get_by_role("button", name="Like · 1")).to_be_visible()
    await mine.get_by_role("button", name="1 reply").click()
    await expect(mine.locator(".replies")).to_contain_text("No spoilers please!")
    await page.get_by_role("link", name=f"Ottilie {word}").click()
    await page.get_by_role("heading", name=f"Ottilie {word}").wait_for()
    await page.get_by_role("link", name=f"The {word} Lighthouse").first.wait_for()

    # The playlist holds it.
    await page.get_by_role("link", name="Playlists").click()
    await page.get_by_role("link", name="Storm nights").click()
    await expect(page.locator(".playlist li")).to_contain_text(f"The {word} Lighthouse")

    # Home: the favorite is in "My favorites".
    await page.goto(site + "/")
    row = page.get_by_role("region", name="My favorites")
    await row.get_by_role("link", name=f"The {word} Lighthouse").wait_for()
    await shot(page, "home", shots)
    assert await problems(page) == [] and await problems(other) == []
