"""Finding 9: the pages we serve carry a Content-Security-Policy (no inline script, nobody
frames us), nosniff, no Referer from pages holding tokens, and HSTS over https."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from http_api.security_headers import content_security_policy
from models.core.settings import Settings

PAGES = [
    "/docs",
    "/openapi.json",
    "/parties/demo",
    "/reset-password?token=abcdefghijkl",
    "/email-change/undo?token=abcdefghijkl",
    "/account/deletion/undo?token=abcdefghijkl",
    "/device?user_code=BCDF-GHJK",
    "/docs/events",
    "/sw.js",  # a service worker runs under its own script's policy
    "/api/v1/auth/confirm?token=abcdefghijkl",
    "/api/v1/titles",
    "/api/v1/no-such-route",
    "/",  # the web app (or, unbuilt, the page saying so)
    "/browse",
]


def _directives(policy: str) -> dict[str, list[str]]:
    out = {}
    for part in policy.split(";"):
        name, *values = part.split()
        out[name] = values
    return out


@pytest.mark.parametrize("path", PAGES)
async def test_every_answer_carries_the_headers(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    csp = _directives(r.headers["content-security-policy"])
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"]
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    carries_token = "token=" in path
    assert r.headers["referrer-policy"] == (
        "no-referrer" if carries_token else "strict-origin-when-cross-origin"
    )
    assert "strict-transport-security" not in r.headers  # plain http: no HSTS


async def test_our_pages_have_no_inline_script(client: httpx.AsyncClient, web_app: Path) -> None:
    for path in ("/docs", "/parties/demo", "/reset-password", "/email-change/undo"):
        page = (await client.get(path)).text
        scripts = page.split("<script")[1:]
        assert scripts, path
        assert all(" src=" in s.split(">", 1)[0] for s in scripts), path


async def test_hsts_over_https(app: Any, worker: Any) -> None:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
        r = await c.get("/healthz")
    assert r.headers["strict-transport-security"].startswith("max-age=31536000")


def test_the_policy_fits_the_web_app() -> None:
    s = Settings(
        env="test",
        secret_key="s" * 40,
        public_url="https://cinema.example.org",
        media_public_url="https://cdn.example.net/x",
    )
    csp = _directives(content_security_policy(s))
    assert "blob:" in csp["media-src"] and "https:" in csp["media-src"]
    assert "http:" not in csp["media-src"]  # an https site plays no plain-http media
    assert "wss://cinema.example.org" in csp["connect-src"]
    assert "https://cdn.example.net" in csp["connect-src"]
    assert "blob:" in csp["worker-src"] and "https:" in csp["img-src"]
    assert "upgrade-insecure-requests" in csp
