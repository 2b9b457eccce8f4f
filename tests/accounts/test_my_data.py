"""My data: the export (a job, a mailed signed link, a zip of everything the account holds)
and account deletion (grace period, undo, erasure that leaves nothing personal behind and
keeps others' threads whole), through the HTTP API with a real worker."""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import httpx
import orjson
import pyotp
from sqlalchemy import func, select, text, update

from models.accounts.tables import User
from models.core.clock import now
from models.core.context import Context
from models.core.db import transaction
from models.privacy import service as privacy
from models.privacy.footprint import KEPT, references
from tests.factories import PASSWORD, Account, make_account, make_title, random_ip
from tests.mail import Mailbox, link_in
from tests.social.helpers import befriend, send_dm


async def _ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if r.content else None


async def _life(client: httpx.AsyncClient, ctx: Context, me: Account, friend: Account) -> int:
    """A little of everything: ratings, likes, comments both ways, a playlist shared with a
    friend, messages both ways, history, a party, two-factor sign-in. Returns the title."""
    title = (await make_title(ctx)).id
    h, fh = me.headers, friend.headers
    await _ok(await client.put(f"/api/v1/titles/{title}/rating", json={"score": 8}, headers=h))
    await _ok(await client.put(f"/api/v1/titles/{title}/rating", json={"score": 6}, headers=fh))
    await _ok(await client.put(f"/api/v1/titles/{title}/like", headers=h))
    await _ok(await client.put(f"/api/v1/favorites/{title}", headers=h))
    mine = await _ok(
        await client.post(
            f"/api/v1/titles/{title}/comments", json={"body": "My own take"}, headers=h
        ),
        201,
    )
    theirs = await _ok(
        await client.post(
            f"/api/v1/titles/{title}/comments", json={"body": "Friend's take"}, headers=fh
        ),
        201,
    )
    await _ok(
        await client.post(
            f"/api/v1/titles/{title}/comments",
            json={"body": "A reply under mine", "parent_id": mine["id"]},
            headers=fh,
        ),
        201,
    )
    await _ok(
        await client.post(
            f"/api/v1/titles/{title}/comments",
            json={"body": "My reply under theirs", "parent_id": theirs["id"]},
            headers=h,
        ),
        201,
    )
    await _ok(await client.put(f"/api/v1/comments/{theirs['id']}/like", headers=h))
    await _ok(await client.put(f"/api/v1/comments/{mine['id']}/like", headers=fh))
    await befriend(client, me, friend)
    playlist = await _ok(
        await client.post("/api/v1/playlists", json={"name": "Weekend"}, headers=h), 201
    )
    await _ok(
        await client.post(
            f"/api/v1/playlists/{playlist['id']}/items", json={"title_id": title}, headers=h
        ),
        201,
    )
    await _ok(
        await client.put(
            f"/api/v1/playlists/{playlist['id']}/shares/{friend.id}", json={}, headers=h
        )
    )
    await _ok(await send_dm(client, me, friend, "Hello from me"), 201)
    await _ok(await send_dm(client, friend, me, "Hello back"), 201)
    await _ok(
        await client.post(
            "/api/v1/me/history/progress",
            json={"title_id": title, "position_ms": 60_000, "duration_ms": 600_000},
            headers=h,
        )
    )
    await _ok(await client.post("/api/v1/parties", json={"title_id": title}, headers=h), 201)
    started = await _ok(
        await client.post("/api/v1/me/2fa/totp", json={"current_password": PASSWORD}, headers=h),
        201,
    )
    await _ok(
        await client.post(
            "/api/v1/me/2fa/totp/confirm",
            json={"code": pyotp.TOTP(started["secret"]).now()},
            headers=h,
        )
    )
    return title


