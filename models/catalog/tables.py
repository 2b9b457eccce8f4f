"""Catalog tables: titles (films and series), seasons and episodes, and what describes them.

The foundation created titles/genres/title_genres/seasons/episodes; the catalog aggregate
(migration branch `catalog`) adds the rest. `search_title` and `search_vector` are derived
from the title and its genres, tags and people; `models.catalog.search.refresh_search`
keeps them current after every write.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Computed,
    Enum,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from models.catalog.maturity import MIN_AGE_SQL
from models.core.db import Base, Timestamped


class TitleKind(enum.StrEnum):
    film = "film"
    series = "series"


class CreditRole(enum.StrEnum):
    actor = "actor"
    director = "director"
    writer = "writer"


class Title(Timestamped, Base):
    __tablename__ = "titles"
    __table_args__ = (
        # One index per sort (keyset order: value DESC/ASC, then id in the same direction).
        Index("ix_titles_popularity", text("popularity DESC"), text("id DESC")),
        Index("ix_titles_rating", text("rating_avg DESC"), text("id DESC")),
        Index("ix_titles_release", text("release_date DESC NULLS LAST"), text("id DESC")),
        Index("ix_titles_sort_title", "search_title", "id"),
        Index("ix_titles_kind_popularity", "kind", text("popularity DESC"), text("id DESC")),
        Index("ix_titles_year", "year"),
        Index("ix_titles_age_rating", "age_rating"),
        Index(
            "ix_titles_search_title_trgm",
            "search_title",
            postgresql_using="gin",
            postgresql_ops={"search_title": "gin_trgm_ops"},
        ),
        Index("ix_titles_search_vector", "search_vector", postgresql_using="gin"),
        CheckConstraint("rating_avg >= 0 AND rating_avg <= 10", name="rating_avg_range"),
        CheckConstraint("rating_count >= 0", name="rating_count_nonneg"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    kind: Mapped[TitleKind] = mapped_column(
        Enum(TitleKind, name="title_kind", native_enum=False, length=16)
    )
    title: Mapped[str] = mapped_column(String(300))
    original_title: Mapped[str | None] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None]
    release_date: Mapped[date | None]
    runtime_minutes: Mapped[int | None]
    age_rating: Mapped[str | None] = mapped_column(String(16))
    # The age the rating says (models/catalog/maturity.py), derived by PostgreSQL from
    # age_rating; NULL when it says none. Family controls compare it with a child's limit.
    min_age: Mapped[int | None] = mapped_column(
        SmallInteger, Computed(MIN_AGE_SQL, persisted=True), nullable=True
    )
    poster_url: Mapped[str | None] = mapped_column(String(1000))
    backdrop_url: Mapped[str | None] = mapped_column(String(1000))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())

    # Catalog extensions.
    popularity: Mapped[float] = mapped_column(Float, server_default=text("0"))
    # Maintained by the social aggregate (ratings); zero until it lands.
    rating_avg: Mapped[float] = mapped_column(Float, server_default=text("0"))
    rating_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    # The social aggregate's version these two come from: a slower writer holding an older
    # summary never overwrites a newer one.
    rating_version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    # Natural key for idempotent imports: the file's `external_id`, else kind|title|year.
    import_key: Mapped[str | None] = mapped_column(String(700), unique=True)
    # Collation "C": the title sort is by normalized bytes and the btree serves LIKE 'prefix%'.
    search_title: Mapped[str] = mapped_column(Text(collation="C"), server_default=text("''"))
    search_vector: Mapped[str] = mapped_column(TSVECTOR, server_default=text("''::tsvector"))
    # A Latin transliteration of the title and original title where they are in another
    # script ("Ирония судьбы" -> "ironiya sudby"), normalized; '' for Latin titles.
    search_latin: Mapped[str] = mapped_column(Text, server_default=text("''"))


class Genre(Base):
    __tablename__ = "genres"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class TitleGenre(Base):
    __tablename__ = "title_genres"

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    genre_id: Mapped[int] = mapped_column(
        ForeignKey("genres.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Tag(Base):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class TitleTag(Base):
    __tablename__ = "title_tags"

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    tag_id: Mapped[int] = mapped_column(
        ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Category(Base):
    """Editorial shelves such as "Kids" or "Documentaries"."""

    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))


class TitleCategory(Base):
    __tablename__ = "title_categories"

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Country(Base):
    """ISO 3166-1 alpha-2 code and English name."""

    __tablename__ = "countries"

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))


class TitleCountry(Base):
    __tablename__ = "title_countries"

    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True
    )
    country_code: Mapped[str] = mapped_column(
        ForeignKey("countries.code", ondelete="CASCADE"), primary_key=True, index=True
    )


class Person(Timestamped, Base):
    __tablename__ = "people"
    __table_args__ = (
        Index(
            "ix_people_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    bio: Mapped[str | None] = mapped_column(Text)
    birth_date: Mapped[date | None]
    photo_url: Mapped[str | None] = mapped_column(String(1000))
    # Imports match people by "ext:<their id in the source>", else by normalized name.
    import_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    search_name: Mapped[str] = mapped_column(Text, server_default=text("''"))


class Credit(Base):
    __tablename__ = "credits"
    __table_args__ = (
        UniqueConstraint("title_id", "person_id", "role"),
        Index("ix_credits_person_title", "person_id", "title_id"),
        Index("ix_credits_title_position", "title_id", "position"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    role: Mapped[CreditRole] = mapped_column(
        Enum(CreditRole, name="credit_role", native_enum=False, length=16)
    )
    character: Mapped[str | None] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class Season(Base):
    __tablename__ = "seasons"
    __table_args__ = (UniqueConstraint("title_id", "number"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    title_id: Mapped[int] = mapped_column(ForeignKey("titles.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    name: Mapped[str | None] = mapped_column(String(300))


class Episode(Base):
    __tablename__ = "episodes"
    __table_args__ = (UniqueConstraint("season_id", "number"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    season_id: Mapped[int] = mapped_column(ForeignKey("seasons.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    title: Mapped[str] = mapped_column(String(300))
    runtime_minutes: Mapped[int | None]
    release_date: Mapped[date | None]


class Collection(Timestamped, Base):
    """A curated, ordered editorial list such as "Oscar winners"."""

    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class CollectionItem(Base):
    __tablename__ = "collection_items"
    __table_args__ = (Index("ix_collection_items_order", "collection_id", "position"),)

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    title_id: Mapped[int] = mapped_column(
        ForeignKey("titles.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    position: Mapped[int]
    note: Mapped[str | None] = mapped_column(String(500))


class SearchWord(Base):
    """Every word of every search document: the dictionary typos are corrected against."""

    __tablename__ = "catalog_search_words"
    __table_args__ = (
        Index(
            "ix_catalog_search_words_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
        ),
    )

    # Collation "C" lets the primary key serve `word LIKE 'prefix%'`.
    word: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    ndoc: Mapped[int] = mapped_column(Integer, server_default=text("0"))


class SearchDelete(Base):
    """The dictionary's deletion neighbourhood (`cinema_deletes`): a typo'd word finds the
    words within its typo budget by looking its own deletions up here."""

    __tablename__ = "catalog_search_deletes"

    key: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
    # No foreign key: the bulk rebuild replaces both tables, and a lookup joins the words.
    word: Mapped[str] = mapped_column(Text(collation="C"), primary_key=True)
