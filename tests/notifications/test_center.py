"""The notification center over HTTP: inbox, cursors, read state, preferences, coalescing."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from models.accounts.tables import User
from models.core.context import Context
from models.notifications.tables import NotificationType
from tests.factories import make_account, make_user
from tests.mail import Mailbox, body_of
from tests.notifications.helpers import eventually, make_actors, notify, notify_many


async def test_inbox_pages_newest_first_and_read_state(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    other = await make_account(ctx, client)
    friend = await make_user(ctx)
    for i in range(5):
        await notify(
            ctx,
            user_id=me.id,
            type="party_invite",
            data={"party_id": str(uuid.uuid4()), "n": i},
            actor_id=friend.id,
        )
    r = await client.get("/api/v1/notifications", params={"limit": 2}, headers=me.headers)
    assert r.status_code == 200, r.text
    page = r.json()
    assert [n["data"]["n"] for n in page["items"]] == [4, 3]
    assert page["items"][0]["text"] == f"{friend.username} invited you to a watch party"
    assert page["items"][0]["actor"] == {"id": str(friend.id), "name": friend.username}
    seen = [n["data"]["n"] for n in page["items"]]
    while page["next_cursor"]:
        r = await client.get(
            "/api/v1/notifications",
            params={"limit": 2, "cursor": page["next_cursor"]},
            headers=me.headers,
        )
        page = r.json()
        seen += [n["data"]["n"] for n in page["items"]]
    assert seen == [4, 3, 2, 1, 0]

    r = await client.get("/api/v1/notifications/unread-count", headers=me.headers)
    assert r.json()["unread"] == 5
    head = r.json()["cursor"]

    first = (await client.get("/api/v1/notifications", headers=me.headers)).json()["items"][-1]
    # Someone else's notification does not exist for me.
    r = await client.post(f"/api/v1/notifications/{first['id']}/read", headers=other.headers)
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "notification_not_found"
    r = await client.post(f"/api/v1/notifications/{first['id']}/read", headers=me.headers)
    assert r.json() == {"marked": 1, "unread": 4}
    r = await client.post(
        "/api/v1/notifications/read-all", json={"up_to": head - 1}, headers=me.headers
    )
    assert r.json() == {"marked": 3, "unread": 1}
    r = await client.get("/api/v1/notifications", params={"unread_only": True}, headers=me.headers)
    assert [n["cursor"] for n in r.json()["items"]] == [head]
    r = await client.post("/api/v1/notifications/read-all", json={}, headers=me.headers)
    assert r.json() == {"marked": 1, "unread": 0}


async def test_bad_input_and_auth(ctx: Context, client: httpx.AsyncClient) -> None:
    me = await make_account(ctx, client)
    assert (await client.get("/api/v1/notifications")).status_code == 401
    r = await client.get("/api/v1/notifications", params={"cursor": "%%%"}, headers=me.headers)
    assert r.status_code == 422
    r = await client.get("/api/v1/notifications", params={"limit": 1000}, headers=me.headers)
    assert r.status_code == 422
    r = await client.post("/api/v1/notifications/abc/read", headers=me.headers)
    assert r.status_code == 404
    r = await client.put(
        "/api/v1/notifications/preferences",
        json={"items": [{"type": "nope", "channel": "email", "enabled": False}]},
        headers=me.headers,
    )
    assert r.status_code == 422


async def test_coalesced_likes_make_one_notification_and_one_email(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    me = await make_account(ctx, client)
    fans = await make_actors(ctx, 50)
    ann = fans[0]
    comment = uuid.uuid4()

    async def like(fan: User) -> None:
        await notify(
            ctx,
            user_id=me.id,
            type=NotificationType.comment_liked,
            data={"comment_id": str(comment)},
            actor_id=fan.id,
            group_key=f"comment:{comment}",
        )

    # Everyone at once (the stream lock serializes them), and Ann twice: unlike + like.
    await asyncio.gather(*(like(f) for f in fans))
    await like(ann)
    items = (await client.get("/api/v1/notifications", headers=me.headers)).json()["items"]
    assert len(items) == 1
    assert items[0]["actor_count"] == 50
    assert items[0]["actor"]["id"] in {str(f.id) for f in fans}
    assert items[0]["text"] == f"{items[0]['actor']['name']} and 49 others liked your comment"
    # One email, after the window closes, whatever the number of likes.
    mail = await mailbox.wait_for(me.user.email, subject="liked your comment", timeout=15)
    assert "and 49 others liked your comment" in body_of(mail)
    assert len(mailbox.to(me.user.email)) == 1


async def test_preferences_decide_channels(
    ctx: Context, client: httpx.AsyncClient, mailbox: Mailbox
) -> None:
    me = await make_account(ctx, client)
    r = await client.get("/api/v1/notifications/preferences", headers=me.headers)
    prefs = {(p["type"], p["channel"]): p["enabled"] for p in r.json()["items"]}
    assert prefs[("friend_request", "email")] is True
    assert prefs[("friend_accepted", "email")] is False
    r = await client.put(
        "/api/v1/notifications/preferences",
        json={
            "items": [
                {"type": "friend_request", "channel": "email", "enabled": False},
                {"type": "party_invite", "channel": "in_app", "enabled": False},
                {"type": "new_release", "channel": "in_app", "enabled": False},
                {"type": "new_release", "channel": "email", "enabled": False},
                {"type": "new_release", "channel": "push", "enabled": False},
            ]
        },
        headers=me.headers,
    )
    assert r.status_code == 200, r.text
    friend = await make_user(ctx)
    await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=friend.id)
    await notify(
        ctx, user_id=me.id, type="party_invite", data={"title": "Heat"}, actor_id=friend.id
    )
    assert await notify(ctx, user_id=me.id, type="new_release", data={"title": "X"}) is None
    assert (
        await notify_many(
            ctx, [me.id], type="new_release", data={"title": "X"}, dedupe_key="new_release:1"
        )
        == []
    )
    items = (await client.get("/api/v1/notifications", headers=me.headers)).json()["items"]
    # In-app off: the invite is not in the inbox, but (email on) it is mailed.
    assert [i["type"] for i in items] == ["friend_request"]
    await mailbox.wait_for(me.user.email, subject="invited you to a watch party for Heat")
    # Email off for friend requests: never mailed, even after the delay.
    await eventually(lambda: _dispatched(ctx, me.id), timeout=10)
    assert not [m for m in mailbox.to(me.user.email) if "friend request" in str(m["Subject"])]


async def _dispatched(ctx: Context, user_id: uuid.UUID) -> bool:
    async with ctx.sessions() as session:
        from sqlalchemy import text

        row = await session.execute(
            text(
                "SELECT count(*) FILTER (WHERE delivered_at IS NULL),"
                " count(*) FILTER (WHERE emailed_at IS NOT NULL) FROM notifications"
                " WHERE user_id = :u"
            ),
            {"u": user_id},
        )
        undelivered, emailed = row.one()
        return bool(undelivered == 0 and emailed >= 1)


def _types(items: list[dict[str, Any]]) -> list[str]:
    return [i["type"] for i in items]
