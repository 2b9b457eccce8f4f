"""Two-factor sign-in: the authenticator app (TOTP), recovery codes, remembered devices and
the second step of a sign-in."""

from __future__ import annotations

from http_api.routing import Api, Call
from models.accounts import passkeys, security
from models.accounts.schemas import (
    CodeProofIn,
    MfaIn,
    MfaStatusOut,
    MfaTokenIn,
    PasskeyCreatedOut,
    PasskeyOptionsOut,
    PasskeyOut,
    PasskeyRegisterIn,
    PasskeyRenameIn,
    PasskeySignInIn,
    PasswordIn,
    RecoveryCodesOut,
    SignedInOut,
    TotpConfirmIn,
    TotpEnrolmentOut,
)

api = Api(tags=["two-factor sign-in"])  # and passkeys


@api.post("/auth/mfa", body=MfaIn, response=SignedInOut, auth="none", errors=(401, 403, 429))
async def second_step(call: Call) -> SignedInOut:
    """Finish a sign-in that answered 403 `mfa_required`: its `mfa_token` and one factor.

    A wrong code is 403 `invalid_code`; after 5 the token is void (401 `mfa_token_invalid`,
    sign in again). With `remember_device` the answer carries a `device_token`: sent with the
    password next time, this device is not asked again for MFA_REMEMBER_DEVICE_S.
    """
    async with call.transaction() as session:
        return await security.do_second_step(
            call.ctx,
            session,
            mfa_token=call.body.mfa_token,
            code=call.body.code,
            recovery_code=call.body.recovery_code,
            passkey=call.body.passkey,
            remember_device=call.body.remember_device,
            ip=call.ip,
            user_agent=call.user_agent,
        )


@api.post(
    "/auth/mfa/passkey-options",
    body=MfaTokenIn,
    response=PasskeyOptionsOut,
    auth="none",
    errors=(401, 404),
)
async def second_step_passkey_options(call: Call) -> PasskeyOptionsOut:
    """Options for navigator.credentials.get() to give a passkey as the second factor (this
    account's passkeys are listed); send the credential as `passkey` to POST /auth/mfa."""
    async with call.transaction() as session:
        return await passkeys.do_start_second_factor(
            call.ctx, session, mfa_token=call.body.mfa_token
        )


@api.post(
    "/auth/passkey/options", response=PasskeyOptionsOut, status=201, auth="none", errors=(429,)
)
async def passwordless_options(call: Call) -> PasskeyOptionsOut:
    """Start a passwordless sign-in: options for navigator.credentials.get() naming no account
    (the authenticator offers its passkeys for this site)."""
    return await passkeys.do_start_passwordless(call.ctx, ip=call.ip)


@api.post(
    "/auth/passkey", body=PasskeySignInIn, response=SignedInOut, auth="none", errors=(401, 404)
)
async def passwordless(call: Call) -> SignedInOut:
    """Sign in with a passkey alone: the ceremony_id and the credential's JSON. User
    verification (PIN, biometrics) is required, so no second factor is asked."""
    async with call.transaction() as session:
        return await passkeys.do_finish_passwordless(
            call.ctx,
            session,
            ceremony_id=call.body.ceremony_id,
            credential=call.body.credential,
            ip=call.ip,
            user_agent=call.user_agent,
        )


@api.post(
    "/me/passkeys/options",
    body=PasswordIn,
    response=PasskeyOptionsOut,
    status=201,
    errors=(403, 409, 429),
)
async def registration_options(call: Call) -> PasskeyOptionsOut:
    """Start adding a passkey (needs the password): options for navigator.credentials.create()."""
    async with call.transaction() as session:
        return await passkeys.do_start_registration(
            call.ctx,
            session,
            principal=call.require_user(),
            current_password=call.body.current_password,
        )


