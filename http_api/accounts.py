"""Accounts: registration, tokens, sessions, recovery, confirmation, profile."""

from __future__ import annotations

import uuid
from html import escape
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, Response

from http_api.routing import Api, Call
from models.accounts import service
from models.accounts.schemas import (
    Accepted,
    ConfirmIn,
    MeUpdate,
    PasswordChangeIn,
    PublicUserOut,
    RecoveryIn,
    RefreshIn,
    RegisterIn,
    ResetIn,
    RoleIn,
    SessionOut,
    TokenOut,
    UndoEmailIn,
    UserOut,
)
from models.accounts.service import user_out
from models.accounts.tables import User
from models.core.errors import DomainError, InvalidInput, NotFound

api = Api(tags=["accounts"])

RECOVERY_ANSWER = "If an account exists for this email, a reset link is on its way."


class TokenForm(BaseModel):
    """OAuth2 password flow (RFC 6749 4.3): `username` is an email or a username."""

    model_config = ConfigDict(extra="ignore")
    # An enum, not the pattern ^password$: Python's `$` also takes "password\n", which a
    # generator then sent and the validator (which reads `$` as the end) refused.
    grant_type: Literal["password"] = "password"  # a form has no null: omit it or say so
    username: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)
    scope: str | None = None
    # The token a sign-in with "remember this device" gave: the second factor is not asked.
    device_token: str | None = Field(default=None, max_length=100)


class ConfirmQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=10, max_length=200)


@api.post(
    "/auth/register", body=RegisterIn, response=Accepted, status=202, auth="none", errors=(409, 429)
)
async def register(call: Call) -> Accepted:
    """Create an account; a confirmation link is emailed.

    The answer is the same whether or not the email already has an account (its owner is
    mailed instead), so it tells nobody who is registered. A taken username is 409.
    """
    async with call.transaction() as session:
        await service.do_register(call.ctx, session, call.outbox, data=call.body, ip=call.ip)
    return Accepted(message=service.REGISTERED)


@api.post("/auth/token", form=TokenForm, response=TokenOut, auth="none", errors=(401, 403, 429))
async def token(call: Call) -> TokenOut:
    """Log in with the OAuth2 password flow.

    With two-factor sign-in on, a right password answers 403 `mfa_required` whose
    `error.details` holds `mfa_token` (valid `expires_in` seconds) and the `methods` the
    account can give (`totp`, `passkey`, `recovery_code`): finish at POST /auth/mfa.
    """
    async with call.transaction() as session:
        result = await service.do_login(
            call.ctx,
            session,
            login=call.body.username,
            password=call.body.password,
            ip=call.ip,
            user_agent=call.user_agent,
            device_token=call.body.device_token,
        )
    if isinstance(result, service.MfaChallenge):
        raise result.error()  # after the commit: a rehashed password is kept
    return result


@api.post("/auth/refresh", body=RefreshIn, response=TokenOut, auth="none", errors=(401,))
async def refresh(call: Call) -> TokenOut:
    """Rotate the refresh token; a reused one revokes the whole session.

    A retry of the token rotated just before, within REFRESH_GRACE_S, is not reuse: it gets
    the same new refresh token again (the first answer may have been lost).
    """
    return await service.do_refresh(call.ctx, refresh_token=call.body.refresh_token)


@api.post("/auth/logout", status=204, errors=(404,))  # 404: it ended meanwhile
async def logout(call: Call) -> None:
    """End this session; its sockets are disconnected."""
    user = call.require_user()
    await service.do_revoke_session(
        call.ctx, call.outbox, principal=user, session_id=user.session_id
    )


@api.post("/auth/logout-all", status=204)
async def logout_all(call: Call) -> None:
    """End every session of mine, on every device."""
    await service.do_logout_all(call.ctx, call.outbox, user_id=call.require_user().user_id)


@api.get("/auth/sessions", response=list[SessionOut])
async def sessions(call: Call) -> list[SessionOut]:
    """My sessions and devices."""
    return await service.list_sessions(call.ctx, principal=call.require_user())


@api.delete("/auth/sessions/{session_id}", status=204, errors=(404,))
async def revoke_session(call: Call) -> None:
    """End one of my sessions."""
    await service.do_revoke_session(
        call.ctx, call.outbox, principal=call.require_user(), session_id=call.params["session_id"]
    )


@api.post(
    "/auth/password/forgot",
    body=RecoveryIn,
    response=Accepted,
    status=202,
    auth="none",
    errors=(429,),
)
async def forgot_password(call: Call) -> Accepted:
    """Ask for a reset link; the answer is the same whether or not the email exists."""
    await service.do_request_password_reset(
        call.ctx, call.outbox, email=call.body.email, ip=call.ip
    )
    return Accepted(message=RECOVERY_ANSWER)


