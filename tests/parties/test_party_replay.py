"""Watching a party again later: chat and reactions kept at the media position they happened,
shown to a friend watching alone, with deletions, edits and blocks applied."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.parties.conftest import Members, ok
from tests.social.helpers import befriend, block

pytestmark = pytest.mark.slow  # every test here starts server processes

Servers = tuple[LiveServer, LiveServer]


async def test_a_friend_replays_the_party_at_the_same_moments(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    a, b = party_servers
    host = await members.connect(a)
    guest = await members.connect(b)
    third = await members.connect(b)
    later = await members.account()
    stranger = await members.account()
    ha, ga, ta = (r.account for r in (host, guest, third))  # type: ignore[attr-defined]
    await befriend(members.client, later, ha)
    await befriend(members.client, later, ga)
    await block(members.client, later, ta)  # the later viewer blocked the third member
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]
    for rec in (guest, third):
        await ok(rec, "party:join", {"invite_code": created["invite_code"]})

    async def at(position: int) -> None:
        await ok(host, "party:seek", {"party_id": party_id, "position_ms": position})

    await at(10_000)
    hello = (await ok(host, "party:chat", {"party_id": party_id, "text": "here we go"}))["message"]
    await at(20_000)
    await ok(guest, "party:chat", {"party_id": party_id, "text": "that ship!"})
    await ok(guest, "party:react", {"party_id": party_id, "emoji": "😱"})
    await ok(third, "party:chat", {"party_id": party_id, "text": "blocked voice"})
    await at(30_000)
    oops = (await ok(host, "party:chat", {"party_id": party_id, "text": "spoiler"}))["message"]
    await ok(host, "party:chat_delete", {"party_id": party_id, "message_id": oops["id"]})
    await at(40_000)
    typo = (await ok(host, "party:chat", {"party_id": party_id, "text": "teh end"}))["message"]
    await ok(
        host, "party:chat_edit", {"party_id": party_id, "message_id": typo["id"], "text": "the end"}
    )
    assert hello["id"] < typo["id"]

    async def get(account: Any, path: str) -> Any:
        r = await members.client.get(path, headers=account.headers)
        return r

    listed = (await get(later, f"/api/v1/party-replays?title_id={title_id}")).json()["items"]
    [party] = [p for p in listed if p["party_id"] == party_id]
    assert party["friends"] == sorted([ha.user.username, ga.user.username])
    assert party["chat_count"] == 4 and party["reaction_count"] == 1  # the deleted one is gone

    r = await get(later, f"/api/v1/parties/{party_id}/replay?title_id={title_id}")
    assert r.status_code == 200, r.text
    items = [
        (i["kind"], i["position_ms"], i["text"] or i["emoji"], i["edited"])
        for i in r.json()["items"]
    ]
    assert items == [
        ("chat", 10_000, "here we go", False),
        ("chat", 20_000, "that ship!", False),
        ("reaction", 20_000, "😱", False),
        ("chat", 40_000, "the end", True),
    ]
    # A window of the film, as a player asks while it plays; small pages go on from the last.
    window = (
        await get(
            later,
            f"/api/v1/parties/{party_id}/replay?title_id={title_id}&from_ms=15000&to_ms=35000",
        )
    ).json()
    assert [i["position_ms"] for i in window["items"]] == [20_000, 20_000]
    page = (
        await get(later, f"/api/v1/parties/{party_id}/replay?title_id={title_id}&limit=1")
    ).json()
    assert len(page["items"]) == 1 and page["next_from_ms"] == 10_000
    whole = [(i["kind"], i["id"]) for i in r.json()["items"]]
    for limit in (1, 2, 3):
        assert await _paged(get, later, party_id, title_id, limit) == whole, limit
    r = await get(later, f"/api/v1/parties/{party_id}/replay?title_id={title_id}&cursor=e30")
    assert r.status_code == 404 and r.json()["error"]["code"] == "invalid_cursor"
    # Someone with no friend in the party finds nothing; the same for the wrong media.
    assert (await get(stranger, f"/api/v1/party-replays?title_id={title_id}")).json()["items"] == []
    r = await get(stranger, f"/api/v1/parties/{party_id}/replay?title_id={title_id}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "party_not_found"
    r = await get(later, f"/api/v1/parties/{party_id}/replay?episode_id=1")
    assert r.status_code == 200 and r.json()["items"] == []
    r = await get(later, f"/api/v1/parties/{party_id}/replay")
    assert r.status_code == 422


async def _paged(get: Any, account: Any, party_id: str, title_id: int, limit: int) -> list[Any]:
    """Every item of the replay, page by page on the cursors."""
    seen: list[Any] = []
    cursor = ""
    while True:
        page = (
            await get(
                account,
                f"/api/v1/parties/{party_id}/replay?title_id={title_id}&limit={limit}{cursor}",
            )
        ).json()
        seen += [(i["kind"], i["id"]) for i in page["items"]]
        if page["next_cursor"] is None:
            return seen
        assert len(page["items"]) == limit
        cursor = f"&cursor={page['next_cursor']}"


async def test_replay_pages_neither_drop_nor_repeat_at_a_boundary(
    party_servers: Servers, members: Members, title_id: int
) -> None:
    """Many chats and reactions at one position (a paused party): pages smaller than the
    crowd still move on, each item once, chats before reactions at a position."""
    a, _ = party_servers
    host = await members.connect(a)
    account = host.account  # type: ignore[attr-defined]
    created = await ok(host, "party:create", {"title_id": title_id})
    party_id = created["party_id"]
    await ok(host, "party:seek", {"party_id": party_id, "position_ms": 5_000})
    for n in range(4):
        await ok(host, "party:chat", {"party_id": party_id, "text": f"at five {n}"})
        await ok(host, "party:react", {"party_id": party_id, "emoji": "🔥"})
    await ok(host, "party:seek", {"party_id": party_id, "position_ms": 9_000})
    await ok(host, "party:react", {"party_id": party_id, "emoji": "👏"})

    async def get(who: Any, path: str) -> Any:
        return await members.client.get(path, headers=who.headers)

    r = await get(account, f"/api/v1/parties/{party_id}/replay?title_id={title_id}")
    whole = [(i["kind"], i["id"]) for i in r.json()["items"]]
    assert [k for k, _ in whole] == ["chat"] * 4 + ["reaction"] * 5
    assert len(set(whole)) == 9
    for limit in (1, 2, 3, 4, 5, 8):
        assert await _paged(get, account, party_id, title_id, limit) == whole, limit
