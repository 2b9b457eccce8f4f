"""The Socket.IO event catalogue in the web app (/docs/events), read from the server's
/asyncapi.json: reached from /docs and from the app's footer, every event the registry
declares is there with its payload and ack, and it passes the accessibility scan."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.web.conftest import axe_problems, expect, new_page, problems

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_the_event_catalogue_lists_every_event_with_its_fields(
    site: str, browser: Any, web_app: Path
) -> None:
    async with httpx.AsyncClient(base_url=site) as http:
        doc = (await http.get("/asyncapi.json")).json()
    actions = [op["action"] for op in doc["operations"].values()]
    page = await new_page(browser)

    # From the HTTP API's docs page, one link away.
    await page.goto(site + "/docs")
    await page.get_by_role("link", name="the Socket.IO events").click()
    await page.wait_for_url(site + "/docs/events")
    await page.get_by_role("heading", name="Socket.IO events").wait_for()
    sent, received = page.locator("#from-client"), page.locator("#from-server")
    await expect(sent).to_have_text(f"A client sends ({actions.count('receive')})")
    await expect(received).to_have_text(f"The server sends ({actions.count('send')})")
    assert await page.locator("article.event").count() == len(actions)

    # A client event: its payload's fields (required or not, with bounds) and its ack data.
    send = page.locator("#event-dm-send")
    payload = send.locator("table.fields").first
    await expect(payload.locator("tr", has_text="client_msg_id")).to_contain_text(
        "1 to 64 characters"
    )
    await expect(payload.locator("tr", has_text="reply_to_id")).to_contain_text("(optional)")
    await expect(send.locator("table.fields").nth(1)).to_contain_text("conversation_id")
    # A server event has no ack.
    await expect(page.locator("#event-notification h4")).to_have_text(["Payload"])

    # Finding one by name.
    await page.get_by_label("Find an event").fill("party:")
    names = await page.locator("article.event h3").all_inner_texts()
    assert names and all(n.startswith("party:") for n in names), names

    assert await axe_problems(page, web_app) == []

    # And from the app itself: its footer.
    await page.goto(site + "/")
    await page.get_by_role("contentinfo").get_by_role("link", name="the Socket.IO events").click()
    await page.wait_for_url(site + "/docs/events")
    await page.locator("article.event").first.wait_for()
    assert await problems(page) == []
