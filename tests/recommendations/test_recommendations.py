"""Recommendations on real PostgreSQL: the similarity job, more like this, the personal rows,
cold start, and what is never recommended."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from models.core.context import Context
from models.core.db import transaction
from models.recommendations.similarity import compute_similar_titles
from tests.catalog.helpers import tag
from tests.factories import Account, make_account, make_user


async def _sql(ctx: Context, sql: str, **params: Any) -> Any:
    async with transaction(ctx.sessions) as session:
        result: Any = await session.execute(text(sql), params)
        return result.scalar() if result.returns_rows else None


@pytest.fixture(scope="module")
async def world(ctx: Context, app: Any) -> dict[str, Any]:
    """Titles of two genres made for this module: westerns by one director, a space opera
    pair that one audience loves, and titles that only popularity links."""
    label = tag()
    genre = {}
    for name in ("western", "space", "horror"):
        genre[name] = await _sql(
            ctx,
            "INSERT INTO genres (slug, name) VALUES (:s, :n) RETURNING id",
            s=f"{name}-{label}",
            n=f"{name.title()} {label}",
        )
    director = await _sql(
        ctx, "INSERT INTO people (name) VALUES (:n) RETURNING id", n=f"Sergio {label}"
    )
    ids: dict[str, int] = {}
    for key, g, year, pop in [
        ("good", "western", 1966, 900.0),
        ("few", "western", 1965, 800.0),
        ("fistful", "western", 1964, 700.0),
        ("rio", "western", 1961, 650.0),
        ("dune", "space", 1984, 300.0),
        ("solaris", "space", 1972, 200.0),
        ("popular", "space", 2019, 5000.0),
        ("scream", "horror", 1996, 600.0),
        ("shining", "horror", 1980, 950.0),
        ("alien", "horror", 1979, 940.0),
    ]:
        ids[key] = await _sql(
            ctx,
            "INSERT INTO titles (kind, title, year, popularity) "
            "VALUES ('film', :t, :y, :p) RETURNING id",
            t=f"{key.title()} {label}",
            y=year,
            p=pop,
        )
        await _sql(
            ctx,
            "INSERT INTO title_genres (title_id, genre_id) VALUES (:t, :g)",
            t=ids[key],
            g=genre[g],
        )
    for key in ("good", "few", "fistful"):  # the director's trilogy
        await _sql(
            ctx,
            "INSERT INTO credits (title_id, person_id, role, position) "
            "VALUES (:t, :p, 'director', 0)",
            t=ids[key],
            p=director,
        )
    # An audience that loves Dune and Solaris together (likes and high ratings).
    fans = []
    for _ in range(4):
        fan = await _user(ctx)
        fans.append(fan)
        await _sql(ctx, "INSERT INTO title_likes (user_id, title_id) VALUES (:u, :t)",
                   u=fan, t=ids["dune"])  # fmt: skip
        await _sql(ctx, "INSERT INTO ratings (user_id, title_id, score) VALUES (:u, :t, 9)",
                   u=fan, t=ids["solaris"])  # fmt: skip
    await compute_similar_titles(ctx.engine)
    return {"ids": ids, "genre": genre, "label": label}


async def _user(ctx: Context) -> uuid.UUID:
    return (await make_user(ctx)).id


def _titles(body: dict[str, Any], key: str = "items") -> list[str]:
    """First words of the listed titles (a recommendation wraps its title item)."""
    items = [i["title"] if isinstance(i["title"], dict) else i for i in body[key]]
    return [i["title"].split()[0] for i in items]


async def test_more_like_this(client: httpx.AsyncClient, world: dict[str, Any]) -> None:
    ids = world["ids"]
    r = await client.get(f"/api/v1/titles/{ids['good']}/similar", params={"limit": 3})
    assert r.status_code == 200, r.text
    # Same director and genre first, then the same genre.
    assert _titles(r.json())[:2] == ["Few", "Fistful"]
    assert "Rio" in _titles((await client.get(f"/api/v1/titles/{ids['good']}/similar")).json())
    # What the same audience loves comes before what only the genre shares.
    dune = (await client.get(f"/api/v1/titles/{ids['dune']}/similar")).json()
    assert _titles(dune)[0] == "Solaris"
    missing = await client.get("/api/v1/titles/999999999/similar")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "title_not_found"


async def test_a_title_the_job_has_not_seen(
    ctx: Context, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    new = await _sql(
        ctx, "INSERT INTO titles (kind, title) VALUES ('film', :t) RETURNING id",
        t=f"Newcomer {world['label']}",
    )  # fmt: skip
    await _sql(ctx, "INSERT INTO title_genres VALUES (:t, :g)", t=new,
               g=world["genre"]["horror"])  # fmt: skip
    found = (await client.get(f"/api/v1/titles/{new}/similar")).json()
    assert _titles(found)[:3] == ["Shining", "Alien", "Scream"]  # its genre, by popularity


async def test_home_row_and_what_is_never_recommended(
    ctx: Context, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    ids = world["ids"]
    me = await make_account(ctx, client)
    assert (await client.get("/api/v1/me/recommendations")).status_code == 401
    # I loved The Good; I finished Few; I am not interested in Fistful.
    await _sql(ctx, "INSERT INTO ratings (user_id, title_id, score) VALUES (:u, :t, 10)",
               u=me.id, t=ids["good"])  # fmt: skip
    await _sql(
        ctx,
        "INSERT INTO viewing_progress (user_id, title_id, position_ms, duration_ms, completed, "
        "watched_at, updated_at, version) VALUES (:u, :t, 100, 100, true, now(), now(), 1)",
        u=me.id,
        t=ids["few"],
    )
    r = await client.put(f"/api/v1/me/recommendations/hidden/{ids['fistful']}", headers=me.headers)
    assert r.status_code == 204
    r = await client.put("/api/v1/me/recommendations/hidden/999999999", headers=me.headers)
    assert r.status_code == 404
    hidden = (await client.get("/api/v1/me/recommendations/hidden", headers=me.headers)).json()
    assert [h["id"] for h in hidden["items"]] == [ids["fistful"]]

    body = (await client.get("/api/v1/me/recommendations", headers=me.headers)).json()
    names = _titles(body)
    first = body["items"][0]
    assert names[0] == "Rio" and first["reason"]["kind"] == "similar"
    assert first["reason"]["because"] == {"id": ids["good"], "title": f"Good {world['label']}"}
    for never in ("Good", "Few", "Fistful"):  # rated, finished, hidden
        assert never not in names
    similar = (await client.get(f"/api/v1/titles/{ids['good']}/similar", headers=me.headers)).json()
    assert "Few" not in _titles(similar) and "Fistful" not in _titles(similar)

    rows = (await client.get("/api/v1/me/recommendations/because", headers=me.headers)).json()
    # The latest first (Few, finished after Good was rated), each without what I met.
    by_seed = {row["because"]["id"]: _titles(row) for row in rows["rows"]}
    assert list(by_seed)[:2] == [ids["few"], ids["good"]]
    assert by_seed[ids["good"]][0] == by_seed[ids["few"]][0] == "Rio"

    r = await client.delete(
        f"/api/v1/me/recommendations/hidden/{ids['fistful']}", headers=me.headers
    )
    assert r.status_code == 204
    body = (await client.get("/api/v1/me/recommendations", headers=me.headers)).json()
    assert "Fistful" in _titles(body)


async def test_cold_start_from_what_a_new_user_rated(
    ctx: Context, client: httpx.AsyncClient, world: dict[str, Any]
) -> None:
    new: Account = await make_account(ctx, client)
    # Nothing known yet: the most popular titles (there is no better guess).
    body = (await client.get("/api/v1/me/recommendations", headers=new.headers)).json()
    assert {i["reason"]["kind"] for i in body["items"]} == {"popular"}
    # One horror film rated at sign-up, added after the job ran (no neighbours yet):
    # the popular horror films first.
    late = await _sql(
        ctx, "INSERT INTO titles (kind, title) VALUES ('film', :t) RETURNING id",
        t=f"Late {world['label']}",
    )  # fmt: skip
    await _sql(ctx, "INSERT INTO title_genres VALUES (:t, :g)", t=late,
               g=world["genre"]["horror"])  # fmt: skip
    await _sql(ctx, "INSERT INTO ratings (user_id, title_id, score) VALUES (:u, :t, 8)",
               u=new.id, t=late)  # fmt: skip
    body = (await client.get("/api/v1/me/recommendations", headers=new.headers)).json()
    taste = [i for i in body["items"] if i["reason"]["kind"] == "taste"]
    assert [i["title"]["title"].split()[0] for i in taste][:2] == ["Shining", "Alien"]
    assert taste[0]["reason"]["genre"]["slug"] == f"horror-{world['label']}"
    assert "Late" not in _titles(body)
