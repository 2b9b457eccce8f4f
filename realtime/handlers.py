"""Importing this module registers every aggregate's socket events."""

from realtime import system  # noqa: F401
