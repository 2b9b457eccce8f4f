"""Importing this module registers every aggregate's socket events."""

from realtime import (  # noqa: F401
    media,
    notifications,
    parties,
    resume,
    screens,
    social,
    streams,
    system,
)
