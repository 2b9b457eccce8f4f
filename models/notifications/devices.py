"""Push devices: the browsers (Web Push subscriptions) a user's notifications go to."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.context import Context
from models.core.errors import InvalidInput, NotFound
from models.core.settings import Settings
from models.core.urls import parse_web_url
from models.notifications.schemas import PushSubscriptionIn, PushSubscriptionOut
from models.notifications.tables import PushSubscription


def check_push_endpoint(settings: Settings, endpoint: str) -> str:
    """Only known push services: our server POSTs to this URL (SSRF otherwise)."""
    try:
        parts = parse_web_url(endpoint)
    except ValueError as exc:
        raise InvalidInput(
            "endpoint is not a known Web Push service URL", code="invalid_push_endpoint"
        ) from exc
    host = (parts.hostname or "").lower()
    allowed = any(
        host == h or (h.startswith(".") and host.endswith(h)) for h in settings.push_endpoint_hosts
    )
    secure = parts.scheme == "https" or (settings.push_allow_http and parts.scheme == "http")
    if not allowed or not secure or parts.username or parts.password:
        raise InvalidInput(
            "endpoint is not a known Web Push service URL", code="invalid_push_endpoint"
        )
    return endpoint


async def do_register_push(
    ctx: Context, session: AsyncSession, *, user_id: uuid.UUID, data: PushSubscriptionIn
) -> PushSubscriptionOut:
    """Register (or move to this user) a browser's subscription; idempotent per endpoint."""
    endpoint = check_push_endpoint(ctx.settings, data.endpoint)
    others = await session.scalar(
        select(func.count())
        .select_from(PushSubscription)
        .where(PushSubscription.user_id == user_id, PushSubscription.endpoint != endpoint)
    )
    if (others or 0) >= ctx.settings.push_max_subscriptions_per_user:
        raise InvalidInput("Too many push subscriptions", code="too_many_subscriptions")
    stmt = pg_insert(PushSubscription).values(
        user_id=user_id,
        endpoint=endpoint,
        p256dh=data.keys.p256dh,
        auth=data.keys.auth,
        user_agent=data.user_agent,
    )
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["endpoint"],
                set_={
                    "user_id": stmt.excluded.user_id,
                    "p256dh": stmt.excluded.p256dh,
                    "auth": stmt.excluded.auth,
                    "user_agent": stmt.excluded.user_agent,
                    "failure_count": 0,
                },
            ).returning(PushSubscription)
        )
    ).scalar_one()
    return _push_out(row)


def _push_out(s: PushSubscription) -> PushSubscriptionOut:
    return PushSubscriptionOut(
        id=s.id, endpoint=s.endpoint, user_agent=s.user_agent, created_at=s.created_at
    )


async def list_push(session: AsyncSession, *, user_id: uuid.UUID) -> list[PushSubscriptionOut]:
    rows = await session.execute(
        select(PushSubscription)
        .where(PushSubscription.user_id == user_id)
        .order_by(PushSubscription.id)
    )
    return [_push_out(s) for s in rows.scalars()]


async def do_delete_push(
    session: AsyncSession, *, user_id: uuid.UUID, subscription_id: int
) -> None:
    row = await session.get(PushSubscription, subscription_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such push subscription", code="push_subscription_not_found")
    await session.delete(row)