async def test_export_is_built_mailed_and_downloaded_by_signed_link(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox
) -> None:
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    title = await _life(client, ctx, me, friend)
    asked = await _ok(await client.post("/api/v1/me/exports", headers=me.headers), 202)
    assert asked["status"] == "pending" and asked["download_url"] is None

    mail = await mailbox.wait_for(me.user.email, subject="Your data export is ready")
    link = link_in(mail)
    listed = await _ok(await client.get("/api/v1/me/exports", headers=me.headers))
    assert listed[0]["status"] == "ready" and listed[0]["download_url"] == link
    # The link needs no sign-in: it is the key.
    got = await client.get(link)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(got.content))
    names = set(z.namelist())
    assert {"README.txt", "profile.json", "sessions.json"} <= names

    def read(name: str) -> Any:
        return orjson.loads(z.read(name))

    profile = read("profile.json")
    assert profile["email"] == me.user.email and "password_hash" not in profile
    assert read("sessions.json")
    assert [r["score"] for r in read("data/ratings.json")] == [8]
    bodies = {c["body"] for c in read("data/comments.json")}
    assert bodies == {"My own take", "My reply under theirs"}
    texts = {m["text"] for m in read("data/dm_messages.json")}
    assert texts == {"Hello from me", "Hello back"}
    for table in (
        "favorites",
        "playlists",
        "playlist_items",
        "playlist_shares",
        "title_likes",
        "comment_likes",
        "viewing_progress",
        "parties",
        "friendships",
        "totp_factors",
        "recovery_codes",
    ):
        assert f"data/{table}.json" in names, (table, sorted(names))
    assert read("data/favorites.json")[0]["title_id"] == title
    # Secrets never leave: no sealed TOTP secret, no recovery code hash.
    assert "secret_enc" not in read("data/totp_factors.json")[0]
    assert all("code_hash" not in r for r in read("data/recovery_codes.json"))
    assert "data/data_exports.json" not in names
    # Nothing of the friend's own records beyond what concerns me.
    assert all(r["user_id"] == str(me.id) for r in read("data/ratings.json"))

    # Forged or expired links.
    export_id = uuid.UUID(listed[0]["id"])
    forged = link[:-1] + ("1" if link.endswith("0") else "0")
    assert (await client.get(forged)).status_code == 403
    past = int(now().timestamp()) - 10
    sig = privacy._signature(ctx, export_id, past)
    expired = await client.get(
        f"/api/v1/exports/{export_id}/download", params={"expires": past, "sig": sig}
    )
    assert expired.status_code == 410
    other = await make_account(ctx, client)
    assert await _ok(await client.get("/api/v1/me/exports", headers=other.headers)) == []


async def test_deletion_grace_undo_and_erasure_leaves_nothing_behind(
    client: httpx.AsyncClient, ctx: Context, mailbox: Mailbox
) -> None:
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    title = await _life(client, ctx, me, friend)
    email, username = me.user.email, me.user.username

    wrong = await client.post(
        "/api/v1/me/deletion", json={"current_password": "not-the-one"}, headers=me.headers
    )
    assert wrong.status_code == 403
    asked = await _ok(
        await client.post(
            "/api/v1/me/deletion", json={"current_password": PASSWORD}, headers=me.headers
        ),
        202,
    )
    assert asked["deleted"] is False and asked["scheduled_for"]
    # Every session ended; signing in again shows the date and may cancel it.
    assert (await client.get("/api/v1/me", headers=me.headers)).status_code == 401
    mail = await mailbox.wait_for(email, subject="Your account will be deleted")
    token = link_in(mail).split("token=")[1]
    me.access_token = (
        await _ok(
            await client.post(
                "/api/v1/auth/token",
                data={"username": email, "password": PASSWORD},
                headers={"X-Forwarded-For": random_ip()},
            ),
            403,  # two-factor sign-in is on: the password alone is not a session
        )
    )["error"]["details"]["mfa_token"]
    # The mailed link opens the web app's page (tests/web/test_device_and_undo.py presses its
    # button in Chromium), which posts the token.
    page = await client.get(link_in(mail))
    assert page.status_code == 200 and 'id="app"' in page.text
    await _ok(await client.post("/api/v1/auth/deletion/undo", json={"token": token}))
    again = await client.post("/api/v1/auth/deletion/undo", json={"token": token})
    assert again.status_code == 422
    async with transaction(ctx.sessions) as session:
        user = await session.get(User, me.id)
        assert user is not None and user.deletion_scheduled_at is None

    # Asked again, and the grace period runs out: the cron erases it.
    async with transaction(ctx.sessions) as session:
        await session.execute(
            update(User).where(User.id == me.id).values(deletion_scheduled_at=now())
        )
    assert await privacy.purge_due(ctx) >= 1
    assert await privacy.purge_due(ctx) == 0

    await _assert_erased(ctx, me.id, email=email, username=username)
    await _assert_others_intact(client, ctx, friend, me_id=me.id, title=title)


