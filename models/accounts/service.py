"""Account use cases: registration, login, sessions, recovery, confirmation, profile."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio.client import Pipeline
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import links, mfa, passwords, tokens
from models.accounts.schemas import MeUpdate, RegisterIn, SessionOut, TokenOut, UserOut
from models.accounts.sessions import Rotated, SessionStore, principal_from
from models.accounts.tables import AccountToken, Passkey, Role, TokenPurpose, User
from models.core.clock import now
from models.core.context import Context, Slot
from models.core.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)
from models.core.events import Outbox
from models.core.jobs import Job
from models.core.ratelimit import Limit, RateLimiter, client_bucket
from models.core.redis import parse_sentinel_url
from models.moderation import audit

# Limits on an account are keyed with the client, never on the account alone: whatever
# strangers do from elsewhere, the owner still signs in and recovers from a new address.
# Guessing spread over many addresses meets the per-address limits and the breached-password
# floor (passwords.py) instead of a lockout.
LOGIN_PER_IP = Limit("login_ip", 30, 300)
LOGIN_PER_ACCOUNT_IP = Limit("login_acct_ip", 10, 900)
REGISTER_PER_IP = Limit("register_ip", 10, 3600)
RECOVERY_PER_IP = Limit("recovery_ip", 10, 3600)
RECOVERY_PER_ACCOUNT_IP = Limit("recovery_acct_ip", 3, 3600)
# At most this many reset mails reach one mailbox an hour, however many ask: each link works
# for an hour, so the owner already holds a working one; more would only flood them.
RESET_MAILS_PER_ACCOUNT = Limit("reset_mail_acct", 5, 3600)
CONFIRM_MAILS_PER_USER = Limit("confirm_mail_user", 3, 3600)
TAKEN_NOTICES_PER_ADDRESS = Limit("taken_notice_addr", 3, 3600)
# The current password asked again by a signed-in user (email or password change): a stolen
# access token must not become a fast password oracle.
REAUTH_PER_USER = Limit("reauth_user", 10, 900)

BAD_CREDENTIALS = "Incorrect username or password"


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    session_id: str
    role: Role
    # A child account's maturity limit (family controls): the oldest age rating it may see.
    max_age: int | None = None

    def has_role(self, role: Role) -> bool:
        return self.role.at_least(role)


_SESSIONS = Slot[SessionStore]("accounts.sessions")


def sessions_of(ctx: Context) -> SessionStore:
    """The context's session store, made once (every request and connect checks a session:
    making it each time, its script hashed and the Redis URL parsed, cost more than using it)."""
    return ctx.local.get_or_make(_SESSIONS, lambda: _new_session_store(ctx))


def _new_session_store(ctx: Context) -> SessionStore:
    return SessionStore(
        ctx.redis,
        ctx.keys,
        idle_ttl_s=ctx.settings.session_idle_ttl_s,
        absolute_ttl_s=ctx.settings.session_absolute_ttl_s,
        # Through Sentinel a failover promotes a replica: sessions reach one before the answer.
        replicas=1 if parse_sentinel_url(ctx.settings.redis_url or "") else 0,
    )


def _limiter(ctx: Context) -> RateLimiter:
    return RateLimiter(ctx.redis, ctx.keys.prefix)


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


async def _by_login(session: AsyncSession, login: str) -> User | None:
    login = login.strip().lower()
    result = await session.execute(
        select(User).where(or_(func.lower(User.email) == login, func.lower(User.username) == login))
    )
    return result.scalars().first()


async def _ensure_free(
    session: AsyncSession, *, email: str | None, username: str | None, exclude: uuid.UUID | None
) -> None:
    if email is not None:
        q = select(User.id).where(func.lower(User.email) == email.lower())
        if exclude:
            q = q.where(User.id != exclude)
        if await session.scalar(q):
            raise Conflict("This email is already registered", code="email_taken")
    if username is not None:
        q = select(User.id).where(func.lower(User.username) == username.lower())
        if exclude:
            q = q.where(User.id != exclude)
        if await session.scalar(q):
            raise Conflict("This username is taken", code="username_taken")


async def _new_account_token(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    purpose: TokenPurpose,
    ttl_s: int,
    email: str | None = None,
) -> str:
    raw = secrets.token_urlsafe(32)
    session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=_digest(raw),
            expires_at=now() + timedelta(seconds=ttl_s),
            email=email,
        )
    )
    await session.flush()
    return raw


_INVALID_LINK = "This link is invalid, used or expired"


async def _consume_account_token(
    session: AsyncSession, *, raw: str, purposes: tuple[TokenPurpose, ...]
) -> tuple[User, AccountToken]:
    """Mark a token used (atomically: a second use finds nothing); its user and the token."""
    token = await session.scalar(
        update(AccountToken)
        .where(
            AccountToken.token_hash == _digest(raw),
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now(),
        )
        .values(used_at=now())
        .returning(AccountToken)
    )
    user = await session.get(User, token.user_id) if token is not None else None
    if token is None or user is None or not user.is_active:
        raise InvalidInput(_INVALID_LINK, code="invalid_token")
    return user, token


async def _void_tokens(
    session: AsyncSession, *, user_id: uuid.UUID, purposes: tuple[TokenPurpose, ...]
) -> None:
    """Links already mailed for these purposes stop working."""
    await session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=now())
    )


def _same_address(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and a.lower() == b.lower()


async def _send_confirmation(
    ctx: Context, session: AsyncSession, outbox: Outbox, user: User
) -> None:
    raw = await _new_account_token(
        session,
        user_id=user.id,
        purpose=TokenPurpose.confirm_email,
        ttl_s=ctx.settings.confirm_token_ttl_s,
        email=user.email,
    )
    outbox.enqueue(
        Job.send_email,
        to=user.email,
        subject="Confirm your email",
        text=(
            f"Hello {user.username},\n\nconfirm your email address by opening this link:\n\n"
            f"{links.confirm_link(ctx.settings, raw)}\n\n"
            f"The link is valid for {ctx.settings.confirm_token_ttl_s // 3600} hours."
        ),
    )


async def _email_taken(
    session: AsyncSession, email: str, *, by_other_than: uuid.UUID | None = None
) -> bool:
    query = select(User.id).where(func.lower(User.email) == email.lower())
    if by_other_than is not None:
        query = query.where(User.id != by_other_than)
    return await session.scalar(query) is not None


async def _tell_owner_address_taken(ctx: Context, outbox: Outbox, address: str) -> None:
    """Someone tried to register, or to move their account, to an address that has an account:
    its owner is told (a few times an hour at most), the requester learns nothing."""
    try:
        await _limiter(ctx).hit(TAKEN_NOTICES_PER_ADDRESS, address.lower())
    except RateLimited:
        return
    outbox.enqueue(
        Job.send_email,
        to=address,
        subject="Your address is already registered",
        text=(
            "Hello,\n\nsomeone asked to use this address for an account here. It already has "
            "one, so nothing changed. If it was you: sign in, or reset your password at "
            f"{links.forgot_page(ctx.settings)}. If it was not, ignore this mail.\n"
        ),
    )


async def _mail_new_address(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, user: User, address: str
) -> None:
    """A confirmation link bound to the new address; when another account has that address,
    its owner is told instead (the answer to the requester is the same either way)."""
    await _void_tokens(session, user_id=user.id, purposes=(TokenPurpose.change_email,))
    if await _email_taken(session, address, by_other_than=user.id):
        await _tell_owner_address_taken(ctx, outbox, address)
        return
    raw = await _new_account_token(
        session,
        user_id=user.id,
        purpose=TokenPurpose.change_email,
        ttl_s=ctx.settings.confirm_token_ttl_s,
        email=address,
    )
    outbox.enqueue(
        Job.send_email,
        to=address,
        subject="Confirm your new email address",
        text=(
            f"Hello {user.username},\n\nopen this link to make this your account's email "
            f"address:\n\n{links.confirm_link(ctx.settings, raw)}\n\n"
            f"The link is valid for {ctx.settings.confirm_token_ttl_s // 3600} hours. Until "
            "then your account keeps its current address."
        ),
    )


REGISTERED = (
    "Check your mail: we sent a link to confirm your address. If the address already has an "
    "account here, the mail says so instead."
)


async def do_register(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, data: RegisterIn, ip: str
) -> None:
    """Create the account and mail a confirmation link, or, when the address already has an
    account, mail its owner instead: the answer (and its cost, a password hash) is the same,
    so registration does not tell who has an account. Usernames are public: a taken one is
    409 `username_taken`."""
    await _limiter(ctx).hit(REGISTER_PER_IP, client_bucket(ip))
    passwords.check_password(data.password, email=data.email, username=data.username)
    await _ensure_free(session, email=None, username=data.username, exclude=None)
    password_hash = await passwords.hash_password(data.password)
    if await _email_taken(session, data.email):
        await _tell_owner_address_taken(ctx, outbox, data.email)
        return
    user = User(
        email=data.email, username=data.username, password_hash=password_hash, role=Role.user
    )
    try:
        async with session.begin_nested():
            session.add(user)
            await session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        if "uq_users_username_lower" in str(exc):
            raise Conflict("This username is taken", code="username_taken") from exc
        await _tell_owner_address_taken(ctx, outbox, data.email)
        return
    await _send_confirmation(ctx, session, outbox, user)


async def do_create_user(
    session: AsyncSession, *, email: str, username: str, password: str, role: Role
) -> User:
    """For operators (CLI, seeding): no rate limit, email treated as confirmed."""
    passwords.check_password(password, email=email, username=username)
    await _ensure_free(session, email=email, username=username, exclude=None)
    user = User(
        email=email,
        username=username,
        password_hash=await passwords.hash_password(password),
        role=role,
        email_confirmed_at=now(),
    )
    session.add(user)
    await session.flush()
    return user


async def _issue_tokens(
    ctx: Context,
    *,
    user_id: str,
    session_id: str,
    refresh_jti: str,
    refresh_issued_at: int,
    absolute_exp: int,
) -> TokenOut:
    """A fresh access token and the refresh token for `refresh_jti`: encoded from the same
    claims, a refresh token issued again is the very token issued first."""
    secret = ctx.settings.secret
    ttl = ctx.settings.access_token_ttl_s
    access, _ = tokens.encode(
        secret, typ="access", user_id=user_id, session_id=session_id, now=now(), ttl_s=ttl
    )
    refresh, _ = tokens.encode(
        secret,
        typ="refresh",
        user_id=user_id,
        session_id=session_id,
        now=datetime.fromtimestamp(refresh_issued_at, UTC),
        ttl_s=max(1, absolute_exp - refresh_issued_at),
        jti=refresh_jti,
    )
    return TokenOut(access_token=access, refresh_token=refresh, expires_in=ttl)


async def do_login(
    ctx: Context,
    session: AsyncSession,
    *,
    login: str,
    password: str,
    ip: str,
    user_agent: str,
    device_token: str | None = None,
) -> TokenOut | MfaChallenge:
    """The password step: a session, or, with a second factor on and this device not
    remembered, a challenge (the door answers 403 `mfa_required` with its `mfa_token`)."""
    limiter = _limiter(ctx)
    account = login.strip().lower()[:254]
    client = client_bucket(ip)
    await limiter.hit(LOGIN_PER_IP, client)
    await limiter.hit(LOGIN_PER_ACCOUNT_IP, f"{account}|{client}")
    user = await _by_login(session, login)
    ok = await passwords.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS, code="invalid_credentials")
    if passwords.needs_rehash(user.password_hash):
        # The one moment we hold the password: raise its hash to today's parameters.
        user.password_hash = await passwords.hash_password(password)
    methods = await second_factors(session, user_id=user.id)
    if methods and not await mfa.is_remembered(session, user_id=user.id, raw=device_token):
        pending = await mfa.start_pending(ctx, user_id=user.id, ip=ip, user_agent=user_agent)
        return MfaChallenge(pending, methods, ctx.settings.mfa_pending_ttl_s)
    return await start_session(ctx, user=user, ip=ip, user_agent=user_agent)


@dataclass(frozen=True)
class MfaChallenge:
    """A right password; a second factor still to come within `expires_in` seconds."""

    mfa_token: str
    methods: list[str]
    expires_in: int

    def error(self) -> DomainError:
        return Forbidden(
            "A second factor is needed: POST /auth/mfa with the mfa_token",
            code="mfa_required",
            details={
                "mfa_token": self.mfa_token,
                "methods": self.methods,
                "expires_in": self.expires_in,
            },
        )


async def second_factors(session: AsyncSession, *, user_id: uuid.UUID) -> list[str]:
    """The second factors this account can give at sign-in (none: the password is enough)."""
    methods: list[str] = []
    if await mfa.confirmed_totp(session, user_id) is not None:
        methods.append("totp")
    if await session.scalar(select(Passkey.id).where(Passkey.user_id == user_id).limit(1)):
        methods.append("passkey")
    if methods and await mfa.recovery_codes_left(session, user_id):
        methods.append("recovery_code")
    return methods


async def start_session(ctx: Context, *, user: User, ip: str, user_agent: str) -> TokenOut:
    """A new login session for a user who proved who they are (every factor of a sign-in,
    or an approved device code) and its first tokens."""
    session_id, refresh_jti = tokens.new_id(), tokens.new_id()
    created = await sessions_of(ctx).create(
        session_id=session_id,
        user_id=str(user.id),
        role=user.role.value,
        refresh_jti=refresh_jti,
        now=int(now().timestamp()),
        user_agent=user_agent,
        ip=ip,
        max_age=user.maturity_limit,
    )
    return await _issue_tokens(
        ctx,
        user_id=str(user.id),
        session_id=session_id,
        refresh_jti=refresh_jti,
        refresh_issued_at=created.created_at,
        absolute_exp=created.absolute_exp,
    )


async def do_refresh(ctx: Context, *, refresh_token: str) -> TokenOut:
    """Rotate the refresh token. The token rotated just before, presented again within
    `refresh_grace_s`, gets the same successor (its first answer was lost); any other used
    token revokes the session."""
    claims = tokens.decode(ctx.settings.secret, refresh_token, typ="refresh")
    store = sessions_of(ctx)
    rotation = await store.rotate_refresh(
        claims.session_id,
        user_id=claims.user_id,
        presented=claims.jti,
        new=tokens.new_id(),
        now_ms=int(now().timestamp() * 1000),
        grace_ms=int(ctx.settings.refresh_grace_s * 1000),
    )
    if rotation.outcome == Rotated.reused:
        # A used refresh token came back: it was stolen or replayed. End the whole session.
        # No transaction to wait for, and the error below would drop an outbox: act now.
        await store.revoke(claims.session_id)
        await ctx.publisher.disconnect_session(claims.session_id)
        raise Unauthorized(
            "Refresh token was already used; the session has been revoked",
            code="refresh_token_reused",
        )
    if rotation.outcome == Rotated.ended:
        raise Unauthorized("Session has ended; log in again", code="session_expired")
    if rotation.outcome == Rotated.foreign:
        raise Unauthorized("Token is invalid", code="invalid_token")
    return await _issue_tokens(
        ctx,
        user_id=claims.user_id,
        session_id=claims.session_id,
        refresh_jti=rotation.jti,
        refresh_issued_at=rotation.issued_at,
        absolute_exp=rotation.absolute_exp,
    )


async def access_principal(ctx: Context, *, token: str) -> Principal:
    """Verify an access token, that its session is still alive (revocation is immediate) and
    that the session is its user's (a token naming someone else's session is forged)."""
    principal, _ = await access_principal_and(ctx, token=token)
    return principal


async def access_principal_and(
    ctx: Context, *, token: str, also: Callable[[Pipeline, str], None] | None = None
) -> tuple[Principal, list[Any]]:
    """`access_principal`, with reads of the caller's queued by `also(pipe, user_id)` in the
    same round trip as the session check (a socket's connect counts the user's sockets), and
    their replies. They run before the session is known alive: reads only."""
    claims = tokens.decode(ctx.settings.secret, token, typ="access")
    store = sessions_of(ctx)

    # Through the process's shared pipeline: under load, concurrent requests' checks (and
    # their other Redis commands) travel together instead of a round trip each.
    def queue(pipe: Pipeline) -> None:
        store.queue_principal(pipe, claims.session_id)
        if also is not None:
            also(pipe, claims.user_id)

    replies = await ctx.pipelined(queue)
    alive = principal_from(replies[0], claims.user_id)
    if alive is None:
        raise Unauthorized("Session has been revoked or has expired", code="session_revoked")
    role, max_age = alive
    principal = Principal(
        user_id=uuid.UUID(claims.user_id),
        session_id=claims.session_id,
        role=Role(role),
        max_age=max_age,
    )
    return principal, replies[1:]


async def access_user(session: AsyncSession, *, principal: Principal) -> User:
    user = await session.get(User, principal.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("Account is disabled", code="account_disabled")
    return user


async def list_sessions(ctx: Context, *, principal: Principal) -> list[SessionOut]:
    return [
        SessionOut(
            id=s.id,
            created_at=datetime.fromtimestamp(s.created_at, UTC),
            last_seen_at=datetime.fromtimestamp(s.last_seen, UTC),
            user_agent=s.user_agent,
            ip=s.ip,
            current=s.id == principal.session_id,
        )
        for s in await sessions_of(ctx).list_for_user(str(principal.user_id))
    ]


async def do_revoke_session(
    ctx: Context, outbox: Outbox, *, principal: Principal, session_id: str
) -> None:
    store = sessions_of(ctx)
    target = await store.get(session_id)
    if target is None or target.user_id != str(principal.user_id):
        raise NotFound("No such session", code="session_not_found")
    await store.revoke(session_id)
    outbox.disconnect_session(session_id)


async def do_logout_all(
    ctx: Context, outbox: Outbox, *, user_id: uuid.UUID, except_session: str | None = None
) -> int:
    revoked = await sessions_of(ctx).revoke_all(str(user_id), except_id=except_session)
    for session_id in revoked:
        outbox.disconnect_session(session_id)
    return len(revoked)


async def do_request_password_reset(ctx: Context, outbox: Outbox, *, email: str, ip: str) -> None:
    """Same answer and nearly the same work whether or not the account exists."""
    limiter = _limiter(ctx)
    client = client_bucket(ip)
    await limiter.hit(RECOVERY_PER_IP, client)
    await limiter.hit(RECOVERY_PER_ACCOUNT_IP, f"{email.strip().lower()}|{client}")
    # The lookup and the mail happen in the job, so the response time says nothing.
    outbox.enqueue(Job.send_password_reset, email=email.strip())


async def prepare_password_reset(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, email: str
) -> None:
    user = await _by_login(session, email)
    if user is None or not user.is_active or user.email.lower() != email.lower():
        return
    try:
        await _limiter(ctx).hit(RESET_MAILS_PER_ACCOUNT, str(user.id))
    except RateLimited:
        return  # the links already mailed this hour still work
    raw = await _new_account_token(
        session,
        user_id=user.id,
        purpose=TokenPurpose.reset_password,
        ttl_s=ctx.settings.reset_token_ttl_s,
    )
    link = links.reset_link(ctx.settings, raw)
    outbox.enqueue(
        Job.send_email,
        to=user.email,
        subject="Reset your password",
        text=(
            f"Hello {user.username},\n\nsomeone asked to reset your password. If it was you, "
            f"open this link within one hour:\n\n{link}\n\nIf it was not you, ignore this mail."
        ),
    )


async def do_reset_password(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, token: str, new_password: str
) -> User:
    user, _ = await _consume_account_token(
        session, raw=token, purposes=(TokenPurpose.reset_password,)
    )
    passwords.check_password(new_password, email=user.email, username=user.username)
    user.password_hash = await passwords.hash_password(new_password)
    user.password_changed_at = now()
    await session.flush()
    await do_logout_all(ctx, outbox, user_id=user.id)
    outbox.enqueue(
        Job.send_email,
        to=user.email,
        subject="Your password was changed",
        text=(
            f"Hello {user.username},\n\nyour password was just reset and every session was "
            "signed out. If this was not you, reset it again and contact support."
        ),
    )
    return user


async def do_confirm_email(session: AsyncSession, outbox: Outbox, *, token: str) -> User:
    """Confirm the address the token was mailed to: a new account's, or the new address of an
    email change (which then becomes the account's). A token confirms its own address only."""
    user, used = await _consume_account_token(
        session, raw=token, purposes=(TokenPurpose.confirm_email, TokenPurpose.change_email)
    )
    if used.purpose == TokenPurpose.confirm_email:
        if not _same_address(used.email, user.email):
            raise InvalidInput(_INVALID_LINK, code="invalid_token")
        if user.email_confirmed_at is None:
            user.email_confirmed_at = now()
    else:
        assert used.email is not None
        if not _same_address(used.email, user.pending_email):
            raise InvalidInput(_INVALID_LINK, code="invalid_token")
        if await _email_taken(session, used.email, by_other_than=user.id):
            raise Conflict("This address belongs to another account now", code="email_taken")
        user.email, user.pending_email, user.email_confirmed_at = used.email, None, now()
    try:
        await session.flush()
    except IntegrityError as exc:  # another account took the address meanwhile
        raise Conflict("This address belongs to another account now", code="email_taken") from exc
    outbox.enqueue(Job.announce_account_update, user_id=str(user.id))
    return user


async def do_undo_email_change(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, token: str
) -> User:
    """The old address's owner did not ask for the change: restore it (confirmed: the link
    proves the mailbox), cancel what is pending, and end every session."""
    user, used = await _consume_account_token(
        session, raw=token, purposes=(TokenPurpose.undo_email_change,)
    )
    assert used.email is not None
    if not _same_address(used.email, user.email) and await _email_taken(
        session, used.email, by_other_than=user.id
    ):
        raise Conflict("This address belongs to another account now", code="email_taken")
    user.email, user.pending_email, user.email_confirmed_at = used.email, None, now()
    await _void_tokens(
        session,
        user_id=user.id,
        purposes=(TokenPurpose.change_email, TokenPurpose.undo_email_change),
    )
    await session.flush()
    await do_logout_all(ctx, outbox, user_id=user.id)
    outbox.enqueue(Job.announce_account_update, user_id=str(user.id))
    return user


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id,
        email=user.email,
        username=user.username,
        display_name=user.display_name,
        role=user.role,
        email_confirmed=user.email_confirmed_at is not None,
        pending_email=user.pending_email,
        maturity_limit=user.maturity_limit,
        created_at=user.created_at,
        deletion_scheduled_at=user.deletion_scheduled_at,
    )


