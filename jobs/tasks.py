"""Importing this module registers every aggregate's jobs."""

from jobs import (  # noqa: F401
    accounts,
    catalog,
    email,
    media,
    notifications,
    parties,
    privacy,
    scheduled,
)
