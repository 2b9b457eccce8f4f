"""catalog: tags, categories, countries, people, credits, collections, search columns

Revision ID: catalog_0001
Revises: 0001_foundation
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "catalog_0001"
down_revision: str | Sequence[str] | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = ("catalog",)
depends_on: str | Sequence[str] | None = None

# Frozen copies of models/catalog/ddl.py as of this revision.
EXTENSIONS = (
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE EXTENSION IF NOT EXISTS unaccent",
)
UNACCENT_SCHEMA = (
    "SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'unaccent'"
)
FUNCTIONS = (
    """
    CREATE OR REPLACE FUNCTION cinema_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$
    """,
    """
    CREATE OR REPLACE FUNCTION cinema_norm(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT btrim(regexp_replace(lower(cinema_unaccent($1)), '[^[:alnum:]]+', ' ', 'g')) $$
    """,
)


def _term_table(name: str, link: str, fk_column: str) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("slug", name=op.f(f"uq_{name}_slug")),
    )
    op.create_table(
        link,
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column(fk_column, sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            [fk_column],
            [f"{name}.id"],
            name=op.f(f"fk_{link}_{fk_column}_{name}"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"], ["titles.id"], name=op.f(f"fk_{link}_title_id_titles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("title_id", fk_column, name=op.f(f"pk_{link}")),
    )
    op.create_index(op.f(f"ix_{link}_{fk_column}"), link, [fk_column], unique=False)


def upgrade() -> None:
    bind = op.get_bind()
    for stmt in EXTENSIONS:
        op.execute(stmt)
    schema = bind.execute(sa.text(UNACCENT_SCHEMA)).scalar_one()
    for stmt in FUNCTIONS:
        op.execute(stmt.format(schema=schema))

    op.add_column(
        "titles", sa.Column("popularity", sa.Float(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "titles", sa.Column("rating_avg", sa.Float(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "titles",
        sa.Column("rating_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column("titles", sa.Column("import_key", sa.String(length=700), nullable=True))
    op.add_column(
        "titles",
        sa.Column(
            "search_title", sa.Text(collation="C"), server_default=sa.text("''"), nullable=False
        ),
    )
    op.add_column(
        "titles",
        sa.Column(
            "search_vector",
            postgresql.TSVECTOR(),
            server_default=sa.text("''::tsvector"),
            nullable=False,
        ),
    )
    op.execute("UPDATE titles SET search_title = cinema_norm(title)")
    op.create_unique_constraint(op.f("uq_titles_import_key"), "titles", ["import_key"])
    op.create_check_constraint(
        op.f("ck_titles_rating_avg_range"), "titles", "rating_avg >= 0 AND rating_avg <= 10"
    )
    op.create_check_constraint(op.f("ck_titles_rating_count_nonneg"), "titles", "rating_count >= 0")
    op.create_index(
        "ix_titles_popularity", "titles", [sa.text("popularity DESC"), sa.text("id DESC")]
    )
    op.create_index("ix_titles_rating", "titles", [sa.text("rating_avg DESC"), sa.text("id DESC")])
    op.create_index(
        "ix_titles_release", "titles", [sa.text("release_date DESC NULLS LAST"), sa.text("id DESC")]
    )
    op.create_index("ix_titles_sort_title", "titles", ["search_title", "id"])
    op.create_index(
        "ix_titles_kind_popularity",
        "titles",
        ["kind", sa.text("popularity DESC"), sa.text("id DESC")],
    )
    op.create_index("ix_titles_year", "titles", ["year"])
    op.create_index("ix_titles_age_rating", "titles", ["age_rating"])
    op.create_index(
        "ix_titles_search_title_trgm",
        "titles",
        ["search_title"],
        postgresql_using="gin",
        postgresql_ops={"search_title": "gin_trgm_ops"},
    )
    op.create_index("ix_titles_search_vector", "titles", ["search_vector"], postgresql_using="gin")

    _term_table("tags", "title_tags", "tag_id")
    _term_table("categories", "title_categories", "category_id")

    op.create_table(
        "countries",
        sa.Column("code", sa.String(length=2), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_countries")),
    )
    op.create_table(
        "title_countries",
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column("country_code", sa.String(length=2), nullable=False),
        sa.ForeignKeyConstraint(
            ["country_code"],
            ["countries.code"],
            name=op.f("fk_title_countries_country_code_countries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_title_countries_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("title_id", "country_code", name=op.f("pk_title_countries")),
    )
    op.create_index(
        op.f("ix_title_countries_country_code"), "title_countries", ["country_code"], unique=False
    )

    op.create_table(
        "people",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("photo_url", sa.String(length=1000), nullable=True),
        sa.Column("import_key", sa.String(length=300), nullable=True),
        sa.Column("search_name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_people")),
        sa.UniqueConstraint("import_key", name=op.f("uq_people_import_key")),
    )
    op.create_index(
        "ix_people_search_name_trgm",
        "people",
        ["search_name"],
        postgresql_using="gin",
        postgresql_ops={"search_name": "gin_trgm_ops"},
    )
    op.create_table(
        "credits",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "actor", "director", "writer", name="credit_role", native_enum=False, length=16
            ),
            nullable=False,
        ),
        sa.Column("character", sa.String(length=300), nullable=True),
        sa.Column("position", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_credits_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"], ["titles.id"], name=op.f("fk_credits_title_id_titles"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credits")),
        sa.UniqueConstraint("title_id", "person_id", "role", name=op.f("uq_credits_title_id")),
    )
    op.create_index("ix_credits_person_title", "credits", ["person_id", "title_id"], unique=False)
    op.create_index("ix_credits_title_position", "credits", ["title_id", "position"], unique=False)

    op.create_table(
        "collections",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collections")),
        sa.UniqueConstraint("slug", name=op.f("uq_collections_slug")),
    )
    op.create_table(
        "collection_items",
        sa.Column("collection_id", sa.BigInteger(), nullable=False),
        sa.Column("title_id", sa.BigInteger(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collections.id"],
            name=op.f("fk_collection_items_collection_id_collections"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["title_id"],
            ["titles.id"],
            name=op.f("fk_collection_items_title_id_titles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("collection_id", "title_id", name=op.f("pk_collection_items")),
    )
    op.create_index(
        "ix_collection_items_order", "collection_items", ["collection_id", "position"], unique=False
    )
    op.create_index(
        op.f("ix_collection_items_title_id"), "collection_items", ["title_id"], unique=False
    )

    op.create_table(
        "catalog_search_words",
        sa.Column("word", sa.Text(collation="C"), nullable=False),
        sa.Column("ndoc", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("word", name=op.f("pk_catalog_search_words")),
    )
    op.create_index(
        "ix_catalog_search_words_trgm",
        "catalog_search_words",
        ["word"],
        postgresql_using="gin",
        postgresql_ops={"word": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_table("catalog_search_words")
    op.drop_table("collection_items")
    op.drop_table("collections")
    op.drop_table("credits")
    op.drop_table("people")
    op.drop_table("title_countries")
    op.drop_table("countries")
    op.drop_table("title_categories")
    op.drop_table("categories")
    op.drop_table("title_tags")
    op.drop_table("tags")
    for index in (
        "ix_titles_search_vector",
        "ix_titles_search_title_trgm",
        "ix_titles_age_rating",
        "ix_titles_year",
        "ix_titles_kind_popularity",
        "ix_titles_sort_title",
        "ix_titles_release",
        "ix_titles_rating",
        "ix_titles_popularity",
    ):
        op.drop_index(index, table_name="titles")
    op.drop_constraint(op.f("ck_titles_rating_count_nonneg"), "titles", type_="check")
    op.drop_constraint(op.f("ck_titles_rating_avg_range"), "titles", type_="check")
    op.drop_constraint(op.f("uq_titles_import_key"), "titles", type_="unique")
    for column in (
        "search_vector",
        "search_title",
        "import_key",
        "rating_count",
        "rating_avg",
        "popularity",
    ):
        op.drop_column("titles", column)
    op.execute("DROP FUNCTION IF EXISTS cinema_norm(text)")
    op.execute("DROP FUNCTION IF EXISTS cinema_unaccent(text)")
    # The extensions stay: other schemas objects may use them, and they are harmless.
