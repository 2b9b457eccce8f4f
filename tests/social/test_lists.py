"""Favorites and playlists: order, moves, visibility, shares."""

from __future__ import annotations

import httpx

from models.core.context import Context
from tests.factories import make_title
from tests.social.helpers import accounts, befriend, block


async def test_favorites(client: httpx.AsyncClient, ctx: Context) -> None:
    (a,) = await accounts(ctx, client, 1)
    titles = [await make_title(ctx) for _ in range(3)]
    for t in titles:
        r = await client.put(f"/api/v1/favorites/{t.id}", headers=a.headers)
        assert r.status_code == 200 and r.json()["title"]["id"] == t.id
    assert (
        await client.put(f"/api/v1/favorites/{titles[0].id}", headers=a.headers)
    ).status_code == 200
    page = (await client.get("/api/v1/favorites?limit=2", headers=a.headers)).json()
    rest = (
        await client.get(
            f"/api/v1/favorites?limit=2&cursor={page['next_cursor']}", headers=a.headers
        )
    ).json()
    listed = [f["title"]["id"] for f in page["items"] + rest["items"]]
    assert sorted(listed) == sorted(t.id for t in titles) and rest["next_cursor"] is None
    assert (
        await client.delete(f"/api/v1/favorites/{titles[1].id}", headers=a.headers)
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/favorites/{titles[1].id}", headers=a.headers)
    ).status_code == 404
    assert (await client.put("/api/v1/favorites/987654321", headers=a.headers)).status_code == 404
    assert (await client.get("/api/v1/favorites")).status_code == 401


async def test_playlist_order_insert_move_remove(client: httpx.AsyncClient, ctx: Context) -> None:
    (a,) = await accounts(ctx, client, 1)
    t = [await make_title(ctx) for _ in range(5)]
    pl = (await client.post("/api/v1/playlists", json={"name": "Friday"}, headers=a.headers)).json()
    assert pl["visibility"] == "private" and pl["access"] == "owner" and pl["items"] == []
    base = f"/api/v1/playlists/{pl['id']}"
    for title in t[:4]:
        r = await client.post(f"{base}/items", json={"title_id": title.id}, headers=a.headers)
        assert r.status_code == 201
    r = await client.post(
        f"{base}/items", json={"title_id": t[4].id, "position": 1}, headers=a.headers
    )
    order = [i["title"]["id"] for i in r.json()["items"]]
    assert order == [t[0].id, t[4].id, t[1].id, t[2].id, t[3].id]
    assert [i["position"] for i in r.json()["items"]] == [0, 1, 2, 3, 4]
    dup = await client.post(f"{base}/items", json={"title_id": t[0].id}, headers=a.headers)
    assert dup.status_code == 409
    items = {i["title"]["id"]: i["id"] for i in r.json()["items"]}
    r = await client.post(
        f"{base}/items/{items[t[0].id]}/move", json={"position": 3}, headers=a.headers
    )
    assert [i["title"]["id"] for i in r.json()["items"]] == [
        t[4].id,
        t[1].id,
        t[2].id,
        t[0].id,
        t[3].id,
    ]
    r = await client.post(
        f"{base}/items/{items[t[3].id]}/move", json={"position": 0}, headers=a.headers
    )
    assert [i["title"]["id"] for i in r.json()["items"]] == [
        t[3].id,
        t[4].id,
        t[1].id,
        t[2].id,
        t[0].id,
    ]
    r = await client.delete(f"{base}/items/{items[t[1].id]}", headers=a.headers)
    assert [i["title"]["id"] for i in r.json()["items"]] == [t[3].id, t[4].id, t[2].id, t[0].id]
    assert [i["position"] for i in r.json()["items"]] == [0, 1, 2, 3]
    assert r.json()["item_count"] == 4
    r = await client.patch(
        base, json={"name": "Saturday", "visibility": "public"}, headers=a.headers
    )
    assert r.json()["name"] == "Saturday" and r.json()["visibility"] == "public"
    assert (
        await client.patch(base, json={"visibility": "everyone"}, headers=a.headers)
    ).status_code == 422
    assert (await client.patch(base, json={"name": None}, headers=a.headers)).status_code == 422
    assert (await client.delete(f"{base}/items/999999", headers=a.headers)).status_code == 404
    mine = (await client.get("/api/v1/playlists", headers=a.headers)).json()
    assert [p["id"] for p in mine["items"]] == [pl["id"]]
    assert (await client.delete(base, headers=a.headers)).status_code == 204
    assert (await client.get(base, headers=a.headers)).status_code == 404


