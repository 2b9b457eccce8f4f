"""A local Web Push service for tests: checks VAPID like a real one and decrypts payloads.

Each `Device` holds what a browser keeps for a subscription (its P-256 key and auth
secret); the service verifies the VAPID JWT (ES256, `aud` = its origin, `exp` in the
future) and decrypts the aes128gcm body with the device's keys, as the browser would."""

from __future__ import annotations

import base64
import os
import secrets
from dataclasses import dataclass, field
from typing import Any

import http_ece
import jwt
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class Device:
    token: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))
    received: list[dict[str, Any]] = field(default_factory=list)
    gone: bool = False

    def subscription(self, origin: str) -> dict[str, Any]:
        public = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": f"{origin}/push/{self.token}",
            "keys": {"p256dh": _b64(public), "auth": _b64(self.auth)},
        }


@dataclass
class Received:
    device: Device
    payload: dict[str, Any]
    headers: dict[str, str]
    claims: dict[str, Any]


class LocalPushService:
    def __init__(self, vapid_public_key: str) -> None:
        self.vapid_public_key = vapid_public_key
        self.devices: dict[str, Device] = {}
        self.received: list[Received] = []
        self.rejected: list[str] = []
        self.origin = ""
        self._runner: web.AppRunner | None = None

    def device(self) -> Device:
        d = Device(token=secrets.token_urlsafe(12))
        self.devices[d.token] = d
        return d

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/push/{token}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def _check_vapid(self, header: str) -> dict[str, Any]:
        scheme, _, params = header.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("not a vapid Authorization")
        parts = dict(p.strip().split("=", 1) for p in params.split(","))
        if parts["k"] != self.vapid_public_key:
            raise ValueError("unexpected VAPID public key")
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), _unb64(parts["k"]))
        claims: dict[str, Any] = jwt.decode(
            parts["t"],
            public,
            algorithms=["ES256"],
            audience=self.origin,
            options={"require": ["exp", "aud", "sub"]},
        )
        return claims

    async def _receive(self, request: web.Request) -> web.Response:
        device = self.devices.get(request.match_info["token"])
        if device is None or device.gone:
            return web.Response(status=410)
        try:
            claims = self._check_vapid(request.headers.get("Authorization", ""))
        except (ValueError, KeyError, jwt.PyJWTError) as exc:
            self.rejected.append(f"vapid: {exc}")
            return web.Response(status=401)
        if request.headers.get("Content-Encoding") != "aes128gcm":
            self.rejected.append("content-encoding")
            return web.Response(status=415)
        body = await request.read()
        plain = http_ece.decrypt(
            body, private_key=device.key, auth_secret=device.auth, version="aes128gcm"
        )
        payload = orjson.loads(plain)
        device.received.append(payload)
        headers = {k.lower(): v for k, v in request.headers.items()}
        self.received.append(Received(device, payload, headers, claims))
        return web.Response(status=201)
