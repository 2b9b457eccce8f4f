"""Second-factor building blocks: TOTP codes (RFC 6238), recovery codes, remembered devices,
and the short-lived "mfa pending" step between a right password and a session."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts.tables import RecoveryCode, TotpFactor, TrustedDevice
from models.core.clock import now
from models.core.context import Context
from models.core.errors import Unauthorized
from models.core.settings import Settings

STEP_S = 30
DIGITS = 6
# A code from the step before or after the server's is taken too (clocks drift, people type
# slowly): RFC 6238 section 5.2 recommends at most one step each way.
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Crockford-like: no 0/O, 1/I/L, so a code read off paper is typed right.
_RECOVERY_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
_RECOVERY_LEN = 10  # 10 of 31 letters: about 50 bits, far past guessing at our rate limits
# Wrong codes one "mfa pending" token may take before it is void (sign in again).
PENDING_ATTEMPTS = 5


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _aead(settings: Settings) -> AESGCM:
    key = HKDF(algorithm=SHA256(), length=32, salt=None, info=b"cinema totp secret v1").derive(
        settings.secret
    )
    return AESGCM(key)


def seal_secret(settings: Settings, secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + _aead(settings).encrypt(nonce, secret.encode(), b"totp")


def open_secret(settings: Settings, blob: bytes) -> str:
    return _aead(settings).decrypt(blob[:12], blob[12:], b"totp").decode()


def new_secret() -> str:
    return pyotp.random_base32(32)  # 160 bits, as RFC 4226 recommends for HMAC-SHA1


def otpauth_uri(settings: Settings, *, secret: str, account: str) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S).provisioning_uri(
        name=account, issuer_name=settings.totp_issuer
    )


def matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time step `code` belongs to (within the allowed drift), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != DIGITS or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_S)
    current = int(at.timestamp()) // STEP_S
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        # Every candidate is compared, in constant time, so timing says nothing.
        if hmac.compare_digest(totp.generate_otp(step), code):
            found = step
    return found


async def use_totp(
    settings: Settings, session: AsyncSession, *, factor: TotpFactor, code: str
) -> bool:
    """Accept `code` once: a step at or before the last accepted one is a replay. The update
    is conditional, so of two requests racing with one code only one wins."""
    step = matching_step(open_secret(settings, factor.secret_enc), code, now())
    if step is None:
        return False
    won = await session.scalar(
        update(TotpFactor)
        .where(TotpFactor.user_id == factor.user_id, TotpFactor.last_step < step)
        .values(last_step=step)
        .returning(TotpFactor.user_id)
    )
    if won is not None:
        factor.last_step = step
    return won is not None


async def confirmed_totp(session: AsyncSession, user_id: uuid.UUID) -> TotpFactor | None:
    factor = await session.get(TotpFactor, user_id)
    return factor if factor is not None and factor.confirmed_at is not None else None


def _normalize_recovery(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


async def new_recovery_codes(session: AsyncSession, *, user_id: uuid.UUID) -> list[str]:
    """Replace every recovery code with fresh ones, shown to the user this once."""
    await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LEN))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    session.add_all(RecoveryCode(user_id=user_id, code_hash=_digest(c)) for c in codes)
    await session.flush()
    half = _RECOVERY_LEN // 2
    return [f"{c[:half]}-{c[half:]}" for c in codes]


async def use_recovery_code(session: AsyncSession, *, user_id: uuid.UUID, code: str) -> bool:
    """Spend a recovery code (once: the update finds it unused or not at all)."""
    normalized = _normalize_recovery(code)
    if len(normalized) != _RECOVERY_LEN:
        return False
    target = (
        select(RecoveryCode.id)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .limit(1)
        .scalar_subquery()
    )
    used = await session.scalar(
        update(RecoveryCode)
        .where(RecoveryCode.id == target, RecoveryCode.used_at.is_(None))
        .values(used_at=now())
        .returning(RecoveryCode.id)
    )
    return used is not None


async def recovery_codes_left(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(RecoveryCode)
            .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        or 0
    )


async def remember_device(
    settings: Settings, session: AsyncSession, *, user_id: uuid.UUID, user_agent: str
) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        TrustedDevice(
            user_id=user_id,
            token_hash=_digest(raw),
            user_agent=user_agent[:256],
            expires_at=now() + timedelta(seconds=settings.mfa_remember_device_s),
        )
    )
    await session.flush()
    return raw


async def is_remembered(session: AsyncSession, *, user_id: uuid.UUID, raw: str | None) -> bool:
    if not raw:
        return False
    found = await session.scalar(
        select(TrustedDevice.id).where(
            TrustedDevice.token_hash == _digest(raw),
            TrustedDevice.user_id == user_id,
            TrustedDevice.expires_at > now(),
        )
    )
    return found is not None


async def forget_devices(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    result = await session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == user_id))
    return int(getattr(result, "rowcount", 0) or 0)


async def remembered_devices(session: AsyncSession, user_id: uuid.UUID) -> int:
    return int(
        await session.scalar(
            select(func.count())
            .select_from(TrustedDevice)
            .where(TrustedDevice.user_id == user_id, TrustedDevice.expires_at > now())
        )
        or 0
    )


# --- the pending step -------------------------------------------------------------------------

_INVALID_PENDING = "This sign-in step has expired or is not valid; sign in again"


@dataclass(frozen=True)
class Pending:
    user_id: uuid.UUID
    ip: str
    user_agent: str
    challenge: str  # the WebAuthn challenge issued for this step, base64url ("" until asked)


def _pending_key(ctx: Context, raw: str) -> str:
    return ctx.keys("mfa_pending", _digest(raw))


async def start_pending(ctx: Context, *, user_id: uuid.UUID, ip: str, user_agent: str) -> str:
    """A right password, and a second factor still to come: a token that can only finish this
    sign-in (not a session: it opens nothing else), for `mfa_pending_ttl_s`."""
    raw = secrets.token_urlsafe(32)
    key = _pending_key(ctx, raw)
    async with ctx.redis.pipeline(transaction=True) as pipe:
        pipe.hset(
            key,
            mapping={
                "user_id": str(user_id),
                "ip": ip,
                "user_agent": user_agent[:256],
                "attempts": 0,
                "challenge": "",
            },
        )
        pipe.expire(key, ctx.settings.mfa_pending_ttl_s)
        await pipe.execute()
    return raw


async def load_pending(ctx: Context, raw: str) -> Pending:
    h = await ctx.redis.hgetall(_pending_key(ctx, raw))
    if not h:
        raise Unauthorized(_INVALID_PENDING, code="mfa_token_invalid")
    return Pending(
        user_id=uuid.UUID(h["user_id"]),
        ip=h.get("ip", ""),
        user_agent=h.get("user_agent", ""),
        challenge=h.get("challenge", ""),
    )


async def set_pending_challenge(ctx: Context, raw: str, challenge: str) -> None:
    await ctx.redis.hset(_pending_key(ctx, raw), "challenge", challenge)


# Count a wrong answer on a step that still exists (never re-create a spent one); past the
# limit the step is void.
_FAIL = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local n = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if n >= tonumber(ARGV[1]) then redis.call('DEL', KEYS[1]) end
return n
"""


async def count_failure(ctx: Context, raw: str) -> None:
    """One more wrong answer; past PENDING_ATTEMPTS the step is void."""
    await ctx.redis.eval(_FAIL, 1, _pending_key(ctx, raw), PENDING_ATTEMPTS)


async def finish_pending(ctx: Context, raw: str) -> bool:
    """Spend the step; False when another request already did (only one session comes of it)."""
    return bool(await ctx.redis.delete(_pending_key(ctx, raw)))
