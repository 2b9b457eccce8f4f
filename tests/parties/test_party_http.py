"""Parties over HTTP: the same service as the socket, with the same rules."""

from __future__ import annotations

import uuid

import httpx

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import NotFound
from models.parties import service
from tests.factories import make_account
from tests.social.helpers import befriend


async def test_create_command_and_read_over_http(
    client: httpx.AsyncClient, ctx: Context, title_id: int
) -> None:
    host = await make_account(ctx, client)
    guest = await make_account(ctx, client)
    r = await client.post("/api/v1/parties", json={"title_id": title_id}, headers=host.headers)
    assert r.status_code == 201, r.text
    created = r.json()
    party_id, code = created["party_id"], created["invite_code"]
    # Created over HTTP: the host counts as away until a socket joins (grace period).
    host_member = created["state"]["members"][0]
    assert host_member["user_id"] == str(host.id) and host_member["connected"] is False

    preview = await client.get(f"/api/v1/parties/by-code/{code}", headers=guest.headers)
    assert preview.status_code == 200 and preview.json()["members"] == 1
    missing = await client.get("/api/v1/parties/by-code/ZZZZZZZZ", headers=guest.headers)
    assert missing.status_code == 404
    assert (await client.get(f"/api/v1/parties/{party_id}", headers=guest.headers)).status_code == (
        403
    )

    url = f"/api/v1/parties/{party_id}/commands"
    seek = await client.post(url, json={"type": "seek", "position_ms": 5000}, headers=host.headers)
    assert seek.status_code == 200 and seek.json()["position_ms"] == 5000
    played = await client.post(url, json={"type": "play"}, headers=host.headers)
    assert played.json()["playing"] is True
    bad = await client.post(url, json={"type": "warp"}, headers=host.headers)
    assert bad.status_code == 422
    stranger = await client.post(url, json={"type": "pause"}, headers=guest.headers)
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "not_member"
    assert (await client.post(url, json={"type": "pause"})).status_code == 401

    state = await client.get(f"/api/v1/parties/{party_id}", headers=host.headers)
    assert state.status_code == 200 and state.json()["version"] == played.json()["version"]
    assert [m["user_id"] for m in state.json()["members"]] == [str(host.id)]


async def test_invites_open_joining_by_id(
    client: httpx.AsyncClient, ctx: Context, title_id: int
) -> None:
    host = await make_account(ctx, client)
    friend = await make_account(ctx, client)
    other = await make_account(ctx, client)
    r = await client.post("/api/v1/parties", json={"title_id": title_id}, headers=host.headers)
    party_id = uuid.UUID(r.json()["party_id"])

    async def may_join(user_id: uuid.UUID) -> bool:
        async with transaction(ctx.sessions) as session:
            try:
                await service.access_party_for_join(
                    ctx, session, user_id=user_id, party_id=party_id
                )
            except NotFound as exc:
                assert exc.code == "party_not_found"
                return False
            return True

    assert not await may_join(friend.id)
    stranger = await client.post(
        f"/api/v1/parties/{party_id}/invites", json={"user_id": str(other.id)}, headers=host.headers
    )
    assert stranger.status_code == 403 and stranger.json()["error"]["code"] == "not_friends"
    await befriend(client, host, friend)
    invite = await client.post(
        f"/api/v1/parties/{party_id}/invites",
        json={"user_id": str(friend.id)},
        headers=host.headers,
    )
    assert invite.status_code == 204
    assert await may_join(friend.id)
    assert not await may_join(other.id)
    inbox = await client.get("/api/v1/notifications", headers=friend.headers)
    assert inbox.status_code == 200, inbox.text
    invites = [n for n in inbox.json()["items"] if n["type"] == "party_invite"]
    assert len(invites) == 1 and invites[0]["data"]["party_id"] == str(party_id)
    assert invites[0]["data"]["invite_code"] == r.json()["invite_code"]
    # Only members invite.
    not_member = await client.post(
        f"/api/v1/parties/{party_id}/invites",
        json={"user_id": str(other.id)},
        headers=other.headers,
    )
    assert not_member.status_code == 403


async def test_chat_over_http_pages_newest_first(
    client: httpx.AsyncClient, ctx: Context, title_id: int
) -> None:
    host = await make_account(ctx, client)
    r = await client.post("/api/v1/parties", json={"title_id": title_id}, headers=host.headers)
    party_id = r.json()["party_id"]
    url = f"/api/v1/parties/{party_id}/messages"
    ids = []
    for i in range(5):
        sent = await client.post(url, json={"text": f"hi {i}"}, headers=host.headers)
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["message"]["id"])
    assert ids == sorted(ids)
    page = await client.get(url, params={"limit": 3}, headers=host.headers)
    body = page.json()
    assert [m["text"] for m in body["items"]] == ["hi 4", "hi 3", "hi 2"]
    rest = await client.get(
        url, params={"limit": 3, "cursor": body["next_cursor"]}, headers=host.headers
    )
    assert [m["text"] for m in rest.json()["items"]] == ["hi 1", "hi 0"]
    assert rest.json()["next_cursor"] is None
    too_long = await client.post(url, json={"text": "y" * 501}, headers=host.headers)
    assert too_long.status_code == 422
    bad_cursor = await client.get(url, params={"cursor": "!!"}, headers=host.headers)
    assert bad_cursor.status_code == 422


async def test_reference_client_is_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/party-client.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "export class PartyClient" in r.text and "export function correct" in r.text


async def test_deleting_the_media_ends_its_parties(client: httpx.AsyncClient, ctx: Context) -> None:
    """The party row went with its title (ON DELETE CASCADE) while the live state played on:
    members could still command it, and chat answered 500 (schemathesis found it)."""
    editor = await make_account(ctx, client, role="editor")
    host = await make_account(ctx, client)
    r = await client.post(
        "/api/v1/titles", json={"title": "Soon gone", "kind": "film"}, headers=editor.headers
    )
    doomed = r.json()["id"]
    r = await client.post("/api/v1/parties", json={"title_id": doomed}, headers=host.headers)
    party_id = r.json()["party_id"]

    r = await client.delete(f"/api/v1/titles/{doomed}", headers=editor.headers)
    assert r.status_code == 204, r.text

    r = await client.post(
        f"/api/v1/parties/{party_id}/messages", json={"text": "still here?"}, headers=host.headers
    )
    assert r.status_code in (404, 410), r.text
    spec = (await client.get("/openapi.json")).json()
    assert (
        str(r.status_code)
        in spec["paths"]["/api/v1/parties/{party_id}/messages"]["post"]["responses"]
    )
    r = await client.post(
        f"/api/v1/parties/{party_id}/commands", json={"type": "play"}, headers=host.headers
    )
    assert r.status_code in (404, 409, 410), r.text
    state = await service.runtime(ctx).live.load(party_id)
    assert state is None or state.ended_reason == "media_removed"
