"""Sign-in on a TV: the OAuth 2.0 Device Authorization Grant (RFC 8628).

The TV asks for a device code and shows the user a short code; the user, signed in on a
phone or a computer, enters it and approves; the TV, polling the token endpoint meanwhile,
gets a session of its own. Codes live in Redis only (they last minutes): the device code
(32 random bytes, stored as its SHA-256) keys a hash with the state, the user code points at
it until it is used or expires. The state changes in Lua scripts, so two polls or two
approvals never both win.

Errors at the OAuth endpoints are `OAuthError`s: the door writes them in OAuth's own shape
(RFC 6749 §5.2), which client libraries read, rather than ours.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import links
from models.accounts.schemas import (
    DeviceAuthorizationOut,
    DeviceDecisionOut,
    DeviceRequestOut,
    OAuthMetadataOut,
    TokenOut,
)
from models.accounts.service import Principal, do_refresh, start_session
from models.accounts.tables import User
from models.core.clock import now_ms
from models.core.context import Context
from models.core.errors import DomainError, NotFound, Unauthorized
from models.core.ratelimit import Limit, RateLimiter, client_bucket

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# Twenty consonants, no vowels (no words), none that look alike (RFC 8628 §6.1): 8 of them
# are 20^8 = 2.6e10 codes, typed as BCDF-GHJK; case, spaces and dashes do not matter.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
# RFC 8628 §3.5: slow_down adds 5 s to the interval for this and every later poll.
SLOW_DOWN_STEP_S = 5
# A poll this much early still counts as on time (clocks, network jitter).
POLL_SLACK_MS = 200
# After expiry the state stays this long, so a late poll hears expired_token (not invalid).
EXPIRED_KEPT_MS = 3600 * 1000

# Guessing user codes: every lookup or decision counts, per user and per client address.
# A real sign-in costs two (look, approve); 2.6e10 codes leave guessing hopeless.
DEVICE_CODE_PER_USER = Limit("device_code_user", 20, 900)
DEVICE_CODE_PER_IP = Limit("device_code_ip", 60, 900)
# New device codes per client address: a TV asks once per sign-in.
DEVICE_AUTH_PER_IP = Limit("device_auth_ip", 30, 600)


class OAuthError(DomainError):
    """An error at an OAuth endpoint: `code` is the RFC 6749 §5.2 / RFC 8628 §3.5 code."""

    status = 400


# ARGV: now_ms, client_id, slack_ms, slow_down_step_s.
# Returns {outcome} or {'approved', user_id}; outcome is an RFC 8628 §3.5 error code.
_POLL = """
local h = redis.call('HMGET', KEYS[1], 'status', 'client_id', 'exp_ms', 'interval_s',
                     'last_poll_ms', 'user_id')
if not h[1] or h[2] ~= ARGV[2] then return {'invalid_grant'} end
local now = tonumber(ARGV[1])
if now >= tonumber(h[3]) then return {'expired_token'} end
if h[1] == 'used' then return {'invalid_grant'} end
if h[1] == 'denied' then return {'access_denied'} end
local interval = tonumber(h[4])
local last = tonumber(h[5] or '0')
redis.call('HSET', KEYS[1], 'last_poll_ms', ARGV[1])
if h[1] == 'approved' then
  redis.call('HSET', KEYS[1], 'status', 'used')
  return {'approved', h[6]}
end
if last > 0 and now - last < interval * 1000 - tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'interval_s', interval + tonumber(ARGV[4]))
  return {'slow_down'}
