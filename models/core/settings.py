"""One typed settings object, read from the environment once at start-up."""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from models.core.redis import SENTINEL_SCHEME, sentinel_url

DEV_SECRET = "dev-insecure-secret-change-me-0123456789abcdef"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    env: Literal["development", "test", "production"] = "development"

    # Standard URL forms, as hosting platforms and docker-compose set them. Empty means
    # "embedded": `cinema` starts a local PostgreSQL / Redis under data_dir.
    database_url: str | None = None
    redis_url: str | None = None
    # Redis through Sentinel: "host:port,host:port" of the Sentinels and the name they know the
    # master by. Then redis_url becomes a redis+sentinel:// URL (its password and db, if
    # REDIS_URL is set too, are kept) that every client uses (models/core/redis.py).
    redis_sentinels: str | None = None
    redis_sentinel_master: str = "mymaster"
    # Connections each process keeps open, and how many more it opens in a burst (those are
    # closed again when returned: each costs a TLS handshake and an authentication).
    database_pool_size: int = Field(default=20, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    # Every Redis key and pub/sub channel starts with this, so several deployments (or
    # parallel test runs) can share one Redis.
    redis_prefix: str = "cinema"

    secret_key: SecretStr = SecretStr(DEV_SECRET)
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".data")
    media_dir: Path = Path(".data/media")
    # The built web app (`make web` writes web/dist), served at / (http_api/webapp.py).
    web_dir: Path = Path(__file__).resolve().parents[2] / "web" / "dist"
    # Streaming (issue 7). Signed media URLs live this long: a feature film plus pauses.
    media_url_ttl_s: int = 6 * 3600
    # Screens one account may play on at once; a screen stops counting once its player's
    # heartbeats (or playback requests) stop for stream_ttl_s.
    max_streams: int = Field(default=4, ge=1, le=100)
    stream_ttl_s: float = Field(default=60.0, gt=0, le=3600)
    media_max_upload_bytes: int = 20 * 1024**3
    media_ladder: str = "1080:5000,720:2800,360:800"  # height:video kbit/s per rendition
    media_segment_s: int = Field(default=4, ge=1, le=10)
    media_x264_preset: str = "veryfast"
    # Seek-bar thumbnails: one every this many seconds, in sprite sheets (0: none).
    media_thumbnail_interval_s: float = Field(default=10, ge=0, le=600)
    # Intro and credits are suggested to editors once this many different viewers skip
    # the same span (or stop at the same point).
    media_segment_min_viewers: int = Field(default=5, ge=2)
    ffmpeg_path: str | None = None  # default: the system ffmpeg, else imageio-ffmpeg's
    # Where players fetch /media/... from: a CDN in front of us; default public_url.
    media_public_url: str | None = None
    # Where published revisions live besides the transcoder's working disk (media_dir):
    # "local" (the disk only; `make run`) or "s3", an S3-compatible bucket that survives the
    # machine (models/media/objects.py). S3_ENDPOINT_URL unset is AWS itself; credentials
    # unset are boto3's usual chain (environment, instance role...).
    media_store: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_prefix: str = "media"
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    # Segments and images from S3: "redirect" (302 to a presigned URL: bytes go from the store
    # to the player) or "proxy" (served through this process). Manifests are always served
    # through: players resolve their relative URIs against the manifest's own URL.
    media_s3_delivery: Literal["redirect", "proxy"] = "redirect"

    # Browser origins allowed for CORS and for Socket.IO's Origin check.
    cors_origins: list[str] = Field(default_factory=lambda: ["http://127.0.0.1:8000"])
    # WebSocket only by default: no sticky sessions needed behind a load balancer.
    socketio_polling: bool = False
    socketio_max_payload_bytes: int = 64 * 1024
    socketio_max_connections_per_user: int = 20
    # The server pings every socket this often; one silent for interval + timeout is closed
    # (clients drop a server that goes quiet as long, and reconnect).
    socketio_ping_interval_s: float = Field(default=25.0, gt=0)
    socketio_ping_timeout_s: float = Field(default=20.0, gt=0)
    # Every process refreshes its sockets in Redis this often; a socket unrefreshed for three
    # heartbeats belongs to a process that died (its close was never seen).
    socket_heartbeat_s: float = Field(default=30.0, gt=0)
    # Each web process also says it is alive every `process_beat_s`. One silent for
    # `process_dead_after_s` whose Redis connections are gone too (its kernel closed them: it
    # was killed or ran out of memory) is dead, and its sockets are let go at once. One that
    # is silent but still connected only stalls (a GC pause, a slow disk, SIGSTOP): it keeps
    # its sockets until the three socket heartbeats above run out.
    process_beat_s: float = Field(default=1.0, gt=0)
    process_dead_after_s: float = Field(default=3.0, gt=0)
    # Proxies whose X-Forwarded-For we believe when keying rate limits on client IP.
    trusted_proxies: list[str] = Field(default_factory=lambda: ["127.0.0.1"])

    access_token_ttl_s: int = 15 * 60
    session_idle_ttl_s: int = 14 * 24 * 3600
    session_absolute_ttl_s: int = 60 * 24 * 3600
    # A refresh token presented again this soon after it was rotated gets the same successor
    # instead of revoking the session: the first answer may have been lost on a flaky network.
    refresh_grace_s: float = Field(default=30.0, ge=0, le=300)
    reset_token_ttl_s: int = 3600
    confirm_token_ttl_s: int = 3 * 24 * 3600
    # The link mailed to the old address of an email change undoes it this long.
    email_undo_ttl_s: int = Field(default=7 * 24 * 3600, ge=3600)
    # Sign-in on a TV (RFC 8628): how long a device code waits for approval, and how often
    # the TV may poll for it (faster gets slow_down, and 5 s more to wait).
    device_code_ttl_s: int = Field(default=600, ge=5, le=3600)
    device_poll_interval_s: int = Field(default=5, ge=1, le=60)

    # Two-factor sign-in: the password step's "mfa pending" token lives this long; a device
    # where the second factor was given with "remember this device" skips it this long.
    mfa_pending_ttl_s: int = Field(default=300, ge=30, le=3600)
    mfa_remember_device_s: int = Field(default=30 * 24 * 3600, ge=0)
    totp_issuer: str = "Cinema"
    # Passkeys (WebAuthn): the relying party id is the site's registrable domain (default:
    # PUBLIC_URL's host); origins are where the web app runs (default: PUBLIC_URL's origin).
    webauthn_rp_id: str | None = None
    webauthn_rp_name: str = "Cinema"
    webauthn_origins: list[str] | None = None

    # My data: an export's signed download link works this long (then the file is removed);
    # a deleted account is erased after this grace period, undoable until then (0: at once).
    export_ttl_s: int = Field(default=48 * 3600, ge=60)
    account_deletion_grace_s: int = Field(default=7 * 24 * 3600, ge=0)

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_tls: bool = False
    mail_from: str = "Cinema <no-reply@cinema.local>"

    # Watch parties (models/parties): capacity, waiting timeout, grace period, start lead.
    party_default_capacity: int = 50
    party_max_capacity: int = 1000
    party_wait_timeout_s: float = 8.0
    party_grace_s: float = 30.0
    party_lead_min_ms: int = 150
    party_lead_max_ms: int = 3000
    party_chat_limit: int = 20
    party_chat_window_s: int = 30
    party_queue_max: int = Field(default=200, ge=1, le=10_000)  # items a party's queue holds
    # How often party members still marked connected are checked against the socket
    # heartbeats (members of a crashed process get the Disconnect they never had).
    party_reconcile_s: float = Field(default=15.0, gt=0)
    # Member-list changes (joins, leaves, readiness, presence) within this window go out as
    # one party:state (0: each at once, as before batching); playback changes never wait.
    party_state_batch_ms: int = Field(default=100, ge=0, le=1000)
    # A user's last socket may be gone this long before friends see them offline (a phone
    # switching networks reconnects within it).
    presence_grace_ms: int = 5000

    # Ratings group-committed per statement at most (models.core.batching): those arriving
    # while a batch is written go in the next one. 1 writes each rating alone.
    rating_batch_max: int = Field(default=256, ge=1, le=10_000)
    # Social limits per user, sliding windows in Redis (429 with Retry-After; a rate_limited
    # ack over a socket): new friend requests (generous for adding the people one knows, a
    # wall for spamming strangers), comments, private messages, typing signals.
    friend_request_limit: int = Field(default=30, ge=1)
    friend_request_window_s: int = Field(default=3600, ge=1)
    comment_limit: int = Field(default=30, ge=1)
    comment_window_s: int = Field(default=60, ge=1)
    dm_send_limit: int = Field(default=120, ge=1)
    dm_send_window_s: int = Field(default=60, ge=1)
    dm_typing_limit: int = Field(default=120, ge=1)
    dm_typing_window_s: int = Field(default=60, ge=1)

    # Notifications: likes on one comment within this window become one notification; an
    # email waits this long (or until the window closes) and goes only if still unread.
    notify_group_window_s: int = 600
    notify_email_delay_s: int = 120
    # Web Push (VAPID). Empty key: one is derived from secret_key, so it is stable.
    vapid_private_key: SecretStr | None = None
    vapid_subject: str = "mailto:admin@cinema.local"
    # Push endpoints we will POST to (a leading dot allows subdomains); anything else is
    # refused at registration, so a subscription cannot point our server at an internal URL.
    push_endpoint_hosts: list[str] = Field(
        default_factory=lambda: [
            "fcm.googleapis.com",
            "updates.push.services.mozilla.com",
            ".notify.windows.com",
            "web.push.apple.com",
        ]
    )
    push_allow_http: bool = False
    push_max_subscriptions_per_user: int = 20
    # Phone and tablet apps. Firebase Cloud Messaging HTTP v1: a service account's JSON key
    # (a file or inline); the project id defaults to the key's. Unset: no FCM sends.
    fcm_service_account_file: Path | None = None
    fcm_service_account_json: SecretStr | None = None
    fcm_project_id: str | None = None
    fcm_url: str = "https://fcm.googleapis.com"
    # Apple Push Notification service, token-based auth: the .p8 key (PEM text or a file),
    # its key id, the team id and the app's bundle id (apns-topic). Unset: no APNs sends.
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_private_key: SecretStr | None = None
    apns_private_key_file: Path | None = None
    apns_topic: str | None = None
    # Development builds get tokens for https://api.sandbox.push.apple.com.
    apns_url: str = "https://api.push.apple.com"
    # A CA to trust besides the system's (a private relay in front of APNs; the tests).
    apns_ca_file: Path | None = None
    # An undelivered push is dropped after this long (FCM ttl, apns-expiration).
    push_ttl_s: int = Field(default=24 * 3600, ge=0, le=28 * 24 * 3600)

    # Prometheus metrics (README, Operations). Every process writes its samples to files in
    # metrics_dir (default data_dir/metrics), which must be one directory for the web
    # processes and the worker of one host; GET /metrics sums them. It answers only clients
    # in metrics_allow (CIDRs; the address after trusted proxies' X-Forwarded-For), or one
    # sending `Authorization: Bearer <metrics_token>` when a token is set.
    metrics_enabled: bool = True
    metrics_dir: Path | None = None
    metrics_allow: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    metrics_token: SecretStr | None = None
    # A worker on a host of its own serves its metrics here (0: it does not; its samples go
    # to metrics_dir for the web processes of its host to serve).
    metrics_worker_port: int = Field(default=0, ge=0, le=65535)
    metrics_worker_host: str = "127.0.0.1"

    # Traces (README, Operations): OTLP/HTTP to this collector (e.g. http://127.0.0.1:4318);
    # none, the default: nothing is traced. OTEL_TRACES_SAMPLER=traceidratio with
    # OTEL_TRACES_SAMPLER_ARG=0.1 keeps a tenth of new traces.
    otel_exporter_otlp_endpoint: str | None = None
    otel_service_name: str = "cinema"

    log_level: str = "INFO"
    log_dir: Path = Path("logs")
    log_json: bool = False
    # false: no logs/app.log, lines to stdout (containers: the Dockerfile sets it, and JSON)
    log_file: bool = True

    @field_validator("database_url", "redis_url", "redis_sentinels", mode="before")
    @classmethod
    def _blank_is_none(cls, v: object) -> object:
        return v or None

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Settings:
        if self.media_store == "s3" and not self.s3_bucket:
            raise ValueError("MEDIA_STORE=s3 needs S3_BUCKET")
        return self

    @model_validator(mode="after")
    def _through_sentinel(self) -> Settings:
        if self.redis_sentinels and not (self.redis_url or "").startswith(SENTINEL_SCHEME):
            base = urlsplit(self.redis_url or "")
            db = base.path.strip("/")
            self.redis_url = sentinel_url(
                self.redis_sentinels,
                self.redis_sentinel_master,
                db=int(db) if db.isdigit() else 0,
                username=base.username,
                password=base.password,
            )
        return self

    @model_validator(mode="after")
    def _derive_public_url(self) -> Settings:
        # Links in mails and playback URLs point where we serve, unless told otherwise.
        if "public_url" not in self.model_fields_set:
            host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
            host = f"[{host}]" if ":" in host else host  # an IPv6 address
            self.public_url = f"http://{host}:{self.port}"
        if "cors_origins" not in self.model_fields_set:
            self.cors_origins = [self.public_origin]
        return self

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        self.check_secret(host=self.host)
        return self

    def check_secret(self, *, host: str) -> None:
        """The development key is published in this repository: it may sign tokens only for a
        server nobody else can reach (listening on loopback, with a loopback public URL),
        whatever ENV says, since ENV defaults to development."""
        secret = self.secret_key.get_secret_value()
        if secret == DEV_SECRET:
            reachable = [
                where
                for where, name in (
                    ("HOST", host),
                    ("PUBLIC_URL", urlsplit(self.public_url).hostname),
                )
                if not _is_loopback(name or "")
            ]
            if self.env != "development" or reachable:
                raise ValueError(
                    "SECRET_KEY must be set (for example `openssl rand -hex 32`): the default "
                    "development key is public and serves only 127.0.0.1"
                    + (f" ({', '.join(reachable)} is not loopback)" if reachable else "")
                )
        if len(secret) < 32:
            raise ValueError("SECRET_KEY must be at least 32 characters")

    @cached_property
    def secret(self) -> bytes:
        return self.secret_key.get_secret_value().encode()

    @property
    def metrics_path(self) -> Path:
        return self.metrics_dir or self.data_dir / "metrics"

    @property
    def socket_stale_ms(self) -> int:
        """A socket whose heartbeat is older than this belongs to a dead process."""
        return int(3 * self.socket_heartbeat_s * 1000)

    @property
    def smtp_options(self) -> dict[str, Any]:
        """Keyword arguments of an aiosmtplib connection to the configured server."""
        return {
            "hostname": self.smtp_host,
            "port": self.smtp_port,
            "username": self.smtp_username,
            "password": self.smtp_password.get_secret_value() if self.smtp_password else None,
            "start_tls": self.smtp_starttls,
            "use_tls": self.smtp_tls,
            "timeout": 20,
        }

    @property
    def rp_id(self) -> str:
        return self.webauthn_rp_id or urlsplit(self.public_url).hostname or "localhost"

    @property
    def rp_origins(self) -> list[str]:
        return self.webauthn_origins or [self.public_origin]

    @property
    def public_origin(self) -> str:
        parts = urlsplit(self.public_url)
        return f"{parts.scheme}://{parts.netloc}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
