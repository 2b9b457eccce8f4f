"""Passkeys (WebAuthn, verified by py_webauthn): register, sign in without a password
(discoverable credentials) or as a second factor; list, rename, delete."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from webauthn import (
    base64url_to_bytes,
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import bytes_to_base64url, parse_authentication_credential_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from models.accounts import mfa
from models.accounts.schemas import (
    PasskeyCreatedOut,
    PasskeyOptionsOut,
    PasskeyOut,
    SignedInOut,
)
from models.accounts.service import (
    Principal,
    access_user,
    check_current_password,
    second_factors,
    start_session,
)
from models.accounts.tables import Passkey, RecoveryCode, TrustedDevice, User
from models.core.clock import now
from models.core.context import Context
from models.core.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from models.core.events import Outbox
from models.core.jobs import Job
from models.core.ratelimit import Limit, RateLimiter, client_bucket

MAX_PASSKEYS = 20
CEREMONY_TTL_S = 300
# Passwordless sign-in asks nothing else, so it is limited like the password.
PASSKEY_LOGIN_PER_IP = Limit("passkey_login_ip", 30, 300)

_BAD_ASSERTION = "This passkey could not be verified"


def _limiter(ctx: Context) -> RateLimiter:
    return RateLimiter(ctx.redis, ctx.keys.prefix)


def passkey_out(p: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=p.id,
        name=p.name,
        created_at=p.created_at,
        last_used_at=p.last_used_at,
        backed_up=p.backed_up,
        transports=[t for t in p.transports.split(",") if t],
    )


def _options(options: Any) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(options_to_json(options))
    return parsed


async def _save_ceremony(ctx: Context, **fields: str) -> str:
    """A registration or sign-in ceremony's challenge, kept 5 minutes and used once."""
    ceremony_id = secrets.token_urlsafe(24)
    await ctx.redis.set(ctx.keys("webauthn", ceremony_id), json.dumps(fields), ex=CEREMONY_TTL_S)
    return ceremony_id


async def _take_ceremony(ctx: Context, ceremony_id: str, purpose: str) -> dict[str, str]:
    raw = await ctx.redis.getdel(ctx.keys("webauthn", ceremony_id))
    fields: dict[str, str] = json.loads(raw) if raw else {}
    if fields.get("purpose") != purpose:
        raise NotFound(
            "This passkey ceremony has expired or is unknown; start again",
            code="ceremony_not_found",
        )
    return fields


def _descriptors(keys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    out = []
    for k in keys:
        transports = []
        for t in k.transports.split(","):
            try:
                transports.append(AuthenticatorTransport(t))
            except ValueError:
                continue  # one this library does not know yet
        out.append(PublicKeyCredentialDescriptor(id=k.credential_id, transports=transports))
    return out


async def _keys_of(session: AsyncSession, user_id: uuid.UUID) -> list[Passkey]:
    rows = await session.scalars(
        select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)
    )
    return list(rows)


async def count_passkeys(session: AsyncSession, *, user_id: uuid.UUID) -> int:
    found = await session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user_id)
    )
    return int(found or 0)


# --- registration -------------------------------------------------------------------------


async def do_start_registration(
    ctx: Context, session: AsyncSession, *, principal: Principal, current_password: str
) -> PasskeyOptionsOut:
    """Options for navigator.credentials.create(): a discoverable credential (it can sign in
    without a username), the user's existing passkeys excluded."""
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    keys = await _keys_of(session, user.id)
    if len(keys) >= MAX_PASSKEYS:
        raise Conflict(f"At most {MAX_PASSKEYS} passkeys", code="too_many_passkeys")
    options = generate_registration_options(
        rp_id=ctx.settings.rp_id,
        rp_name=ctx.settings.webauthn_rp_name,
        user_id=user.id.bytes,  # the user handle: random, no personal data in it
        user_name=user.email,
        user_display_name=user.display_name or user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(keys),
    )
    ceremony = await _save_ceremony(
        ctx,
        purpose="register",
        user_id=str(user.id),
        challenge=bytes_to_base64url(options.challenge),
    )
    return PasskeyOptionsOut(ceremony_id=ceremony, options=_options(options))


