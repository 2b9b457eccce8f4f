"""Title cards and images in private messages: a card made for each reader (a child gets no
name and no poster of a title above their limit; a deleted title says so), and images checked
by their bytes, stripped of metadata, served by signed URL only to the conversation's two
members while the message is there."""

from __future__ import annotations

import asyncio
import dataclasses
import io
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import ExifTags, Image
from sqlalchemy import delete, func, select, update

from models.accounts.tables import User
from models.catalog.tables import Title
from models.core.clock import now
from models.core.context import Context
from models.core.db import transaction
from models.core.events import Outbox
from models.core.settings import Settings
from models.media.storage import MediaStore
from models.privacy import service as privacy
from models.social.messages import attachments
from models.social.messages import service as messages
from models.social.messages.service import replay
from models.social.messages.tables import AttachmentPurge, DirectMessageAttachment
from models.social.policy import Actor
from tests.conftest import LiveServer
from tests.factories import PASSWORD, Account, login, make_title
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, dm_received, send_dm

PIN = "4321"
KID_PASSWORD = "a child's long passphrase"


def jpeg_with_gps(width: int = 800, height: int = 600, orientation: int | None = None) -> bytes:
    """A phone photo: EXIF with a GPS position (and an orientation, when given)."""
    img = Image.new("RGB", (width, height), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 21.0, 7.0)
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif, quality=90)
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it is there
    return data


def png(width: int, height: int, mode: str = "RGBA") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (width, height), (0, 0, 255, 128) if mode == "RGBA" else 0).save(buf, "PNG")
    return buf.getvalue()


async def upload(
    client: httpx.AsyncClient, who: Account, data: bytes, ctype: str = "image/jpeg"
) -> httpx.Response:
    return await client.post(
        "/api/v1/message-attachments",
        content=data,
        headers={**who.headers, "Content-Type": ctype},
    )