async def test_shares_with_friends_only_and_lists_of_shared(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    owner, friend, other, stranger = await accounts(ctx, client, 4)
    await befriend(client, owner, friend)
    await befriend(client, owner, other)
    title = await make_title(ctx)
    pl = (
        await client.post("/api/v1/playlists", json={"name": "Ours"}, headers=owner.headers)
    ).json()
    base = f"/api/v1/playlists/{pl['id']}"
    r = await client.put(
        f"{base}/shares/{stranger.id}", json={"right": "view"}, headers=owner.headers
    )
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_friends"
    r = await client.put(
        f"{base}/shares/{friend.id}", json={"right": "view"}, headers=owner.headers
    )
    assert r.status_code == 200 and r.json()["right"] == "view"
    assert (await client.get(base, headers=friend.headers)).json()["access"] == "view"
    assert (
        await client.post(f"{base}/items", json={"title_id": title.id}, headers=friend.headers)
    ).status_code == 403
    await client.put(f"{base}/shares/{friend.id}", json={"right": "edit"}, headers=owner.headers)
    r = await client.post(f"{base}/items", json={"title_id": title.id}, headers=friend.headers)
    assert r.status_code == 201 and r.json()["items"][0]["added_by"] == str(friend.id)
    shared = (await client.get("/api/v1/playlists/shared-with-me", headers=friend.headers)).json()
    assert [(p["id"], p["access"]) for p in shared["items"]] == [(pl["id"], "edit")]
    assert (await client.get("/api/v1/playlists/shared-with-me", headers=other.headers)).json()[
        "items"
    ] == []
    shares = (await client.get(f"{base}/shares", headers=owner.headers)).json()["items"]
    assert [s["user"]["id"] for s in shares] == [str(friend.id)]
    assert (await client.get(f"{base}/shares", headers=friend.headers)).status_code == 403
    # unfriending takes the share back
    await client.delete(f"/api/v1/friends/{friend.id}", headers=owner.headers)
    assert (await client.get(base, headers=friend.headers)).status_code == 404
    assert (await client.get("/api/v1/playlists/shared-with-me", headers=friend.headers)).json()[
        "items"
    ] == []
    await client.put(f"{base}/shares/{other.id}", json={"right": "view"}, headers=owner.headers)
    assert (
        await client.delete(f"{base}/shares/{other.id}", headers=owner.headers)
    ).status_code == 204
    assert (
        await client.delete(f"{base}/shares/{other.id}", headers=owner.headers)
    ).status_code == 404


async def test_someones_playlists_by_visibility(client: httpx.AsyncClient, ctx: Context) -> None:
    owner, friend, stranger, blocked = await accounts(ctx, client, 4)
    await befriend(client, owner, friend)
    await befriend(client, owner, blocked)
    made = {}
    for vis in ("private", "friends", "public"):
        made[vis] = (
            await client.post(
                "/api/v1/playlists", json={"name": vis, "visibility": vis}, headers=owner.headers
            )
        ).json()["id"]
    await client.put(
        f"/api/v1/playlists/{made['private']}/shares/{blocked.id}",
        json={"right": "view"},
        headers=owner.headers,
    )
    await block(client, owner, blocked)

    async def visible(who: object | None) -> set[str]:
        headers = who.headers if who is not None else {}  # type: ignore[attr-defined]
        r = await client.get(f"/api/v1/users/{owner.id}/playlists", headers=headers)
        assert r.status_code == 200, r.text
        return {p["name"] for p in r.json()["items"]}

    assert await visible(owner) == {"private", "friends", "public"}
    assert await visible(friend) == {"friends", "public"}
    assert await visible(stranger) == {"public"}
    assert await visible(blocked) == {"public"}
    assert await visible(None) == {"public"}
