"""Importing this module registers every aggregate's socket events."""

from realtime import parties, system  # noqa: F401
