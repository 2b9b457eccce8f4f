"""Family controls: a parent's child accounts, their maturity limits and the PIN guarding
them (models/accounts/family.py)."""

from __future__ import annotations

import uuid

from http_api.routing import Api, Call
from models.accounts import family
from models.accounts.schemas import (
    ChildIn,
    ChildOut,
    ChildPasswordIn,
    FamilyPinIn,
    MaturityLimitIn,
)
from models.core.errors import NotFound
from models.media import history
from models.media.schemas import HistoryPage, HistoryQuery

api = Api(tags=["family"])


def _child_id(call: Call) -> uuid.UUID:
    try:
        return uuid.UUID(call.params["child_id"])
    except ValueError:
        raise NotFound("No such child account", code="child_not_found") from None


@api.put("/family/pin", body=FamilyPinIn, status=204, errors=(403, 429))
async def set_pin(call: Call) -> None:
    """Set or change my family PIN (4 to 8 digits; needs my password): it guards creating
    child accounts and changing their maturity limits."""
    async with call.transaction() as session:
        await family.do_set_pin(
            call.ctx,
            session,
            principal=call.require_user(),
            pin=call.body.pin,
            current_password=call.body.current_password,
        )


@api.post("/family/children", body=ChildIn, response=ChildOut, status=201, errors=(403, 409, 429))
async def create_child(call: Call) -> ChildOut:
    """Create a child account of mine with a maturity limit (needs my PIN)."""
    async with call.transaction() as session:
        return await family.do_create_child(
            call.ctx, session, principal=call.require_user(), data=call.body
        )


@api.get("/family/children", response=list[ChildOut])
async def list_children(call: Call) -> list[ChildOut]:
    """My child accounts."""
    async with call.transaction() as session:
        return await family.list_children(session, principal=call.require_user())


@api.post("/family/children/{child_id}/password", body=ChildPasswordIn, status=204, errors=(404,))
async def reset_child_password(call: Call) -> None:
    """Set a child's password; their sessions end."""
    async with call.transaction() as session:
        await family.do_reset_child_password(
            call.ctx,
            session,
            call.outbox,
            principal=call.require_user(),
            child_id=_child_id(call),
            new_password=call.body.new_password,
        )


@api.put(
    "/family/children/{child_id}/maturity-limit",
    body=MaturityLimitIn,
    response=ChildOut,
    errors=(403, 404, 409, 429),
)
async def set_maturity_limit(call: Call) -> ChildOut:
    """Change a child's maturity limit (needs my PIN; 5 tries per 15 minutes); the child's
    sessions follow at once."""
    async with call.transaction() as session:
        return await family.do_set_maturity_limit(
            call.ctx,
            session,
            principal=call.require_user(),
            child_id=_child_id(call),
            maturity_limit=call.body.maturity_limit,
            pin=call.body.pin,
        )


@api.get(
    "/family/children/{child_id}/history", query=HistoryQuery, response=HistoryPage, errors=(404,)
)
async def child_history(call: Call) -> HistoryPage:
    """What a child of mine watched, most recent first."""
    async with call.transaction() as session:
        child = await family.access_child(
            session, principal=call.require_user(), child_id=_child_id(call)
        )
        return await history.list_history(
            session, user_id=child.id, cursor=call.query.cursor, limit=call.query.limit
        )
