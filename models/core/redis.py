"""Redis client and the key namespace every key and channel lives under."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis


def make_redis(url: str, **options: Any) -> Redis:
    """A client for `url`; `options` override the defaults (text replies, a health check of
    idle connections every 30 s)."""
    kwargs: dict[str, Any] = {"decode_responses": True, "health_check_interval": 30, **options}
    return Redis.from_url(url, **kwargs)


class Keys:
    """All Redis key names in one place, under one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self, *parts: object) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    @property
    def socketio_channel(self) -> str:
        return self("socketio")

    @property
    def arq_queue(self) -> str:
        return self("arq", "queue")
