"""Title cards and images in the web app, two people on two server processes: Ann shares a
film from its title page ("Share with a friend") and attaches a photo in the conversation
(a preview, the upload's progress); Bob's open conversation shows the card (poster, name,
year, Play and Start a party) and the image live; a child in Ann's family sees only that the
title is not available. Each view passes the accessibility scan."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy import func, select

from models.core.context import Context
from models.core.db import transaction
from models.media.tables import MediaAsset, MediaStatus
from models.social.messages.tables import DirectMessage, DirectMessageAttachment
from tests.conftest import LiveServer
from tests.factories import Account, make_account, make_title
from tests.social.test_message_media import _kid
from tests.web.conftest import axe_problems, expect, problems, shot, signed_in_page, until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


async def _friends(http: httpx.AsyncClient, a: Account, b: Account) -> None:
    r = await http.post("/api/v1/friends/requests", json={"user_id": str(b.id)}, headers=a.headers)
    assert r.status_code in (200, 201), r.text
    r = await http.post(f"/api/v1/friends/requests/{r.json()['id']}/accept", headers=b.headers)
    assert r.status_code == 200, r.text


async def _unsent(ctx: Context, who: Account) -> int:
    async with ctx.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(DirectMessageAttachment)
            .outerjoin(DirectMessage, DirectMessage.attachment_id == DirectMessageAttachment.id)
            .where(DirectMessageAttachment.owner_id == who.id, DirectMessage.id.is_(None))
        )
    return int(count or 0)


async def test_cards_and_an_image_in_a_conversation(
    web_app: Path,
    two_servers: tuple[LiveServer, LiveServer],
    browser: Any,
    ctx: Context,
    client: httpx.AsyncClient,
    settings: Any,
) -> None:
    one, two = (s.url for s in two_servers)
    film = await make_title(ctx, "Paprika", year=2006, age_rating="R")
    # A published video makes the card offer Play and a party (the row a finished transcode
    # leaves; the video itself is not played here).
    async with transaction(ctx.sessions) as session:
        session.add(
            MediaAsset(
                title_id=film.id,
                status=MediaStatus.ready,
                source_path="/nonexistent",
                source_name="film.mkv",
                source_size=1,
                job_token=uuid.uuid4().hex,
                revision="r1",
            )
        )
    async with httpx.AsyncClient(base_url=one, timeout=30) as http:
        ann = await make_account(ctx, http)
        bob = await make_account(ctx, http)
        await _friends(http, ann, bob)
    kid = await _kid(client, ctx, 12)
    await _friends(client, ann, kid)

    a = await signed_in_page(browser, one, ann)
    b = await signed_in_page(browser, two, bob)
    await b.goto(f"{two}/messages/{ann.id}")
    await b.get_by_role("heading", name=ann.user.username).wait_for()

    # Ann shares the film from its title page.
    await a.goto(f"{one}/titles/{film.id}")
    await a.get_by_role("button", name="Share with a friend").click()
    await a.get_by_label("Friend").select_option(str(bob.id))
    await a.get_by_label("Note (optional)").fill("this one!")
    await a.get_by_role("button", name="Send", exact=True).click()
    await a.get_by_role("status").filter(has_text="Sent to").wait_for()
    assert await axe_problems(a, web_app) == []

    # Bob's open conversation shows the card live: poster, name, year, Play and a party.
    card = b.locator(".messages li.them .shared-title")
    await card.wait_for()
    await expect(card.get_by_role("link", name="Paprika", exact=True)).to_be_visible()
    await expect(card).to_contain_text("2006")
    await expect(card.get_by_role("link", name="▶ Play")).to_have_attribute(
        "href", f"/watch/{film.id}"
    )
    await expect(card.get_by_role("link", name="Start a party")).to_have_attribute(
        "href", f"/party/new?title={film.id}"
    )

    # Ann attaches a photo in the conversation: a preview, the upload, then it is sent.
    photo = io.BytesIO()
    Image.new("RGB", (640, 480), (20, 120, 200)).save(photo, "JPEG")
    await a.goto(f"{one}/messages/{bob.id}")
    await a.get_by_role("heading", name=bob.user.username).wait_for()
    await a.get_by_label("Attach an image").set_input_files(
        {"name": "beach.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}
    )
    await expect(a.get_by_alt_text("Image to send")).to_be_visible()
    await a.get_by_text("Ready to send").wait_for()
    assert await a.get_by_label("Upload progress").evaluate("(p) => p.value") == 1
    await a.get_by_label("Message").fill("the beach")
    await a.get_by_role("button", name="Send").click()
    await expect(a.get_by_alt_text("Image to send")).to_have_count(0)

    # Bob sees it live, loaded from his process by his own signed URL.
    img = b.get_by_alt_text(f"Image from {ann.user.username}")
    await img.wait_for()
    width = await until(
        b, f"document.querySelector('img[alt=\"Image from {ann.user.username}\"]')?.naturalWidth"
    )
    assert width == 320  # the thumbnail
    assert f".{bob.id.hex}." in (await img.get_attribute("src") or "")
    await expect(b.locator(".messages li.them").filter(has_text="the beach")).to_be_visible()
    assert await axe_problems(b, web_app) == []
    await shot(b, "messages-cards-images", settings.log_dir / "screenshots")

    # An image removed before sending is discarded on the server too.
    await a.get_by_label("Attach an image").set_input_files(
        {"name": "again.jpg", "mimeType": "image/jpeg", "buffer": photo.getvalue()}
    )
    await a.get_by_text("Ready to send").wait_for()
    assert await _unsent(ctx, ann) == 1
    await a.get_by_role("button", name="Remove image").click()
    for _ in range(100):
        if await _unsent(ctx, ann) == 0:
            break
        await asyncio.sleep(0.1)
    assert await _unsent(ctx, ann) == 0

    # A wrong file gets the server's plain answer.
    await a.get_by_label("Attach an image").set_input_files(
        {"name": "notes.png", "mimeType": "image/png", "buffer": b"not an image at all"}
    )
    await a.get_by_text("This file is not a JPEG, PNG or WebP image").wait_for()
    await a.get_by_role("button", name="Remove image").click()

    # The child's copy of the same card: not available, nothing of the title shown.
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(kid.id), "client_msg_id": "kidcard", "title_id": film.id},
        headers=ann.headers,
    )
    assert r.status_code == 201, r.text
    k = await signed_in_page(browser, one, kid)
    await k.goto(f"{one}/messages/{ann.id}")
    await k.get_by_text("This title is not available on your profile.").wait_for()
    body = await k.locator(".messages").inner_text()
    assert "Paprika" not in body and await k.locator(".messages img").count() == 0
    assert await axe_problems(k, web_app) == []

    for page in (a, b, k):
        assert await problems(page) == [], json.dumps(await problems(page))