async def history(client: httpx.AsyncClient, who: Account, peer: Account) -> list[dict[str, Any]]:
    r = await client.get(f"/api/v1/conversations/{peer.id}/messages", headers=who.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _kid(client: httpx.AsyncClient, ctx: Context, limit: int) -> Account:
    parent = (await accounts(ctx, client, 1))[0]
    r = await client.put(
        "/api/v1/family/pin",
        json={"pin": PIN, "current_password": parent.password},
        headers=parent.headers,
    )
    assert r.status_code == 204, r.text
    r = await client.post(
        "/api/v1/family/children",
        json={
            "username": "kid" + uuid.uuid4().hex[:8],
            "password": KID_PASSWORD,
            "display_name": "Kid",
            "maturity_limit": limit,
            "pin": PIN,
        },
        headers=parent.headers,
    )
    assert r.status_code == 201, r.text
    kid = r.json()
    tokens = await login(client, kid["username"], KID_PASSWORD)
    async with ctx.sessions() as session:
        user = await session.get(User, uuid.UUID(kid["id"]))
    assert user is not None
    return Account(user, KID_PASSWORD, tokens["access_token"], tokens["refresh_token"])


def _err(r: httpx.Response) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_title_cards_are_made_for_each_reader(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    ann, bob = await accounts(ctx, client, 2)
    kid = await _kid(client, ctx, 12)
    await befriend(client, ann, bob)
    await befriend(client, ann, kid)
    film = await make_title(
        ctx, "Alien", year=1979, age_rating="R", poster_url="https://img.example.org/alien.jpg"
    )
    family = await make_title(ctx, "Totoro", year=1988, age_rating="G")

    # Shared by id: the card has the poster, name and year (no video yet: not playable).
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(bob.id), "client_msg_id": "c1", "title_id": film.id},
        headers=ann.headers,
    )
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["text"] == ""
    card = {
        "title_id": film.id,
        "available": True,
        "reason": None,
        "kind": "film",
        "name": "Alien",
        "year": 1979,
        "poster_url": "https://img.example.org/alien.jpg",
        "playable": False,
    }
    assert sent["title"] == card
    assert (await history(client, bob, ann))[0]["title"] == card

    # The same card to a child whose limit is 12: not available, and nothing of the title.
    r = await send_dm(client, ann, kid, "watch this", client_msg_id="c2")
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(kid.id), "client_msg_id": "c3", "title_id": film.id},
        headers=ann.headers,
    )
    assert r.status_code == 201 and r.json()["title"]["name"] == "Alien"
    kid_view = (await history(client, kid, ann))[0]
    assert kid_view["title"] == {
        "title_id": film.id,
        "available": False,
        "reason": "maturity_restricted",
        "kind": None,
        "name": None,
        "year": None,
        "poster_url": None,
        "playable": False,
    }
    assert "alien" not in str(kid_view).lower()
    # ... and in the child's "dm" stream, as sync:resume replays it.
    stream = await replay(ctx, kid.id, 0, 100)
    assert [e["title"]["reason"] for e in stream if e["title"]] == ["maturity_restricted"]
    # A child cannot share a title above their own limit; one within it they can.
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(ann.id), "client_msg_id": "k1", "title_id": film.id},
        headers=kid.headers,
    )
    assert _err(r) == (403, "maturity_restricted")
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(ann.id), "client_msg_id": "k2", "title_id": family.id},
        headers=kid.headers,
    )
    assert r.status_code == 201 and r.json()["title"]["name"] == "Totoro"

    # Our own title link in the text is a card; anybody else's URL is text.
    r = await send_dm(
        client, ann, bob, f"look: http://testserver/titles/{family.id} !", client_msg_id="l1"
    )
    assert r.status_code == 201 and r.json()["title"]["title_id"] == family.id
    r = await send_dm(
        client, ann, bob, f"https://elsewhere.example/titles/{family.id}", client_msg_id="l2"
    )
    assert r.status_code == 201 and r.json()["title"] is None
    r = await send_dm(
        client, ann, bob, f"http://testserver/titles/{family.id}0", client_msg_id="l3"
    )
    assert r.status_code == 201 and r.json()["title"] is None  # no such title: plain text

    # Bad input: an unknown title, or a message with nothing in it.
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(bob.id), "client_msg_id": "x1", "title_id": 2**62},
        headers=ann.headers,
    )
    assert _err(r) == (404, "title_not_found")
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(bob.id), "client_msg_id": "x2", "text": ""},
        headers=ann.headers,
    )
    assert _err(r) == (422, "invalid_input")

    # The title is deleted from the catalog: the card says so.
    async with transaction(ctx.sessions) as session:
        await session.delete(await session.get(Title, film.id))
    assert (await history(client, bob, ann))[-1]["title"] == {
        "title_id": film.id,
        "available": False,
        "reason": "removed",
        "kind": None,
        "name": None,
        "year": None,
        "poster_url": None,
        "playable": False,
    }


def _path(url: str) -> str:
    return url.removeprefix("http://testserver")


