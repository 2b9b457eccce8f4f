"""The web app at /: its page for every client route, its hashed files cached for good and
sent gzipped, and never in the way of the server's own paths."""

from __future__ import annotations

from pathlib import Path

import httpx


async def test_client_routes_get_the_app_and_server_paths_stay_the_servers(
    client: httpx.AsyncClient, web_app: Path
) -> None:
    for path in (
        "/",
        "/browse",
        "/titles/12",
        "/reset-password?token=abcdefghijkl",
        "/docs/events",  # the app's page beside the server's /docs
        "/device?user_code=BCDF-GHJK",
        "/account/deletion/undo?token=abcdefghijkl",
    ):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert '<div id="app">' in r.text and r.headers["content-type"].startswith("text/html")
        assert r.headers["cache-control"] == "no-cache"  # a deploy shows at the next load
        assert "script-src 'self';" in r.headers["content-security-policy"]
    # The server's paths: their own answers, JSON 404s and 405s where nothing matches.
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/openapi.json")).json()["openapi"].startswith("3.1")
    assert (await client.get("/asyncapi.json")).json()["asyncapi"].startswith("3.")
    for path in (
        "/api/v1/no-such-thing",
        "/media/nothing",
        "/static/nothing.js",
        "/assets/x.js",
        "/docs/nothing",
        "/static/device.js",  # the standalone pages' scripts are gone
    ):
        r = await client.get(path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path
    r = await client.post("/healthz")
    assert r.status_code == 405 and "GET" in r.headers["allow"]
    r = await client.post("/browse")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    # No way out of the build folder.
    for path in ("/..%2f..%2fpyproject.toml", "/%2e%2e/%2e%2e/pyproject.toml"):
        assert "[project]" not in (await client.get(path)).text


async def test_hashed_files_are_immutable_and_gzipped(
    client: httpx.AsyncClient, web_app: Path
) -> None:
    script = next(p for p in (web_app / "assets").glob("index-*.js"))
    url = f"/assets/{script.name}"
    index = (await client.get("/")).text
    assert url in index
    r = await client.get(url, headers={"Accept-Encoding": "gzip"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert r.content == script.read_bytes()  # httpx undid the gzip
    plain = await client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.content == script.read_bytes()
    # /docs runs Swagger UI 5 from the build (the wheel's 4.x cannot read OpenAPI 3.1).
    bundle = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.content == (web_app / "docs" / "swagger-ui-bundle.js").read_bytes()