async def do_finish_registration(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    principal: Principal,
    ceremony_id: str,
    credential: dict[str, Any],
    name: str | None,
) -> PasskeyCreatedOut:
    user = await access_user(session, principal=principal)
    fields = await _take_ceremony(ctx, ceremony_id, "register")
    if fields["user_id"] != str(user.id):
        raise NotFound("This ceremony is another account's", code="ceremony_not_found")
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=base64url_to_bytes(fields["challenge"]),
            expected_rp_id=ctx.settings.rp_id,
            expected_origin=ctx.settings.rp_origins,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(
            f"The passkey could not be registered: {exc}", code="invalid_passkey"
        ) from exc
    transports = credential.get("response", {}).get("transports") or []
    key = Passkey(
        user_id=user.id,
        credential_id=verified.credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        name=(name or "Passkey").strip()[:64] or "Passkey",
        transports=",".join(str(t) for t in transports if isinstance(t, str))[:128],
        aaguid=verified.aaguid,
        backed_up=verified.credential_backed_up,
    )
    try:
        async with session.begin_nested():
            session.add(key)
            await session.flush()
    except IntegrityError as exc:
        raise Conflict("This passkey is already registered", code="passkey_exists") from exc
    codes: list[str] = []
    if await mfa.recovery_codes_left(session, user.id) == 0:
        codes = await mfa.new_recovery_codes(session, user_id=user.id)
    await session.refresh(key)
    if user.email_confirmed_at is not None:
        outbox.enqueue(
            Job.send_email,
            to=user.email,
            subject="A passkey was added to your account",
            text=(
                f"Hello {user.username},\n\na passkey named {key.name!r} can now sign in to "
                "your account, and signing in with your password asks for a second factor. "
                "If this was not you, reset your password and delete the passkey."
            ),
        )
    return PasskeyCreatedOut(passkey=passkey_out(key), recovery_codes=codes)


# --- managing ------------------------------------------------------------------------------


async def list_passkeys(session: AsyncSession, *, principal: Principal) -> list[PasskeyOut]:
    return [passkey_out(k) for k in await _keys_of(session, principal.user_id)]


async def _own(session: AsyncSession, principal: Principal, passkey_id: int) -> Passkey:
    key = await session.get(Passkey, passkey_id, with_for_update=True)
    if key is None or key.user_id != principal.user_id:
        raise NotFound("No such passkey", code="passkey_not_found")
    return key


async def do_rename(
    session: AsyncSession, *, principal: Principal, passkey_id: int, name: str
) -> PasskeyOut:
    key = await _own(session, principal, passkey_id)
    key.name = name
    await session.flush()
    return passkey_out(key)


async def do_delete(
    session: AsyncSession, outbox: Outbox, *, principal: Principal, passkey_id: int
) -> None:
    key = await _own(session, principal, passkey_id)
    await session.delete(key)
    await session.flush()
    if not await second_factors(session, user_id=principal.user_id):
        # No second factor left: codes and remembered devices would only be traps later.
        await session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == key.user_id))
        await session.execute(delete(TrustedDevice).where(TrustedDevice.user_id == key.user_id))
    user = await access_user(session, principal=principal)
    if user.email_confirmed_at is not None:
        outbox.enqueue(
            Job.send_email,
            to=user.email,
            subject="A passkey was removed from your account",
            text=f"Hello {user.username},\n\nthe passkey named {key.name!r} no longer signs in.",
        )


# --- signing in ----------------------------------------------------------------------------


async def do_start_passwordless(ctx: Context, *, ip: str) -> PasskeyOptionsOut:
    """Options for navigator.credentials.get() with no account named: the authenticator
    offers the passkeys it holds for this site (discoverable credentials)."""
    await _limiter(ctx).hit(PASSKEY_LOGIN_PER_IP, client_bucket(ip))
    options = generate_authentication_options(
        rp_id=ctx.settings.rp_id, user_verification=UserVerificationRequirement.REQUIRED
    )
    ceremony = await _save_ceremony(
        ctx, purpose="sign_in", challenge=bytes_to_base64url(options.challenge)
    )
    return PasskeyOptionsOut(ceremony_id=ceremony, options=_options(options))


