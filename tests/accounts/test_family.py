"""Family controls: ratings read as ages, the PIN and its limit, a new limit reaching the
child's sessions at once, password resets, history, and a TV a child signs in."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import text

from models.catalog.maturity import allowed, rating_age
from models.core.context import Context
from tests.factories import Account, login, make_account, random_ip

PIN = "4321"
KID_PASSWORD = "a child's long passphrase"

RATINGS = [
    None, "", "G", "pg", "PG-13", "R", "NC-17", "TV-Y", "TV-Y7", "TV-PG", "TV-14", "TV-MA",
    "U", "12A", "15", "18", "R18", "0+", "6+", "12+", "16+", "18+", "FSK 12", "-16", "NR",
    "Unrated", "Not Rated", "99", "123", " 12+ ", "A",
]  # fmt: skip


@pytest.mark.parametrize("rating", RATINGS)
async def test_a_rating_reads_as_the_same_age_in_python_and_postgresql(
    ctx: Context, rating: str | None
) -> None:
    async with ctx.sessions() as session:
        in_sql = await session.scalar(text("SELECT cinema_min_age(:r)"), {"r": rating})
    assert in_sql == rating_age(rating)


def test_ages_and_limits() -> None:
    assert [rating_age(r) for r in ("G", "PG", "PG-13", "R", "NC-17")] == [0, 10, 13, 17, 18]
    assert rating_age("TV-MA") == 17 and rating_age("FSK 16") == 16 and rating_age("NR") is None
    assert allowed(None, None) and allowed(18, None)  # no limit: everything
    assert allowed(12, 12) and not allowed(13, 12)
    assert not allowed(None, 18)  # a rating without an age is not shown to a child


async def _pin(client: httpx.AsyncClient, parent: Account) -> None:
    r = await client.put(
        "/api/v1/family/pin",
        json={"pin": PIN, "current_password": parent.password},
        headers=parent.headers,
    )
    assert r.status_code == 204, r.text


async def _kid(
    client: httpx.AsyncClient, parent: Account, limit: int, pin: str = PIN
) -> httpx.Response:
    return await client.post(
        "/api/v1/family/children",
        json={
            "username": "kid" + uuid.uuid4().hex[:8],
            "password": KID_PASSWORD,
            "display_name": "Kid",
            "maturity_limit": limit,
            "pin": pin,
        },
        headers=parent.headers,
    )


async def _title(client: httpx.AsyncClient, editor: Account, rating: str | None) -> int:
    body = {"title": f"fam{uuid.uuid4().hex[:8]}", "kind": "film", "age_rating": rating}
    r = await client.post("/api/v1/titles", json=body, headers=editor.headers)
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def test_a_parent_manages_children_behind_a_pin(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    parent = await make_account(ctx, client)
    r = await _kid(client, parent, 12)
    assert r.status_code == 409 and r.json()["error"]["code"] == "pin_not_set"
    r = await client.put(
        "/api/v1/family/pin",
        json={"pin": PIN, "current_password": "not my password"},
        headers=parent.headers,
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_credentials"
    r = await client.put(
        "/api/v1/family/pin", json={"pin": "12ab", "current_password": "x"}, headers=parent.headers
    )
    assert r.status_code == 422
    await _pin(client, parent)
    r = await _kid(client, parent, 12)
    assert r.status_code == 201, r.text
    kid = r.json()
    assert kid["maturity_limit"] == 12 and kid["display_name"] == "Kid"
    listed = (await client.get("/api/v1/family/children", headers=parent.headers)).json()
    assert [c["id"] for c in listed] == [kid["id"]]

    tokens = await login(client, kid["username"], KID_PASSWORD)
    child = {"Authorization": f"Bearer {tokens['access_token']}"}
    # a child manages no one and sets no PIN
    r = await client.get("/api/v1/family/children", headers=child)
    assert r.status_code == 200 and r.json() == []
    r = await client.put(
        "/api/v1/family/pin", json={"pin": "1111", "current_password": KID_PASSWORD}, headers=child
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "child_account"

    # the PIN's tries are limited: 5 in 15 minutes (the one that created the child counts),
    # then even the right one waits
    limit_url = f"/api/v1/family/children/{kid['id']}/maturity-limit"
    for _ in range(4):
        r = await client.put(
            limit_url, json={"maturity_limit": 18, "pin": "0000"}, headers=parent.headers
        )
        assert r.status_code == 403 and r.json()["error"]["code"] == "wrong_pin"
    r = await client.put(limit_url, json={"maturity_limit": 18, "pin": PIN}, headers=parent.headers)
    assert r.status_code == 429 and "Retry-After" in r.headers
    listed = (await client.get("/api/v1/family/children", headers=parent.headers)).json()
    assert listed[0]["maturity_limit"] == 12  # unchanged

    # the parent resets the child's password: the child's sessions end
    r = await client.post(
        f"/api/v1/family/children/{kid['id']}/password",
        json={"new_password": "another long passphrase"},
        headers=parent.headers,
    )
    assert r.status_code == 204
    assert (await client.get("/api/v1/me", headers=child)).status_code == 401
    await login(client, kid["username"], "another long passphrase")
    # someone else's child is not found
    stranger = await make_account(ctx, client)
    r = await client.get(f"/api/v1/family/children/{kid['id']}/history", headers=stranger.headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "child_not_found"


async def test_a_new_limit_reaches_the_childs_sessions_at_once(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    parent = await make_account(ctx, client)
    editor = await make_account(ctx, client, role="editor")
    await _pin(client, parent)
    kid = (await _kid(client, parent, 7)).json()
    pg13 = await _title(client, editor, "PG-13")
    unrated = await _title(client, editor, None)
    tokens = await login(client, kid["username"], KID_PASSWORD)
    child = {"Authorization": f"Bearer {tokens['access_token']}"}

    r = await client.get(f"/api/v1/titles/{pg13}", headers=child)
    assert r.status_code == 403 and r.json()["error"]["code"] == "maturity_restricted"
    # (signed out, or as the parent, it is there)
    assert (await client.get(f"/api/v1/titles/{pg13}")).status_code == 200
    r = await client.put(
        f"/api/v1/family/children/{kid['id']}/maturity-limit",
        json={"maturity_limit": 13, "pin": PIN},
        headers=parent.headers,
    )
    assert r.status_code == 200 and r.json()["maturity_limit"] == 13
    assert (await client.get(f"/api/v1/titles/{pg13}", headers=child)).status_code == 200
    # a title whose rating says no age stays hidden from a child
    r = await client.get(f"/api/v1/titles/{unrated}", headers=child)
    assert r.status_code == 403
    assert (await client.get("/api/v1/me", headers=child)).json()["maturity_limit"] == 13

    # the parent sees what the child watched
    r = await client.post(
        "/api/v1/me/history/progress", json={"title_id": pg13, "position_ms": 60_000}, headers=child
    )
    assert r.status_code == 200, r.text
    r = await client.get(f"/api/v1/family/children/{kid['id']}/history", headers=parent.headers)
    assert r.status_code == 200
    assert [e["title_id"] for e in r.json()["items"]] == [pg13]


async def test_a_tv_a_child_signs_in_is_the_childs(client: httpx.AsyncClient, ctx: Context) -> None:
    parent = await make_account(ctx, client)
    editor = await make_account(ctx, client, role="editor")
    await _pin(client, parent)
    kid = (await _kid(client, parent, 10)).json()
    r_rated = await _title(client, editor, "R")
    tokens = await login(client, kid["username"], KID_PASSWORD)
    child = {"Authorization": f"Bearer {tokens['access_token']}", "X-Forwarded-For": random_ip()}
    d = (await client.post("/api/v1/oauth/device_authorization", data={"client_id": "tv"})).json()
    r = await client.post(
        "/api/v1/auth/device/approve",
        json={"user_code": d["user_code"], "decision": "approve"},
        headers=child,
    )
    assert r.status_code == 200
    r = await client.post(
        "/api/v1/oauth/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
            "device_code": d["device_code"],
            "client_id": "tv",
        },
    )
    tv = {"Authorization": f"Bearer {r.json()['access_token']}"}
    r = await client.get(f"/api/v1/titles/{r_rated}", headers=tv)
    assert r.status_code == 403 and r.json()["error"]["code"] == "maturity_restricted"