end
return {'authorization_pending'}
"""

# KEYS: device code key, user code key. ARGV: now_ms, decision, user_id.
# Returns 1 decided, 0 no longer pending (decided, used or expired).
_DECIDE = """
local h = redis.call('HMGET', KEYS[1], 'status', 'exp_ms')
if h[1] ~= 'pending' or tonumber(ARGV[1]) >= tonumber(h[2]) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'user_id', ARGV[3])
redis.call('DEL', KEYS[2])
return 1
"""


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_user_code() -> str:
    return "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))


def normalize_user_code(typed: str) -> str | None:
    """What the user typed, as stored: upper case, without spaces and dashes; None when it
    cannot be a code (so it costs no Redis lookup, though it still counts as a guess)."""
    code = "".join(c for c in typed.upper() if c not in " -")
    if len(code) != USER_CODE_LENGTH or any(c not in USER_CODE_ALPHABET for c in code):
        return None
    return code


def format_user_code(code: str) -> str:
    half = USER_CODE_LENGTH // 2
    return f"{code[:half]}-{code[half:]}"


@dataclass(frozen=True)
class _Pending:
    key: str
    user_code: str
    client_id: str
    device_name: str
    exp_ms: int


class DeviceGrants:
    """The device codes in Redis."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._redis = ctx.redis
        self._poll = ctx.redis.register_script(_POLL)
        self._decide = ctx.redis.register_script(_DECIDE)

    def _device_key(self, device_code: str) -> str:
        return self._ctx.keys("device_grant", _digest(device_code))

    def _user_key(self, user_code: str) -> str:
        return self._ctx.keys("device_user_code", user_code)

    async def start(self, *, client_id: str, device_name: str) -> tuple[str, str, int]:
        """A new device code and user code; (device_code, user_code, exp_ms)."""
        settings = self._ctx.settings
        device_code = secrets.token_urlsafe(32)
        exp_ms = now_ms() + settings.device_code_ttl_s * 1000
        key = self._device_key(device_code)
        for _ in range(5):  # a user code already in use is drawn again
            user_code = new_user_code()
            if await self._redis.set(self._user_key(user_code), key, pxat=exp_ms, nx=True):
                break
        else:  # pragma: no cover - 2.6e10 codes: only a flooded store gets here
            raise OAuthError("Try again", code="temporarily_unavailable", status=503)
        await self._redis.hset(
            key,
            mapping={
                "status": "pending",
                "client_id": client_id,
                "device_name": device_name,
                "user_code": user_code,
                "exp_ms": str(exp_ms),
                "interval_s": str(settings.device_poll_interval_s),
            },
        )
        await self._redis.pexpireat(key, exp_ms + EXPIRED_KEPT_MS)
        return device_code, user_code, exp_ms

    async def pending(self, user_code: str) -> _Pending | None:
        key = await self._redis.get(self._user_key(user_code))
        if key is None:
            return None
        h = await self._redis.hgetall(key)
        if h.get("status") != "pending" or now_ms() >= int(h.get("exp_ms", "0")):
            return None
        return _Pending(key, user_code, h["client_id"], h.get("device_name", ""), int(h["exp_ms"]))

    async def decide(self, p: _Pending, *, approve: bool, user_id: uuid.UUID) -> bool:
        decision = "approved" if approve else "denied"
        done = await self._decide(
            keys=[p.key, self._user_key(p.user_code)], args=[now_ms(), decision, str(user_id)]
        )
        return bool(done)

    async def poll(self, *, device_code: str, client_id: str) -> tuple[str, str, str]:
        """(outcome, user_id, device_name); outcome 'approved' or an RFC 8628 error code."""
        key = self._device_key(device_code)
        result = await self._poll(
            keys=[key], args=[now_ms(), client_id, POLL_SLACK_MS, SLOW_DOWN_STEP_S]
        )
        outcome = str(result[0])
        if outcome != "approved":
            return outcome, "", ""
        return outcome, str(result[1]), str(await self._redis.hget(key, "device_name") or "")


def _limiter(ctx: Context) -> RateLimiter:
    return RateLimiter(ctx.redis, ctx.keys.prefix)


_ERRORS = {
    "authorization_pending": "The user has not approved the code yet",
    "slow_down": "Polling too fast: wait `interval` seconds (5 more than before)",
    "access_denied": "The user declined the sign-in",
    "expired_token": "The code expired; ask for a new one",
    "invalid_grant": "Unknown, used or another client's device code",
}


