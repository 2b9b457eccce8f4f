"""Wire models of the catalog: queries, inputs (unknown fields rejected) and outputs."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from models.catalog.tables import CreditRole, TitleKind
from models.catalog.taxonomy import slugify as slugify
from models.core.pagination import Page, cursor_query
from models.core.schema_rules import patch_schema
from models.core.urls import check_web_url

Sort = Literal["relevance", "popular", "rating", "newest", "title", "added"]
SLUG = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=SLUG)]
# What check_web_url takes, as a pattern (a little stricter: no user:password@): a host or
# an IPv6 address in brackets, a port below 65536 if any. "http://:\ud934" matched the
# looser ^https?://\S+$ and got 422.
_H = "[0-9A-Fa-f]{1,4}"
_IPV6 = "|".join(
    (
        f"({_H}:){{7}}{_H}",
        f"({_H}:){{1,7}}:",
        f"({_H}:){{1,6}}:{_H}",
        *(f"({_H}:){{1,{7 - n}}}(:{_H}){{1,{n}}}" for n in range(2, 7)),
        f":((:{_H}){{1,7}}|:)",
    )
)
URL_PATTERN = (
    rf"^https?://([^\s/?#@:\[\]]+|\[({_IPV6})\])"
    r"(:(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4}))?"
    r"([/?#]\S*)?$"
)
Url = Annotated[str, Field(max_length=1000, pattern=URL_PATTERN), AfterValidator(check_web_url)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Text is stripped before its length is checked, so text that may not be empty says
        it holds something besides whitespace (a genre named "\\t" was schema-valid and 422)."""
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        for prop in target.get("properties", {}).values():
            for option in (prop, *prop.get("anyOf", ())):
                if (
                    option.get("type") == "string"
                    and option.get("minLength", 0) >= 1
                    and "pattern" not in option
                ):
                    option["pattern"] = r"\S"
        return schema


# ---- queries -------------------------------------------------------------------------------


class TitleQuery(_In):
    """Browse and search. Repeated genre/tag/category/country parameters must all match;
    repeated age_rating parameters match any."""

    q: str | None = Field(default=None, max_length=200)
    kind: TitleKind | None = None
    genre: list[Slug] = Field(default_factory=list, max_length=10)
    tag: list[Slug] = Field(default_factory=list, max_length=10)
    category: list[Slug] = Field(default_factory=list, max_length=10)
    country: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=10
    )
    person: int | None = Field(default=None, ge=1)
    year_from: int | None = Field(default=None, ge=1800, le=2200)
    year_to: int | None = Field(default=None, ge=1800, le=2200)
    rating_from: float | None = Field(default=None, ge=0, le=10)
    rating_to: float | None = Field(default=None, ge=0, le=10)
    age_rating: list[Annotated[str, Field(max_length=16)]] = Field(
        default_factory=list, max_length=10
    )
    sort: Sort | None = None
    limit: int = Field(default=20, ge=1, le=100)
    cursor: str | None = cursor_query(500)


class FacetQuery(_In):
    q: str | None = Field(default=None, max_length=200)
    kind: TitleKind | None = None
    genre: list[Slug] = Field(default_factory=list, max_length=10)
    tag: list[Slug] = Field(default_factory=list, max_length=10)
    category: list[Slug] = Field(default_factory=list, max_length=10)
    country: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=10
    )
    person: int | None = Field(default=None, ge=1)
    year_from: int | None = Field(default=None, ge=1800, le=2200)
    year_to: int | None = Field(default=None, ge=1800, le=2200)
    rating_from: float | None = Field(default=None, ge=0, le=10)
    rating_to: float | None = Field(default=None, ge=0, le=10)
    age_rating: list[Annotated[str, Field(max_length=16)]] = Field(
        default_factory=list, max_length=10
    )


class PageQuery(_In):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = cursor_query(500)


class PeopleQuery(PageQuery):
    q: str | None = Field(default=None, max_length=200)


# ---- outputs -------------------------------------------------------------------------------


class Term(BaseModel):
    id: int
    slug: str
    name: str


class CountryOut(BaseModel):
    code: str
    name: str


class TitleItem(BaseModel):
    id: int
    kind: TitleKind
    title: str
    original_title: str | None
    year: int | None
    release_date: date | None
    runtime_minutes: int | None
    age_rating: str | None
    poster_url: str | None
    genres: list[Term]
    popularity: float
    rating_avg: float
    rating_count: int


class PersonRef(BaseModel):
    id: int
    name: str


class CreditOut(BaseModel):
    person: PersonRef
    role: CreditRole
    character: str | None


class EpisodeOut(BaseModel):
    id: int
    number: int
    title: str
    runtime_minutes: int | None
    release_date: date | None


class SeasonOut(BaseModel):
    id: int
    number: int
    name: str | None
    episodes: list[EpisodeOut]


class TitleDetail(TitleItem):
    description: str | None
    backdrop_url: str | None
    tags: list[Term]
    categories: list[Term]
    countries: list[CountryOut]
    credits: list[CreditOut]
    seasons: list[SeasonOut]
    created_at: datetime
    updated_at: datetime


class RatingSummary(BaseModel):
    title_id: int
    rating_avg: float
    rating_count: int


class FacetCount(BaseModel):
    key: str
    name: str
    count: int


class Facets(BaseModel):
    genres: list[FacetCount]
    decades: list[FacetCount]


class FilmographyEntry(BaseModel):
    title: TitleItem
    role: CreditRole
    character: str | None


class PersonOut(BaseModel):
    id: int
    name: str
    bio: str | None
    birth_date: date | None
    photo_url: str | None


class PersonDetail(PersonOut):
    filmography: list[FilmographyEntry]


