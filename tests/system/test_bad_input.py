"""Inputs schemathesis found that once answered 500: each is a clear 4xx in the error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from models.accounts.tables import Role
from models.core.context import Context
from tests.factories import make_account

# str.isdigit() says yes to these, int() says no ("³") or reads them as 12 ("١٢").
NOT_ASCII_DIGITS = ["%C2%B3", "%D9%A1%D9%A2"]


def _assert_error(r: httpx.Response, *statuses: int) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text)
    error: dict[str, Any] = r.json()["error"]
    assert error["code"] and error["message"]
    return error


@pytest.mark.parametrize("raw", NOT_ASCII_DIGITS)
async def test_ids_in_other_scripts_digits_are_not_ids(
    client: httpx.AsyncClient, ctx: Context, raw: str
) -> None:
    editor = await make_account(ctx, client, role=Role.editor)
    h = editor.headers
    _assert_error(await client.delete(f"/api/v1/titles/{raw}/rating", headers=h), 404, 422)
    _assert_error(await client.put(f"/api/v1/favorites/{raw}", headers=h), 404, 422)
    _assert_error(await client.get(f"/api/v1/collections/{raw}"), 404)
    _assert_error(await client.post(f"/api/v1/notifications/{raw}/read", headers=h), 404)
    _assert_error(await client.get(f"/api/v1/titles/{raw}/media", headers=h), 404)


async def test_answers_are_the_documented_ones(client: httpx.AsyncClient, ctx: Context) -> None:
    """Statuses and content types schemathesis saw that /openapi.json did not list."""
    spec = (await client.get("/openapi.json")).json()
    user = await make_account(ctx, client)

    def documented(r: httpx.Response, path: str, method: str) -> None:
        responses = spec["paths"][path][method]["responses"]
        assert str(r.status_code) in responses, (path, r.status_code)
        ctype = r.headers["content-type"].split(";")[0]
        assert ctype in responses[str(r.status_code)]["content"], (path, ctype)

    # GET had an int convertor and PUT/DELETE not: "abc" matched those and answered 405.
    r = await client.get("/api/v1/titles/abc/rating")
    _assert_error(r, 404)
    r = await client.delete("/api/v1/titles/abc/rating", headers=user.headers)
    _assert_error(r, 404)
    r = await client.delete("/api/v1/me/history/titles/abc", headers=user.headers)
    _assert_error(r, 404)
    documented(r, "/api/v1/me/history/titles/{title_id}", "delete")
    # The emailed link shows a page, errors included.
    r = await client.get("/api/v1/auth/confirm", params={"token": "x" * 43})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    documented(r, "/api/v1/auth/confirm", "get")


async def test_text_for_others_has_no_control_characters(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """A bell or an escape in a display name, comment, message or playlist name reached every
    reader's screen (schemathesis set such a display name); blank text was stored too."""
    from tests.factories import make_title
    from tests.social.helpers import befriend

    a = await make_account(ctx, client)
    b = await make_account(ctx, client)
    await befriend(client, a, b)
    title_id = (await make_title(ctx, "Commented", runtime_minutes=120)).id
    for bad in ("bell\x07", "esc\x1b[2J", "   "):
        r = await client.patch("/api/v1/me", json={"display_name": bad}, headers=a.headers)
        _assert_error(r, 422)
        r = await client.post(
            f"/api/v1/titles/{title_id}/comments", json={"body": bad}, headers=a.headers
        )
        _assert_error(r, 422)
        r = await client.post(
            "/api/v1/messages",
            json={"to_user_id": str(b.id), "client_msg_id": "m1", "text": bad},
            headers=a.headers,
        )
        _assert_error(r, 422)
        r = await client.post("/api/v1/playlists", json={"name": bad}, headers=a.headers)
        _assert_error(r, 422)
    r = await client.patch("/api/v1/me", json={"display_name": "  Ann\u0301  "}, headers=a.headers)
    assert r.status_code == 200 and r.json()["display_name"] == "An\u0144"  # trimmed, NFC
    r = await client.post(
        f"/api/v1/titles/{title_id}/comments",
        json={"body": "two\nlines\twith a tab"},
        headers=a.headers,
    )
    assert r.status_code == 201 and r.json()["body"] == "two\nlines\twith a tab"