async def test_images_are_checked_stripped_and_only_for_the_two_members(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    ann, bob, eve = await accounts(ctx, client, 3)
    await befriend(client, ann, bob)
    await befriend(client, ann, eve)

    # Upload: EXIF (GPS) gone, the orientation applied (800x600 turned: 600x800).
    r = await upload(client, ann, jpeg_with_gps(orientation=6))
    assert r.status_code == 201, r.text
    up = r.json()
    assert (up["content_type"], up["width"], up["height"]) == ("image/jpeg", 600, 800)
    assert (up["thumb_width"], up["thumb_height"]) == (240, 320)
    # Before it is sent only its uploader sees it.
    r = await client.get(_path(up["thumb_url"]))
    assert r.status_code == 200 and r.headers["content-type"] == "image/webp"

    sent = await client.post(
        "/api/v1/messages",
        json={
            "to_user_id": str(bob.id),
            "client_msg_id": "i1",
            "text": "from the trip",
            "attachment_id": up["id"],
        },
        headers=ann.headers,
    )
    assert sent.status_code == 201, sent.text
    msg = sent.json()
    seen = (await history(client, bob, ann))[0]["attachment"]
    assert seen["id"] == up["id"] and seen["width"] == 600
    assert f".{bob.id.hex}." in seen["url"]  # signed for Bob
    r = await client.get(_path(seen["url"]))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"].startswith("private")
    stored = Image.open(io.BytesIO(r.content))
    assert stored.size == (600, 800)
    assert dict(stored.getexif()) == {} and b"PhoneCo" not in r.content
    assert b"Exif" not in r.content[:200]
    # The sender's own copy has its own URLs; the thumbnail is a WebP.
    r = await client.get(_path(msg["attachment"]["thumb_url"]))
    assert r.status_code == 200 and Image.open(io.BytesIO(r.content)).format == "WEBP"

    # A URL altered to another user's name is refused; someone outside never had one.
    forged = seen["url"].replace(bob.id.hex, eve.id.hex)
    r = await client.get(_path(forged))
    assert r.status_code == 403 and r.json()["error"]["code"] == "bad_signature"
    eve_url = attachments.signer(ctx).url(eve.id, f"{uuid.UUID(up['id']).hex}-full.jpg")
    r = await client.get(_path(eve_url))  # validly signed, but Eve is not in it
    assert r.status_code == 404

    # Someone else's upload, an upload already sent, an unknown one.
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(ann.id), "client_msg_id": "e1", "attachment_id": up["id"]},
        headers=eve.headers,
    )
    assert _err(r) == (403, "not_your_attachment")
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(eve.id), "client_msg_id": "i2", "attachment_id": up["id"]},
        headers=ann.headers,
    )
    assert _err(r) == (409, "attachment_in_use")
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(eve.id), "client_msg_id": "i3", "attachment_id": str(uuid.uuid4())},
        headers=ann.headers,
    )
    assert _err(r) == (404, "attachment_not_found")
    # Resending the same message is the same message.
    again = await client.post(
        "/api/v1/messages",
        json={
            "to_user_id": str(bob.id),
            "client_msg_id": "i1",
            "text": "from the trip",
            "attachment_id": up["id"],
        },
        headers=ann.headers,
    )
    assert again.status_code == 200 and again.json()["id"] == msg["id"]

    # Deleting the message ends access at once, and its files go.
    folder = Path(ctx.settings.media_dir, "attachments", uuid.UUID(up["id"]).hex)
    assert await asyncio.to_thread(folder.is_dir)
    r = await client.delete(f"/api/v1/messages/{msg['id']}", headers=ann.headers)
    assert r.status_code == 204
    r = await client.get(_path(seen["url"]))
    assert r.status_code == 404
    assert (await history(client, bob, ann))[0]["attachment"] is None
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(folder.exists) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the purge job of the in-process worker
    assert not await asyncio.to_thread(folder.exists)


async def test_bad_uploads_get_clear_errors(client: httpx.AsyncClient, ctx: Context) -> None:
    [ann] = await accounts(ctx, client, 1)
    r = await upload(client, ann, b"GIF89a" + b"\0" * 100, "image/gif")
    assert _err(r) == (415, "unsupported_type")
    r = await upload(client, ann, b"#!/bin/sh\necho hi\n" * 10, "image/png")
    assert _err(r) == (422, "not_an_image")
    r = await upload(client, ann, png(10, 10), "image/jpeg")
    assert _err(r) == (422, "type_mismatch")
    r = await upload(client, ann, b"", "image/png")
    assert _err(r) == (422, "empty_upload")
    r = await upload(client, ann, jpeg_with_gps()[:300], "image/jpeg")
    assert _err(r) == (422, "bad_image")
    # Over 5 MB (a PNG header, then noise).
    r = await upload(client, ann, png(4, 4) + b"\0" * (5 * 1024 * 1024), "image/png")
    assert _err(r) == (413, "payload_too_large")
    # A decompression bomb: a small file that would decode to 64 megapixels.
    bomb = png(8000, 8000, mode="1")
    assert len(bomb) < 1024 * 1024
    r = await upload(client, ann, bomb, "image/png")
    assert _err(r) == (422, "too_many_pixels")
    # 12001 on a side: refused before decoding.
    r = await upload(client, ann, png(12001, 1), "image/png")
    assert _err(r) == (422, "too_many_pixels")
    # A PNG with transparency stays a PNG, scaled to fit 2560.
    r = await upload(client, ann, png(3000, 1000), "image/png")
    assert r.status_code == 201, r.text
    assert (r.json()["width"], r.json()["height"]) == (2560, 853)


