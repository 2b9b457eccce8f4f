"""Push devices: the browsers (Web Push subscriptions) a user's notifications go to."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.clock import now
from models.core.context import Context
from models.core.errors import InvalidInput, NotFound
from models.core.settings import Settings
from models.core.urls import parse_web_url
from models.notifications.schemas import (
    PushDeviceIn,
    PushDeviceOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
)
from models.notifications.tables import PushDevice, PushSubscription


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


# --- apps (FCM, APNs) ------------------------------------------------------------------------


async def do_register_device(
    ctx: Context, session: AsyncSession, *, user_id: uuid.UUID, data: PushDeviceIn
) -> PushDeviceOut:
    """Register or refresh an app's token (idempotent per platform and token; a token that
    was another account's moves here: the phone signed in as someone else)."""
    others = await session.scalar(
        select(func.count())
        .select_from(PushDevice)
        .where(PushDevice.user_id == user_id, PushDevice.token != data.token)
    )
    if (others or 0) >= ctx.settings.push_max_subscriptions_per_user:
        raise InvalidInput("Too many push devices", code="too_many_devices")
    stmt = pg_insert(PushDevice).values(
        user_id=user_id,
        platform=data.platform,
        token=data.token,
        app_version=data.app_version,
        locale=data.locale,
        last_seen_at=now(),
    )
    row = (
        await session.execute(
            stmt.on_conflict_do_update(
                constraint="uq_push_devices_token",
                set_={
                    "user_id": stmt.excluded.user_id,
                    "app_version": stmt.excluded.app_version,
                    "locale": stmt.excluded.locale,
                    "last_seen_at": stmt.excluded.last_seen_at,
                    "failure_count": 0,
                },
            ).returning(PushDevice)
        )
    ).scalar_one()
    return device_out(row)


def device_out(d: PushDevice) -> PushDeviceOut:
    return PushDeviceOut(
        id=d.id,
        platform=d.platform,
        app_version=d.app_version,
        locale=d.locale,
        created_at=d.created_at,
        last_seen_at=d.last_seen_at,
        last_success_at=d.last_success_at,
    )


async def list_devices(session: AsyncSession, *, user_id: uuid.UUID) -> list[PushDeviceOut]:
    rows = await session.scalars(
        select(PushDevice).where(PushDevice.user_id == user_id).order_by(PushDevice.id)
    )
    return [device_out(d) for d in rows]


async def do_delete_device(session: AsyncSession, *, user_id: uuid.UUID, device_id: int) -> None:
    row = await session.get(PushDevice, device_id)
    if row is None or row.user_id != user_id:
        raise NotFound("No such push device", code="push_device_not_found")
    await session.delete(row)
