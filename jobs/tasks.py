"""Importing this module registers every aggregate's jobs."""

from jobs import (  # noqa: F401
    accounts,
    catalog,
    email,
    media,
    messages,
    notifications,
    parties,
    privacy,
    scheduled,
)
