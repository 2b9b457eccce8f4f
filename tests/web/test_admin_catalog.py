"""The back office's editorial sections in Chromium against the live servers: an editor adds
a genre (by keyboard), a person, then a title, sees the API's refusal of a bad year beside the
Year field, creates it with the genre and the person's credit, renames it and finds the new
name on the public title page and in search; builds a series' season and episode and a
collection; the title list pages back and forth and starts again on a new filter; a viewer
gets 403 from the API and the refusal page. The pages pass the axe scan
at a desktop and a phone width, and fit a phone's width."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.settings import Settings
from tests.factories import make_account
from tests.web.conftest import axe_problems, expect, new_page, problems, shot, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def test_an_editor_builds_the_catalog_from_the_back_office(
    site: str, browser: Any, ctx: Context, settings: Settings, web_app: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        editor = await make_account(ctx, http, role="editor")
    page = await signed_in_page(browser, site, editor)

    # A genre, by keyboard only: Tab to the Name field, type, Enter submits.
    await page.goto(f"{site}/admin/genres")
    await page.get_by_role("heading", name="Genres", exact=True).wait_for()
    name_field = page.get_by_role("textbox", name="Name")
    for _ in range(40):
        await page.keyboard.press("Tab")
        if await name_field.evaluate("el => el === document.activeElement"):
            break
    else:
        raise AssertionError("the Name field is not reachable by Tab")
    await page.keyboard.type(f"Noir {tag}")
    await page.keyboard.press("Enter")
    await page.get_by_text(f"Added Noir {tag}.").wait_for()
    genre_slug = f"noir-{tag}"
    await page.locator(".admin-list").get_by_text(genre_slug).wait_for()

    # A person.
    await (
        page.get_by_role("navigation", name="Back office")
        .get_by_role("link", name="People")
        .click()
    )
    await page.get_by_role("link", name="New person").click()
    await page.get_by_label("Name").fill(f"Ida Lupino {tag}")
    await page.get_by_label("Born").fill("1918-02-04")
    await page.get_by_role("button", name="Create person").click()
    await page.get_by_role("heading", name=f"Edit Ida Lupino {tag}").wait_for()

    # A title: the API refuses year 1500, and says so beside the Year field.
    await (
        page.get_by_role("navigation", name="Back office")
        .get_by_role("link", name="Titles")
        .click()
    )
    await page.get_by_role("link", name="New title").click()
    await page.get_by_label("Title", exact=True).fill(f"The Hitch-Hiker {tag}")
    await page.get_by_label("Year").fill("1500")
    await page.get_by_label("Age rating").fill("PG-13")
    await page.get_by_label(f"Noir {tag}").check()
    await page.get_by_label("Find a person to credit").fill(f"Ida Lupino {tag}")
    await page.get_by_label("Credit as", exact=True).select_option("director")
    await page.get_by_role("button", name=f"Add Ida Lupino {tag} as director").click()
    await page.get_by_role("button", name="Create title").click()
    await page.get_by_role("alert").filter(has_text="Invalid").wait_for()
    year_error = page.locator("#f-year-error")
    assert "1870" in await year_error.inner_text()
    assert await page.get_by_label("Year").get_attribute("aria-invalid") == "true"
    assert "f-year-error" in (
        await page.get_by_label("Year").get_attribute("aria-describedby") or ""
    )
    # The focus goes where the fix is.
    assert await page.get_by_label("Year").evaluate("el => el === document.activeElement")
    await shot(page, "admin-title-refused", settings.log_dir / "screenshots")
    await page.get_by_label("Year").fill("1953")
    await page.get_by_role("button", name="Create title").click()
    await page.get_by_text("Title created.").wait_for()
    title_id = int(page.url.split("/admin/titles/")[1].split("?")[0])
    assert await page.locator("#f-year-error").count() == 0

    # Renamed: the public page and search show the new name at once.
    new_name = f"The Hitch Hiker Restored {tag}"
    await page.get_by_label("Title", exact=True).fill(new_name)
    await page.get_by_label("Description").fill("Two fishermen pick up a killer.")
    await page.get_by_role("button", name="Save changes").click()
    await page.get_by_text("Saved.").wait_for()
    await page.get_by_role("link", name="Public page").click()
    await page.get_by_role("heading", name=new_name).wait_for()
    body = await page.locator("article").inner_text()
    assert f"Noir {tag}" in body and "Ida Lupino" in body and "PG-13" in body, body
    await page.goto(f"{site}/browse?q={tag}+restored")
    await page.locator(".card-title", has_text=new_name).wait_for()
    # The back office's own list finds it by search and by genre.
    await page.goto(f"{site}/admin/titles?genre={genre_slug}")
    await page.get_by_role("link", name=new_name).wait_for()
    await page.goto(f"{site}/admin/titles")
    await page.get_by_role("searchbox", name="Search", exact=True).fill(f"restored {tag}")
    await page.get_by_role("link", name=new_name).wait_for()
    assert f"q=restored+{tag}" in page.url, page.url

    # A series with a season and an episode.
    await page.goto(f"{site}/admin/titles/new")
    await page.get_by_label("Series").check()
    await page.get_by_label("Title", exact=True).fill(f"Dark {tag}")
    await page.get_by_role("button", name="Create title").click()
    await page.get_by_text("Title created.").wait_for()
    series_id = int(page.url.split("/admin/titles/")[1].split("?")[0])
    new_season = page.get_by_role("form", name="New season")
    await new_season.get_by_role("button", name="Add season").click()
    await page.get_by_text("Season added.").wait_for()
    new_episode = page.get_by_role("form", name="New episode of season 1")
    await new_episode.get_by_label("Title").fill("Secrets")
    await new_episode.get_by_label("Minutes").fill("51")
    await new_episode.get_by_role("button", name="Add episode").click()
    await page.get_by_text("Episode added.").wait_for()
    await page.get_by_role("form", name="Episode 1", exact=True).wait_for()

    # A second series, deleted again (the button asks once more).
    await page.goto(f"{site}/admin/titles/new")
    await page.get_by_label("Series").check()
    await page.get_by_label("Title", exact=True).fill(f"Gone {tag}")
    await page.get_by_role("button", name="Create title").click()
    await page.get_by_text("Title created.").wait_for()
    gone_id = int(page.url.split("/admin/titles/")[1].split("?")[0])
    await page.get_by_role("button", name="Delete this title").click()
    await page.get_by_role("button", name="Yes, delete").click()
    await page.wait_for_url(f"{site}/admin/titles")

    # A collection holding the film.
    await page.goto(f"{site}/admin/collections/new")
    await page.get_by_label("Name").fill(f"Noir nights {tag}")
    await page.get_by_label("Find a title to add").fill(f"restored {tag}")
    await page.get_by_role("button", name=f"Add {new_name}").click()
    await page.get_by_role("button", name="Create collection").click()
    await page.get_by_role("heading", name=f"Edit “Noir nights {tag}”").wait_for()
    assert await problems(page) == []

    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        series = (await http.get(f"/api/v1/titles/{series_id}")).json()
        assert [(s["number"], [e["title"] for e in s["episodes"]]) for s in series["seasons"]] == [
            (1, ["Secrets"])
        ]
        assert series["seasons"][0]["episodes"][0]["runtime_minutes"] == 51
        assert (await http.get(f"/api/v1/titles/{gone_id}")).status_code == 404
        coll = (await http.get(f"/api/v1/collections/noir-nights-{tag}")).json()
        assert [i["title"]["id"] for i in coll["items"]] == [title_id]

    # The pages pass the accessibility scan at both widths and fit a phone.
    paths = {
        "titles": ("/admin/titles", ".admin-table"),
        "title": (f"/admin/titles/{title_id}", ".credits-edit"),
        "series": (f"/admin/titles/{series_id}", ".season-edit"),
        "new-title": ("/admin/titles/new", "#f-title"),
        "people": ("/admin/people", ".admin-list"),
        "genres": ("/admin/genres", ".admin-list"),
        "collections": ("/admin/collections", ".admin-list"),
        "collection": (f"/admin/collections/noir-nights-{tag}", ".admin-list"),
    }
    found: dict[str, list[str]] = {}
    for width, height in ((1280, 800), (390, 844)):
        tokens = {
            "access_token": editor.access_token,
            "refresh_token": editor.refresh_token,
            "expires_in": 600,
        }
        scan = await new_page(browser, tokens, viewport={"width": width, "height": height})
        for name, (path, ready) in paths.items():
            await scan.goto(site + path)
            await scan.locator(ready).first.wait_for()
            bad = await axe_problems(scan, web_app)
            if bad:
                found[f"{name}@{width}"] = bad
            wide = await scan.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            if wide > 1:
                found[f"{name}@{width}"] = [*found.get(f"{name}@{width}", []), f"{wide}px too wide"]
        if width < 500:
            await scan.goto(f"{site}/admin/titles/{title_id}")
            await scan.locator(".credits-edit").wait_for()
            await shot(scan, "admin-title-phone", settings.log_dir / "screenshots")
        assert await problems(scan) == []
    assert not found, json.dumps(found, indent=1)


async def test_a_viewer_is_refused_by_the_api_and_the_pages(
    site: str, browser: Any, ctx: Context
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        viewer = await make_account(ctx, http)
        r = await http.post(
            "/api/v1/titles", json={"kind": "film", "title": "Nope"}, headers=viewer.headers
        )
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden", r.text
        r = await http.get("/api/v1/media/assets", headers=viewer.headers)
        assert r.status_code == 403, r.text
    page = await signed_in_page(browser, site, viewer)
    for path in ("/admin/titles", "/admin/titles/new", "/admin/media", "/admin/genres"):
        await page.goto(site + path)
        await page.get_by_text("The back office is for editors and admins.").wait_for()
        assert await page.locator("form.admin-form, .admin-table").count() == 0
    await until(page, "document.title.length > 0")
    assert await problems(page) == []


async def test_the_title_list_pages_and_a_changed_filter_starts_again(
    site: str, browser: Any, ctx: Context
) -> None:
    """The back office's lists page over the API's cursors (Previous / Next, the cursors kept
    by the page), and a filter changed on a later page shows the first page of its answer."""
    tag = uuid.uuid4().hex[:6]
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        editor = await make_account(ctx, http, role="editor")
        for n in range(21):  # more than a page (20)
            r = await http.post(
                "/api/v1/titles",
                json={"kind": "film", "title": f"Paged {tag} {n}"},
                headers=editor.headers,
            )
            assert r.status_code == 201, r.text
    page = await signed_in_page(browser, site, editor)
    await page.goto(f"{site}/admin/titles")
    rows = page.locator(".admin-table tbody tr")
    names = rows.locator("th")
    pager = page.get_by_role("navigation", name="Pages")
    await expect(rows).to_have_count(20)
    await expect(pager.get_by_text("Page 1", exact=True)).to_be_visible()
    await expect(pager.get_by_role("button", name="Previous page")).to_be_disabled()
    first = await names.all_inner_texts()

    await pager.get_by_role("button", name="Next page").click()
    await expect(pager.get_by_text("Page 2", exact=True)).to_be_visible()
    await expect(names.first).not_to_have_text(first[0])
    second = await names.all_inner_texts()
    assert second and not set(second) & set(first)
    await pager.get_by_role("button", name="Previous page").click()
    await expect(pager.get_by_text("Page 1", exact=True)).to_be_visible()
    await expect(names.first).to_have_text(first[0])

    # On page 2 again, a filter: its answer from the top.
    await pager.get_by_role("button", name="Next page").click()
    await expect(pager.get_by_text("Page 2", exact=True)).to_be_visible()
    await page.get_by_role("search", name="Titles").get_by_label("Kind").select_option("film")
    await expect(pager.get_by_text("Page 1", exact=True)).to_be_visible()
    await expect(pager.get_by_role("button", name="Previous page")).to_be_disabled()
    await expect(names.first).to_have_text(first[0])  # the newest film was the newest title
    assert await problems(page) == []
