"""The moderation and account sections of the back office and reporting in the viewer's app,
in Chromium against two real server processes: a viewer reports a comment, an editor finds
it in the queue and hides it, and the viewer's title page no longer shows it; messages and
people are reported and a hidden message leaves the viewer's open conversation at once; an
admin suspends a user whose open page (on the other process) is signed out at once, changes
a role, and the audit log shows both; the pages pass the accessibility scan at a desktop and
a phone width."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, make_account, make_title
from tests.social.helpers import befriend, send_dm
from tests.web.conftest import axe_problems, expect, new_page, problems, shot, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


def accept_dialogs(page: Any) -> None:
    """Say yes to the page's confirm() questions (suspending asks first)."""
    page.on("dialog", lambda dialog: dialog.accept())


@dataclass
class Cast:
    """Who a moderation test needs: someone who reports, someone reported, a moderator, and a
    title to comment on."""

    viewer: Account
    author: Account
    moderator: Account
    title_id: int

    async def comment(self, http: httpx.AsyncClient, body: str) -> int:
        """The author's comment on the title; its id."""
        r = await http.post(
            f"/api/v1/titles/{self.title_id}/comments",
            json={"body": body},
            headers=self.author.headers,
        )
        assert r.status_code == 201, r.text
        comment_id: int = r.json()["id"]
        return comment_id

    async def reported(
        self, http: httpx.AsyncClient, body: str, reason: str = "spam", note: str | None = None
    ) -> int:
        """A comment of the author's that the viewer reported (through the API); its id."""
        comment_id = await self.comment(http, body)
        report: dict[str, Any] = {"kind": "comment", "target_id": str(comment_id), "reason": reason}
        if note is not None:
            report["note"] = note
        r = await http.post("/api/v1/reports", json=report, headers=self.viewer.headers)
        assert r.status_code == 201, r.text
        return comment_id

    async def queue(self, browser: Any, site: str) -> Any:
        """The moderator's page on the open reports."""
        page = await signed_in_page(browser, site, self.moderator)
        await page.goto(f"{site}/admin/moderation")
        return page


async def _cast(ctx: Context, http: httpx.AsyncClient, moderator: str = "editor") -> Cast:
    return Cast(
        viewer=await make_account(ctx, http),
        author=await make_account(ctx, http),
        moderator=await make_account(ctx, http, role=moderator),
        title_id=(await make_title(ctx)).id,
    )


