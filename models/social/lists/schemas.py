"""Wire models for favorites and playlists."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.catalog.tables import TitleKind
from models.core.schema_rules import patch_schema
from models.core.text import UserLine
from models.social.friends.schemas import UserBrief
from models.social.lists.tables import ShareRight, Visibility


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TitleBrief(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: TitleKind
    title: str
    year: int | None
    poster_url: str | None


class FavoriteOut(BaseModel):
    title: TitleBrief
    created_at: datetime


class PlaylistIn(Input):
    name: UserLine = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Visibility = Visibility.private


class PlaylistPatch(Input):
    model_config = ConfigDict(json_schema_extra=patch_schema("name", "visibility"))
    name: UserLine | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=5000)
    visibility: Visibility | None = None


class PlaylistOut(BaseModel):
    id: int
    owner: UserBrief
    name: str
    description: str | None
    visibility: Visibility
    item_count: int
    # What the caller may do: owner, edit, view.
    access: Literal["owner", "edit", "view"]
    created_at: datetime
    updated_at: datetime


class ItemOut(BaseModel):
    id: int
    title: TitleBrief
    position: int
    added_by: uuid.UUID | None
    created_at: datetime


class PlaylistDetail(PlaylistOut):
    items: list[ItemOut]


class ItemIn(Input):
    title_id: int = Field(ge=1)
    # 0-based; omitted means "at the end".
    position: int | None = Field(default=None, ge=0)


class MoveIn(Input):
    position: int = Field(ge=0)


class ShareIn(Input):
    right: ShareRight = ShareRight.view


class ShareOut(BaseModel):
    user: UserBrief
    right: ShareRight
    created_at: datetime
