"""Family controls: a parent's child accounts and their maturity limits.

A child account is an ordinary account with a parent (`parent_id`) and a maturity limit: the
oldest age rating it may see (the catalog's ratings as ages, models/catalog/maturity.py).
What it may not see is absent from every catalog read and refused by id (403
`maturity_restricted`), decided with `max_age` on the child's sessions (catalog reads) or on
the row (playback, parties). The parent creates children, resets their passwords and reads
their history; creating a child and changing a limit need the parent's PIN, so a child on a
parent's signed-in device cannot raise their own limit. PIN tries are limited per parent.
"""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import passwords
from models.accounts.schemas import ChildIn, ChildOut
from models.accounts.service import (
    REAUTH_PER_USER,
    Principal,
    access_user,
    do_create_user,
    do_logout_all,
    sessions_of,
)
from models.accounts.tables import Role, User
from models.core.clock import now
from models.core.context import Context
from models.core.errors import Conflict, Forbidden, NotFound
from models.core.events import Outbox
from models.core.ratelimit import Limit, RateLimiter

# PIN tries per parent, right or wrong: someone at a parent's signed-in device (the child)
# gets 5 a quarter hour at 10^4..10^8 PINs. Only a holder of the parent's session can try,
# so keying on the parent alone lets no stranger lock a parent out.
PIN_TRIES_PER_PARENT = Limit("family_pin", 5, 900)
MAX_CHILDREN = 10
# Children need no mailbox: their address is a placeholder nobody receives (.invalid, RFC
# 6761); the parent resets their password.
CHILD_EMAIL_DOMAIN = "family.invalid"


def _limiter(ctx: Context) -> RateLimiter:
    return RateLimiter(ctx.redis, ctx.keys.prefix)


async def max_age_of(session: AsyncSession, *, user_id: uuid.UUID) -> int | None:
    """A child's maturity limit; None for everyone else (no limit)."""
    limit: int | None = await session.scalar(select(User.maturity_limit).where(User.id == user_id))
    return limit


async def _access_parent(session: AsyncSession, principal: Principal) -> User:
    parent = await access_user(session, principal=principal)
    if parent.parent_id is not None:
        raise Forbidden("A child account cannot manage children", code="child_account")
    return parent


async def _check_pin(ctx: Context, parent: User, pin: str) -> None:
    if parent.family_pin_hash is None:
        raise Conflict("Set a family PIN first (PUT /family/pin)", code="pin_not_set")
    await _limiter(ctx).hit(PIN_TRIES_PER_PARENT, str(parent.id), message="Too many PIN tries")
    if not await passwords.verify_password(parent.family_pin_hash, pin):
        raise Forbidden("The family PIN is incorrect", code="wrong_pin")


async def do_set_pin(
    ctx: Context, session: AsyncSession, *, principal: Principal, pin: str, current_password: str
) -> None:
    """Set or change the PIN; it needs the parent's password (the REAUTH limit applies)."""
    parent = await _access_parent(session, principal)
    await _limiter(ctx).hit(REAUTH_PER_USER, str(parent.id))
    if not await passwords.verify_password(parent.password_hash, current_password):
        raise Forbidden("Current password is incorrect", code="invalid_credentials")
    parent.family_pin_hash = await passwords.hash_password(pin)
    await session.flush()


async def do_create_child(
    ctx: Context, session: AsyncSession, *, principal: Principal, data: ChildIn
) -> ChildOut:
    parent = await _access_parent(session, principal)
    await _check_pin(ctx, parent, data.pin)
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.parent_id == parent.id)
    )
    if (count or 0) >= MAX_CHILDREN:
        raise Conflict(f"At most {MAX_CHILDREN} child accounts", code="too_many_children")
    child = await do_create_user(
        session,
        email=f"child-{uuid.uuid4().hex}@{CHILD_EMAIL_DOMAIN}",
        username=data.username,
        password=data.password,
        role=Role.user,
    )
    child.email_confirmed_at = None  # nobody reads that mailbox: no mail goes there
    child.display_name = data.display_name
    child.parent_id = parent.id
    child.maturity_limit = data.maturity_limit
    await session.flush()
    return ChildOut.model_validate(child)


async def list_children(session: AsyncSession, *, principal: Principal) -> list[ChildOut]:
    rows = await session.scalars(
        select(User).where(User.parent_id == principal.user_id).order_by(User.created_at)
    )
    return [ChildOut.model_validate(c) for c in rows]


async def access_child(session: AsyncSession, *, principal: Principal, child_id: uuid.UUID) -> User:
    """One of my children; anyone else's account is not found (ids reveal nothing)."""
    child = await session.get(User, child_id)
    if child is None or child.parent_id != principal.user_id:
        raise NotFound("No such child account", code="child_not_found")
    return child


async def do_reset_child_password(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    principal: Principal,
    child_id: uuid.UUID,
    new_password: str,
) -> None:
    """A parent sets a child's password; the child's sessions end."""
    child = await access_child(session, principal=principal, child_id=child_id)
    passwords.check_password(new_password, username=child.username)
    child.password_hash = await passwords.hash_password(new_password)
    child.password_changed_at = now()
    await session.flush()
    await do_logout_all(ctx, outbox, user_id=child.id)


async def do_set_maturity_limit(
    ctx: Context,
    session: AsyncSession,
    *,
    principal: Principal,
    child_id: uuid.UUID,
    maturity_limit: int,
    pin: str,
) -> ChildOut:
    """Change a child's limit (needs the PIN); every session of the child follows at once."""
    parent = await _access_parent(session, principal)
    child = await access_child(session, principal=principal, child_id=child_id)
    await _check_pin(ctx, parent, pin)
    child.maturity_limit = maturity_limit
    await session.flush()
    await sessions_of(ctx).set_max_age(str(child.id), maturity_limit)
    return ChildOut.model_validate(child)
