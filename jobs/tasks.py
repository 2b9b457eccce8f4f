"""Importing this module registers every aggregate's jobs."""

from jobs import email  # noqa: F401
