"""Two-factor use cases: enrolling an authenticator app, recovery codes, turning it off, and
the second step of a sign-in."""

from __future__ import annotations

import uuid
from typing import Any

import segno
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import mfa, passkeys
from models.accounts.schemas import (
    MfaStatusOut,
    RecoveryCodesOut,
    SignedInOut,
    TotpEnrolmentOut,
)
from models.accounts.service import (
    Principal,
    access_user,
    check_current_password,
    second_factors,
    start_session,
)
from models.accounts.tables import Passkey, RecoveryCode, TotpFactor, TrustedDevice, User
from models.core.clock import now
from models.core.context import Context
from models.core.errors import Conflict, Forbidden, NotFound, Unauthorized
from models.core.events import Outbox
from models.core.jobs import Job
from models.core.ratelimit import Limit, RateLimiter, client_bucket

# Codes typed by a signed-in user (confirming, turning off, new recovery codes): enough for
# typos, too few to walk a million codes.
CODE_PER_USER = Limit("mfa_code_user", 10, 900)
# The sign-in step. Per account and client, like the password; and per account alone, which
# the password limits avoid: whoever is here already knows the password, and a lockout of the
# second factor is what RFC 6238 section 5.2 asks for against code guessing from many addresses.
MFA_PER_ACCOUNT_IP = Limit("mfa_acct_ip", 10, 900)
MFA_PER_ACCOUNT = Limit("mfa_acct", 30, 3600)

_WRONG_CODE = "The code is not right (or was already used)"


def _limiter(ctx: Context) -> RateLimiter:
    return RateLimiter(ctx.redis, ctx.keys.prefix)


def _notify(outbox: Outbox, user: User, subject: str, text: str) -> None:
    if user.email_confirmed_at is not None:
        outbox.enqueue(
            Job.send_email, to=user.email, subject=subject, text=f"Hello {user.username},\n\n{text}"
        )


async def mfa_status(session: AsyncSession, *, principal: Principal) -> MfaStatusOut:
    user_id = principal.user_id
    passkeys = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    )
    return MfaStatusOut(
        totp_enabled=await mfa.confirmed_totp(session, user_id) is not None,
        passkeys=int(passkeys or 0),
        recovery_codes_left=await mfa.recovery_codes_left(session, user_id),
        remembered_devices=await mfa.remembered_devices(session, user_id),
        methods=await second_factors(session, user_id=user_id),
    )


async def do_start_totp(
    ctx: Context, session: AsyncSession, *, principal: Principal, current_password: str
) -> TotpEnrolmentOut:
    """A new secret, waiting for its first code; asking again replaces one not yet confirmed."""
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    factor = await session.get(TotpFactor, user.id, with_for_update=True)
    if factor is not None and factor.confirmed_at is not None:
        raise Conflict("An authenticator app is already on; turn it off first", code="totp_enabled")
    secret = mfa.new_secret()
    sealed = mfa.seal_secret(ctx.settings, secret)
    if factor is None:
        session.add(TotpFactor(user_id=user.id, secret_enc=sealed, last_step=0))
    else:
        factor.secret_enc, factor.last_step, factor.created_at = sealed, 0, now()
    await session.flush()
    uri = mfa.otpauth_uri(ctx.settings, secret=secret, account=user.email)
    qr = segno.make(uri, error="m")
    return TotpEnrolmentOut(
        secret=secret,
        otpauth_uri=uri,
        qr_svg=qr.svg_inline(scale=4, title="Two-factor sign-in"),
        qr_data_uri=qr.svg_data_uri(scale=4),
    )


async def do_confirm_totp(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, principal: Principal, code: str
) -> RecoveryCodesOut:
    """The first code proves the app holds the secret: from now on sign-in asks for one."""
    user = await access_user(session, principal=principal)
    await _limiter(ctx).hit(CODE_PER_USER, str(user.id))
    factor = await session.get(TotpFactor, user.id, with_for_update=True)
    if factor is None:
        raise NotFound("Start the enrolment first (POST /me/2fa/totp)", code="totp_not_started")
    if factor.confirmed_at is not None:
        raise Conflict("The authenticator app is already on", code="totp_enabled")
    if not await mfa.use_totp(ctx.settings, session, factor=factor, code=code):
        raise Forbidden(_WRONG_CODE, code="invalid_code")
    factor.confirmed_at = now()
    codes = await _ensure_recovery_codes(session, user_id=user.id)
    await session.flush()
    _notify(
        outbox,
        user,
        "Two-factor sign-in is on",
        "signing in to your account now asks for a code from your authenticator app. If this "
        "was not you, reset your password and contact support.",
    )
    return RecoveryCodesOut(recovery_codes=codes)


async def _ensure_recovery_codes(session: AsyncSession, *, user_id: uuid.UUID) -> list[str]:
    """Fresh codes when the first second factor arrives; a second factor added later keeps
    the codes the user already wrote down (and shows none: they are kept hashed)."""
    if await mfa.recovery_codes_left(session, user_id):
        return []
    return await mfa.new_recovery_codes(session, user_id=user_id)