async def do_device_authorization(
    ctx: Context, *, client_id: str | None, device_name: str | None, ip: str
) -> DeviceAuthorizationOut:
    """RFC 8628 §3.1-3.2: a device asks for a code to show its user."""
    try:
        await _limiter(ctx).hit(DEVICE_AUTH_PER_IP, client_bucket(ip))
    except DomainError as exc:
        raise OAuthError(exc.message, code="slow_down", status=429, headers=exc.headers) from exc
    client = check_client_id(client_id)
    name = (device_name or "").strip()
    if len(name) > 64 or any(not c.isprintable() for c in name):
        raise OAuthError(
            "device_name is one printable line of 64 characters", code="invalid_request"
        )
    device_code, user_code, exp_ms = await DeviceGrants(ctx).start(
        client_id=client, device_name=name or client
    )
    page = links.device_page(ctx.settings)
    return DeviceAuthorizationOut(
        device_code=device_code,
        user_code=format_user_code(user_code),
        verification_uri=page,
        verification_uri_complete=links.device_link(ctx.settings, format_user_code(user_code)),
        expires_in=max(1, (exp_ms - now_ms()) // 1000),
        interval=ctx.settings.device_poll_interval_s,
    )


def check_client_id(client_id: str | None) -> str:
    """Public clients (TVs cannot keep a secret) name themselves; the name is shown to the
    user who approves and kept as the session's device."""
    if not client_id:
        raise OAuthError("client_id is required", code="invalid_request")
    if len(client_id) > 64 or not all(c.isalnum() or c in "._-" for c in client_id):
        raise OAuthError(
            "client_id is 1 to 64 letters, digits, '.', '_' or '-'",
            code="invalid_client",
            status=401,
        )
    return client_id


async def do_token(
    ctx: Context,
    session: AsyncSession,
    *,
    grant_type: str | None,
    device_code: str | None,
    client_id: str | None,
    refresh_token: str | None,
    ip: str,
    user_agent: str,
) -> TokenOut:
    """The token endpoint (RFC 6749 §3.2): the device code grant, and refresh tokens so OAuth
    clients renew there too (the same rotation as POST /auth/refresh)."""
    if grant_type == "refresh_token":
        if not refresh_token:
            raise OAuthError("refresh_token is required", code="invalid_request")
        try:
            return await do_refresh(ctx, refresh_token=refresh_token)
        except Unauthorized as exc:
            raise OAuthError(exc.message, code="invalid_grant") from exc
    if grant_type != DEVICE_CODE_GRANT:
        raise OAuthError(
            f"grant_type must be {DEVICE_CODE_GRANT} or refresh_token",
            code="unsupported_grant_type" if grant_type else "invalid_request",
        )
    client = check_client_id(client_id)
    if not device_code or len(device_code) > 128:
        raise OAuthError("device_code is required", code="invalid_request")
    outcome, user_id, device_name = await DeviceGrants(ctx).poll(
        device_code=device_code, client_id=client
    )
    if outcome != "approved":
        raise OAuthError(_ERRORS.get(outcome, outcome), code=outcome)
    user = await session.get(User, uuid.UUID(user_id))
    if user is None or not user.is_active:
        raise OAuthError("The account that approved is disabled", code="access_denied")
    return await start_session(ctx, user=user, ip=ip, user_agent=device_name or user_agent)


async def _guess(ctx: Context, principal: Principal, ip: str, typed: str) -> _Pending:
    limiter = _limiter(ctx)
    await limiter.hit(DEVICE_CODE_PER_IP, client_bucket(ip))
    await limiter.hit(DEVICE_CODE_PER_USER, str(principal.user_id))
    code = normalize_user_code(typed)
    found = await DeviceGrants(ctx).pending(code) if code else None
    if found is None:
        raise NotFound(
            "No device is waiting for this code (mistyped, used or expired)",
            code="device_code_not_found",
        )
    return found


def _request_out(p: _Pending) -> DeviceRequestOut:
    return DeviceRequestOut(
        user_code=format_user_code(p.user_code),
        client_id=p.client_id,
        device_name=p.device_name,
        expires_at=datetime.fromtimestamp(p.exp_ms / 1000, UTC),
    )


async def access_device_request(
    ctx: Context, *, principal: Principal, user_code: str, ip: str
) -> DeviceRequestOut:
    """Which device waits for this code: the page shows it before the user approves (a code
    someone else sent them would name a device that is not theirs, RFC 8628 §5.4)."""
    return _request_out(await _guess(ctx, principal, ip, user_code))


async def do_decide_device(
    ctx: Context,
    *,
    principal: Principal,
    user_code: str,
    decision: Literal["approve", "deny"],
    ip: str,
) -> DeviceDecisionOut:
    """The signed-in user approves (the device gets a session of theirs) or denies a code."""
    found = await _guess(ctx, principal, ip, user_code)
    if not await DeviceGrants(ctx).decide(
        found, approve=decision == "approve", user_id=principal.user_id
    ):
        raise NotFound(
            "No device is waiting for this code (mistyped, used or expired)",
            code="device_code_not_found",
        )
    return DeviceDecisionOut(
        status="approved" if decision == "approve" else "denied", device=_request_out(found)
    )


TOKEN_PATH = "/api/v1/oauth/token"
DEVICE_AUTHORIZATION_PATH = "/api/v1/oauth/device_authorization"


def metadata(ctx: Context) -> OAuthMetadataOut:
    """What OAuth clients discover at /.well-known/oauth-authorization-server (RFC 8414)."""
    base = ctx.settings.public_url.rstrip("/")
    return OAuthMetadataOut(
        issuer=base,
        token_endpoint=base + TOKEN_PATH,
        device_authorization_endpoint=base + DEVICE_AUTHORIZATION_PATH,
        grant_types_supported=[DEVICE_CODE_GRANT, "refresh_token"],
        response_types_supported=[],  # no authorization endpoint: the web app signs in
        token_endpoint_auth_methods_supported=["none"],  # public clients (TVs)
        service_documentation=base + "/docs",
    )
