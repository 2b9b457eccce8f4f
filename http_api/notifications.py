"""Notification center: inbox, unread count, read state, preferences, Web Push devices."""

from __future__ import annotations

from typing import Any

from http_api.routing import Api, Call
from models.core.errors import NotFound, parse_id
from models.notifications import devices, push, service
from models.notifications import follows as follow_service
from models.notifications import preferences as preference_service
from models.notifications.schemas import (
    FollowsOut,
    InboxQuery,
    MarkAllIn,
    MarkedOut,
    NotificationPage,
    PreferencesIn,
    PreferencesOut,
    PushDeviceIn,
    PushDeviceOut,
    PushSubscriptionIn,
    PushSubscriptionOut,
    UnreadOut,
    VapidKeyOut,
)

api = Api(tags=["notifications"])


def _int_param(call: Call, name: str) -> int:
    raw = call.params[name]
    if isinstance(raw, int):
        return raw
    value = parse_id(str(raw))
    if value is None:
        raise NotFound("Not found", code="not_found")
    return value


@api.get("/notifications", query=InboxQuery, response=NotificationPage, errors=(422,))
async def inbox(call: Call) -> NotificationPage:
    """The user's notifications, latest activity first (cursor pagination)."""
    user = call.require_user()
    q: InboxQuery = call.query
    async with call.ctx.sessions() as session:
        return await service.list_inbox(
            session, user_id=user.user_id, cursor=q.cursor, limit=q.limit, unread_only=q.unread_only
        )


@api.get("/notifications/unread-count", response=UnreadOut)
async def unread(call: Call) -> UnreadOut:
    """How many notifications are unread, and the stream head cursor."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        count = await service.unread_count(session, user_id=user.user_id)
        head = await service.stream_head(session, user_id=user.user_id)
    return UnreadOut(unread=count, cursor=head)


@api.post("/notifications/{notification_id}/read", response=MarkedOut, errors=(404,))
async def mark_read(call: Call) -> MarkedOut:
    """Mark one notification read (the user's other devices get the new unread count)."""
    user = call.require_user()
    notification_id = _int_param(call, "notification_id")
    async with call.transaction() as session:
        left = await service.do_mark_read(
            session, call.outbox, user_id=user.user_id, notification_id=notification_id
        )
    return MarkedOut(marked=1, unread=left)


@api.post("/notifications/read-all", body=MarkAllIn, response=MarkedOut, errors=(422,))
async def mark_all_read(call: Call) -> MarkedOut:
    """Mark every notification read, or those up to `up_to` (the cursor the user saw)."""
    user = call.require_user()
    body: MarkAllIn = call.body
    async with call.transaction() as session:
        marked, left = await service.do_mark_all_read(
            session, call.outbox, user_id=user.user_id, up_to=body.up_to
        )
    return MarkedOut(marked=marked, unread=left)


@api.get("/notifications/preferences", response=PreferencesOut)
async def preferences(call: Call) -> PreferencesOut:
    """Every type x channel (in_app, email, push) with its current setting."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        items = await preference_service.list_preferences(session, user_id=user.user_id)
    return PreferencesOut(items=items)


@api.put("/notifications/preferences", body=PreferencesIn, response=PreferencesOut, errors=(422,))
async def set_preferences(call: Call) -> PreferencesOut:
    """Change some type x channel settings; the others keep their value."""
    user = call.require_user()
    body: PreferencesIn = call.body
    async with call.transaction() as session:
        items = await preference_service.do_set_preferences(
            session, user_id=user.user_id, items=body.items
        )
    return PreferencesOut(items=items)


@api.get("/push/vapid-public-key", response=VapidKeyOut, auth="none")
async def vapid_public_key(call: Call) -> VapidKeyOut:
    """The `applicationServerKey` for `pushManager.subscribe`."""
    return VapidKeyOut(public_key=push.application_server_key(call.ctx.settings))


@api.post(
    "/push/subscriptions",
    body=PushSubscriptionIn,
    response=PushSubscriptionOut,
    status=201,
    errors=(422,),
)
async def register_push(call: Call) -> PushSubscriptionOut:
    """Register this browser's Web Push subscription (idempotent per endpoint)."""
    user = call.require_user()
    async with call.transaction() as session:
        return await devices.do_register_push(
            call.ctx, session, user_id=user.user_id, data=call.body
        )


@api.get("/push/subscriptions", response=list[PushSubscriptionOut])
async def list_push(call: Call) -> list[PushSubscriptionOut]:
    """The user's registered push subscriptions."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        return await devices.list_push(session, user_id=user.user_id)


@api.delete("/push/subscriptions/{subscription_id}", status=204, errors=(404,))
async def delete_push(call: Call) -> None:
    """Unregister a push subscription."""
    user = call.require_user()
    subscription_id = _int_param(call, "subscription_id")
    async with call.transaction() as session:
        await devices.do_delete_push(session, user_id=user.user_id, subscription_id=subscription_id)


@api.put("/push/devices", body=PushDeviceIn, response=PushDeviceOut, errors=(422,))
async def register_device(call: Call) -> PushDeviceOut:
    """Register or refresh a phone or tablet app's push token (FCM or APNs): at every app
    start and whenever the provider rotates it. Tokens the provider calls dead are removed."""
    user = call.require_user()
    async with call.transaction() as session:
        return await devices.do_register_device(
            call.ctx, session, user_id=user.user_id, data=call.body
        )


@api.get("/push/devices", response=list[PushDeviceOut])
async def list_devices(call: Call) -> list[PushDeviceOut]:
    """My apps that get push notifications."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        return await devices.list_devices(session, user_id=user.user_id)


@api.delete("/push/devices/{device_id}", status=204, errors=(404,))
async def delete_device(call: Call) -> None:
    """Unregister an app (at sign-out)."""
    user = call.require_user()
    device_id = _int_param(call, "device_id")
    async with call.transaction() as session:
        await devices.do_delete_device(session, user_id=user.user_id, device_id=device_id)


@api.get("/notifications/follows", response=FollowsOut)
async def follows(call: Call) -> FollowsOut:
    """Titles and genres whose new releases the user is notified of (besides favorites)."""
    user = call.require_user()
    async with call.ctx.sessions() as session:
        return await follow_service.list_follows(session, user_id=user.user_id)


def _follow_routes(kind: str, param: str) -> None:
    def handler(follow: bool) -> Any:
        async def change(call: Call) -> FollowsOut:
            user = call.require_user()
            async with call.transaction() as session:
                return await follow_service.do_follow(
                    session,
                    user_id=user.user_id,
                    kind=kind,
                    target_id=_int_param(call, param),
                    follow=follow,
                )

        change.__name__ = f"{'follow' if follow else 'unfollow'}_{kind}"
        change.__doc__ = (
            f"{'Follow' if follow else 'Stop following'} one of the {kind} for new releases."
        )
        return change

    path = f"/notifications/follows/{kind}/{{{param}}}"
    api.put(path, response=FollowsOut, errors=(404,))(handler(True))
    api.delete(path, response=FollowsOut, errors=(404,))(handler(False))


_follow_routes("titles", "title_id")
_follow_routes("genres", "genre_id")