async def test_a_reported_comment_is_hidden_from_the_queue(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    settings: Settings,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        cast = await _cast(ctx, http)
        comment_id = await cast.comment(http, "You are all idiots")
        kept_id = await cast.comment(http, "Lovely music")
    viewer, author, title_id = cast.viewer, cast.author, cast.title_id

    page = await signed_in_page(browser, one, viewer)
    await page.goto(f"{one}/titles/{title_id}")
    comment = page.locator(f"#comment-{comment_id}")
    await comment.get_by_text("You are all idiots").wait_for()
    await comment.get_by_role(
        "button", name=f"Report the comment by {author.user.username}"
    ).click()
    await comment.get_by_label("Reason").select_option("harassment")
    await comment.get_by_label("Note for the moderators").fill("Insults everyone")
    await comment.get_by_role("button", name="Send report").click()
    await comment.get_by_text("Report sent").wait_for()

    mod = await cast.queue(browser, two)
    item = mod.locator(".queue-item").filter(has_text="You are all idiots")
    await item.get_by_text("Harassment or bullying").wait_for()
    await expect(item).to_contain_text("Insults everyone")
    await expect(item).to_contain_text(f"Reported by @{viewer.user.username}")
    await expect(item.get_by_role("link", name="the title's page")).to_have_attribute(
        "href", f"/titles/{title_id}#comment-{comment_id}"
    )
    await item.get_by_label("Reason").fill("insults")
    await item.get_by_role("button", name="Hide comment").click()
    await item.get_by_text(
        "Hidden: the comment no longer shows. 1 open report on it closed."
    ).wait_for()
    await expect(item.locator(".badge-state")).to_have_text("resolved")
    await expect(item.get_by_text("Hidden by a moderator")).to_be_visible()
    await expect(item.get_by_role("button", name="Restore comment")).to_be_visible()
    await shot(mod, "moderation-queue", settings.log_dir / "screenshots")

    # The open queue no longer holds it; the resolved reports do.
    await mod.get_by_role("button", name="Refresh").click()
    await mod.locator(".loading").wait_for(state="detached")
    await expect(mod.locator(".queue-item").filter(has_text="You are all idiots")).to_have_count(0)
    await mod.get_by_label("Status").select_option("resolved")
    await mod.locator(".queue-item").filter(has_text="You are all idiots").wait_for()

    # The viewer's title page: the words are gone, the place says why.
    await page.reload()
    await page.locator(f"#comment-{kept_id}").get_by_text("Lovely music").wait_for()
    hidden = page.locator(f"#comment-{comment_id}")
    await expect(hidden).to_contain_text("Hidden by a moderator")
    await expect(hidden).not_to_contain_text("You are all idiots")
    assert await problems(page) == [] and await problems(mod) == []


async def test_messages_and_people_are_reported_and_a_hidden_message_leaves_at_once(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        cast = await _cast(ctx, http)
        viewer, sender = cast.viewer, cast.author
        await befriend(http, viewer, sender)
        r = await send_dm(http, sender, viewer, text="Send me your password")
        assert r.status_code == 201, r.text
        r = await send_dm(http, sender, viewer, text="See you at the film")
        assert r.status_code == 201, r.text
    name = sender.user.username

    page = await signed_in_page(browser, one, viewer)
    await page.goto(f"{one}/users/{sender.id}")
    await page.get_by_role("button", name=f"Report {name}").click()
    await page.get_by_label("Reason").select_option("spam")
    await page.get_by_role("button", name="Send report").click()
    await page.get_by_text("Report sent").wait_for()

    await page.goto(f"{one}/messages/{sender.id}")
    bad = page.locator(".messages li").filter(has_text="Send me your password")
    await bad.get_by_role("button", name=f"Report the message from {name}").click()
    await bad.get_by_label("Reason").select_option("illegal")
    await bad.get_by_role("button", name="Send report").click()
    await bad.get_by_text("Report sent").wait_for()
    # My own messages have nothing to report.
    await expect(
        page.locator(".messages li.me").get_by_role("button", name="Report")
    ).to_have_count(0)

    mod = await cast.queue(browser, two)
    await mod.get_by_label("About").select_option("user")
    account = mod.locator(".queue-item").filter(
        has=mod.get_by_role("heading", name=f"Account @{name}")
    )
    await account.get_by_text("Spam or advertising").wait_for()
    await expect(account.get_by_role("link", name="Open the profile")).to_have_attribute(
        "href", f"/users/{sender.id}"
    )
    await expect(account.get_by_role("button", name="Suspend account")).to_be_visible()
    await account.get_by_role("button", name="Dismiss report").click()
    await account.get_by_text("Report dismissed").wait_for()

    await mod.get_by_label("About").select_option("message")
    item = mod.locator(".queue-item").filter(has_text="Send me your password")
    await item.get_by_text("privately to the reporter").wait_for()
    await item.get_by_role("button", name="Hide message").click()
    await item.get_by_text("Hidden: the message no longer shows").wait_for()

    # The viewer's open conversation drops it live (dm:moderated), the other stays.
    await expect(bad).to_have_count(0, timeout=10_000)
    await expect(page.locator(".messages li").filter(has_text="See you at the film")).to_have_count(
        1
    )
    assert await problems(page) == [] and await problems(mod) == []


async def test_an_admin_suspends_a_user_whose_open_page_is_signed_out(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    settings: Settings,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        target = await make_account(ctx, http)
        newcomer = await make_account(ctx, http)
        admin = await make_account(ctx, http, role="admin")

    # The user's page, on the other process, with its socket open.
    victim = await new_page(
        browser,
        {
            "access_token": target.access_token,
            "refresh_token": target.refresh_token,
            "expires_in": 600,
        },
    )
    frames: list[str] = []
    victim.on("websocket", lambda ws: ws.on("framereceived", lambda p: frames.append(str(p))))
    await victim.goto(f"{two}/friends")
    await victim.get_by_role("link", name="Notifications").wait_for()
    deadline = asyncio.get_running_loop().time() + 20
    while not any(f.startswith("40") for f in frames):  # Socket.IO's "connected"
        assert asyncio.get_running_loop().time() < deadline, frames
        await asyncio.sleep(0.1)

    page = await signed_in_page(browser, one, admin)
    accept_dialogs(page)
    await page.goto(f"{one}/admin/users")
    search = page.get_by_role("search", name="Find accounts")
    await search.get_by_label("Name starts with").fill(target.user.username)
    await search.get_by_role("button", name="Find").click()
    entry = page.locator(".accounts > li").filter(has_text=f"@{target.user.username}")
    await expect(page.locator(".accounts > li")).to_have_count(1)
    await entry.get_by_label("Reason").fill("spam everywhere")
    await entry.get_by_role("button", name="Suspend").click()
    await entry.get_by_text("is suspended: signed out everywhere (1 session ended)").wait_for()
    await expect(entry.get_by_text("Suspended", exact=True)).to_be_visible()

    # The suspended user's open page is told and signed out, with no reload.
    await (
        victim.get_by_role("alert")
        .filter(has_text="You have been signed out")
        .wait_for(timeout=10_000)
    )
    await victim.get_by_role("heading", name="Sign in to continue").wait_for()
    await expect(victim.get_by_role("link", name="Sign in", exact=True).first).to_be_visible()
    await shot(victim, "suspended-signed-out", settings.log_dir / "screenshots")

    # A role change, then the audit log shows both.
    await search.get_by_label("Name starts with").fill(newcomer.user.username)
    await search.get_by_role("button", name="Find").click()
    entry = page.locator(".accounts > li").filter(has_text=f"@{newcomer.user.username}")
    await expect(page.locator(".accounts > li")).to_have_count(1)
    await entry.get_by_label("Role").select_option("editor")
    await entry.get_by_label("Reason").fill("joins the team")
    await entry.get_by_role("button", name="Change role").click()
    await entry.get_by_text("is now an editor").wait_for()
    await expect(entry.locator(".badge-state").first).to_have_text("editor")

    await (
        page.get_by_role("navigation", name="Back office")
        .get_by_role("link", name="Audit log")
        .click()
    )
    log = page.get_by_role("list", name="Audit log entries")
    role_line = log.locator("li").filter(has_text="set_role:editor")
    await expect(role_line).to_contain_text(f"user {newcomer.id}")
    await expect(role_line).to_contain_text("Reason: joins the team")
    suspend_line = log.locator("li").filter(has_text="suspend_user")
    await expect(suspend_line.filter(has_text=str(target.id))).to_contain_text(
        "Reason: spam everywhere"
    )
    # Filters: what this admin did to the suspended account, from the address.
    await page.get_by_label("Its id").fill(str(target.id))
    await page.get_by_role("button", name="Filter").click()
    await expect(log.locator("li")).to_have_count(1)
    await expect(log.locator("li")).to_contain_text("suspend_user")
    assert f"target_id={target.id}" in page.url
    await log.get_by_role("button", name=f"@{admin.user.username}").click()
    await page.get_by_text("Only what").wait_for()
    assert f"actor_id={admin.id}" in page.url
    await page.get_by_role("button", name="Clear filters").click()
    await expect(log.locator("li").filter(has_text="set_role:editor")).to_have_count(1)
    assert await problems(page) == []

    # An editor may not open the admins' sections.
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        editor = await make_account(ctx, http, role="editor")
    ed = await signed_in_page(browser, one, editor)
    await ed.goto(f"{one}/admin/users")
    await ed.get_by_text("This section is for admins.").wait_for()


async def test_the_back_office_pages_have_no_serious_violation(
    web_app: Path,
    site: str,
    browser: Any,
    ctx: Context,
    settings: Settings,
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        cast = await _cast(ctx, http, moderator="admin")
        await cast.reported(http, "Rude words", reason="hate", note="x")
        viewer, author, admin = cast.viewer, cast.author, cast.moderator
        r = await http.put(
            f"/api/v1/users/{author.id}/role",
            json={"role": "editor", "reason": "a test"},
            headers=admin.headers,
        )
        assert r.status_code == 200, r.text
    pages = {
        "moderation": ("/admin/moderation", ".queue-item"),
        "users": ("/admin/users", ".accounts > li"),
        "audit": ("/admin/audit", ".audit > li"),
    }
    found: dict[str, list[str]] = {}
    for width, height in ((1280, 800), (390, 844)):
        page = await signed_in_page(browser, site, admin)
        await page.set_viewport_size({"width": width, "height": height})
        for name, (path, ready) in pages.items():
            await page.goto(site + path)
            await page.locator(ready).first.wait_for()
            if bad := await axe_problems(page, web_app):
                found[f"{name}@{width}"] = bad
            if width < 500:
                # Nothing wider than the phone: no sideways scrolling.
                assert await page.evaluate(
                    "document.documentElement.scrollWidth <= window.innerWidth"
                ), name
                await shot(page, f"admin-{name}-phone", settings.log_dir / "screenshots")
        # The viewer's report form, open.
        reader = await signed_in_page(browser, site, viewer)
        await reader.set_viewport_size({"width": width, "height": height})
        await reader.goto(f"{site}/titles/{cast.title_id}")
        await reader.get_by_role(
            "button", name=f"Report the comment by {author.user.username}"
        ).click()
        await reader.get_by_role("button", name="Send report").wait_for()
        if bad := await axe_problems(reader, web_app):
            found[f"report-form@{width}"] = bad
        assert await problems(page) == [] and await problems(reader) == []
    assert not found, json.dumps(found, indent=1)


async def test_the_queue_pages_oldest_first(
    web_app: Path, site: str, browser: Any, ctx: Context
) -> None:
    async with httpx.AsyncClient(base_url=site, timeout=30) as http:
        cast = await _cast(ctx, http)
        for n in range(22):  # more than a page (20)
            await cast.reported(http, f"Paged comment {n}")
    page = await cast.queue(browser, site)
    items = page.locator(".queue-item")
    await items.first.wait_for()
    await expect(items).to_have_count(20)
    last = page.locator(".queue-item").filter(has_text="Paged comment 21")
    while not await last.count():
        before = await items.count()
        await page.get_by_role("button", name="More reports").click()
        await expect(items).not_to_have_count(before)
    ids = [
        int(i.removeprefix("report-"))
        for i in await page.locator(".queue-item h2").evaluate_all("hs => hs.map((h) => h.id)")
    ]
    assert ids == sorted(set(ids))  # oldest first, each once
    await expect(page.get_by_role("button", name="More reports")).to_have_count(0)
    assert await problems(page) == []