async def test_forged_cursors_name_no_page(client: httpx.AsyncClient, ctx: Context) -> None:
    """A cursor is opaque but not signed: numbers past bigint and words where ids go
    answered 500 on every list. A base64url cursor that names no page is 404 (it was 422,
    so a value the schema allows was refused as invalid); one that is not base64url 422."""
    from models.core.pagination import encode_cursor
    from tests.factories import make_title

    user = await make_account(ctx, client)
    title_id = (await make_title(ctx, "Listed", runtime_minutes=120)).id
    lists = [
        "/api/v1/people",
        "/api/v1/collections",
        "/api/v1/friends/requests",
        "/api/v1/playlists",
        "/api/v1/playlists/shared-with-me",
        f"/api/v1/titles/{title_id}/comments",
        f"/api/v1/conversations/{user.id}/messages",
        "/api/v1/notifications",
        "/api/v1/me/history",
        "/api/v1/favorites",
    ]
    forged: list[dict[str, Any]] = [
        {"id": 10**30, "o": 10**30},
        {"before": 10**30, "t": "2026-01-01T00:00:00", "k": 10**30},
        {"id": "w", "o": "w", "before": "w", "t": "w", "k": "w"},
        {"id": -(10**30), "o": -1, "before": None},
    ]
    for path in lists:
        for values in forged:
            r = await client.get(
                path, params={"cursor": encode_cursor(values)}, headers=user.headers
            )
            assert r.status_code == 404, (path, values, r.status_code, r.text)
            assert r.json()["error"]["code"] == "invalid_cursor", r.text
        # Well-formed base64url that is no cursor at all: no such page either.
        r = await client.get(path, params={"cursor": "0"}, headers=user.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (404, "invalid_cursor"), path
        # Not base64url: refused before any list reads it.
        r = await client.get(path, params={"cursor": "a b"}, headers=user.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), path


async def test_urls_that_do_not_parse_are_invalid_input(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """URLs such as "https://]x" passed the pattern checks: a push endpoint answered 500
    (urlsplit raised), and a poster or photo URL was stored for every client to choke on."""
    editor = await make_account(ctx, client, role=Role.editor)
    keys = {"p256dh": "B" + "A" * 86, "auth": "A" * 22}
    for bad in ("https://]x", "https://[::1", "https://fcm.googleapis.com:99999/x", "https:///x"):
        r = await client.post(
            "/api/v1/push/subscriptions",
            json={"endpoint": bad, "keys": keys},
            headers=editor.headers,
        )
        _assert_error(r, 422)
        r = await client.post(
            "/api/v1/people", json={"name": "Pic", "photo_url": bad}, headers=editor.headers
        )
        _assert_error(r, 422)
        r = await client.post(
            "/api/v1/titles",
            json={"kind": "film", "title": "Pic", "poster_url": bad},
            headers=editor.headers,
        )
        _assert_error(r, 422)
    r = await client.post(
        "/api/v1/titles",
        json={"kind": "film", "title": "Pic", "poster_url": "https://[2001:db8::1]:8443/p.jpg"},
        headers=editor.headers,
    )
    assert r.status_code == 201, r.text


async def test_json_bodies_are_read_as_their_schema_says(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """0 was read as false, false as 0 and 0 as 1970-01-01 (pydantic's lax mode), so bodies
    the schema refuses were stored (found by schemathesis); query text is still lax."""
    from tests.factories import make_title

    editor = await make_account(ctx, client, role="editor")
    title_id = (await make_title(ctx)).id
    refused = [
        ("post", f"/api/v1/titles/{title_id}/comments", {"body": "hi", "spoiler": 0}),
        ("post", "/api/v1/people", {"name": "Someone", "birth_date": 0}),
        ("post", "/api/v1/notifications/read-all", {"up_to": False}),
        (
            "put",
            "/api/v1/notifications/preferences",
            {"items": [{"type": "new_release", "channel": "email", "enabled": 1}]},
        ),
    ]
    for method, path, body in refused:
        r = await client.request(method, path, json=body, headers=editor.headers)
        assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input"), (path, r.text)
    ok = await client.post(
        "/api/v1/people",
        json={"name": "Someone", "birth_date": "1970-01-02"},
        headers=editor.headers,
    )
    assert ok.status_code == 201 and ok.json()["birth_date"] == "1970-01-02"
    rated = await client.put(
        f"/api/v1/titles/{title_id}/rating", json={"score": 9.0}, headers=editor.headers
    )
    assert rated.status_code == 200, rated.text  # 9.0 is an integer to JSON Schema
    for huge in (b'{"score": 100000000000000000000000}', b'{"score": 1e300}'):
        r = await client.put(
            f"/api/v1/titles/{title_id}/rating",
            content=huge,
            headers={**editor.headers, "Content-Type": "application/json"},
        )
        assert r.status_code == 422, r.text
    assert (await client.get("/api/v1/titles", params={"limit": "2"})).status_code == 200
