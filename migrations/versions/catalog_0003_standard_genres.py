"""catalog: the standard genre list (TMDB's 19), so imports find Action, Horror, Western...

Revision ID: catalog_0003
Revises: catalog_0002
Create Date: 2026-12-05

Existing genres with the same slug are left as they are; the downgrade removes none (titles
may carry them by now).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "catalog_0003"
down_revision: str | Sequence[str] | None = "catalog_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of models/catalog/taxonomy.py STANDARD_GENRES with their slugs.
GENRES = (
    ("action", "Action"), ("adventure", "Adventure"), ("animation", "Animation"),
    ("comedy", "Comedy"), ("crime", "Crime"), ("documentary", "Documentary"),
    ("drama", "Drama"), ("family", "Family"), ("fantasy", "Fantasy"), ("history", "History"),
    ("horror", "Horror"), ("music", "Music"), ("mystery", "Mystery"), ("romance", "Romance"),
    ("science-fiction", "Science Fiction"), ("tv-movie", "TV Movie"), ("thriller", "Thriller"),
    ("war", "War"), ("western", "Western"),
)  # fmt: skip


def upgrade() -> None:
    op.get_bind().execute(
        sa.text("INSERT INTO genres (slug, name) VALUES (:slug, :name) ON CONFLICT DO NOTHING"),
        [{"slug": s, "name": n} for s, n in GENRES],
    )


def downgrade() -> None:
    pass
