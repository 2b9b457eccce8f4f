"""Push to phone and tablet apps: Firebase Cloud Messaging (HTTP v1, OAuth2 with a service
account's signed JWT) and the Apple Push Notification service (HTTP/2, token-based auth with
an ES256 JWT). Each answers sent, gone (the token is dead: delete it) or failed (try later)."""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import httpx
import jwt

from models.core.settings import Settings
from models.notifications.push import PushOutcome
from models.notifications.tables import PushDevice, PushPlatform

log = logging.getLogger("cinema.push")

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
# APNs refuses a provider token older than an hour and one renewed more often than every 20
# minutes (TooManyProviderTokenUpdates): renew every 50.
APNS_TOKEN_LIFETIME_S = 50 * 60
# APNs: these reasons mean the token will never work again (Apple's table of responses).
APNS_GONE = {"BadDeviceToken", "Unregistered", "DeviceTokenNotForTopic"}


@dataclass(frozen=True)
class MobileMessage:
    title: str
    body: str
    data: dict[str, str]  # FCM data values are strings; APNs gets the same keys
    collapse_key: str  # a newer message with the same key replaces an undelivered older one
    badge: int  # the unread count, shown on the app icon
    ttl_s: int
    # Only the badge changed (notifications were read elsewhere): no alert, no sound; the
    # app gets `data` (FCM data message) and the icon its new count.
    badge_only: bool = False

    @classmethod
    def badge_update(cls, unread: int, ttl_s: int) -> MobileMessage:
        return cls(
            title="",
            body="",
            data={"type": "unread", "unread": str(unread)},
            collapse_key="unread",
            badge=unread,
            ttl_s=ttl_s,
            badge_only=True,
        )


class _Cached:
    """A bearer token with its expiry, shared by every send of this process."""

    def __init__(self) -> None:
        self.value = ""
        self.until = 0.0
        self.lock = asyncio.Lock()

    def fresh(self) -> bool:
        return bool(self.value) and time.time() < self.until


# Keyed by the credential (a service account's email, an APNs key id): one token each.
_tokens: dict[str, _Cached] = {}


def _cache(key: str) -> _Cached:
    return _tokens.setdefault(key, _Cached())