async def test_unsent_uploads_are_pruned_after_a_day(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    [ann] = await accounts(ctx, client, 1)
    r = await upload(client, ann, png(20, 20), "image/png")
    up = r.json()
    folder = Path(ctx.settings.media_dir, "attachments", uuid.UUID(up["id"]).hex)
    assert await asyncio.to_thread(folder.is_dir)
    await attachments.prune(ctx, now=datetime.now(UTC))
    assert await asyncio.to_thread(folder.is_dir)  # still within its day
    await attachments.prune(ctx, now=datetime.now(UTC) + timedelta(days=2))
    assert not await asyncio.to_thread(folder.exists)
    async with ctx.sessions() as session:
        assert await session.get(DirectMessageAttachment, uuid.UUID(up["id"])) is None


@pytest.mark.slow
async def test_cards_and_images_over_the_socket_across_two_processes(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """The image goes up over HTTP to one process; the message with it and a card goes
    through dm:send there and reaches the friend on the other process, each side with its own
    signed URLs; a device that was away gets the edit and the deletion from sync:resume."""
    one, two = two_servers
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    film = await make_title(ctx, "Stalker", year=1979, age_rating="12")
    async with httpx.AsyncClient(base_url=one.url) as http_one:
        r = await http_one.post(
            "/api/v1/message-attachments",
            content=jpeg_with_gps(),
            headers={**ann.headers, "Content-Type": "image/jpeg"},
        )
    assert r.status_code == 201, r.text
    up = r.json()
    async with (
        connected(one.url, ann.access_token) as ann_sock,
        connected(two.url, bob.access_token) as bob_sock,
    ):
        ack = await ann_sock.call(
            "dm:send",
            {
                "to_user_id": str(bob.id),
                "client_msg_id": "s1",
                "text": f"tonight? {one.url}/titles/{film.id}",
                "attachment_id": up["id"],
            },
        )
        assert ack["ok"], ack
        msg = ack["data"]
        assert msg["title"]["name"] == "Stalker" and msg["attachment"]["id"] == up["id"]
        got = await dm_received(bob_sock, lambda m: m["id"] == msg["id"], timeout=10)
        assert got["title"]["name"] == "Stalker" and got["title"]["available"] is True
        assert f".{bob.id.hex}." in got["attachment"]["url"]
        assert got["attachment"]["url"] != msg["attachment"]["url"]  # each their own
        async with httpx.AsyncClient() as anyone:
            r = await anyone.get(got["attachment"]["thumb_url"].replace(one.url, two.url))
            assert r.status_code == 200 and r.headers["content-type"] == "image/webp"
            full_url = got["attachment"]["url"]
            r = await anyone.get(full_url)
            assert r.status_code == 200 and dict(Image.open(io.BytesIO(r.content)).getexif()) == {}
        cursor = got["cursor"]

    # Bob's device is away while Ann edits, and then deletes.
    async with connected(one.url, ann.access_token) as ann_sock:
        ack = await ann_sock.call("dm:edit", {"message_id": msg["id"], "text": "tonight at 9?"})
        assert ack["ok"] and ack["data"]["attachment"]["id"] == up["id"]
    async with connected(two.url, bob.access_token) as bob_sock:
        ack = await bob_sock.call("sync:resume", {"cursors": {"dm": cursor}})
        events = ack["data"]["streams"]["dm"]["events"]
        assert [e["id"] for e in events] == [msg["id"]]
        assert events[0]["text"] == "tonight at 9?" and events[0]["edited_at"]
        assert events[0]["title"]["title_id"] == film.id
        assert f".{bob.id.hex}." in events[0]["attachment"]["url"]
        cursor = events[0]["cursor"]
        async with connected(one.url, ann.access_token) as ann_sock:
            ack = await ann_sock.call("dm:delete", {"message_id": msg["id"]})
            assert ack["ok"] and ack["data"]["attachment"] is None
        tomb = await dm_received(
            bob_sock, lambda m: m["id"] == msg["id"] and m["deleted"], timeout=10
        )
        assert tomb["attachment"] is None and tomb["title"] is None
    async with httpx.AsyncClient() as anyone:
        r = await anyone.get(full_url)
        assert r.status_code == 404


async def test_unsent_uploads_are_limited(client: httpx.AsyncClient, ctx: Context) -> None:
    [ann] = await accounts(ctx, client, 1)
    for _ in range(attachments.MAX_PENDING):
        assert (await upload(client, ann, png(8, 8), "image/png")).status_code == 201
    r = await upload(client, ann, png(8, 8), "image/png")
    assert _err(r) == (429, "too_many_pending_attachments")
    assert r.headers["retry-after"] == "3600"


async def test_an_unsent_upload_can_be_discarded(client: httpx.AsyncClient, ctx: Context) -> None:
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    up = (await upload(client, ann, png(16, 16), "image/png")).json()
    folder = Path(ctx.settings.media_dir, "attachments", uuid.UUID(up["id"]).hex)
    # Not Bob's to discard; not a valid id; then Ann's goes, with its files.
    r = await client.delete(f"/api/v1/message-attachments/{up['id']}", headers=bob.headers)
    assert _err(r) == (403, "not_your_attachment")
    r = await client.delete("/api/v1/message-attachments/nope", headers=ann.headers)
    assert _err(r) == (422, "invalid_id")
    r = await client.delete(f"/api/v1/message-attachments/{up['id']}", headers=ann.headers)
    assert r.status_code == 204
    assert (await client.get(_path(up["thumb_url"]))).status_code == 404
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(folder.exists) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not await asyncio.to_thread(folder.exists)
    r = await client.delete(f"/api/v1/message-attachments/{up['id']}", headers=ann.headers)
    assert _err(r) == (404, "attachment_not_found")
    # One in a message goes with the message, not on its own.
    sent = (await upload(client, ann, png(16, 16), "image/png")).json()
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(bob.id), "client_msg_id": "d1", "attachment_id": sent["id"]},
        headers=ann.headers,
    )
    assert r.status_code == 201, r.text
    r = await client.delete(f"/api/v1/message-attachments/{sent['id']}", headers=ann.headers)
    assert _err(r) == (409, "attachment_in_use")


