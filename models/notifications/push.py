"""Web Push: VAPID keys and one encrypted (RFC 8291, aes128gcm) message per subscription."""

from __future__ import annotations

import base64
import enum
import logging
from functools import lru_cache
from typing import Any

import aiohttp
import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from py_vapid import Vapid02
from pywebpush import WebPushException, webpush_async

from models.core.settings import Settings
from models.notifications.tables import PushSubscription

log = logging.getLogger("cinema.push")
_P256_ORDER = int("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551", 16)


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _derived_key(secret: bytes) -> ec.EllipticCurvePrivateKey:
    """A P-256 key derived from the app secret: stable across restarts with no key file."""
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=b"cinema vapid v1").derive(
        secret
    )
    scalar = int.from_bytes(okm, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


@lru_cache(maxsize=4)
def _vapid_for(secret: bytes, configured: str | None) -> Vapid02:
    if configured:
        # A PEM, or the base64url DER/raw key `vapid --gen` and web-push tools print.
        if "BEGIN" in configured:
            return Vapid02.from_pem(configured.encode())
        return Vapid02.from_string(configured)
    return Vapid02(private_key=_derived_key(secret))


def vapid(settings: Settings) -> Vapid02:
    configured = settings.vapid_private_key
    return _vapid_for(settings.secret, configured.get_secret_value() if configured else None)


def application_server_key(settings: Settings) -> str:
    """The public key browsers pass to `pushManager.subscribe({applicationServerKey})`."""
    public = vapid(settings).public_key
    raw = public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(raw)


class PushOutcome(enum.Enum):
    sent = "sent"
    gone = "gone"  # 404/410: the subscription is dead, delete it
    failed = "failed"  # anything else: retry later
    skipped = "skipped"  # this deployment has no credentials for the provider: keep quiet


async def send_push(
    settings: Settings,
    subscription: PushSubscription,
    payload: dict[str, Any],
    *,
    http: aiohttp.ClientSession,
    ttl: int = 24 * 3600,
    topic: str | None = None,
) -> PushOutcome:
    """Encrypt `payload` for this subscription and POST it to its push service."""
    headers: dict[str, str | int | float] = {"Urgency": "normal"}
    if topic:
        # A newer message with the same topic replaces an undelivered older one.
        headers["Topic"] = topic[:32]
    try:
        await webpush_async(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=orjson.dumps(payload).decode(),
            vapid_private_key=vapid(settings),
            vapid_claims={"sub": settings.vapid_subject},
            ttl=ttl,
            headers=headers,
            timeout=10,
            aiohttp_session=http,
        )
    except WebPushException as exc:
        status = exc.response.status if exc.response is not None else None
        if status in (404, 410):
            return PushOutcome.gone
        log.warning("push to subscription %s failed: %s", subscription.id, status or exc)
        return PushOutcome.failed
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("push to subscription %s failed: %r", subscription.id, exc)
        return PushOutcome.failed
    return PushOutcome.sent
