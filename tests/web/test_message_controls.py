"""What one does to a message in the web app, two people in two browsers on two server
processes: Ann edits (inline, Enter saves, Esc cancels, shown "edited"), deletes for everyone
(after saying so: a "Message deleted" tombstone), replies with a quote (which takes you back
to the original) and reacts (counts, who, one's own taken back) - and Bob's open page follows
each at once. Then Bob's server process stops under his open page: what Ann changes meanwhile
reaches him in order once it is back (sync:resume of the "dm" stream; the party's rejoin from
its chat cursor). The same controls in a watch party's chat, where the host may delete anyone's
message. Keyboard only where a remote would be, axe on the pages as they end up, and no
horizontal overflow on a phone or a TV."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cinema.ports import free_port
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, make_account
from tests.social.helpers import befriend
from tests.web.conftest import axe_problems, expect, problems, shot, signed_in_page, until
from tests.web.test_layout import OVERFLOW

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def pair(settings: Settings, web_app: Any) -> Iterator[tuple[LiveServer, LiveServer]]:
    """Two server processes of this module's own: Ann's, which stays up, and Bob's, which the
    tests stop and start again under his open page. A party member away longer than the
    grace period leaves the party; a restart on a busy machine may take longer than the
    default 30 s, so these parties allow two minutes."""
    servers = [LiveServer(settings, free_port(), {"PARTY_GRACE_S": "120"}) for _ in range(2)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers[0], servers[1]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
def both_up(pair: tuple[LiveServer, LiveServer]) -> tuple[LiveServer, LiveServer]:
    """The pair with both processes running: a test that failed while Bob's was stopped
    does not leave the next one a refused connection."""
    for server in pair:
        if server.proc.poll() is not None:
            server.restart()
            server.wait_ready()
    return pair


async def _stop(server: LiveServer, page: Any) -> None:
    await asyncio.to_thread(server.stop)
    await page.locator(".offline").wait_for()


async def _start(server: LiveServer, page: Any) -> None:
    server.restart()
    await asyncio.to_thread(server.wait_ready)
    await expect(page.locator(".offline")).to_have_count(0, timeout=60_000)


async def _fits(page: Any, width: int, height: int) -> None:
    await page.set_viewport_size({"width": width, "height": height})
    found = await page.evaluate(OVERFLOW)
    assert found["scroll"] <= found["width"] and not found["out"], (width, found)


async def _save(message: Any, text: str) -> None:
    """Types `text` into the message's open inline editor and saves it with Enter."""
    await message.get_by_label("Edit the text").fill(text)
    await message.get_by_label("Edit the text").press("Enter")


async def _edit(message: Any, text: str) -> None:
    await message.get_by_role("button", name="Edit your message").click()
    await _save(message, text)


async def _delete(page: Any, message_id: str, button: str) -> None:
    """Deletes the message for everyone, confirming the question."""
    await page.locator(f"#{message_id}").get_by_role("button", name=button).click()
    await page.locator(f"#{message_id}").get_by_role("button", name="Delete for everyone").click()


def _name(account: Account) -> str:
    return account.user.display_name or account.user.username


