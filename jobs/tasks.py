"""Importing this module registers every aggregate's jobs."""

from jobs import accounts, catalog, email, media, notifications, parties, scheduled  # noqa: F401