async def profile_of(session: AsyncSession, *, user_id: uuid.UUID) -> UserOut | None:
    user = await session.get(User, user_id)
    return user_out(user) if user is not None else None


async def do_resend_confirmation(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, user: User
) -> None:
    """The link for an unconfirmed address, else for the pending new one."""
    if user.email_confirmed_at is not None and user.pending_email is None:
        raise Conflict("Email is already confirmed", code="already_confirmed")
    await _limiter(ctx).hit(CONFIRM_MAILS_PER_USER, str(user.id))
    if user.email_confirmed_at is None:
        await _send_confirmation(ctx, session, outbox, user)
    else:
        assert user.pending_email is not None
        await _mail_new_address(ctx, session, outbox, user=user, address=user.pending_email)


async def do_update_me(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, user: User, data: MeUpdate
) -> User:
    changes = data.model_dump(exclude_unset=True)
    if "username" in changes and changes["username"] is None:
        raise InvalidInput("username cannot be empty", code="invalid_input")
    if "email" in changes and changes["email"] is None:
        raise InvalidInput("email cannot be empty", code="invalid_input")
    new_email = changes.get("email")
    if _same_address(new_email, user.email):
        new_email = None
    new_username = changes.get("username")
    if new_username is not None and new_username == user.username:
        new_username = None
    if new_email is not None:
        await check_current_password(ctx, user, data.current_password)
    await _ensure_free(session, email=None, username=new_username, exclude=user.id)
    if "display_name" in changes:
        user.display_name = changes["display_name"]
    if new_username is not None:
        user.username = new_username
    if new_email is None and "email" in changes and user.pending_email is not None:
        # Asking for the current address again cancels a pending change.
        user.pending_email = None
        await _void_tokens(session, user_id=user.id, purposes=(TokenPurpose.change_email,))
    try:
        await session.flush()
    except IntegrityError as exc:
        raise Conflict("This username is taken", code="username_taken") from exc
    if new_email is not None:
        await _request_email_change(ctx, session, outbox, user=user, new_email=new_email)
    outbox.enqueue(Job.announce_account_update, user_id=str(user.id))
    return user