def stored(media: MediaStore, attachment_id: str) -> list[str]:
    """The files an image has in the store (the object store's keys, or the folder's files)."""
    hex_id = uuid.UUID(attachment_id).hex
    if media.objects is not None:
        keys = media.objects.sizes(media.objects.attachment_key(hex_id))
        return sorted(k.rsplit("/", 1)[1] for k in keys)
    folder = media.attachments / hex_id
    return sorted(f.name for f in folder.iterdir()) if folder.is_dir() else []


async def erasure_removes_images(client: httpx.AsyncClient, ctx: Context, media: Context) -> None:
    """An erased account's images (sent, and one never sent) leave the store `media`'s
    settings name; the other side keeps the messages without them and its own image. The
    files go in batches, and a run that stops midway (or after removing files but not their
    queue rows) is finished by the next one."""
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    box = attachments.store(media)
    # The store is the test's own: the run's worker (another store) leaves its queue alone.
    assert box.location != attachments.store(ctx).location

    async def up(who: Account, side: int) -> str:
        out = await attachments.do_upload(
            media, user_id=who.id, data=png(side, side), declared_type="image/png"
        )
        return str(out.id)

    async def send(who: Account, to: Account, attachment_id: str, text: str = "") -> None:
        r = await client.post(
            "/api/v1/messages",
            json={
                "to_user_id": str(to.id),
                "client_msg_id": uuid.uuid4().hex,
                "text": text,
                "attachment_id": attachment_id,
            },
            headers=who.headers,
        )
        assert r.status_code == 201, r.text

    anns = [await up(ann, 20 + i) for i in range(5)]
    for i, attachment_id in enumerate(anns[:4]):
        await send(ann, bob, attachment_id, "with words" if i == 0 else "")
    bobs = await up(bob, 30)
    await send(bob, ann, bobs, "mine")
    seen = [m for m in await history(client, bob, ann) if m["from_user_id"] == str(ann.id)]
    assert sorted(m["attachment"]["id"] for m in seen) == sorted(anns[:4])
    for attachment_id in [*anns, bobs]:
        assert await asyncio.to_thread(stored, box, attachment_id) == ["full.png", "thumb.webp"]

    async with transaction(ctx.sessions) as session:
        await session.execute(
            update(User).where(User.id == ann.id).values(deletion_scheduled_at=now())
        )
    assert await privacy.purge_due(media) >= 1

    async def queued() -> int:
        async with ctx.sessions() as session:
            n = await session.scalar(
                select(func.count()).where(AttachmentPurge.store == box.location)
            )
        return n or 0

    # Bob keeps the conversation: Ann's messages without their images (a URL he was given
    # finds nothing), his own image as it was.
    after = await history(client, bob, ann)
    assert {m["text"] for m in after} == {"with words", "", "mine"} and len(after) == 5
    for m in after:
        if m["from_user_id"] == str(ann.id):
            assert m["attachment"] is None
        else:
            assert m["attachment"]["id"] == bobs
    r = await client.get(_path(seen[0]["attachment"]["url"]))
    assert r.status_code == 404
    # Committed with the erasure, the files wait in the queue (as after a crash that lost
    # the job): nothing has removed them yet.
    assert await queued() == 5
    assert all([await asyncio.to_thread(stored, box, a) for a in anns])

    # A run that stops after one batch of two...
    assert await attachments.purge_queued(media, batch=2, limit=2) == 2
    left = [a for a in anns if await asyncio.to_thread(stored, box, a)]
    assert len(left) == 3 and await queued() == 3
    # ...and one that died after removing a batch's files, before its queue rows went.
    await asyncio.to_thread(box.drop_attachment, uuid.UUID(left[0]).hex)
    # Erasing again changes nothing; the next run finishes, and one more finds nothing.
    assert await privacy.purge_due(media) == 0
    assert await attachments.purge_queued(media, batch=2) == 3
    assert await attachments.purge_queued(media) == 0
    assert await queued() == 0
    for attachment_id in anns:
        assert await asyncio.to_thread(stored, box, attachment_id) == []
    assert await asyncio.to_thread(stored, box, bobs) == ["full.png", "thumb.webp"]


