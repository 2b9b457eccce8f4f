"""Importing this module registers every aggregate's socket events."""

from realtime import media, parties, system  # noqa: F401
