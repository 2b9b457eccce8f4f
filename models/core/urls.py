"""URLs from clients, parsed the way the code that follows them will parse them."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit


def parse_web_url(value: str) -> SplitResult:
    """An http(s) URL with a host and a valid port; ValueError otherwise."""
    parts = urlsplit(value)  # raises on brackets that are not an IPv6 host
    _ = parts.port  # raises on a port that is not a number below 65536
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("Not an http(s) URL with a host")
    return parts


def check_web_url(value: str) -> str:
    parse_web_url(value)
    return value