@api.post(
    "/me/passkeys",
    body=PasskeyRegisterIn,
    response=PasskeyCreatedOut,
    status=201,
    errors=(404, 409),
)
async def register_passkey(call: Call) -> PasskeyCreatedOut:
    """Finish adding a passkey: the ceremony_id and the credential's JSON (toJSON()). It signs
    in without a password, and sign-in with the password asks for a second factor from now on
    (the first second factor brings recovery codes, shown once)."""
    async with call.transaction() as session:
        return await passkeys.do_finish_registration(
            call.ctx,
            session,
            call.outbox,
            principal=call.require_user(),
            ceremony_id=call.body.ceremony_id,
            credential=call.body.credential,
            name=call.body.name,
        )


@api.get("/me/passkeys", response=list[PasskeyOut])
async def list_passkeys(call: Call) -> list[PasskeyOut]:
    """My passkeys."""
    async with call.transaction() as session:
        return await passkeys.list_passkeys(session, principal=call.require_user())


@api.patch(
    "/me/passkeys/{passkey_id:int}", body=PasskeyRenameIn, response=PasskeyOut, errors=(404,)
)
async def rename_passkey(call: Call) -> PasskeyOut:
    """Rename one of my passkeys."""
    async with call.transaction() as session:
        return await passkeys.do_rename(
            session,
            principal=call.require_user(),
            passkey_id=call.params["passkey_id"],
            name=call.body.name,
        )


@api.delete("/me/passkeys/{passkey_id:int}", status=204, errors=(404,))
async def delete_passkey(call: Call) -> None:
    """Delete one of my passkeys (with it gone, and no other factor, the second step ends)."""
    async with call.transaction() as session:
        await passkeys.do_delete(
            session,
            call.outbox,
            principal=call.require_user(),
            passkey_id=call.params["passkey_id"],
        )


@api.get("/me/2fa", response=MfaStatusOut)
async def status(call: Call) -> MfaStatusOut:
    """Which second factors my account has, and what sign-in asks."""
    async with call.transaction() as session:
        return await security.mfa_status(session, principal=call.require_user())


@api.post(
    "/me/2fa/totp", body=PasswordIn, response=TotpEnrolmentOut, status=201, errors=(403, 409, 429)
)
async def start_totp(call: Call) -> TotpEnrolmentOut:
    """Start enrolling an authenticator app (needs the password): its secret, the otpauth://
    URI and a QR code (SVG). Nothing changes at sign-in until a code is confirmed."""
    async with call.transaction() as session:
        return await security.do_start_totp(
            call.ctx,
            session,
            principal=call.require_user(),
            current_password=call.body.current_password,
        )


@api.post(
    "/me/2fa/totp/confirm",
    body=TotpConfirmIn,
    response=RecoveryCodesOut,
    errors=(403, 404, 409, 429),
)
async def confirm_totp(call: Call) -> RecoveryCodesOut:
    """Confirm the app with a first code: sign-in asks for codes from now on. The answer holds
    the recovery codes, shown this once (empty when a passkey already brought them)."""
    async with call.transaction() as session:
        return await security.do_confirm_totp(
            call.ctx, session, call.outbox, principal=call.require_user(), code=call.body.code
        )


@api.post("/me/2fa/totp/disable", body=CodeProofIn, status=204, errors=(403, 404, 429))
async def disable_totp(call: Call) -> None:
    """Turn the authenticator app off: the password and a code or a recovery code."""
    async with call.transaction() as session:
        await security.do_disable_totp(
            call.ctx,
            session,
            call.outbox,
            principal=call.require_user(),
            current_password=call.body.current_password,
            code=call.body.code,
            recovery_code=call.body.recovery_code,
        )


@api.post(
    "/me/2fa/recovery-codes", body=CodeProofIn, response=RecoveryCodesOut, errors=(403, 404, 429)
)
async def new_recovery_codes(call: Call) -> RecoveryCodesOut:
    """New recovery codes (the password and a code); the old ones stop working."""
    async with call.transaction() as session:
        return await security.do_new_recovery_codes(
            call.ctx,
            session,
            principal=call.require_user(),
            current_password=call.body.current_password,
            code=call.body.code,
            recovery_code=call.body.recovery_code,
        )


@api.delete("/me/2fa/remembered-devices", status=204)
async def forget_devices(call: Call) -> None:
    """Every device I told to remember me is asked for the second factor again."""
    async with call.transaction() as session:
        await security.do_forget_devices(session, principal=call.require_user())