async def test_erasure_removes_images_from_the_disk(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, tmp_path: Path
) -> None:
    own = settings.model_copy(update={"media_dir": tmp_path / "media"})
    await erasure_removes_images(client, ctx, dataclasses.replace(ctx, settings=own))


async def test_erasure_job_removes_images(client: httpx.AsyncClient, ctx: Context) -> None:
    """Deleting an account at once: its images' files go by the job queued with it."""
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    up = (await upload(client, ann, png(16, 16), "image/png")).json()
    r = await client.post(
        "/api/v1/messages",
        json={"to_user_id": str(bob.id), "client_msg_id": "e1", "attachment_id": up["id"]},
        headers=ann.headers,
    )
    assert r.status_code == 201, r.text
    folder = Path(ctx.settings.media_dir, "attachments", uuid.UUID(up["id"]).hex)
    assert await asyncio.to_thread(folder.is_dir)
    r = await client.post(
        "/api/v1/me/deletion",
        json={"current_password": PASSWORD, "immediately": True},
        headers=ann.headers,
    )
    assert r.status_code == 202, r.text
    [kept] = await history(client, bob, ann)
    assert kept["attachment"] is None and kept["from_user_id"] == str(ann.id)
    deadline = time.monotonic() + 10
    while await asyncio.to_thread(folder.exists) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)  # the purge job of the in-process worker
    assert not await asyncio.to_thread(folder.exists)