async def test_immediate_deletion(client: httpx.AsyncClient, ctx: Context) -> None:
    me, friend = await make_account(ctx, client), await make_account(ctx, client)
    title = await _life(client, ctx, me, friend)
    email, username = me.user.email, me.user.username
    done = await _ok(
        await client.post(
            "/api/v1/me/deletion",
            json={"current_password": PASSWORD, "immediately": True},
            headers=me.headers,
        ),
        202,
    )
    assert done == {"scheduled_for": None, "deleted": True}
    await _assert_erased(ctx, me.id, email=email, username=username)
    await _assert_others_intact(client, ctx, friend, me_id=me.id, title=title)
    signin = await client.post(
        "/api/v1/auth/token",
        data={"username": email, "password": PASSWORD},
        headers={"X-Forwarded-For": random_ip()},
    )
    assert signin.status_code == 401
    profile = await client.get(f"/api/v1/users/{me.id}", headers=friend.headers)
    assert profile.status_code == 404


async def _assert_erased(ctx: Context, user_id: uuid.UUID, *, email: str, username: str) -> None:
    """Every table that references users: no row of the account's left, but for the
    references others' threads keep (pointing at the tombstone)."""
    async with transaction(ctx.sessions) as session:
        checked = 0
        for ref in references():
            count = await session.scalar(
                select(func.count()).select_from(ref.table).where(ref.column == user_id)
            )
            checked += 1
            if ref.key not in KEPT:
                assert count == 0, f"{ref.key}: {count} rows left"
        assert checked >= 40
        user = await session.get(User, user_id)
        assert user is not None and user.deleted_at is not None and not user.is_active
        row = " ".join(
            str(getattr(user, c)) for c in ("email", "username", "display_name", "pending_email")
        )
        assert email.split("@")[0] not in row and username not in row
        assert user.password_hash == "!"
        kept = {"deleted_at", "display_name"}
        for column in User.__table__.columns:
            if column.nullable and column.key not in kept:
                assert getattr(user, column.key) is None, column.key
        # Nothing in the rest of the database spells the address either.
        leaks = await session.scalar(
            text(
                "SELECT count(*) FROM notifications"
                " WHERE data::text ILIKE :e OR data::text ILIKE :n"
            ),
            {"e": f"%{email}%", "n": f"%{username}%"},
        )
        assert leaks == 0
    keys = [k async for k in ctx.redis.scan_iter(match=f"{ctx.keys.prefix}:*{user_id}*")]
    assert [k for k in keys if ":session" in k or "user_sessions" in k] == []


async def _assert_others_intact(
    client: httpx.AsyncClient, ctx: Context, friend: Account, *, me_id: uuid.UUID, title: int
) -> None:
    h = friend.headers
    comments = (await _ok(await client.get(f"/api/v1/titles/{title}/comments", headers=h)))["items"]
    by_body = {c["body"]: c for c in comments}
    mine = by_body["My own take"]
    assert mine["author"]["display_name"] == "Deleted user"
    assert mine["like_count"] == 1 and mine["reply_count"] == 1  # the friend's reply stays
    theirs = by_body["Friend's take"]
    assert theirs["like_count"] == 0  # my like went
    social = await _ok(await client.get(f"/api/v1/titles/{title}/social", headers=h))
    assert social["count"] == 1 and social["average"] == 6 and social["likes"] == 0
    assert social["distribution"]["8"] == 0 and social["distribution"]["6"] == 1
    # The friend keeps the conversation, both sides of it.
    async with transaction(ctx.sessions) as session:
        kept = await session.scalar(
            text("SELECT count(*) FROM dm_messages WHERE sender_id = :u OR recipient_id = :u"),
            {"u": me_id},
        )
        assert kept == 2
        shared = await session.scalar(
            text("SELECT count(*) FROM playlist_shares WHERE user_id = :f"), {"f": friend.id}
        )
        assert shared == 0  # the shared playlist was mine: it went
