"""catalog: each title's age as a number (min_age), derived from its age rating

Revision ID: catalog_0004
Revises: catalog_0003
Create Date: 2026-12-05

A generated column, so every writer (the importers' COPY included) gets it; family controls
compare it with a child's maturity limit. The expression is a frozen copy of
models/catalog/maturity.py MIN_AGE_FUNCTION.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0004"
down_revision: str | Sequence[str] | None = "catalog_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

MIN_AGE_FUNCTION = "CREATE OR REPLACE FUNCTION cinema_min_age(age_rating text) RETURNS smallint LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (CASE WHEN upper(btrim(age_rating)) IN ('G', 'U', 'TV-Y', 'TV-G', 'ALL', 'E', 'L', 'AL', 'TP', 'UC') THEN 0 WHEN upper(btrim(age_rating)) IN ('TV-Y7', 'TV-Y7-FV') THEN 7 WHEN upper(btrim(age_rating)) IN ('PG', 'TV-PG') THEN 10 WHEN upper(btrim(age_rating)) IN ('PG-13', '12A', '12PG') THEN 13 WHEN upper(btrim(age_rating)) IN ('TV-14') THEN 14 WHEN upper(btrim(age_rating)) IN ('R', 'TV-MA') THEN 17 WHEN upper(btrim(age_rating)) IN ('NC-17', 'X', 'XXX', 'R18', 'R-18', 'RESTRICTED') THEN 18 WHEN age_rating ~ '[0-9]' THEN least(substring(age_rating from '([0-9]{1,2})')::integer, 21) END)::smallint $$"


def upgrade() -> None:
    op.execute(MIN_AGE_FUNCTION)
    op.add_column(
        "titles",
        sa.Column(
            "min_age",
            sa.SmallInteger(),
            sa.Computed("cinema_min_age(age_rating)", persisted=True),
            nullable=True,
        ),
    )


def downgrade() -> None:
    op.drop_column("titles", "min_age")
    op.execute("DROP FUNCTION IF EXISTS cinema_min_age(text)")
