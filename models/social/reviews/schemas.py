"""Wire models for ratings, title likes and comments."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from models.core.pagination import cursor_query
from models.core.schema_rules import patch_schema
from models.core.text import UserText
from models.social.friends.schemas import UserBrief


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RatingIn(Input):
    score: int = Field(ge=1, le=10, strict=True)


class RatingSummary(BaseModel):
    """Kept incrementally; `version` grows with every change."""

    title_id: int
    average: float | None
    count: int
    # Ratings per score, "1" to "10".
    distribution: dict[str, int]
    likes: int
    version: int


class TitleSocialOut(RatingSummary):
    my_score: int | None = None
    liked_by_me: bool = False


class CommentIn(Input):
    body: UserText = Field(min_length=1, max_length=10000)
    spoiler: bool = False
    # Replying to a reply attaches to its top-level comment: threads are one level deep.
    parent_id: int | None = Field(default=None, ge=1)


class CommentPatch(Input):
    model_config = ConfigDict(
        json_schema_extra=patch_schema("body", "spoiler", change_something=True),
    )
    body: UserText | None = Field(default=None, min_length=1, max_length=10000)
    spoiler: bool | None = None


class CommentOut(BaseModel):
    id: int
    title_id: int
    parent_id: int | None
    # Null once deleted: the thread survives, the words and the name do not.
    author: UserBrief | None
    body: str | None
    spoiler: bool
    deleted: bool
    hidden: bool = Field(
        default=False, description="Hidden by a moderator (then deleted too: no words, no name)"
    )
    like_count: int
    reply_count: int
    liked_by_me: bool
    created_at: datetime
    edited_at: datetime | None


class CommentsQuery(Input):
    cursor: str | None = cursor_query()
    limit: int = Field(default=30, ge=1, le=100)


class CommentLikeOut(BaseModel):
    comment_id: int
    like_count: int
    liked_by_me: bool


class RatingOut(BaseModel):
    title_id: int
    user_id: uuid.UUID
    score: int | None
    summary: RatingSummary