async def _prove_factor(
    ctx: Context,
    session: AsyncSession,
    *,
    user: User,
    code: str | None,
    recovery_code: str | None,
) -> None:
    await _limiter(ctx).hit(CODE_PER_USER, str(user.id))
    if code is not None:
        factor = await mfa.confirmed_totp(session, user.id)
        if factor is not None and await mfa.use_totp(
            ctx.settings, session, factor=factor, code=code
        ):
            return
    elif recovery_code is not None and await mfa.use_recovery_code(
        session, user_id=user.id, code=recovery_code
    ):
        return
    raise Forbidden(_WRONG_CODE, code="invalid_code")


async def do_disable_totp(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    principal: Principal,
    current_password: str,
    code: str | None,
    recovery_code: str | None,
) -> None:
    """Turn the authenticator app off: the password and a code (or a recovery code)."""
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    if await mfa.confirmed_totp(session, user.id) is None:
        raise NotFound("No authenticator app is on", code="totp_not_enabled")
    await _prove_factor(ctx, session, user=user, code=code, recovery_code=recovery_code)
    await session.execute(delete(TotpFactor).where(TotpFactor.user_id == user.id))
    if not await second_factors(session, user_id=user.id):
        # No second factor left: codes and remembered devices would only be traps later.
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
        await session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == user.id))
    await session.flush()
    _notify(
        outbox,
        user,
        "Two-factor sign-in was turned off",
        "your authenticator app no longer signs in to your account. If this was not you, "
        "reset your password and turn it on again.",
    )


async def do_new_recovery_codes(
    ctx: Context,
    session: AsyncSession,
    *,
    principal: Principal,
    current_password: str,
    code: str | None,
    recovery_code: str | None,
) -> RecoveryCodesOut:
    """New recovery codes; the old ones stop working."""
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    if not await second_factors(session, user_id=user.id):
        raise NotFound("Two-factor sign-in is off", code="mfa_not_enabled")
    await _prove_factor(ctx, session, user=user, code=code, recovery_code=recovery_code)
    return RecoveryCodesOut(recovery_codes=await mfa.new_recovery_codes(session, user_id=user.id))


async def do_forget_devices(session: AsyncSession, *, principal: Principal) -> int:
    """Every remembered device is asked for the second factor again."""
    return await mfa.forget_devices(session, user_id=principal.user_id)


async def do_second_step(
    ctx: Context,
    session: AsyncSession,
    *,
    mfa_token: str,
    code: str | None,
    recovery_code: str | None,
    remember_device: bool,
    ip: str,
    user_agent: str,
    passkey: dict[str, Any] | None = None,
) -> SignedInOut:
    """The second step of a sign-in: a code, a recovery code or a passkey for the pending
    token."""
    pending = await mfa.load_pending(ctx, mfa_token)
    user = await _pending_user(session, pending.user_id)
    await _limit_step(ctx, user=user, ip=ip)
    ok = False
    if code is not None:
        factor = await mfa.confirmed_totp(session, user.id)
        ok = factor is not None and await mfa.use_totp(
            ctx.settings, session, factor=factor, code=code
        )
    elif recovery_code is not None:
        ok = await mfa.use_recovery_code(session, user_id=user.id, code=recovery_code)
    elif passkey is not None:
        ok = await passkeys.check_second_factor(
            ctx, session, mfa_token=mfa_token, user_id=user.id, credential=passkey
        )
    if not ok:
        await mfa.count_failure(ctx, mfa_token)
        raise Forbidden(_WRONG_CODE, code="invalid_code")
    return await finish_sign_in(
        ctx,
        session,
        mfa_token=mfa_token,
        user=user,
        remember_device=remember_device,
        user_agent=user_agent,
        ip=ip,
    )


async def _pending_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Account is disabled", code="account_disabled")
    return user


async def _limit_step(ctx: Context, *, user: User, ip: str) -> None:
    limiter = _limiter(ctx)
    await limiter.hit(MFA_PER_ACCOUNT_IP, f"{user.id}|{client_bucket(ip)}")
    await limiter.hit(MFA_PER_ACCOUNT, str(user.id))


async def finish_sign_in(
    ctx: Context,
    session: AsyncSession,
    *,
    mfa_token: str,
    user: User,
    remember_device: bool,
    ip: str,
    user_agent: str,
) -> SignedInOut:
    """Every factor given: spend the pending step (once) and start the session."""
    if not await mfa.finish_pending(ctx, mfa_token):
        raise Unauthorized("This sign-in step was already used", code="mfa_token_invalid")
    device = None
    if remember_device and ctx.settings.mfa_remember_device_s > 0:
        device = await mfa.remember_device(
            ctx.settings, session, user_id=user.id, user_agent=user_agent
        )
    signed = await start_session(ctx, user=user, ip=ip, user_agent=user_agent)
    return SignedInOut(**signed.model_dump(), device_token=device)
