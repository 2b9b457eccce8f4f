"""Importing this module registers every aggregate's jobs."""

from jobs import accounts, email, media, notifications, scheduled  # noqa: F401
