"""Imports every aggregate's tables so Base.metadata is complete (Alembic, tests)."""

from models.accounts import tables as accounts_tables
from models.catalog import tables as catalog_tables
from models.core.db import Base
from models.media import tables as media_tables
from models.notifications import tables as notifications_tables
from models.parties import tables as parties_tables

metadata = Base.metadata

__all__ = [
    "accounts_tables",
    "catalog_tables",
    "media_tables",
    "metadata",
    "notifications_tables",
    "parties_tables",
]
