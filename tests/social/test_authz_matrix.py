"""The authorization matrix (tests/social/matrix.py) against the real HTTP API and services:
for every resource, action and actor, the request succeeds exactly when the table says so."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import DomainError
from models.core.events import Outbox
from models.social.messages import service as messages
from models.social.policy import Actor
from models.social.reviews.tables import Comment
from tests.factories import Account, login, make_title
from tests.social.helpers import accounts, befriend, block, send_dm
from tests.social.matrix import ACTORS, MATRIX

# Checked by the pure test only: no HTTP route exposes them to anyone but the owner
# (presence is part of the friends list; favorites are only ever listed for oneself).
PURE_ONLY = {("owner_presence", "see"), ("owner_favorites", "list")}

Check = Callable[[str, dict[str, str]], Awaitable[int]]


@pytest.fixture
async def world(client: httpx.AsyncClient, ctx: Context) -> dict[str, Any]:
    owner, friend, blocked, stranger = await accounts(ctx, client, 4)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    (admin,) = await accounts(ctx, client, 1, role="admin")
    await befriend(client, owner, friend)
    await befriend(client, owner, blocked)
    await block(client, owner, blocked)
    people: dict[str, Account | None] = {
        "anonymous": None,
        "stranger": stranger,
        "friend": friend,
        "blocked": blocked,
        "owner": owner,
        "editor": editor,
        "admin": admin,
    }
    return {"people": people, "title": await make_title(ctx)}


def _headers(acct: Account | None) -> dict[str, str]:
    return acct.headers if acct is not None else {}


async def _playlist(client: httpx.AsyncClient, w: dict[str, Any], kind: str) -> int:
    owner, friend = w["people"]["owner"], w["people"]["friend"]
    vis = "private" if kind == "shared" else kind
    r = await client.post(
        "/api/v1/playlists", json={"name": kind, "visibility": vis}, headers=owner.headers
    )
    pid = int(r.json()["id"])
    if kind == "shared":
        r = await client.put(
            f"/api/v1/playlists/{pid}/shares/{friend.id}",
            json={"right": "edit"},
            headers=owner.headers,
        )
        assert r.status_code == 200, r.text
    return pid


async def _status(
    client: httpx.AsyncClient,
    ctx: Context,
    w: dict[str, Any],
    resource: str,
    action: str,
    name: str,
) -> int:
    acct = w["people"][name]
    h = _headers(acct)
    owner = w["people"]["owner"]
    title = w["title"]
    if (resource, action) in _MODERATION:
        return await _MODERATION[(resource, action)](client, ctx, w, h)
    if resource.startswith("playlist_"):
        pid = await _playlist(client, w, resource.removeprefix("playlist_"))
        base = f"/api/v1/playlists/{pid}"
        if action == "view":
            return (await client.get(base, headers=h)).status_code
        if action == "edit_items":
            other = await make_title(ctx)
            return (
                await client.post(f"{base}/items", json={"title_id": other.id}, headers=h)
            ).status_code
        if action == "manage":
            return (await client.patch(base, json={"description": "x"}, headers=h)).status_code
        return (await client.delete(base, headers=h)).status_code
    if resource == "owner_inbox" and action == "send_message":
        if acct is None:
            return (
                await client.post(
                    "/api/v1/messages",
                    json={"to_user_id": str(owner.id), "client_msg_id": "x", "text": "x"},
                )
            ).status_code
        return (await send_dm(client, acct, owner)).status_code
    if resource == "owner_inbox" and action == "send_typing":
        if acct is None:
            return 401
        try:
            async with transaction(ctx.sessions) as session:
                await messages.do_typing(
                    ctx,
                    session,
                    Outbox(),
                    actor=Actor(acct.id, acct.user.role),
                    to_user_id=owner.id,
                    typing=True,
                )
        except DomainError as exc:
            return exc.status
        return 200
    if resource == "owner_person":
        path = "/api/v1/friends/requests" if action == "friend_request" else "/api/v1/blocks"
        return (await client.post(path, json={"user_id": str(owner.id)}, headers=h)).status_code
    if resource == "owner_comment":
        if action == "list":
            if "listed" not in w:  # stored directly: the owner's comment quota is spent above
                async with transaction(ctx.sessions) as session:
                    comment = Comment(title_id=title.id, author_id=owner.id, body="for all")
                    session.add(comment)
                w["listed"] = comment.id
            listed = await client.get(f"/api/v1/titles/{title.id}/comments", headers=h)
            assert listed.status_code == 200, listed.text
            return 200 if w["listed"] in [i["id"] for i in listed.json()["items"]] else 404
        c = (
            await client.post(
                f"/api/v1/titles/{title.id}/comments", json={"body": "mine"}, headers=owner.headers
            )
        ).json()
        url = f"/api/v1/comments/{c['id']}"
        if action == "edit":
            return (await client.patch(url, json={"body": "changed"}, headers=h)).status_code
        if action == "delete":
            return (await client.delete(url, headers=h)).status_code
        if action == "like":
            return (await client.put(f"{url}/like", headers=h)).status_code
        return (
            await client.post(
                f"/api/v1/titles/{title.id}/comments",
                json={"body": "re", "parent_id": c["id"]},
                headers=h,
            )
        ).status_code
    if resource == "title":
        if action == "rate":
            return (
                await client.put(f"/api/v1/titles/{title.id}/rating", json={"score": 7}, headers=h)
            ).status_code
        return (
            await client.post(f"/api/v1/titles/{title.id}/comments", json={"body": "hi"}, headers=h)
        ).status_code
    raise AssertionError((resource, action))


async def _owner_comment(ctx: Context, w: dict[str, Any]) -> int:
    """Stored directly: the owner's comment quota is spent by the other checks."""
    async with transaction(ctx.sessions) as session:
        comment = Comment(title_id=w["title"].id, author_id=w["people"]["owner"].id, body="hm")
        session.add(comment)
    return comment.id


