"""Local stand-ins for the mobile push providers, speaking their documented protocols.

- `LocalFcm`: Google's OAuth2 token endpoint for service accounts (RFC 7523 JWT bearer,
  RS256, checked against the account's public key) and FCM HTTP v1
  `POST /v1/projects/{id}/messages:send` (Bearer token; 404 NOT_FOUND with an FcmError
  `UNREGISTERED` for a dead token, 401 UNAUTHENTICATED for an unknown access token).
- `LocalApns`: APNs over HTTP/2 with TLS (hypercorn), `POST /3/device/{token}` with a
  provider token (ES256 JWT: `kid` key id, `iss` team id, `iat` fresh), `apns-topic` and
  `apns-push-type` checked; 400 `BadDeviceToken`, 410 `Unregistered`, 403 for bad tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import orjson
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from hypercorn.asyncio import serve
from hypercorn.config import Config

from cinema.ports import free_port

FCM_SCOPE = "https://www.googleapis.com/auth/firebase.messaging"


def _pem(key: Any) -> str:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem.decode()


@dataclass
class FcmSent:
    project: str
    message: dict[str, Any]


@dataclass
class LocalFcm:
    project: str = "cinema-test"
    key: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    client_email: str = "push@cinema-test.iam.gserviceaccount.com"
    unregistered: set[str] = field(default_factory=set)
    sent: list[FcmSent] = field(default_factory=list)
    token_requests: int = 0
    rejected: list[str] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=set)
    origin: str = ""
    _runner: web.AppRunner | None = None

    def service_account(self) -> str:
        return orjson.dumps(
            {
                "type": "service_account",
                "project_id": self.project,
                "private_key_id": "k1",
                "private_key": _pem(self.key),
                "client_email": self.client_email,
                "token_uri": f"{self.origin}/token",
            }
        ).decode()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/token", self._token)
        app.router.add_post("/v1/projects/{project}/messages:send", self._send)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        form = await request.post()
        try:
            if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
                raise ValueError("grant_type")
            claims = jwt.decode(
                str(form["assertion"]),
                self.key.public_key(),
                algorithms=["RS256"],
                audience=f"{self.origin}/token",
                issuer=self.client_email,
                options={"require": ["iat", "exp", "iss", "aud", "scope"]},
            )
            if claims["scope"] != FCM_SCOPE:
                raise ValueError("scope")
        except (KeyError, ValueError, jwt.PyJWTError) as exc:
            self.rejected.append(f"token: {exc}")
            return web.json_response({"error": "invalid_grant"}, status=400)
        token = secrets.token_urlsafe(24)
        self.access_tokens.add(token)
        return web.json_response(
            {"access_token": token, "expires_in": 3599, "token_type": "Bearer"}
        )

    async def _send(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.access_tokens:
            return web.json_response(
                {
                    "error": {
                        "code": 401,
                        "message": "Request had invalid authentication credentials.",
                        "status": "UNAUTHENTICATED",
                    }
                },
                status=401,
            )
        message = (await request.json())["message"]
        if message["token"] in self.unregistered:
            return web.json_response(
                {
                    "error": {
                        "code": 404,
                        "message": "Requested entity was not found.",
                        "status": "NOT_FOUND",
                        "details": [
                            {
                                "@type": "type.googleapis.com/google.firebase.fcm.v1.FcmError",
                                "errorCode": "UNREGISTERED",
                            }
                        ],
                    }
                },
                status=404,
            )
        project = request.match_info["project"]
        self.sent.append(FcmSent(project, message))
        return web.json_response({"name": f"projects/{project}/messages/{len(self.sent)}"})


@dataclass
class ApnsSent:
    token: str
    headers: dict[str, str]
    body: dict[str, Any]
    http_version: str


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "apns.crt", directory / "apns.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_text(_pem(key))
    return cert_path, key_path


@dataclass
class LocalApns:
    directory: Path
    team_id: str = "TEAM123456"
    key_id: str = "KEY1234567"
    topic: str = "local.cinema.app"
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    bad: set[str] = field(default_factory=set)
    unregistered: set[str] = field(default_factory=set)
    sent: list[ApnsSent] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)
    provider_tokens: set[str] = field(default_factory=set)
    origin: str = ""
    ca_file: Path | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None

    @property
    def private_key_pem(self) -> str:
        return _pem(self.key)

    async def start(self) -> None:
        cert, key = _self_signed(self.directory)
        self.ca_file = cert
        port = free_port()
        config = Config()
        config.bind = [f"127.0.0.1:{port}"]
        config.certfile, config.keyfile = str(cert), str(key)
        config.alpn_protocols = ["h2"]  # APNs: HTTP/2 only
        config.accesslog = None
        config.errorlog = None
        self._task = asyncio.create_task(
            serve(self._app, config, shutdown_trigger=self._stop.wait)  # type: ignore[arg-type]
        )
        self.origin = f"https://127.0.0.1:{port}"
        for _ in range(100):  # until it listens
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, 5)

    def _check_provider_token(self, header: str) -> str | None:
        """None when good, else APNs's reason."""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return "MissingProviderToken"
        try:
            if jwt.get_unverified_header(token).get("kid") != self.key_id:
                return "InvalidProviderToken"
            claims = jwt.decode(
                token,
                self.key.public_key(),
                algorithms=["ES256"],
                issuer=self.team_id,
                options={"require": ["iss", "iat"], "verify_iat": True},
            )
        except jwt.PyJWTError:
            return "InvalidProviderToken"
        if claims["iat"] < time.time() - 3600:
            return "ExpiredProviderToken"
        self.provider_tokens.add(token)
        return None

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        path: str = scope["path"]
        status, answer = self._answer(scope, path, headers, body)
        payload = orjson.dumps(answer) if answer else b""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"apns-id", secrets.token_hex(16).encode()),
                    (b"content-type", b"application/json"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    def _answer(
        self, scope: dict[str, Any], path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, Any] | None]:
        if scope["method"] != "POST" or not path.startswith("/3/device/"):
            return 405, {"reason": "MethodNotAllowed"}
        token = path.removeprefix("/3/device/")
        reason = self._check_provider_token(headers.get("authorization", ""))
        if reason:
            self.rejected.append(reason)
            return 403, {"reason": reason}
        if headers.get("apns-topic") != self.topic:
            return 400, {"reason": "DeviceTokenNotForTopic"}
        if headers.get("apns-push-type") not in ("alert", "background"):
            return 400, {"reason": "InvalidPushType"}
        if token in self.bad:
            return 400, {"reason": "BadDeviceToken"}
        if token in self.unregistered:
            return 410, {"reason": "Unregistered", "timestamp": int(time.time() * 1000)}
        self.sent.append(ApnsSent(token, headers, orjson.loads(body), scope["http_version"]))
        return 200, None