async def check_current_password(ctx: Context, user: User, password: str | None) -> None:
    """A sensitive change asks for the password again: an access token alone is not enough."""
    if not password:
        raise Forbidden(
            "This change needs your current password (current_password)",
            code="password_required",
        )
    await _limiter(ctx).hit(REAUTH_PER_USER, str(user.id))
    if not await passwords.verify_password(user.password_hash, password):
        raise Forbidden("Current password is incorrect", code="invalid_credentials")


async def _request_email_change(
    ctx: Context, session: AsyncSession, outbox: Outbox, *, user: User, new_email: str
) -> None:
    """The new address waits until confirmed from its mailbox; the old (confirmed) address is
    told, with a link that undoes the change and ends every session."""
    user.pending_email = new_email
    await session.flush()
    await _mail_new_address(ctx, session, outbox, user=user, address=new_email)
    if user.email_confirmed_at is None:
        return  # never confirmed: we mail nothing but confirmations there
    raw = await _new_account_token(
        session,
        user_id=user.id,
        purpose=TokenPurpose.undo_email_change,
        ttl_s=ctx.settings.email_undo_ttl_s,
        email=user.email,
    )
    outbox.enqueue(
        Job.send_email,
        to=user.email,
        subject="Email change requested on your account",
        text=(
            f"Hello {user.username},\n\nsomeone signed in to your account asked to change its "
            f"email address to {new_email}. It changes once that address is confirmed.\n\n"
            "If this was not you, open this link: it keeps this address, cancels the change "
            f"and signs out every session:\n\n{links.undo_email_link(ctx.settings, raw)}\n\n"
            f"The link works for {ctx.settings.email_undo_ttl_s // 86400} days. Then reset "
            "your password."
        ),
    )