async def _owner_message(client: httpx.AsyncClient, w: dict[str, Any]) -> int:
    r = await send_dm(client, w["people"]["owner"], w["people"]["friend"], text="psst")
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _report(client: httpx.AsyncClient, h: dict[str, str], kind: str, target: object) -> int:
    body = {"kind": kind, "target_id": str(target), "reason": "spam"}
    return (await client.post("/api/v1/reports", json=body, headers=h)).status_code


async def _report_comment(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    return await _report(client, h, "comment", await _owner_comment(ctx, w))


async def _hide_comment(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    url = f"/api/v1/moderation/comments/{await _owner_comment(ctx, w)}/hide"
    return (await client.post(url, json={}, headers=h)).status_code


async def _report_message(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    return await _report(client, h, "message", await _owner_message(client, w))


async def _hide_message(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    url = f"/api/v1/moderation/messages/{await _owner_message(client, w)}/hide"
    return (await client.post(url, json={}, headers=h)).status_code


async def _report_person(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    return await _report(client, h, "user", w["people"]["owner"].id)


async def _suspend_person(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    url = f"/api/v1/moderation/users/{w['people']['owner'].id}/suspend"
    status = (await client.post(url, json={}, headers=h)).status_code
    if status == 200:  # lift it again: the owner acts in the checks after this one
        admin = w["people"]["admin"]
        r = await client.post(url.replace("/suspend", "/unsuspend"), json={}, headers=admin.headers)
        assert r.status_code == 200, r.text
        owner = w["people"]["owner"]  # signed out by the suspension: sign in again
        owner.access_token = (await login(client, owner.user.email))["access_token"]
    return status


async def _view_queue(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    return (await client.get("/api/v1/moderation/reports", headers=h)).status_code


async def _view_audit(
    client: httpx.AsyncClient, ctx: Context, w: dict[str, Any], h: dict[str, str]
) -> int:
    return (await client.get("/api/v1/moderation/audit", headers=h)).status_code


_MODERATION = {
    ("owner_comment", "report"): _report_comment,
    ("owner_comment", "hide"): _hide_comment,
    ("owner_message", "report"): _report_message,
    ("owner_message", "hide"): _hide_message,
    ("owner_person", "report"): _report_person,
    ("owner_person", "suspend"): _suspend_person,
    ("moderation_queue", "view"): _view_queue,
    ("audit_log", "view"): _view_audit,
}


async def test_authorization_matrix_over_http(
    client: httpx.AsyncClient, ctx: Context, world: dict[str, Any]
) -> None:
    mismatches = []
    # blocking changes relations, so it runs last
    # a suspension ends the owner's sessions: it runs after everything the owner does
    keys = sorted(
        (k for k in MATRIX if k not in PURE_ONLY),
        key=lambda k: (k[1] == "suspend", k[1] == "block"),
    )
    for resource, action in keys:
        for name in ACTORS:
            status = await _status(client, ctx, world, resource, action, name)
            assert status < 500, (resource, action, name, status)
            allowed = status < 300
            if allowed != (name in MATRIX[(resource, action)]):
                mismatches.append((resource, action, name, status))
            if not allowed and name == "anonymous":
                assert status in (401, 404), (resource, action, status)
    assert mismatches == []
    # what one may not see does not exist, as far as one can tell
    pid = await _playlist(client, world, "private")
    r = await client.get(f"/api/v1/playlists/{pid}", headers=world["people"]["stranger"].headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "playlist_not_found"