async def test_edit_delete_reply_react_live_and_after_an_offline_gap(
    web_app: Path,
    both_up: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    settings: Settings,
) -> None:
    one, two = (s.url for s in both_up)
    bobs_server = both_up[1]
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        ann = await make_account(ctx, http)
        bob = await make_account(ctx, http)
        await befriend(http, ann, bob)
    a = await signed_in_page(browser, one, ann)
    b = await signed_in_page(browser, two, bob)
    await a.goto(f"{one}/messages/{bob.id}")
    await b.goto(f"{two}/messages/{ann.id}")
    await a.get_by_role("heading", name=_name(bob)).wait_for()
    await b.get_by_role("heading", name=_name(ann)).wait_for()

    async def say(page: Any, text: str) -> str:
        """Send a message from the page; its element id (the same on both sides)."""
        await page.get_by_label("Message", exact=True).fill(text)
        await page.get_by_label("Message", exact=True).press("Enter")
        sent = page.locator(".messages li.me .text").filter(has_text=text)
        return str(await sent.locator("xpath=..").get_attribute("id"))

    popcorn = await say(a, "Popcorn at eight?")
    bucket = await say(b, "Sure, the big bucket")
    await a.locator(f"#{bucket}").wait_for()
    await b.locator(f"#{popcorn}").wait_for()
    mine, theirs = a.locator(f"#{popcorn}"), b.locator(f"#{popcorn}")

    # Edit inline: Esc cancels (nothing changes anywhere), Enter saves; both show "edited".
    await mine.get_by_role("button", name="Edit your message").click()
    editor = mine.get_by_label("Edit the text")
    await expect(editor).to_be_focused()
    await editor.fill("Popcorn at ten?")
    await editor.press("Escape")
    await expect(editor).to_have_count(0)
    await expect(mine.locator(".text")).to_have_text("Popcorn at eight?")
    await expect(mine.locator(".edited")).to_have_count(0)
    # Focus is back on Edit; Enter opens it again (the keyboard's way in).
    await expect(mine.get_by_role("button", name="Edit your message")).to_be_focused()
    await a.keyboard.press("Enter")
    await _save(mine, "Popcorn at nine?")
    await expect(mine.locator(".text")).to_have_text("Popcorn at nine?")
    await expect(mine.locator(".edited")).to_have_text("edited")
    await expect(theirs.locator(".text")).to_have_text("Popcorn at nine?")
    await expect(theirs.locator(".edited")).to_have_text("edited")

    # React: Ann puts 👍 on Bob's message by keyboard (React, then along the row by arrows).
    bucket_a, bucket_b = a.locator(f"#{bucket}"), b.locator(f"#{bucket}")
    await bucket_a.get_by_role("button", name="React to").focus()
    await a.keyboard.press("Enter")
    await expect(bucket_a.get_by_role("button", name="React with 👍")).to_be_focused()
    await a.keyboard.press("ArrowRight")
    await a.keyboard.press("ArrowLeft")
    await a.keyboard.press("Enter")
    chip_b = bucket_b.locator(".reaction-chip")
    await expect(chip_b).to_have_attribute("aria-label", f"👍 1: {_name(ann)}")
    await expect(chip_b).to_have_attribute("aria-pressed", "false")
    await expect(chip_b).to_have_attribute("title", _name(ann))
    # Bob adds his by tapping the chip: two, and who; Ann takes hers back.
    await chip_b.click()
    chip_a = bucket_a.locator(".reaction-chip")
    await expect(chip_a).to_have_attribute("aria-label", f"👍 2: You and {_name(bob)}")
    await expect(chip_a).to_have_attribute("aria-pressed", "true")
    await expect(chip_b).to_have_attribute("aria-pressed", "true")
    await chip_a.click()
    await expect(chip_b).to_have_attribute("aria-label", "👍 1: You")
    await expect(chip_a).to_have_attribute("aria-label", f"👍 1: {_name(bob)}")
    await expect(chip_a).to_have_attribute("aria-pressed", "false")

    # Reply: the quote goes with it; on Bob's side it takes him to the original.
    await bucket_a.get_by_role("button", name="Reply to").click()
    await expect(a.locator(".replying")).to_contain_text("Sure, the big bucket")
    await expect(a.get_by_label("Message", exact=True)).to_be_focused()
    napkins = await say(a, "Deal, I'll bring napkins")
    await expect(a.locator(".replying")).to_have_count(0)
    quote = b.locator(f"#{napkins} button.quote")
    await expect(quote).to_contain_text("Sure, the big bucket")
    await quote.click()
    await until(b, f"document.activeElement.id === {bucket!r}", timeout=10)

    # Delete for everyone: asked first (Esc or "Keep it" keeps it), then a tombstone on both.
    gone = a.locator(f"#{napkins}")
    await gone.get_by_role("button", name="Delete your message").click()
    await expect(gone.get_by_role("button", name="Keep it")).to_be_focused()
    await expect(gone.get_by_role("group")).to_contain_text("Delete for everyone?")
    await a.keyboard.press("Escape")
    await expect(gone.get_by_role("button", name="Delete your message")).to_be_focused()
    await expect(gone.locator(".text")).to_have_text("Deal, I'll bring napkins")
    await gone.get_by_role("button", name="Delete your message").click()
    await gone.get_by_role("button", name="Delete for everyone").click()
    await expect(gone.locator(".tombstone")).to_have_text("Message deleted")
    await expect(b.locator(f"#{napkins} .tombstone")).to_have_text("Message deleted")
    await expect(b.locator(f"#{napkins} button.quote")).to_have_count(0)
    # Nothing left of it to report either.
    await expect(b.locator(f"#{napkins}").get_by_role("button", name="Report")).to_have_count(0)
    assert await axe_problems(a, web_app) == [] and await axe_problems(b, web_app) == []
    await shot(b, "message-controls", settings.log_dir / "screenshots")

    # Bob's process stops under his open page; meanwhile Ann (on the other one) changes things
    # in an order that only comes out right if it is applied in order.
    await _stop(bobs_server, b)
    await a.get_by_label("Message", exact=True).press("ArrowUp")  # edits my last message...
    await expect(a.locator(f"#{popcorn}").get_by_label("Edit the text")).to_be_focused()
    await _save(mine, "Popcorn at half past nine?")
    await expect(mine.locator(".text")).to_have_text("Popcorn at half past nine?")
    await bucket_a.get_by_role("button", name="React to").click()
    await bucket_a.get_by_role("button", name="React with 🔥").click()
    await bucket_a.locator(".reaction-chip").filter(has_text="🔥").wait_for()
    await mine.get_by_role("button", name="Reply to").click()
    whatever = await say(a, "Or ten, whatever")
    typo = await say(a, "Typo, ignore")
    await _edit(mine, "Popcorn at ten?")
    await expect(mine.locator(".text")).to_have_text("Popcorn at ten?")
    await _delete(a, typo, "Delete your message")
    await a.locator(f"#{typo} .tombstone").wait_for()
    await _start(bobs_server, b)

    # Back: each change once, as it ended up.
    await expect(theirs.locator(".text")).to_have_text("Popcorn at ten?")
    await expect(theirs.locator(".edited")).to_have_count(1)
    await expect(bucket_b.locator(".reaction-chip")).to_have_count(2)
    fire = bucket_b.locator(".reaction-chip").filter(has_text="🔥")
    await expect(fire).to_have_attribute("aria-label", f"🔥 1: {_name(ann)}")
    # The reply quotes the message as it is now; Typo is a tombstone.
    await expect(b.locator(f"#{whatever} .text")).to_have_text("Or ten, whatever")
    await expect(b.locator(f"#{whatever} button.quote")).to_contain_text("Popcorn at ten?")
    await expect(b.locator(f"#{typo} .tombstone")).to_have_text("Message deleted")
    await expect(b.locator(".messages li .tombstone")).to_have_count(2)
    await expect(b.locator(".messages li")).to_have_count(5)
    assert "half past" not in await b.locator(".messages").inner_text()
    # And live again after the gap.
    await say(a, "See you there")
    await b.locator(".messages li.them .text").filter(has_text="See you there").wait_for()
    await expect(b.locator(".messages li")).to_have_count(6)

    # Phone and TV: nothing sticks out, the actions wrap within the bubbles.
    for width, height in ((360, 740), (3840, 2160), (1280, 800)):
        await _fits(b, width, height)
    assert await problems(a) == [] and await problems(b) == []


