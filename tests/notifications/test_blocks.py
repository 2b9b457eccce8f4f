"""Blocks silence notifications (policy.notifies_of): when made, in the inbox, its counts and
the resume replay, inside groups, live, and at delivery (push, email) for what was queued
before the block."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from models.accounts.tables import User
from models.core.context import Context
from models.core.db import transaction
from models.core.events import Outbox
from models.notifications import delivery, service
from models.notifications.push import application_server_key
from models.notifications.tables import Notification, NotificationType
from models.social.friends import service as friends
from models.social.policy import Actor
from tests.catalog.helpers import count_queries
from tests.conftest import LiveServer
from tests.factories import Account, make_account
from tests.mail import Mailbox, body_of
from tests.notifications.helpers import eventually, make_actors, notify
from tests.notifications.push_endpoint import LocalPushService
from tests.realtime_client import connected


@pytest.fixture
async def push_service(ctx: Context) -> AsyncIterator[LocalPushService]:
    service = LocalPushService(application_server_key(ctx.settings))
    await service.start()
    yield service
    await service.stop()


async def _block(ctx: Context, blocker: uuid.UUID, blocked: uuid.UUID) -> None:
    outbox = Outbox()
    async with transaction(ctx.sessions) as session:
        await friends.do_block(session, outbox, actor=Actor(blocker), user_id=blocked)
    await ctx.flush(outbox)


async def _unblock(ctx: Context, blocker: uuid.UUID, blocked: uuid.UUID) -> None:
    outbox = Outbox()
    async with transaction(ctx.sessions) as session:
        await friends.do_unblock(session, outbox, actor=Actor(blocker), user_id=blocked)
    await ctx.flush(outbox)


async def _inbox(client: httpx.AsyncClient, me: Account) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/notifications", headers=me.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _unread(client: httpx.AsyncClient, me: Account) -> dict[str, int]:
    r = await client.get("/api/v1/notifications/unread-count", headers=me.headers)
    assert r.status_code == 200, r.text
    out: dict[str, int] = r.json()
    return out


async def _like(ctx: Context, me: Account, fan: User, comment: uuid.UUID) -> Notification | None:
    return await notify(
        ctx,
        user_id=me.id,
        type=NotificationType.comment_liked,
        data={"comment_id": str(comment)},
        actor_id=fan.id,
        group_key=f"comment:{comment}",
    )


async def test_a_group_neither_counts_nor_names_whom_the_recipient_blocked(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    ann, carl, bob = await make_actors(ctx, 3)
    comment = uuid.uuid4()
    for fan in (ann, carl, bob):
        await _like(ctx, me, fan, comment)
    (item,) = await _inbox(client, me)
    assert item["actor_count"] == 3 and item["actor"]["id"] == str(bob.id)

    r = await client.post("/api/v1/blocks", json={"user_id": str(bob.id)}, headers=me.headers)
    assert r.status_code == 201, r.text
    (item,) = await _inbox(client, me)
    # Bob was the latest: the latest still heard of is named, and Bob is not counted.
    assert item["actor_count"] == 2 and item["actor"]["id"] == str(carl.id)
    assert item["text"] == f"{carl.username} and 1 other liked your comment"
    before = await _unread(client, me)
    assert before["unread"] == 1
    # Bob liking again adds nothing and moves no cursor.
    assert await _like(ctx, me, bob, comment) is None
    assert await _unread(client, me) == before

    # The inbox costs the same queries with silenced actors (the page, blocks, users).
    async with ctx.sessions() as session:
        with count_queries(ctx.engine) as counter:
            page = await service.list_inbox(
                session, user_id=me.id, cursor=None, limit=30, unread_only=False
            )
    assert len(page.items) == 1 and len(counter.statements) == 3

    await _block(ctx, me.id, ann.id)
    await _block(ctx, me.id, carl.id)
    assert await _inbox(client, me) == []
    assert (await _unread(client, me))["unread"] == 0
    # Hidden from the inbox is not found by its id either.
    r = await client.post(f"/api/v1/notifications/{item['id']}/read", headers=me.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "notification_not_found"
    async with ctx.sessions() as session:
        assert await service.replay(session, user_id=me.id, cursor=0, limit=10) == []

    # Lifting a block brings back what it silenced (kept, not deleted).
    await _unblock(ctx, me.id, bob.id)
    (item,) = await _inbox(client, me)
    assert item["actor_count"] == 1
    assert item["text"] == f"{bob.username} liked your comment"


async def test_being_blocked_silences_the_blocker_except_for_likes(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    ann, bob = await make_actors(ctx, 2)
    for type_ in ("friend_request", "friend_accepted", "party_invite", "message_while_away"):
        assert await notify(ctx, user_id=me.id, type=type_, data={}, actor_id=ann.id)
    await _like(ctx, me, bob, uuid.uuid4())
    assert len(await _inbox(client, me)) == 5

    # Ann and Bob block me: a block either way stops requests, friendships, invites and
    # messages, so Ann's notifications go; it leaves the blocker free to like, so Bob's stays.
    await _block(ctx, ann.id, me.id)
    await _block(ctx, bob.id, me.id)
    (item,) = await _inbox(client, me)
    assert item["type"] == "comment_liked" and item["actor"]["id"] == str(bob.id)
    assert (await _unread(client, me))["unread"] == 1
    assert await notify(ctx, user_id=me.id, type="friend_request", data={}, actor_id=ann.id) is None
    assert await _like(ctx, me, bob, uuid.uuid4()) is not None
    # Notifications with no actor (a release) are nobody's to block.
    assert await notify(ctx, user_id=me.id, type="new_release", data={"title": "X"}) is not None
    assert [i["type"] for i in await _inbox(client, me)] == [
        "new_release",
        "comment_liked",
        "comment_liked",
    ]


async def test_a_block_and_a_notification_between_the_pair_are_decided_in_one_order(
    ctx: Context, client: httpx.AsyncClient
) -> None:
    me = await make_account(ctx, client)
    (ann,) = await make_actors(ctx, 1)
    # A notification being made holds a block back until it commits (it was made before the
    # block, so the inbox hides it from then on, and nothing can send it live after) ...
    async with transaction(ctx.sessions) as session:
        made = await service.do_notify(
            ctx, session, Outbox(), user_id=me.id, type="friend_request", data={}, actor_id=ann.id
        )
        assert made is not None
        blocking = asyncio.create_task(_block(ctx, me.id, ann.id))
        await asyncio.sleep(0.3)
        assert not blocking.done()
    await asyncio.wait_for(blocking, 10)
    assert await _inbox(client, me) == []
    await _unblock(ctx, me.id, ann.id)
    # ... and a block being made holds a notification back, which then sees the block.
    async with transaction(ctx.sessions) as session:
        await friends.do_block(session, Outbox(), actor=Actor(me.id), user_id=ann.id)
        notifying = asyncio.create_task(
            notify(ctx, user_id=me.id, type="party_invite", data={}, actor_id=ann.id)
        )
        await asyncio.sleep(0.3)
        assert not notifying.done()
    assert await asyncio.wait_for(notifying, 10) is None


@pytest.mark.slow
async def test_live_updates_of_a_group_leave_out_the_blocked_user(
    ctx: Context, client: httpx.AsyncClient, live_server: LiveServer
) -> None:
    me = await make_account(ctx, client)
    ann, bob, carl = await make_actors(ctx, 3)
    comment = uuid.uuid4()
    await _like(ctx, me, ann, comment)
    await _like(ctx, me, bob, comment)
    async with connected(live_server.url, me.access_token) as sock:
        r = await client.post("/api/v1/blocks", json={"user_id": str(bob.id)}, headers=me.headers)
        assert r.status_code == 201, r.text
        # The badge follows the block at once (the group is still there, with Ann).
        (unread,) = await sock.wait_event("notification:unread")
        assert unread == {"unread": 1}
        await _like(ctx, me, carl, comment)
        (event,) = await sock.wait_event("notification")
        shown = event["notification"]
        assert shown["actor"]["id"] == str(carl.id) and shown["actor_count"] == 2
        assert shown["text"] == f"{carl.username} and 1 other liked your comment"


async def _queued(ctx: Context, **kwargs: Any) -> Notification:
    """Made and committed, but its delivery not yet run (as when the job waits in the queue)."""
    async with transaction(ctx.sessions) as session:
        found = await service.do_notify(ctx, session, Outbox(), **kwargs)
    assert found is not None
    return found


async def test_what_was_queued_before_a_block_is_not_pushed_or_mailed_after_it(
    ctx: Context, client: httpx.AsyncClient, push_service: LocalPushService, mailbox: Mailbox
) -> None:
    me = await make_account(ctx, client)
    phone = push_service.device()
    r = await client.post(
        "/api/v1/push/subscriptions",
        json=phone.subscription(push_service.origin),
        headers=me.headers,
    )
    assert r.status_code == 201, r.text
    ann, bob = await make_actors(ctx, 2)
    request = await _queued(
        ctx, user_id=me.id, type=NotificationType.friend_request, data={}, actor_id=ann.id
    )
    comment = uuid.uuid4()
    group = dict(
        user_id=me.id,
        type=NotificationType.comment_liked,
        data={"comment_id": str(comment)},
        group_key=f"comment:{comment}",
    )
    liked = await _queued(ctx, actor_id=bob.id, **group)
    await _queued(ctx, actor_id=ann.id, **group)

    r = await client.post("/api/v1/blocks", json={"user_id": str(ann.id)}, headers=me.headers)
    assert r.status_code == 201, r.text
    report = await delivery.dispatch(ctx, notification_ids=[request.id, liked.id])
    # Only the group is pushed, and without Ann.
    assert report.pushed == 1 and report.emails_scheduled == 2
    await eventually(lambda: len(phone.received) == 1)
    assert phone.received[0]["body"] == f"{bob.username} liked your comment"

    # Its one mail (when the window closes) names Bob alone; the request is never mailed.
    mail = await mailbox.wait_for(me.user.email, subject="liked your comment", timeout=20)
    assert body_of(mail).startswith(f"{bob.username} liked your comment\n")

    async def request_mail_done() -> bool:
        async with ctx.sessions() as session:
            emailed = await session.scalar(
                select(Notification.emailed_at).where(Notification.id == request.id)
            )
        return emailed is not None

    await eventually(request_mail_done)
    assert [str(m["Subject"]) for m in mailbox.to(me.user.email)] == [str(mail["Subject"])]
    assert len(phone.received) == 1
