"""What the social route groups share: the actor of a call and path-id parsing."""

from __future__ import annotations

import uuid

from http_api.routing import Call
from models.core.errors import InvalidInput, parse_id
from models.social.policy import Actor


def actor_of(call: Call) -> Actor:
    if call.user is None:
        return Actor(None)
    return Actor(call.user.user_id, call.user.role)


def user_param(call: Call, name: str = "user_id") -> uuid.UUID:
    try:
        return uuid.UUID(str(call.params[name]))
    except ValueError as exc:
        raise InvalidInput("Not a valid user id", code="invalid_id") from exc


def int_param(call: Call, name: str) -> int:
    value = parse_id(str(call.params[name]))
    if value is None:
        raise InvalidInput(f"{name} must be a positive integer", code="invalid_id")
    return value
