"""Finding 7: our mail must not be pointed at someone who never confirmed the address."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select, update

from models.accounts.tables import User
from models.core.context import Context
from models.core.db import transaction
from models.notifications.tables import Notification
from tests.factories import make_user
from tests.mail import Mailbox
from tests.notifications.helpers import eventually, notify


async def test_notification_mail_goes_only_to_confirmed_addresses(
    ctx: Context, worker: Any, mailbox: Mailbox
) -> None:
    """Anyone may register with a stranger's address; friend requests and the like then mailed
    that stranger. Only confirmation and recovery mail may go to an unconfirmed address."""
    unconfirmed, confirmed, friend = await asyncio.gather(*(make_user(ctx) for _ in range(3)))
    async with transaction(ctx.sessions) as session:
        await session.execute(
            update(User).where(User.id == unconfirmed.id).values(email_confirmed_at=None)
        )
    for user in (unconfirmed, confirmed):
        await notify(ctx, user_id=user.id, type="friend_request", data={}, actor_id=friend.id)
    await mailbox.wait_for(confirmed.email, subject="friend request", timeout=20)

    async def mail_step_done() -> bool:  # the email job has claimed the row (sent or not)
        async with ctx.sessions() as session:
            stamp = await session.scalar(
                select(Notification.emailed_at).where(Notification.user_id == unconfirmed.id)
            )
        return stamp is not None

    await eventually(mail_step_done, timeout=20)
    await asyncio.sleep(0.5)
    inbox = mailbox.to(unconfirmed.email)
    assert inbox == [], [m["Subject"] for m in inbox]