class MobilePush:
    """One per delivery run: its HTTP clients (HTTP/2 for APNs) are closed by `aclose`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._fcm_http: httpx.AsyncClient | None = None
        self._apns_http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        for client in (self._fcm_http, self._apns_http):
            if client is not None:
                await client.aclose()

    async def send(self, device: PushDevice, message: MobileMessage) -> PushOutcome:
        try:
            if device.platform == PushPlatform.fcm:
                return await self._fcm(device, message)
            return await self._apns(device, message)
        except (httpx.HTTPError, OSError, ValueError, KeyError) as exc:
            # (KeyError, ValueError: a malformed answer or service-account key)
            log.warning("push to device %s failed: %r", device.id, exc)
            return PushOutcome.failed

    # --- Firebase Cloud Messaging (HTTP v1) --------------------------------------------------

    @cached_property
    def _service_account(self) -> dict[str, Any] | None:
        s = self.settings
        if s.fcm_service_account_json is not None:
            raw = s.fcm_service_account_json.get_secret_value()
        elif s.fcm_service_account_file is not None:
            raw = s.fcm_service_account_file.read_text()
        else:
            return None
        account: dict[str, Any] = json.loads(raw)
        return account

    def _fcm_client(self) -> httpx.AsyncClient:
        if self._fcm_http is None:
            self._fcm_http = httpx.AsyncClient(timeout=10)
        return self._fcm_http

    async def _fcm_access_token(self, *, renew: bool = False) -> str:
        """OAuth2 for a service account (RFC 7523): a JWT signed with its key buys an access
        token at its token_uri; kept until a minute before it expires."""
        account = self._service_account
        assert account is not None
        cached = _cache(f"fcm:{account['client_email']}")
        async with cached.lock:
            if cached.fresh() and not renew:
                return cached.value
            now = int(time.time())
            assertion = jwt.encode(
                {
                    "iss": account["client_email"],
                    "scope": FCM_SCOPE,
                    "aud": account["token_uri"],
                    "iat": now,
                    "exp": now + 3600,
                },
                account["private_key"],
                algorithm="RS256",
                headers={"kid": account.get("private_key_id", "")},
            )
            r = await self._fcm_client().post(
                account["token_uri"],
                data={
                    "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                    "assertion": assertion,
                },
            )
            r.raise_for_status()
            answer = r.json()
            cached.value = str(answer["access_token"])
            cached.until = time.time() + int(answer.get("expires_in", 3600)) - 60
            return cached.value

    def _fcm_body(self, token: str, m: MobileMessage) -> dict[str, Any]:
        if m.badge_only:
            return {
                "message": {
                    "token": token,
                    "data": m.data,
                    "android": {"collapse_key": m.collapse_key, "ttl": f"{m.ttl_s}s"},
                    "apns": {
                        "headers": {"apns-collapse-id": m.collapse_key, "apns-priority": "5"},
                        "payload": {"aps": {"badge": m.badge}},
                    },
                }
            }
        return {
            "message": {
                "token": token,
                "notification": {"title": m.title, "body": m.body},
                "data": m.data,
                "android": {
                    "collapse_key": m.collapse_key,
                    "ttl": f"{m.ttl_s}s",
                    "notification": {"notification_count": m.badge, "tag": m.collapse_key},
                },
                # FCM relays to iOS apps through APNs: the same badge and collapse there.
                "apns": {
                    "headers": {"apns-collapse-id": m.collapse_key[:64]},
                    "payload": {"aps": {"badge": m.badge}},
                },
            }
        }

    async def _fcm(self, device: PushDevice, m: MobileMessage) -> PushOutcome:
        account = self._service_account
        if account is None:
            return PushOutcome.skipped  # not configured here: keep the device
        project = self.settings.fcm_project_id or account["project_id"]
        url = f"{self.settings.fcm_url.rstrip('/')}/v1/projects/{project}/messages:send"
        body = self._fcm_body(device.token, m)
        for attempt in range(2):
            token = await self._fcm_access_token(renew=attempt > 0)
            r = await self._fcm_client().post(
                url, json=body, headers={"Authorization": f"Bearer {token}"}
            )
            if r.status_code == 401 and attempt == 0:
                continue  # the access token was revoked or expired early: buy another
            break
        if r.status_code == 200:
            return PushOutcome.sent
        code = _fcm_error_code(r)
        # UNREGISTERED (404): the app was uninstalled or the token expired. A 400 whose code
        # says the token itself is malformed is as dead.
        if code == "UNREGISTERED" or (
            r.status_code == 400 and code == "INVALID_ARGUMENT" and _fcm_names_token(r)
        ):
            return PushOutcome.gone
        log.warning("FCM refused device %s: %s %s", device.id, r.status_code, code)
        return PushOutcome.failed

    # --- Apple Push Notification service ------------------------------------------------------

    @cached_property
    def _apns_key(self) -> str | None:
        s = self.settings
        if s.apns_private_key is not None:
            return s.apns_private_key.get_secret_value()
        if s.apns_private_key_file is not None:
            return s.apns_private_key_file.read_text()
        return None

    def _apns_client(self) -> httpx.AsyncClient:
        if self._apns_http is None:
            verify: ssl.SSLContext | bool = True
            if self.settings.apns_ca_file is not None:
                verify = ssl.create_default_context(cafile=str(self.settings.apns_ca_file))
            # APNs speaks HTTP/2 only; one connection carries many streams.
            self._apns_http = httpx.AsyncClient(http2=True, http1=False, verify=verify, timeout=10)
        return self._apns_http

    async def _apns_token(self, *, renew: bool = False) -> str:
        s = self.settings
        assert self._apns_key and s.apns_key_id and s.apns_team_id
        cached = _cache(f"apns:{s.apns_team_id}:{s.apns_key_id}")
        async with cached.lock:
            if cached.fresh() and not renew:
                return cached.value
            cached.value = jwt.encode(
                {"iss": s.apns_team_id, "iat": int(time.time())},
                self._apns_key,
                algorithm="ES256",
                headers={"kid": s.apns_key_id},
            )
            cached.until = time.time() + APNS_TOKEN_LIFETIME_S
            return cached.value

    async def _apns(self, device: PushDevice, m: MobileMessage) -> PushOutcome:
        s = self.settings
        if not (self._apns_key and s.apns_key_id and s.apns_team_id and s.apns_topic):
            return PushOutcome.skipped  # not configured here: keep the device
        url = f"{s.apns_url.rstrip('/')}/3/device/{device.token}"
        aps: dict[str, Any] = {"badge": m.badge}
        if not m.badge_only:
            aps |= {"alert": {"title": m.title, "body": m.body}, "sound": "default"}
        body = {"aps": aps, **m.data}
        for attempt in range(2):
            headers = {
                "authorization": f"bearer {await self._apns_token(renew=attempt > 0)}",
                "apns-topic": s.apns_topic,
                "apns-push-type": "alert",
                # A badge alone may wait for the device's convenience.
                "apns-priority": "5" if m.badge_only else "10",
                "apns-expiration": str(int(time.time()) + m.ttl_s if m.ttl_s else 0),
                "apns-collapse-id": m.collapse_key[:64],
            }
            r = await self._apns_client().post(url, json=body, headers=headers)
            reason = _apns_reason(r)
            if r.status_code == 403 and reason == "ExpiredProviderToken" and attempt == 0:
                continue
            break
        if r.status_code == 200:
            return PushOutcome.sent
        if r.status_code == 410 or (r.status_code == 400 and reason in APNS_GONE):
            return PushOutcome.gone
        log.warning("APNs refused device %s: %s %s", device.id, r.status_code, reason)
        return PushOutcome.failed


def _fcm_error_code(r: httpx.Response) -> str:
    """FCM's errorCode (in the FcmError detail), else the RPC status."""
    try:
        error = r.json().get("error", {})
    except ValueError:
        return ""
    for detail in error.get("details", []) or []:
        if str(detail.get("@type", "")).endswith("google.firebase.fcm.v1.FcmError"):
            return str(detail.get("errorCode", ""))
    return str(error.get("status", ""))


def _fcm_names_token(r: httpx.Response) -> bool:
    """A 400 INVALID_ARGUMENT about the registration token (not about our payload)."""
    try:
        error = r.json().get("error", {})
    except ValueError:
        return False
    for detail in error.get("details", []) or []:
        for violation in detail.get("fieldViolations", []) or []:
            if violation.get("field") == "message.token":
                return True
    return "registration token" in str(error.get("message", "")).lower()


def _apns_reason(r: httpx.Response) -> str:
    try:
        return str(r.json().get("reason", "")) if r.content else ""
    except ValueError:
        return ""