async def lost_jobs_and_orphans_leak_nothing(
    client: httpx.AsyncClient, ctx: Context, media: Context
) -> None:
    """In the store `media`'s settings name: deleting a message and discarding an upload queue
    their images for purge in their own transaction, so with the job lost (the outbox never
    flushed) the next purge run still removes them. The sweep queues every image folder (disk
    folder, or the bucket's objects under the attachments prefix) that no message or pending
    upload has a row for, once past the grace period, and leaves anything else alone."""
    ann, bob = await accounts(ctx, client, 2)
    await befriend(client, ann, bob)
    box = attachments.store(media)
    assert box.location != attachments.store(ctx).location  # the run's worker leaves it alone

    async def up(side: int) -> str:
        out = await attachments.do_upload(
            media, user_id=ann.id, data=png(side, side), declared_type="image/png"
        )
        return str(out.id)

    async def queued() -> set[str]:
        async with ctx.sessions() as session:
            rows = await session.scalars(
                select(AttachmentPurge.attachment_id).where(AttachmentPurge.store == box.location)
            )
            return {str(i) for i in rows}

    sent, kept_sent, discarded, pending, orphan = [await up(20 + i) for i in range(5)]
    ids = {}
    for attachment_id in (sent, kept_sent):
        r = await client.post(
            "/api/v1/messages",
            json={
                "to_user_id": str(bob.id),
                "client_msg_id": uuid.uuid4().hex,
                "attachment_id": attachment_id,
            },
            headers=ann.headers,
        )
        assert r.status_code == 201, r.text
        ids[attachment_id] = r.json()["id"]

    # Deleted and discarded with their jobs lost: queued with the change, files still there.
    lost = Outbox()
    async with transaction(ctx.sessions) as session:
        await messages.do_delete_message(
            media, session, lost, actor=Actor(ann.id), message_id=ids[sent]
        )
        await attachments.do_discard(
            media, session, lost, user_id=ann.id, attachment_id=uuid.UUID(discarded)
        )
    assert [j.function for j in lost.jobs] == ["purge_dm_attachment_files"] * 2
    assert await queued() == {sent, discarded}
    assert await asyncio.to_thread(stored, box, sent) == ["full.png", "thumb.webp"]
    assert await attachments.purge_queued(media) == 2
    for attachment_id in (sent, discarded):
        assert await asyncio.to_thread(stored, box, attachment_id) == []

    # An orphan: files whose row went without a purge (an older version's lost job), and a
    # folder that is not an image's.
    async with transaction(ctx.sessions) as session:
        await session.execute(
            delete(DirectMessageAttachment).where(DirectMessageAttachment.id == uuid.UUID(orphan))
        )
    if box.objects is not None:
        key = box.objects.attachment_key("notes", "readme.txt")
        await asyncio.to_thread(box.objects.put, key, b"x", content_type="text/plain")
    else:
        (box.attachments / "notes").mkdir(parents=True)
    # Within the grace period nothing goes; past it, the orphan and the unsent upload do.
    assert await attachments.prune(media, now=datetime.now(UTC)) == 0
    assert await asyncio.to_thread(stored, box, orphan) == ["full.png", "thumb.webp"]
    later = datetime.now(UTC) + timedelta(days=2)
    # The orphan and the unsent upload (and any other test's unsent uploads: rows are global).
    assert await attachments.prune(media, now=later) >= 2
    for attachment_id in (orphan, pending):
        assert await asyncio.to_thread(stored, box, attachment_id) == []
    assert await queued() == set()
    assert await asyncio.to_thread(stored, box, kept_sent) == ["full.png", "thumb.webp"]
    if box.objects is not None:
        assert await asyncio.to_thread(box.objects.sizes, box.objects.attachment_key("notes"))
    else:
        assert await asyncio.to_thread((box.attachments / "notes").is_dir)
    assert await attachments.prune(media, now=later) == 0


async def test_lost_purge_jobs_and_orphans_leak_nothing_on_the_disk(
    client: httpx.AsyncClient, ctx: Context, settings: Settings, tmp_path: Path
) -> None:
    own = settings.model_copy(update={"media_dir": tmp_path / "media"})
    await lost_jobs_and_orphans_leak_nothing(client, ctx, dataclasses.replace(ctx, settings=own))
