"""Friends and notifications in the web app, live: two people on two server processes; a
friend request, its acceptance and a like on a comment reach the other's open page and bell
over the socket, without a reload; notification preferences are saved."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import login, make_account, make_title
from tests.web.conftest import expect, new_page, problems, shot

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_friend_request_and_a_liked_comment_arrive_live(
    web_app: Any,
    worker: Any,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    settings: Settings,
) -> None:
    shots = settings.log_dir / "screenshots"
    one, two = (s.url for s in two_servers)
    ann, bob = await make_account(ctx, client), await make_account(ctx, client)
    ann_page = await new_page(browser, await login(client, ann.user.email))
    bob_page = await new_page(browser, await login(client, bob.user.email))

    # Bob waits on his friends page (server two); Ann asks from his profile (server one).
    await bob_page.goto(two + "/friends")
    await bob_page.get_by_role("heading", name="Requests to you").wait_for()
    await expect(bob_page.locator("#incoming")).to_have_count(0)
    await ann_page.goto(f"{one}/users/{bob.user.id}")
    await ann_page.get_by_role("button", name="Add friend").click()
    await expect(ann_page.locator("#user-status")).to_have_text("Friend request sent.")

    # It reaches Bob's open page and his bell, live.
    incoming = bob_page.locator("#incoming li")
    await expect(incoming).to_have_count(1)
    await expect(incoming).to_contain_text(ann.user.username)
    await expect(bob_page.locator("#unread-count")).to_have_text("1")
    await shot(bob_page, "friends", shots)

    # Ann watches her friends page while Bob accepts: Bob appears there, online.
    await ann_page.goto(one + "/friends")
    await ann_page.get_by_role("heading", name="Your friends").wait_for()
    await incoming.get_by_role("button", name="Accept").click()
    friend = ann_page.locator("#friends li")
    await expect(friend).to_contain_text(bob.user.username)
    await expect(friend).to_contain_text("online")

    # Bob likes Ann's comment: Ann's bell counts it, live; her inbox lists it.
    title = await make_title(ctx)
    r = await client.post(
        f"/api/v1/titles/{title.id}/comments", json={"body": "Lovely."}, headers=ann.headers
    )
    assert r.status_code == 201, r.text
    before = await ann_page.locator("#unread-count").count()
    await bob_page.goto(f"{two}/titles/{title.id}")
    await bob_page.get_by_role("button", name="Like · 0").click()
    await expect(bob_page.get_by_role("button", name="Liked · 1")).to_be_visible()
    await expect(ann_page.locator("#unread-count")).to_have_text(str(before + 1), timeout=20_000)
    await ann_page.get_by_role("link", name="Notifications").click()
    await expect(ann_page.locator(".notes li").first).to_contain_text("liked")
    await shot(ann_page, "notifications", shots)

    # Her preferences: no email for likes; saved, and still so after a reload.
    box = ann_page.get_by_label("Likes on my comments: Email")
    await expect(box).to_be_checked()
    await box.uncheck()
    await expect(ann_page.locator("#prefs-status")).to_have_text("Saved.")
    await ann_page.reload()
    await expect(ann_page.get_by_label("Likes on my comments: Email")).not_to_be_checked()
    assert await problems(ann_page) == [] and await problems(bob_page) == []
