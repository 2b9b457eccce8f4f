"""Realtime hygiene in the web app, in Chromium: the server process under an open page stops
and starts again on the same port (the other process of the pair stays up and keeps taking
what people send); the page says it is offline meanwhile, comes back by itself, and what was
sent while it was away (notifications, a message) arrives once, nothing twice (sync:resume).
And the socket's token: refreshed before a reconnect when it is about to expire, and at once
when the server says it expired before the browser's clock did."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Account, make_account, make_title
from tests.notifications.helpers import eventually
from tests.web.conftest import RESTARTED_TTL_S, expect, new_page, problems, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

TTL_S = RESTARTED_TTL_S  # access tokens of the restarted server: refreshed every few seconds


async def _restart(server: LiveServer, while_down: Any = None) -> None:
    await asyncio.to_thread(server.stop)
    if while_down is not None:
        await while_down()
    server.restart()
    await asyncio.to_thread(server.wait_ready)


async def _refused(http: httpx.AsyncClient, page: Any) -> None:
    """Wait until the server refuses the access token the page holds as expired: past its
    life and the 5 s of clock leeway the server allows (not before, whatever the page's
    clock says)."""
    kept = await page.evaluate("JSON.parse(localStorage.getItem('cinema.tokens')).access")

    async def expired() -> bool:
        r = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {kept}"})
        if r.status_code == 200:
            return False
        assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired", r.text
        return True

    await eventually(expired, timeout=TTL_S + 30, every=0.25)


async def _friends(http: httpx.AsyncClient, a: Account, b: Account) -> None:
    r = await http.post("/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers)
    assert r.status_code == 201, r.text
    r = await http.post(f"/api/v1/friends/requests/{r.json()['id']}/accept", headers=b.headers)
    assert r.status_code == 200, r.text


async def _send(http: httpx.AsyncClient, sender: Account, to: Account, text: str) -> None:
    r = await http.post(
        "/api/v1/messages",
        json={"to_user_id": str(to.id), "client_msg_id": uuid.uuid4().hex, "text": text},
        headers=sender.headers,
    )
    assert r.status_code == 201, r.text


async def test_a_restart_under_an_open_page_loses_nothing_and_repeats_nothing(
    restarted: LiveServer,
    live_server: LiveServer,
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    worker: Any,
) -> None:
    me, ann, bob = [await make_account(ctx, client) for _ in range(3)]
    title = await make_title(ctx, year=2001)
    site, other = restarted.url, live_server.url
    async with httpx.AsyncClient(base_url=other, timeout=30) as http:
        await _friends(http, me, ann)
        r = await http.post(
            f"/api/v1/titles/{title.id}/comments", json={"body": "Loved it."}, headers=me.headers
        )
        assert r.status_code == 201, r.text
        comment_id = r.json()["id"]

        # Two tabs on the restarted server: the inbox and the conversation with Ann.
        inbox = await signed_in_page(browser, site, me)
        await inbox.goto(site + "/notifications")
        chat = await inbox.context.new_page()
        await chat.goto(f"{site}/messages/{ann.id}")
        await chat.get_by_role("heading", name=ann.user.username).wait_for()
        await inbox.get_by_role("heading", name="Notifications", exact=True).wait_for()
        await _send(http, ann, me, "Before the restart")
        before = chat.locator(".messages li").filter(has_text="Before the restart")
        await before.wait_for()
        unread_before = int(
            (await client.get("/api/v1/notifications/unread-count", headers=me.headers)).json()[
                "unread"
            ]
        )

        async def while_down() -> None:
            for page in (inbox, chat):
                await page.locator(".offline").wait_for()  # said plainly, on every tab
            # Sent meanwhile through the other process: a message and two notifications.
            await _send(http, ann, me, "While you were away")
            r = await http.put(f"/api/v1/comments/{comment_id}/like", headers=ann.headers)
            assert r.status_code == 200, r.text
            r = await http.post(
                "/api/v1/friends/requests", json={"user_id": str(me.id)}, headers=bob.headers
            )
            assert r.status_code == 201, r.text

        await _restart(restarted, while_down)

        # Back by itself: the banner goes, and each missed thing is there once.
        for page in (inbox, chat):
            await expect(page.locator(".offline")).to_have_count(0, timeout=60_000)
        missed = chat.locator(".messages li").filter(has_text="While you were away")
        await missed.wait_for()
        await expect(missed).to_have_count(1)
        await expect(before).to_have_count(1)
        for text in (f"{ann.user.username} liked", f"{bob.user.username} sent you"):
            await expect(inbox.locator(".notes li").filter(has_text=text)).to_have_count(1)
        notes = await inbox.locator(".notes li").all_inner_texts()
        assert len(notes) == len(set(notes)), notes  # each once
        # The bell counts what arrived while away too (the server's count, whatever else
        # came: a "sent you a message" for the message while away, say).

        async def bell_agrees() -> bool:
            r = await client.get("/api/v1/notifications/unread-count", headers=me.headers)
            unread = int(r.json()["unread"])
            shown = await inbox.locator("#unread-count").all_inner_texts()
            return unread >= unread_before + 2 and shown == [str(unread)]

        await eventually(bell_agrees, timeout=30)

        # And live again: the next message arrives without a reload, once.
        await _send(http, ann, me, "After the restart")
        after = chat.locator(".messages li").filter(has_text="After the restart")
        await after.wait_for()
        await asyncio.sleep(1)
        await expect(after).to_have_count(1)
        await expect(chat.locator(".messages li")).to_have_count(3)
    assert await problems(inbox) == [] and await problems(chat) == []


async def test_the_socket_token_is_refreshed_before_expiry_and_on_token_expired(
    restarted: LiveServer, live_server: LiveServer, browser: Any, ctx: Context
) -> None:
    site = restarted.url
    async with httpx.AsyncClient(base_url=live_server.url, timeout=30) as http:
        me, ann = await make_account(ctx, http), await make_account(ctx, http)
        await _friends(http, me, ann)

        page = await new_page(browser)
        await page.clock.install()  # the browser's clock, set back later (time still flows)
        refreshes: list[str] = []
        refused: list[str] = []  # HTTP answers 401
        expired: list[str] = []  # socket connects refused with token_expired

        def on_request(r: Any) -> None:
            if r.url.endswith("/auth/refresh"):
                refreshes.append(r.method)

        def on_response(r: Any) -> None:
            if r.status == 401:
                refused.append(r.url)

        def watch(ws: Any) -> None:
            def frame(payload: Any) -> None:
                if "token_expired" in str(payload):
                    expired.append(str(payload))

            ws.on("framereceived", frame)

        page.on("request", on_request)
        page.on("response", on_response)
        page.on("websocket", watch)
        # Signed in on the restarted server: its access tokens live TTL_S seconds.
        await page.goto(site + f"/signin?next=/messages/{ann.id}")
        await page.get_by_label("Email or username").fill(me.user.email)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name=ann.user.username).wait_for()
        kept = await page.evaluate("JSON.parse(localStorage.getItem('cinema.tokens'))")
        assert kept["expiresAt"] - time.time() * 1000 <= TTL_S * 1000

        # 1. Past the token's life, the server restarts: the reconnect refreshes first.
        await _refused(http, page)
        seen = len(refreshes)
        await _restart(restarted)
        await expect(page.locator(".offline")).to_have_count(0, timeout=60_000)
        await _send(http, ann, me, "Fresh token")
        await page.locator(".messages li").filter(has_text="Fresh token").wait_for()
        assert len(refreshes) > seen
        assert expired == []  # never offered an expired token

        # 2. The browser's clock jumps back a minute (set by hand, a resync...): the page now
        # believes its token has a minute left when the server calls it expired.
        await page.clock.set_system_time(time.time() - 60)
        await _refused(http, page)
        seen = len(refreshes)
        await _restart(restarted)
        # Back within the socket's own retry delays, not once the browser's clock agrees.
        await expect(page.locator(".offline")).to_have_count(0, timeout=30_000)
        assert expired, "the reconnect offered the expired token first"
        assert len(refreshes) > seen
        await _send(http, ann, me, "After token_expired")
        await page.locator(".messages li").filter(has_text="After token_expired").wait_for()

        # 3. The same over HTTP (the clock set back once more): a request answered
        # token_expired is refreshed and sent again once, and the person stays signed in.
        await page.clock.set_system_time(time.time() - 120)
        seen, refused_before = len(refreshes), len(refused)
        await _refused(http, page)
        await page.get_by_role("link", name="Friends").click()
        await page.get_by_role("heading", name="Your friends").wait_for()
        await expect(page.locator("#friends li").filter(has_text=ann.user.username)).to_have_count(
            1
        )
        # The first request with the expired token was refused, then refreshed and answered.
        first = refused[refused_before]
        assert "/api/v1/" in first and not first.endswith("/auth/refresh"), first
        assert len(refreshes) > seen
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    assert await problems(page) == []