async def do_change_password(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    principal: Principal,
    current_password: str,
    new_password: str,
) -> None:
    user = await access_user(session, principal=principal)
    await check_current_password(ctx, user, current_password)
    passwords.check_password(new_password, email=user.email, username=user.username)
    user.password_hash = await passwords.hash_password(new_password)
    user.password_changed_at = now()
    await session.flush()
    await do_logout_all(ctx, outbox, user_id=user.id, except_session=principal.session_id)
    if user.email_confirmed_at is not None:
        outbox.enqueue(
            Job.send_email,
            to=user.email,
            subject="Your password was changed",
            text=(
                f"Hello {user.username},\n\nyour password was just changed and your other "
                "sessions were signed out. If this was not you, reset your password at "
                f"{links.forgot_page(ctx.settings)} and contact support."
            ),
        )


async def do_set_role(
    ctx: Context,
    session: AsyncSession,
    *,
    principal: Principal,
    user_id: uuid.UUID,
    role: Role,
    reason: str | None = None,
) -> User:
    if not principal.has_role(Role.admin):
        raise Forbidden("Only admins change roles", code="forbidden")
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    if user.role != role:
        audit.record(
            session,
            actor_id=principal.user_id,
            action=f"set_role:{role.value}",
            target_kind="user",
            target_id=user.id,
            reason=reason,
        )
    user.role = role
    await session.flush()
    await sessions_of(ctx).set_role(str(user.id), role.value)
    return user