@api.post("/auth/password/reset", body=ResetIn, response=Accepted, auth="none", errors=(422,))
async def reset_password(call: Call) -> Accepted:
    """Set a new password with an emailed token; every session ends."""
    async with call.transaction() as session:
        await service.do_reset_password(
            call.ctx,
            session,
            call.outbox,
            token=call.body.token,
            new_password=call.body.new_password,
        )
    return Accepted(message="Password changed. Log in with the new password.")


@api.post("/auth/confirm", body=ConfirmIn, response=UserOut, auth="none")
async def confirm(call: Call) -> UserOut:
    """Confirm an email address with the emailed token."""
    async with call.transaction() as session:
        return user_out(await service.do_confirm_email(session, call.outbox, token=call.body.token))


@api.get("/auth/confirm", query=ConfirmQuery, raw_response="text/html", auth="none")
async def confirm_link(call: Call) -> Response:
    """The link older confirmation mails carried: confirms and shows a short page. (Mails now
    link the web app's /confirm-email, which posts the token.)"""
    try:
        async with call.transaction() as session:
            user = await service.do_confirm_email(session, call.outbox, token=call.query.token)
    except DomainError as exc:
        return HTMLResponse(_page("Link not valid", exc.message), status_code=exc.status)
    return HTMLResponse(
        _page("Email confirmed", f"Thanks, {user.username}.")
        + '<p><a href="/signin">Sign in to the cinema</a></p>'
    )


@api.post("/auth/confirm/resend", response=Accepted, status=202, errors=(409, 429))
async def resend_confirmation(call: Call) -> Accepted:
    """Send the confirmation mail again."""
    async with call.transaction() as session:
        user = await service.access_user(session, principal=call.require_user())
        await service.do_resend_confirmation(call.ctx, session, call.outbox, user=user)
    return Accepted(message="Confirmation mail sent.")


@api.post("/auth/email/undo", body=UndoEmailIn, response=Accepted, auth="none", errors=(409, 422))
async def undo_email_change(call: Call) -> Accepted:
    """The link mailed to the old address of an email change: keep (or restore) that address,
    cancel the change, end every session."""
    async with call.transaction() as session:
        user = await service.do_undo_email_change(
            call.ctx, session, call.outbox, token=call.body.token
        )
    return Accepted(
        message=f"Your email is {user.email} again and every session was signed out. "
        "Reset your password if someone else knew it."
    )


@api.get("/me", response=UserOut)
async def me(call: Call) -> UserOut:
    """My profile."""
    async with call.transaction() as session:
        return user_out(await service.access_user(session, principal=call.require_user()))


@api.patch("/me", body=MeUpdate, response=UserOut, errors=(403, 409, 429))
async def update_me(call: Call) -> UserOut:
    """Change my display name, username or email.

    A new email needs `current_password`; it shows as `pending_email` until the link mailed
    to it is opened, and the old address is told, with a link that undoes the change.
    """
    async with call.transaction() as session:
        user = await service.access_user(session, principal=call.require_user())
        user = await service.do_update_me(call.ctx, session, call.outbox, user=user, data=call.body)
        return user_out(user)


@api.post("/me/password", body=PasswordChangeIn, status=204, errors=(403, 429))
async def change_password(call: Call) -> None:
    """Change my password (needs the current one); my other sessions end."""
    async with call.transaction() as session:
        await service.do_change_password(
            call.ctx,
            session,
            call.outbox,
            principal=call.require_user(),
            current_password=call.body.current_password,
            new_password=call.body.new_password,
        )


@api.get("/users/{user_id}", response=PublicUserOut, errors=(404,))
async def public_user(call: Call) -> PublicUserOut:
    """Someone's public profile."""
    call.require_user()
    async with call.transaction() as session:
        user = await session.get(User, _uuid(call.params["user_id"]))
        if user is None or not user.is_active:
            raise NotFound("No such user", code="user_not_found")
        return PublicUserOut.model_validate(user)


@api.put("/users/{user_id}/role", body=RoleIn, response=UserOut, errors=(403, 404))
async def set_role(call: Call) -> UserOut:
    """Make someone a user, editor or admin (admins only)."""
    async with call.transaction() as session:
        user = await service.do_set_role(
            call.ctx,
            session,
            principal=call.require_user(),
            user_id=_uuid(call.params["user_id"]),
            role=call.body.role,
            reason=call.body.reason,
        )
        return user_out(user)


def _uuid(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise InvalidInput("Not a valid id", code="invalid_id") from exc


def _page(title: str, message: str) -> str:
    return (
        f"<!doctype html><meta charset=utf-8><title>{escape(title)}</title>"
        "<link rel=stylesheet href=/static/pages.css>"
        f"<body><h1>{escape(title)}</h1><p>{escape(message)}</p>"
    )
