from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel

from cinema.logsetup import flush_logs, setup_logging
from http_api.app import all_endpoints
from models.core.context import Context
from models.core.settings import DEV_SECRET, Settings
from tests.factories import make_account


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}


async def test_readiness_fails_when_a_dependency_is_down(settings: Settings) -> None:
    from cinema.app import create_app

    broken = settings.model_copy(
        update={"database_url": "postgresql://postgres@127.0.0.1:1/nothing"}
    )
    app = create_app(broken)
    http = app.other_asgi_app
    async with http.router.lifespan_context(http):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            r = await c.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["checks"]["redis"] == "ok" and body["checks"]["database"] != "ok"


async def test_openapi_describes_every_route(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    validate(spec)
    documented = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for e in all_endpoints():
        # Path convertors ({id:int}) are documented as plain parameters.
        assert (e.method, re.sub(r":\w+}", "}", e.path)) in documented
    register = spec["paths"]["/api/v1/auth/register"]["post"]
    schema_ref = register["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert schema_ref.endswith("/RegisterIn")
    assert "409" in register["responses"]
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    asset = await client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status_code == 200 and len(asset.content) > 100_000


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.delete("/api/v1/auth/register")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert r.headers["x-request-id"]


async def test_a_method_a_path_lacks_is_405_with_every_method_it_has(
    client: httpx.AsyncClient,
) -> None:
    """`Allow` names all of the path's methods (it named one: `GET` on /titles/{id}, which
    also takes PATCH and DELETE), as generated clients and RFC 9110 expect."""
    spec = (await client.get("/openapi.json")).json()
    templates = {p: re.compile(re.sub(r"{\w+}", "[^/]+", p) + "$") for p in spec["paths"]}
    for path, ops in spec["paths"].items():
        declared = {m.upper() for m in ops}
        some = {"uuid": "00000000-0000-4000-8000-000000000000"}
        params = {
            p["name"]: some.get(p["schema"].get("format", ""), "1")
            for op in ops.values()
            for p in op.get("parameters", [])
            if p["in"] == "path"
        }
        url = path
        for name, value in params.items():
            url = url.replace("{" + name + "}", value)
        for method in sorted({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} - declared):
            # /me/history/progress is also /me/history/{entry_id}, which takes DELETE
            if any(
                t.match(url) and method.lower() in spec["paths"][other]
                for other, t in templates.items()
            ):
                continue
            r = await client.request(method, url)
            assert r.status_code == 405, (method, path, r.status_code)
            allowed = {m.strip() for m in r.headers["allow"].split(",")}
            assert allowed - {"HEAD"} == declared, (method, path, r.headers["allow"])
    # A literal path beside a parameter one is not taken for an id of it.
    for method, url, allow in [
        ("DELETE", "/api/v1/friends/requests", "GET, POST"),
        ("DELETE", "/api/v1/me/history/progress", "POST"),
        ("PATCH", "/api/v1/playlists/shared-with-me", "GET"),
    ]:
        r = await client.request(method, url)
        assert r.status_code == 405, (method, url, r.text)
        assert set(r.headers["allow"].split(", ")) - {"HEAD"} == set(allow.split(", "))


async def test_unexpected_error_is_logged_with_trace_and_hidden_from_client(
    app: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup_logging(level="INFO", log_dir=settings.log_dir)
    from models.accounts import service

    async def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("kaboom: secret internal detail")

    monkeypatch.setattr(service, "list_sessions", boom)
    from tests.factories import make_account

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        acct = await make_account(app.state.ctx, c)
        r = await c.get(
            "/api/v1/auth/sessions", headers={**acct.headers, "X-Request-ID": "req-12345678"}
        )
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "internal"
    assert "kaboom" not in r.text and "Traceback" not in r.text
    flush_logs()
    log = (Path(settings.log_dir) / "app.log").read_text()
    assert "kaboom: secret internal detail" in log and "Traceback" in log
    assert "req-12345678" in log
    assert "GET /api/v1/auth/sessions 500" in log


def test_default_secret_is_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env="production")
    with pytest.raises(ValueError, match="SECRET_KEY"):
        Settings(env="test", secret_key=DEV_SECRET)
    assert Settings(env="development").secret_key.get_secret_value() == DEV_SECRET


def test_urls_in_standard_forms() -> None:
    from models.core.db import asyncpg_url

    assert (
        asyncpg_url("postgresql://u:p@db:5432/cinema") == "postgresql+asyncpg://u:p@db:5432/cinema"
    )
    assert asyncpg_url("postgres://u@db/cinema?sslmode=require") == (
        "postgresql+asyncpg://u@db/cinema?ssl=require"
    )
    with pytest.raises(ValueError):
        asyncpg_url("mysql://x@y/z")


async def test_ids_past_bigint_are_invalid_input_not_server_errors(
    client: httpx.AsyncClient,
) -> None:
    huge = "215812711837014813371793408"
    r = await client.get(f"/api/v1/titles?person={huge}")
    assert r.status_code in (404, 422), r.text
    assert r.json()["error"]["code"] != "internal"
    r = await client.get(f"/api/v1/titles/{huge}")
    assert r.status_code in (404, 422), r.text


def test_public_url_and_cors_follow_the_listening_address() -> None:
    # Off loopback the development key is refused (tests/security/test_secret_key.py).
    key = "k" * 40
    s = Settings(env="development", host="0.0.0.0", port=8897, secret_key=key)
    assert s.public_url == "http://127.0.0.1:8897"
    assert s.cors_origins == ["http://127.0.0.1:8897"]
    told = Settings(
        env="development", public_url="https://cinema.example", port=9000, secret_key=key
    )
    assert told.public_url == "https://cinema.example"
    assert told.cors_origins == ["https://cinema.example"]


async def test_nul_characters_are_invalid_input(client: httpx.AsyncClient, ctx: object) -> None:
    r = await client.post(
        "/api/v1/auth/register",
        json={
            "email": "nul@example.com",
            "username": "nul_user",
            "password": "pass\u0000word-long",
        },
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    r = await client.get("/api/v1/titles", params={"q": "god\u0000father"})
    assert r.status_code == 422


async def test_openapi_gives_each_model_its_own_schema(client: httpx.AsyncClient) -> None:
    """Two models with one class name (catalog's and social's RatingSummary) once shared a
    component: the docs described one route's answer with the other's fields."""
    spec = (await client.get("/openapi.json")).json()
    components = spec["components"]["schemas"]

    def resolve(schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema

    for e in all_endpoints():
        op = spec["paths"][re.sub(r":\w+}", "}", e.path)][e.method.lower()]
        if isinstance(e.response, type) and issubclass(e.response, BaseModel) and e.status != 204:
            content = op["responses"][str(e.status)]["content"]["application/json"]
            documented = resolve(content["schema"])
            own = e.response.model_json_schema(mode="serialization")
            assert set(documented.get("properties", {})) == set(own.get("properties", {})), (
                e.method,
                e.path,
            )
        if e.body is not None:
            content = op["requestBody"]["content"]["application/json"]
            documented = resolve(content["schema"])
            own = e.body.model_json_schema(mode="validation")
            assert set(documented.get("properties", {})) == set(own.get("properties", {})), (
                e.method,
                e.path,
            )
        if e.query is not None:
            documented_params = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            own = e.query.model_json_schema(mode="validation")
            assert documented_params == set(own["properties"]), (e.method, e.path)


async def test_path_ids_are_documented_as_the_routes_take_them(client: httpx.AsyncClient) -> None:
    """A comment id documented as any string let generated clients send "abc" and get 422;
    ids are bigints and users and parties UUIDs, and a value of that schema is not refused."""
    spec = (await client.get("/openapi.json")).json()
    schemas = {
        (p["name"], path): p["schema"]
        for path, ops in spec["paths"].items()
        for op in ops.values()
        for p in op.get("parameters", [])
        if p["in"] == "path"
    }
    assert schemas[("comment_id", "/api/v1/comments/{comment_id}")] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**63 - 1,
    }
    assert schemas[("user_id", "/api/v1/blocks/{user_id}")]["format"] == "uuid"
    for (name, path), schema in schemas.items():
        if name.endswith("_id") and name not in {"session_id", "asset_id"}:
            assert schema != {"type": "string"}, (name, path)
    largest = await client.get(f"/api/v1/comments/{2**63 - 1}")
    assert largest.status_code == 404, largest.text


async def test_cursors_are_documented_as_base64url_and_may_be_404(
    client: httpx.AsyncClient,
) -> None:
    """Every list's cursor says what it is; what it allows is either a page or a documented
    404, never a 422 for a value the schema allows."""
    spec = (await client.get("/openapi.json")).json()
    found = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p["name"] != "cursor":
                    continue
                found += 1
                text = next(s for s in p["schema"]["anyOf"] if s.get("type") == "string")
                assert text["pattern"] == "^[A-Za-z0-9_-]+$", (method, path)
                assert "404" in op["responses"], (method, path)
    assert found >= 15


async def test_optional_token_routes_document_401_for_a_bad_token(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """A comment reads without a token, but a revoked one is 401 (undocumented before)."""
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"]["/api/v1/comments/{comment_id}"]["get"]
    assert {} in op["security"] and "401" in op["responses"]
    optional = [
        (method, path)
        for path, ops in spec["paths"].items()
        for method, o in ops.items()
        if {} in o.get("security", [])
    ]
    assert optional and all("401" in spec["paths"][p][m]["responses"] for m, p in optional)
    me = await make_account(ctx, client)
    assert (await client.post("/api/v1/auth/logout-all", headers=me.headers)).status_code == 204
    for headers in ({}, me.headers, {"Authorization": "Bearer not-a-token"}):
        r = await client.get(f"/api/v1/comments/{2**62}", headers=headers)
        assert r.status_code == (404 if not headers else 401), (headers, r.text)


async def test_rules_the_services_enforce_are_in_the_schema(client: httpx.AsyncClient) -> None:
    """Bodies the schema allowed were refused 422 (schemathesis): a patch's null where the
    service wants a value or leaves nothing to change, a film and an episode at once, a year
    before 1870, a blank or control character in text people read. The schema says so now."""
    components = (await client.get("/openapi.json")).json()["components"]["schemas"]
    comment = components["CommentPatch"]
    assert comment["minProperties"] == 1 and comment["properties"]["spoiler"]["type"] == "boolean"
    title = components["TitlePatch"]["properties"]
    assert "anyOf" not in title["kind"] and "default" not in title["kind"]
    assert {"type": "null"} in title["year"]["anyOf"]  # null clears a year
    year = next(s for s in title["year"]["anyOf"] if s.get("type") == "integer")
    assert (year["minimum"], year["maximum"]) == (1870, 2200)
    assert [r["required"] for r in components["CreatePartyIn"]["oneOf"]] == [
        ["title_id"],
        ["episode_id"],
    ]
    assert components["ProgressIn"]["oneOf"][1]["required"] == ["episode_id"]
    assert components["MeUpdate"]["properties"]["username"].get("type") == "string"


def test_the_text_pattern_is_the_text_rule() -> None:
    from models.core.text import LINE_PATTERN, TEXT_PATTERN, clean_text

    samples = ["a", " a ", "", " ", "\t", "a\nb", "a\tb", "\x07", "a\x85", "\u00a0", "\u3000x"]
    samples += ["é", "e\u0301", "\x7f", "x\r", "\u2028", "\ufeff", "line\n"]
    for pattern, lines in ((TEXT_PATTERN, True), (LINE_PATTERN, False)):
        for text in samples:
            try:
                clean_text(text, lines=lines)
                kept = True
            except ValueError:
                kept = False
            # The schema may be stricter than the rule (U+FEFF alone), never looser.
            if re.fullmatch(pattern, text):
                assert kept, (pattern, text)


async def test_token_grant_type_is_an_enum(client: httpx.AsyncClient, ctx: Context) -> None:
    """`pattern: ^password$` let a generator send "password\\n" (Python's `$`), refused 422."""
    spec = (await client.get("/openapi.json")).json()
    form = spec["paths"]["/api/v1/auth/token"]["post"]["requestBody"]["content"]
    schema = form["application/x-www-form-urlencoded"]["schema"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    grant = schema["properties"]["grant_type"]
    assert grant.get("enum", [grant.get("const")]) == ["password"] and "anyOf" not in grant
    me = await make_account(ctx, client)
    for grant_type, status in (("password\n", 422), ("null", 422), ("password", 200)):
        r = await client.post(
            "/api/v1/auth/token",
            data={"username": me.user.email, "password": me.password, "grant_type": grant_type},
        )
        assert r.status_code == status, r.text


def test_the_url_pattern_takes_only_urls_the_server_takes() -> None:
    """ "http://:\\ud934" matched ^https?://\\S+$ and was refused 422 (schemathesis)."""
    from models.catalog.schemas import URL_PATTERN
    from models.core.urls import check_web_url

    urls = ["http://a", "https://a.b:443/x?y#z", "http://h:65535/", "https://[2001:db8::1]:8/p"]
    urls += ["http://:\ud934", "http://a:99999", "https://]x", "https://[::1", "https:///x"]
    urls += ["https://[1::2::3]/", "http://a:/", "https://[::]/"]
    for url in urls:
        if re.fullmatch(URL_PATTERN, url):
            check_web_url(url)  # raises if the server would refuse it
    assert re.fullmatch(URL_PATTERN, "https://[2001:db8::1]:8443/p.jpg")


async def test_strings_say_they_hold_no_nul(client: httpx.AsyncClient) -> None:
    """A season named "a\x00" was schema-valid and refused 422 (schemathesis, stateful)."""
    spec = (await client.get("/openapi.json")).json()
    name = spec["components"]["schemas"]["SeasonIn"]["properties"]["name"]
    text = next(s for s in name.get("anyOf", [name]) if s.get("type") == "string")
    assert text["not"] == {"pattern": "\u0000"}
    cursor = next(
        p for p in spec["paths"]["/api/v1/friends"]["get"]["parameters"] if p["name"] == "cursor"
    )
    assert all(s["not"] for s in cursor["schema"]["anyOf"] if s.get("type") == "string")
    logout = spec["paths"]["/api/v1/auth/logout"]["post"]["responses"]
    assert "404" in logout  # the session ended meanwhile (logout-all on another device)


async def test_unknown_query_parameters_are_named_without_control_characters(
    client: httpx.AsyncClient,
) -> None:
    # schemathesis sent a parameter named "\x00p…": its name came back raw in the message,
    # which the API document says holds no NUL.
    r = await client.get("/api/v1/titles?%00p%C3%A6=1&size=2")
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "\x00" not in message
    assert "\\x00p" in message and "size" in message