async def _verify_assertion(
    ctx: Context,
    session: AsyncSession,
    *,
    credential: dict[str, Any],
    challenge: str,
    user_id: uuid.UUID | None,
    require_user_verification: bool,
) -> Passkey:
    """The passkey that signed `challenge`, its counter moved on; `user_id` when the account
    is known (second factor), else the credential's user handle names it."""
    try:
        parsed = parse_authentication_credential_json(credential)
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise InvalidInput(f"Not a passkey assertion: {exc}", code="invalid_passkey") from exc
    key = await session.scalar(
        select(Passkey).where(Passkey.credential_id == parsed.raw_id).with_for_update()
    )
    handle = parsed.response.user_handle
    if (
        key is None
        or (user_id is not None and key.user_id != user_id)
        or (handle is not None and handle != key.user_id.bytes)
        or (user_id is None and handle is None)
    ):
        raise Unauthorized(_BAD_ASSERTION, code="invalid_passkey")
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=ctx.settings.rp_id,
            expected_origin=ctx.settings.rp_origins,
            credential_public_key=key.public_key,
            credential_current_sign_count=key.sign_count,
            require_user_verification=require_user_verification,
        )
    except WebAuthnException as exc:
        raise Unauthorized(_BAD_ASSERTION, code="invalid_passkey") from exc
    key.sign_count = verified.new_sign_count
    key.backed_up = verified.credential_backed_up
    key.last_used_at = now()
    await session.flush()
    return key


async def do_finish_passwordless(
    ctx: Context,
    session: AsyncSession,
    *,
    ceremony_id: str,
    credential: dict[str, Any],
    ip: str,
    user_agent: str,
) -> SignedInOut:
    """A passkey with user verification is two factors in itself (the device, and the PIN or
    biometric that unlocks it): the session starts, whatever else the account has on."""
    fields = await _take_ceremony(ctx, ceremony_id, "sign_in")
    key = await _verify_assertion(
        ctx,
        session,
        credential=credential,
        challenge=fields["challenge"],
        user_id=None,
        require_user_verification=True,
    )
    user = await session.get(User, key.user_id)
    if user is None or not user.is_active:
        raise Unauthorized(_BAD_ASSERTION, code="invalid_passkey")
    signed = await start_session(ctx, user=user, ip=ip, user_agent=user_agent)
    return SignedInOut(**signed.model_dump())


async def do_start_second_factor(
    ctx: Context, session: AsyncSession, *, mfa_token: str
) -> PasskeyOptionsOut:
    """Options for navigator.credentials.get() in the second step of a sign-in: the account
    is known, so its passkeys are listed."""
    pending = await mfa.load_pending(ctx, mfa_token)
    keys = await _keys_of(session, pending.user_id)
    if not keys:
        raise NotFound("This account has no passkey", code="passkey_not_found")
    options = generate_authentication_options(
        rp_id=ctx.settings.rp_id,
        allow_credentials=_descriptors(keys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    await mfa.set_pending_challenge(ctx, mfa_token, bytes_to_base64url(options.challenge))
    return PasskeyOptionsOut(ceremony_id="", options=_options(options))


async def check_second_factor(
    ctx: Context,
    session: AsyncSession,
    *,
    mfa_token: str,
    user_id: uuid.UUID,
    credential: dict[str, Any],
) -> bool:
    """Whether `credential` answers the challenge issued for this step (once: it is wiped)."""
    pending = await mfa.load_pending(ctx, mfa_token)
    if not pending.challenge:
        raise Forbidden("Ask for the passkey options of this step first", code="invalid_challenge")
    await mfa.set_pending_challenge(ctx, mfa_token, "")
    try:
        await _verify_assertion(
            ctx,
            session,
            credential=credential,
            challenge=pending.challenge,
            user_id=user_id,
            require_user_verification=False,
        )
    except (Unauthorized, InvalidInput):
        return False
    return True