async def test_the_same_controls_in_a_party_chat(
    web_app: Path,
    both_up: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    film: int,
    settings: Settings,
) -> None:
    one, two = (s.url for s in both_up)
    bobs_server = both_up[1]
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        host = await make_account(ctx, http)
        guest = await make_account(ctx, http)
    a = await signed_in_page(browser, one, host)
    b = await signed_in_page(browser, two, guest)
    await a.goto(f"{one}/party/new?title={film}")
    await a.wait_for_url(f"{one}/party/*")
    invite = a.get_by_label("Invite link")
    await invite.wait_for()
    link = await invite.input_value()
    await b.goto(link.replace(one, two))
    await b.get_by_role("button", name="Join the party").click()
    await expect(a.locator(".members > li")).to_have_count(2)
    for page in (a, b):
        await until(page, "window.__party && document.querySelector('video')?.readyState >= 2")

    async def say(page: Any, text: str) -> str:
        await page.get_by_label("Say something").fill(text)
        await page.get_by_label("Say something").press("Enter")
        sent = page.locator(".party-chat li.me .text").filter(has_text=text)
        return str(await sent.locator("xpath=..").get_attribute("id"))

    best = await say(a, "Best scene coming")
    spoilers = await say(b, "No spoilers please")
    await b.locator(f"#{best}").wait_for()
    await a.locator(f"#{spoilers}").wait_for()
    best_a, best_b = a.locator(f"#{best}"), b.locator(f"#{best}")

    # The host edits theirs; the guest sees it edited, live.
    await _edit(best_a, "Best scene coming up")
    await expect(best_b.locator(".text")).to_have_text("Best scene coming up")
    await expect(best_b.locator(".edited")).to_have_text("edited")
    # The guest reacts to it and replies; the host sees both, and the quote leads back.
    await best_b.get_by_role("button", name="React to").click()
    await best_b.get_by_role("button", name="React with 😮").click()
    await expect(best_a.locator(".reaction-chip")).to_have_attribute(
        "aria-label", f"😮 1: {_name(guest)}"
    )
    await best_b.get_by_role("button", name="Reply to").click()
    which = await say(b, "Which one?")
    quote = a.locator(f"#{which} button.quote")
    await expect(quote).to_contain_text("Best scene coming up")
    await quote.click()
    await until(a, f"document.activeElement.id === {best!r}", timeout=10)
    # The host may delete anyone's message (the guest only their own): a tombstone for both.
    await expect(best_b.get_by_role("button", name="Delete")).to_have_count(0)
    await _delete(a, spoilers, "Delete")
    await expect(b.locator(f"#{spoilers} .tombstone")).to_have_text("Message deleted")
    assert await axe_problems(a, web_app) == [] and await axe_problems(b, web_app) == []

    # The guest's process stops; the host reacts, edits and deletes meanwhile; back, the
    # guest's page has it all (the party's rejoin asks for the chat after its cursor).
    await _stop(bobs_server, b)
    await best_a.get_by_role("button", name="React to").click()
    await best_a.get_by_role("button", name="React with 👏").click()
    await best_a.locator(".reaction-chip").filter(has_text="👏").wait_for()
    await _edit(best_a, "Best scene now")
    await expect(best_a.locator(".text")).to_have_text("Best scene now")
    await _delete(a, which, "Delete")
    await a.locator(f"#{which} .tombstone").wait_for()
    await _start(bobs_server, b)
    await expect(best_b.locator(".text")).to_have_text("Best scene now")
    await expect(best_b.locator(".reaction-chip")).to_have_count(2)
    await expect(b.locator(f"#{which} .tombstone")).to_have_text("Message deleted")
    await expect(b.locator(".party-chat li .tombstone")).to_have_count(2)
    await expect(b.locator(".party-chat li")).to_have_count(3)
    for width, height in ((360, 740), (3840, 2160), (1280, 800)):
        await _fits(b, width, height)
    await shot(a, "party-chat-controls", settings.log_dir / "screenshots")
    assert await problems(a) == [] and await problems(b) == []
