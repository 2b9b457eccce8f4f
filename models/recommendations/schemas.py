"""Wire models of recommendations."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.catalog.schemas import Term, TitleItem
from models.core.pagination import Page


class TitleRef(BaseModel):
    id: int
    title: str


class Reason(BaseModel):
    """Why a title is recommended: like a title of yours (`because`), popular in a genre you
    like (`genre`), or popular (a new user who has told us nothing yet)."""

    kind: Literal["similar", "taste", "popular"]
    because: TitleRef | None = None
    genre: Term | None = None


class Recommended(BaseModel):
    title: TitleItem
    score: float
    reason: Reason


class RecommendationPage(Page[Recommended]):
    pass


class BecauseRow(BaseModel):
    """ "Because you watched X": titles like one you watched, liked or rated well."""

    because: TitleRef
    items: list[TitleItem]


class BecauseRows(BaseModel):
    rows: list[BecauseRow]


class SimilarPage(Page[TitleItem]):
    pass


class HiddenPage(Page[TitleRef]):
    pass


class RecommendationQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=20, ge=1, le=50)


class BecauseQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rows: int = Field(default=3, ge=1, le=10)
    limit: int = Field(default=10, ge=1, le=30)
