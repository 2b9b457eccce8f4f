"""Wire models for friendships, requests, blocks and presence."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.core.pagination import cursor_query
from models.social.friends.tables import RequestStatus


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    username: str
    display_name: str | None


class FriendRequestIn(Input):
    user_id: uuid.UUID


class FriendRequestOut(BaseModel):
    id: int
    from_user: UserBrief
    to_user: UserBrief
    status: RequestStatus
    created_at: datetime
    responded_at: datetime | None


class RequestsQuery(Input):
    direction: Literal["incoming", "outgoing"] = "incoming"
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class PageQuery(Input):
    cursor: str | None = cursor_query()
    limit: int = Field(default=50, ge=1, le=200)


class FriendOut(BaseModel):
    user: UserBrief
    since: datetime
    online: bool


class BlockIn(Input):
    user_id: uuid.UUID


class BlockOut(BaseModel):
    user: UserBrief
    since: datetime


class PresenceOut(BaseModel):
    user_id: uuid.UUID
    online: bool
    version: int
    at_ms: int


class FriendAcceptedEvent(BaseModel):
    """`friend:accepted`: the request, the new friend and whether they are online now."""

    request: FriendRequestOut
    friend: UserBrief
    online: bool


class FriendRemovedEvent(BaseModel):
    user_id: uuid.UUID
