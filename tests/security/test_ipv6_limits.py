"""Finding 6: one IPv6 client holds a whole /64 (often far more): per-IP limits that count
each address alone do not hold for it."""

from __future__ import annotations

import random

import httpx

from models.core.ratelimit import client_bucket


def _prefix() -> str:
    return f"2001:db8:{random.randrange(1, 0xFFFF):x}:{random.randrange(1, 0xFFFF):x}"


async def test_addresses_of_one_ipv6_64_share_the_per_ip_login_limit(
    client: httpx.AsyncClient,
) -> None:
    prefix, answers = _prefix(), []
    for i in range(31):  # the per-IP login limit is 30 per 5 minutes
        r = await client.post(
            "/api/v1/auth/token",
            data={"username": f"nobody{i}@example.com", "password": "guess-guess"},
            headers={"X-Forwarded-For": f"{prefix}:{i:x}:{i:x}:{i:x}:1"},
        )
        answers.append(r.status_code)
    assert answers[:30] == [401] * 30
    assert answers[30] == 429, "31 addresses of one /64 got 31 separate buckets"
    other = await client.post(
        "/api/v1/auth/token",
        data={"username": "nobody@example.com", "password": "guess-guess"},
        headers={"X-Forwarded-For": f"{_prefix()}::1"},
    )
    assert other.status_code == 401  # the next /64 is someone else


def test_client_buckets() -> None:
    assert client_bucket("203.0.113.7") == "203.0.113.7"
    assert client_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_bucket("2001:db8:1:2:aaaa:bbbb:cccc:dddd") == "2001:db8:1:2::/64"
    assert client_bucket("2001:DB8:1:2::1") == client_bucket("2001:db8:1:2:ffff::9")
    assert client_bucket("unknown") == "unknown"
