"""Importing this module registers every aggregate's socket events."""

from realtime import media, notifications, parties, resume, social, streams, system  # noqa: F401
