"""The family controls' authorization matrix (tests/accounts/family_matrix.py) against the
real HTTP API: for every resource, action and actor, the action succeeds (or the title shows)
exactly when the table says so."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from models.core.context import Context
from models.core.db import transaction
from models.media.tables import MediaAsset, MediaStatus
from tests.accounts.family_matrix import ACTORS, MATRIX
from tests.factories import Account, login, make_account

PIN = "2468"
CHILD_PASSWORD = "a child's long passphrase"


@dataclass
class World:
    client: httpx.AsyncClient
    people: dict[str, Account | None]
    titles: dict[str, int]  # title_12, title_18, and the "anchor" they are similar to
    words: dict[str, str]  # a unique word in each title's name, to search by
    collection: str = ""
    invite: dict[str, str] = field(default_factory=dict)  # title -> a party's invite code


def _h(acct: Account | None) -> dict[str, str]:
    return acct.headers if acct is not None else {}


async def _child(client: httpx.AsyncClient, parent: Account, limit: int) -> Account:
    name = "kid" + uuid.uuid4().hex[:8]
    r = await client.post(
        "/api/v1/family/children",
        json={"username": name, "password": CHILD_PASSWORD, "maturity_limit": limit, "pin": PIN},
        headers=parent.headers,
    )
    assert r.status_code == 201, r.text
    tokens = await login(client, name, CHILD_PASSWORD)
    child = Account(parent.user, CHILD_PASSWORD, tokens["access_token"], tokens["refresh_token"])
    child.user = type(parent.user)(id=uuid.UUID(r.json()["id"]), username=name)
    return child


async def _set_pin(client: httpx.AsyncClient, who: Account) -> httpx.Response:
    return await client.put(
        "/api/v1/family/pin",
        json={"pin": PIN, "current_password": who.password},
        headers=who.headers,
    )


@pytest.fixture(scope="module")
async def world(app: Any, ctx: Context, worker: Any) -> AsyncIterator[World]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        parent = await make_account(ctx, client)
        other_parent = await make_account(ctx, client)
        for p in (parent, other_parent):
            assert (await _set_pin(client, p)).status_code == 204
        people: dict[str, Account | None] = {
            "anonymous": None,
            "stranger": await make_account(ctx, client),
            "parent": parent,
            "child": await _child(client, parent, 12),
            "sibling": await _child(client, parent, 13),
            "other_child": await _child(client, other_parent, 16),
            "admin": await make_account(ctx, client, role="admin"),
        }
        editor = await make_account(ctx, client, role="editor")
        words: dict[str, str] = {}
        titles: dict[str, int] = {}
        for key, rating in (("title_12", "12+"), ("title_18", "18"), ("anchor", "G")):
            words[key] = "fam" + uuid.uuid4().hex[:8]
            r = await client.post(
                "/api/v1/titles",
                json={
                    "title": f"{words[key]} story",
                    "age_rating": rating,
                    "kind": "film",
                    "genres": ["western"],
                    "popularity": 1e9 - len(titles),
                },
                headers=editor.headers,
            )
            assert r.status_code == 201, r.text
            titles[key] = r.json()["id"]
        async with transaction(ctx.sessions) as session:
            for key in ("title_12", "title_18"):
                session.add(
                    MediaAsset(
                        title_id=titles[key],
                        status=MediaStatus.ready,
                        source_path="/nowhere",
                        source_name="film.mp4",
                        source_size=1,
                        job_token="t",
                        revision="r1",
                        duration_ms=60_000,
                    )
                )
        slug = "fam-" + uuid.uuid4().hex[:8]
        r = await client.post(
            "/api/v1/collections",
            json={
                "name": "Family test",
                "slug": slug,
                "items": [{"title_id": titles["title_12"]}, {"title_id": titles["title_18"]}],
            },
            headers=editor.headers,
        )
        assert r.status_code == 201, r.text
        w = World(client, people, titles, words, collection=slug)
        host = await make_account(ctx, client)
        for key in ("title_12", "title_18"):
            r = await client.post(
                "/api/v1/parties", json={"title_id": titles[key]}, headers=host.headers
            )
            assert r.status_code == 201, r.text
            w.invite[key] = r.json()["invite_code"]
        yield w


def _ids(items: list[dict[str, Any]]) -> set[int]:
    return {int(i["id"]) for i in items}


async def _title_action(w: World, resource: str, action: str, who: Account | None) -> bool:
    """Did the actor reach the title this way (it showed, or the request succeeded)?"""
    c, h, tid = w.client, _h(who), w.titles[resource]
    if action == "browse":
        r = await c.get("/api/v1/titles?genre=western&sort=popular&limit=50", headers=h)
        return tid in _ids(r.json()["items"])
    if action == "search":
        r = await c.get(f"/api/v1/titles?q={w.words[resource]}", headers=h)
        return tid in _ids(r.json()["items"])
    if action == "facets":
        r = await c.get(f"/api/v1/titles/facets?q={w.words[resource]}", headers=h)
        return bool(sum(g["count"] for g in r.json()["genres"]) > 0)
    if action == "detail":
        r = await c.get(f"/api/v1/titles/{tid}", headers=h)
        assert r.status_code in (200, 403), r.text
        if r.status_code == 403:
            assert r.json()["error"]["code"] == "maturity_restricted"
        return r.status_code == 200
    if action == "similar":
        r = await c.get(f"/api/v1/titles/{w.titles['anchor']}/similar?limit=50", headers=h)
        return tid in _ids(r.json()["items"])
    if action == "recommended":
        r = await c.get("/api/v1/me/recommendations?limit=50", headers=h)
        if r.status_code == 401:
            return False
        return tid in {int(i["title"]["id"]) for i in r.json()["items"]}
    if action == "collection":
        r = await c.get(f"/api/v1/collections/{w.collection}", headers=h)
        return tid in {int(i["title"]["id"]) for i in r.json()["items"]}
    if action == "party_create":
        r = await c.post("/api/v1/parties", json={"title_id": tid}, headers=h)
        return _ok(r, "maturity_restricted")
    if action == "party_join":
        r = await c.get(f"/api/v1/parties/by-code/{w.invite[resource]}", headers=h)
        return _ok(r, "maturity_restricted")
    if action == "playback":
        r = await c.get(f"/api/v1/titles/{tid}/playback", headers=h)
        return _ok(r, "maturity_restricted")
    raise AssertionError(action)


def _ok(r: httpx.Response, refusal: str) -> bool:
    """A success, or one of the expected refusals (never a crash or a stray error)."""
    if r.status_code < 300:
        return True
    assert r.status_code in (401, 403), r.text
    if r.status_code == 403:
        assert r.json()["error"]["code"] == refusal, r.text
    return False


async def _family_action(w: World, action: str, name: str, who: Account | None) -> bool:
    c, h = w.client, _h(who)
    child = w.people["child"]
    assert child is not None
    base = f"/api/v1/family/children/{child.id}"
    if action == "list":
        r = await c.get("/api/v1/family/children", headers=h)
        return r.status_code == 200 and str(child.id) in {x["id"] for x in r.json()}
    if action == "reset_password":
        r = await c.post(f"{base}/password", json={"new_password": CHILD_PASSWORD}, headers=h)
        if r.status_code == 204:  # the child's sessions ended: sign the child in again
            tokens = await login(c, child.user.username, CHILD_PASSWORD)
            child.access_token = tokens["access_token"]
            return True
        assert r.status_code in (401, 403, 404), r.text
        return False
    if action == "history":
        r = await c.get(f"{base}/history", headers=h)
        assert r.status_code in (200, 401, 403, 404), r.text
        return r.status_code == 200
    if action == "set_limit":
        # the actor even knows the parent's PIN: identity decides, not the PIN
        r = await c.put(
            f"{base}/maturity-limit", json={"maturity_limit": 12, "pin": PIN}, headers=h
        )
        assert r.status_code in (200, 401, 403, 404), r.text
        return r.status_code == 200
    if action == "set_pin":
        if who is None:
            r = await c.put("/api/v1/family/pin", json={"pin": PIN, "current_password": "x"})
            return r.status_code == 204
        r = await _set_pin(c, who)
        assert r.status_code in (204, 403), r.text
        return r.status_code == 204
    if action == "create_child":
        if who is not None and name not in ("parent",):
            await _set_pin(c, who)  # their own household's PIN (children are refused it)
        r = await c.post(
            "/api/v1/family/children",
            json={
                "username": "kid" + uuid.uuid4().hex[:8],
                "password": CHILD_PASSWORD,
                "maturity_limit": 7,
                "pin": PIN,
            },
            headers=h,
        )
        assert r.status_code in (201, 401, 403), r.text
        return r.status_code == 201
    raise AssertionError(action)


@pytest.mark.parametrize(
    ("resource", "action"), sorted(MATRIX), ids=[f"{r}-{a}" for r, a in sorted(MATRIX)]
)
async def test_family_matrix(world: World, resource: str, action: str) -> None:
    allowed = MATRIX[(resource, action)]
    got = set()
    for name in ACTORS:
        who = world.people[name]
        if resource.startswith("title_"):
            ok = await _title_action(world, resource, action, who)
        else:
            ok = await _family_action(world, action, name, who)
        if ok:
            got.add(name)
    assert got == set(allowed), f"{resource}/{action}: allowed {sorted(got)}"
