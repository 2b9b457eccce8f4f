"""Imports every aggregate's tables so Base.metadata is complete (Alembic, tests)."""

from models.accounts import tables as accounts_tables
from models.catalog import tables as catalog_tables
from models.core.db import Base
from models.media import tables as media_tables
from models.moderation import tables as moderation_tables
from models.notifications import tables as notifications_tables
from models.parties import tables as parties_tables
from models.privacy import tables as privacy_tables
from models.recommendations import tables as recommendations_tables
from models.social.friends import tables as social_friends_tables
from models.social.lists import tables as social_lists_tables
from models.social.messages import tables as social_messages_tables
from models.social.reviews import tables as social_reviews_tables

metadata = Base.metadata

__all__ = [
    "accounts_tables",
    "catalog_tables",
    "media_tables",
    "metadata",
    "moderation_tables",
    "notifications_tables",
    "parties_tables",
    "privacy_tables",
    "recommendations_tables",
    "social_friends_tables",
    "social_lists_tables",
    "social_messages_tables",
    "social_reviews_tables",
]
