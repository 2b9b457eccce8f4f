"""Friends and messages in the web app, two people on two server processes: a message one
sends appears live in the other's open conversation (no reload), and the other's typing and
reading show on the sender's side."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.web.conftest import expect, problems, shot, signed_in_page

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_a_message_arrives_live_across_processes(
    web_app: Any,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    settings: Any,
) -> None:
    one, two = (s.url for s in two_servers)
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        ann = await make_account(ctx, http)
        bob = await make_account(ctx, http)
        r = await http.post(
            "/api/v1/friends/requests", json={"user_id": str(bob.id)}, headers=ann.headers
        )
        assert r.status_code in (200, 201), r.text
        r = await http.post(
            f"/api/v1/friends/requests/{r.json()['id']}/accept", headers=bob.headers
        )
        assert r.status_code == 200, r.text

    a = await signed_in_page(browser, one, ann)
    b = await signed_in_page(browser, two, bob)
    await a.goto(f"{one}/messages/{bob.id}")
    await b.goto(f"{two}/messages/{ann.id}")
    await a.get_by_role("heading", name=bob.user.username).wait_for()
    await b.get_by_role("heading", name=ann.user.username).wait_for()

    await a.get_by_label("Message", exact=True).fill("Popcorn at eight?")
    await b.get_by_text(f"{ann.user.username} is typing…").wait_for()
    await a.get_by_role("button", name="Send").click()
    # Bob's open conversation shows it live, once; Ann sees it was read.
    await b.locator(".messages li.them").filter(has_text="Popcorn at eight?").wait_for()
    await expect(b.locator(".messages li")).to_have_count(1)
    await a.locator(".messages li.me .seen").wait_for()
    await b.get_by_label("Message", exact=True).fill("Sure")
    await b.get_by_role("button", name="Send").click()
    await a.locator(".messages li.them").filter(has_text="Sure").wait_for()
    await shot(b, "messages", settings.log_dir / "screenshots")
    assert await problems(a) == [] and await problems(b) == []