class CollectionOut(BaseModel):
    id: int
    slug: str
    name: str
    description: str | None
    created_at: datetime
    updated_at: datetime


class CollectionEntry(BaseModel):
    position: int
    note: str | None
    title: TitleItem


class CollectionDetail(CollectionOut):
    items: list[CollectionEntry]


class CacheKindStats(BaseModel):
    hits: int
    misses: int
    hit_ratio: float


# ---- inputs --------------------------------------------------------------------------------


class TermIn(_In):
    name: str = Field(min_length=1, max_length=64)
    slug: Slug | None = None


class TermPatch(_In):
    name: str | None = Field(default=None, min_length=1, max_length=64)
    slug: Slug | None = None


class CountryIn(_In):
    code: str = Field(pattern=r"^[A-Za-z]{2}$")
    name: str | None = Field(default=None, min_length=1, max_length=100)


class CreditIn(_In):
    person_id: int = Field(ge=1)
    role: CreditRole
    character: str | None = Field(default=None, max_length=300)


class TitleIn(_In):
    kind: TitleKind
    title: str = Field(min_length=1, max_length=300)
    original_title: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    year: int | None = Field(default=None, ge=1870, le=2200)
    release_date: date | None = None
    runtime_minutes: int | None = Field(default=None, ge=1, le=10_000)
    age_rating: str | None = Field(default=None, max_length=16)
    poster_url: Url | None = None
    backdrop_url: Url | None = None
    popularity: float = Field(default=0, ge=0, le=1e9)
    genres: list[Slug] = Field(default_factory=list, max_length=30)
    tags: list[Slug] = Field(default_factory=list, max_length=50)
    categories: list[Slug] = Field(default_factory=list, max_length=30)
    countries: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=30
    )
    credits: list[CreditIn] = Field(default_factory=list, max_length=500)


class TitlePatch(_In):
    """Fields absent from the body stay as they are; a list given replaces the old one."""

    model_config = ConfigDict(json_schema_extra=patch_schema("kind", "title", "popularity"))
    kind: TitleKind | None = None
    title: str | None = Field(default=None, min_length=1, max_length=300)
    original_title: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=20_000)
    year: int | None = Field(default=None, ge=1870, le=2200)
    release_date: date | None = None
    runtime_minutes: int | None = Field(default=None, ge=1, le=10_000)
    age_rating: str | None = Field(default=None, max_length=16)
    poster_url: Url | None = None
    backdrop_url: Url | None = None
    popularity: float | None = Field(default=None, ge=0, le=1e9)
    genres: list[Slug] | None = Field(default=None, max_length=30)
    tags: list[Slug] | None = Field(default=None, max_length=50)
    categories: list[Slug] | None = Field(default=None, max_length=30)
    countries: list[Annotated[str, Field(pattern=r"^[A-Za-z]{2}$")]] | None = Field(
        default=None, max_length=30
    )
    credits: list[CreditIn] | None = Field(default=None, max_length=500)


class SeasonIn(_In):
    number: int = Field(ge=0, le=10_000)
    name: str | None = Field(default=None, max_length=300)


class SeasonPatch(_In):
    model_config = ConfigDict(json_schema_extra=patch_schema("number"))

    number: int | None = Field(default=None, ge=0, le=10_000)
    name: str | None = Field(default=None, max_length=300)


class EpisodeIn(_In):
    number: int = Field(ge=0, le=100_000)
    title: str = Field(min_length=1, max_length=300)
    runtime_minutes: int | None = Field(default=None, ge=1, le=10_000)
    release_date: date | None = None


class EpisodePatch(_In):
    model_config = ConfigDict(json_schema_extra=patch_schema("number", "title"))

    number: int | None = Field(default=None, ge=0, le=100_000)
    title: str | None = Field(default=None, min_length=1, max_length=300)
    runtime_minutes: int | None = Field(default=None, ge=1, le=10_000)
    release_date: date | None = None


class PersonIn(_In):
    name: str = Field(min_length=1, max_length=300)
    bio: str | None = Field(default=None, max_length=20_000)
    birth_date: date | None = None
    photo_url: Url | None = None


class PersonPatch(_In):
    model_config = ConfigDict(json_schema_extra=patch_schema("name"))

    name: str | None = Field(default=None, min_length=1, max_length=300)
    bio: str | None = Field(default=None, max_length=20_000)
    birth_date: date | None = None
    photo_url: Url | None = None


class CollectionItemIn(_In):
    title_id: int = Field(ge=1)
    note: str | None = Field(default=None, max_length=500)


class CollectionIn(_In):
    name: str = Field(min_length=1, max_length=200)
    slug: Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)] | None = None
    description: str | None = Field(default=None, max_length=20_000)
    items: list[CollectionItemIn] = Field(default_factory=list, max_length=1000)


class CollectionPatch(_In):
    model_config = ConfigDict(json_schema_extra=patch_schema("name", "slug"))

    name: str | None = Field(default=None, min_length=1, max_length=200)
    slug: Annotated[str, Field(min_length=1, max_length=100, pattern=SLUG)] | None = None
    description: str | None = Field(default=None, max_length=20_000)
    items: list[CollectionItemIn] | None = Field(default=None, max_length=1000)


# ---- list envelopes (named, so OpenAPI gets valid component names) -------------------------


class TitlePage(Page[TitleItem]):
    # A search that found nothing: queries that would find something (the query with its
    # typos corrected, the closest titles); empty otherwise.
    did_you_mean: list[str] = Field(default_factory=list)


class PersonPage(Page[PersonOut]):
    pass


class CollectionPage(Page[CollectionOut]):
    pass


class TermPage(Page[Term]):
    pass


class CountryPage(Page[CountryOut]):
    pass
