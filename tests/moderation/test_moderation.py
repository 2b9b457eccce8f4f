"""Reports, the moderation queue, hiding and restoring, suspensions and the audit log, through
the HTTP API with real users."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import socketio

from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import Account, login, make_title
from tests.realtime_client import connected
from tests.social.helpers import accounts, befriend, send_dm

API = "/api/v1"


async def _report(
    client: httpx.AsyncClient, who: Account, kind: str, target: object, **extra: str
) -> httpx.Response:
    body = {"kind": kind, "target_id": str(target), "reason": "harassment", **extra}
    return await client.post(f"{API}/reports", json=body, headers=who.headers)


async def _audit(
    client: httpx.AsyncClient, admin: Account, **query: str
) -> list[dict[str, object]]:
    r = await client.get(f"{API}/moderation/audit", params=query, headers=admin.headers)
    assert r.status_code == 200, r.text
    items: list[dict[str, object]] = r.json()["items"]
    return items


async def test_a_reported_comment_is_queued_hidden_and_restored(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    author, reader, other = await accounts(ctx, client, 3)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    (admin,) = await accounts(ctx, client, 1, role="admin")
    title = await make_title(ctx)
    r = await client.post(
        f"{API}/titles/{title.id}/comments", json={"body": "rude words"}, headers=author.headers
    )
    comment_id = r.json()["id"]

    first = await _report(client, reader, "comment", comment_id, note="not nice")
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "open" and first.json()["note"] == "not nice"
    again = await _report(client, reader, "comment", comment_id)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert (await _report(client, other, "comment", comment_id)).status_code == 201
    own = await _report(client, author, "comment", comment_id)
    assert own.status_code == 422 and own.json()["error"]["code"] == "cannot_report_own"
    missing = await _report(client, reader, "comment", 10**15)
    assert missing.status_code == 404

    assert (
        await client.get(f"{API}/moderation/reports", headers=reader.headers)
    ).status_code == 403
    r = await client.get(f"{API}/moderation/reports", headers=editor.headers)
    assert r.status_code == 200, r.text
    mine = [i for i in r.json()["items"] if i["target"]["id"] == str(comment_id)]
    assert mine[0]["report"]["id"] == first.json()["id"]  # oldest first
    assert mine[0]["target"]["text"] == "rude words"
    assert mine[0]["target"]["user"]["id"] == str(author.id)
    assert mine[0]["reporter"]["id"] == str(reader.id)
    assert mine[0]["open_reports"] == 2

    r = await client.post(
        f"{API}/moderation/comments/{comment_id}/hide",
        json={"reason": "insults"},
        headers=editor.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["resolved_reports"] == 2 and r.json()["target"]["hidden"] is True
    seen = (await client.get(f"{API}/comments/{comment_id}", headers=reader.headers)).json()
    assert seen["deleted"] is True and seen["body"] is None and seen["author"] is None
    edit = await client.patch(
        f"{API}/comments/{comment_id}", json={"body": "sorry"}, headers=author.headers
    )
    assert edit.status_code == 404  # hidden: as good as deleted for its author too
    r = await client.get(f"{API}/moderation/reports", headers=editor.headers)
    assert not [i for i in r.json()["items"] if i["target"]["id"] == str(comment_id)]
    r = await client.get(
        f"{API}/moderation/reports", params={"status": "resolved"}, headers=editor.headers
    )
    assert {i["report"]["id"] for i in r.json()["items"]} >= {first.json()["id"]}

    r = await client.post(
        f"{API}/moderation/comments/{comment_id}/restore", json={}, headers=admin.headers
    )
    assert r.status_code == 200 and r.json()["target"]["hidden"] is False
    seen = (await client.get(f"{API}/comments/{comment_id}", headers=reader.headers)).json()
    assert seen["body"] == "rude words" and seen["deleted"] is False

    log = await _audit(client, admin, target_kind="comment", target_id=str(comment_id))
    assert [(e["action"], e["actor"]["id"], e["reason"]) for e in log] == [  # type: ignore[index]
        ("restore_comment", str(admin.id), ""),
        ("hide_comment", str(editor.id), "insults"),
    ]
    assert (await client.get(f"{API}/moderation/audit", headers=editor.headers)).status_code == 403


async def test_a_hidden_message_leaves_both_histories(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    sender, recipient, stranger = await accounts(ctx, client, 3)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    await befriend(client, sender, recipient)
    r = await send_dm(client, sender, recipient, text="a threat")
    message_id = r.json()["id"]
    assert (await _report(client, stranger, "message", message_id)).status_code == 404
    assert (await _report(client, sender, "message", message_id)).status_code == 422
    r = await _report(client, recipient, "message", message_id)
    assert r.status_code == 201, r.text

    r = await client.post(
        f"{API}/moderation/messages/{message_id}/hide", json={}, headers=editor.headers
    )
    assert r.status_code == 200 and r.json()["resolved_reports"] == 1
    assert r.json()["target"]["text"] == "a threat"  # moderators still read it
    for who, peer in ((sender, recipient), (recipient, sender)):
        h = await client.get(f"{API}/conversations/{peer.id}/messages", headers=who.headers)
        assert message_id not in [m["id"] for m in h.json()["items"]]
    r = await client.post(
        f"{API}/moderation/messages/{message_id}/restore", json={}, headers=editor.headers
    )
    assert r.status_code == 200
    h = await client.get(f"{API}/conversations/{sender.id}/messages", headers=recipient.headers)
    assert message_id in [m["id"] for m in h.json()["items"]]


async def test_suspension_signs_out_and_needs_a_higher_role(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    (user,) = await accounts(ctx, client, 1)
    editor, other_editor = await accounts(ctx, client, 2, role="editor")
    (admin,) = await accounts(ctx, client, 1, role="admin")
    assert (await _report(client, editor, "user", user.id)).status_code == 201
    assert (await _report(client, user, "user", user.id)).status_code == 422

    def url(who: Account, verb: str = "suspend") -> str:
        return f"{API}/moderation/users/{who.id}/{verb}"

    for actor, target in ((editor, other_editor), (editor, admin), (admin, admin), (user, user)):
        r = await client.post(url(target), json={}, headers=actor.headers)
        assert r.status_code == 403, (actor.user.role, target.user.role, r.text)

    r = await client.post(url(user), json={"reason": "spam"}, headers=editor.headers)
    assert r.status_code == 200, r.text
    assert r.json()["suspended"] is True and r.json()["ended_sessions"] >= 1
    assert (await client.get(f"{API}/me", headers=user.headers)).status_code == 401
    r = await client.post(
        f"{API}/auth/token",
        data={"username": user.user.email, "password": user.password, "grant_type": "password"},
    )
    assert r.status_code == 401  # as for a wrong password: says nothing of the account
    assert (await client.post(url(other_editor), json={}, headers=admin.headers)).status_code == 200

    r = await client.post(url(user, "unsuspend"), json={}, headers=editor.headers)
    assert r.status_code == 200 and r.json()["suspended"] is False
    await login(client, user.user.email)
    log = await _audit(client, admin, target_kind="user", target_id=str(user.id))
    assert [e["action"] for e in log] == ["unsuspend_user", "suspend_user"]
    r = await client.get(
        f"{API}/moderation/reports",
        params={"status": "resolved", "kind": "user"},
        headers=admin.headers,
    )
    assert str(user.id) in [i["target"]["id"] for i in r.json()["items"]]


async def test_role_changes_are_audited(client: httpx.AsyncClient, ctx: Context) -> None:
    (user,) = await accounts(ctx, client, 1)
    (admin,) = await accounts(ctx, client, 1, role="admin")
    r = await client.put(
        f"{API}/users/{user.id}/role", json={"role": "editor"}, headers=admin.headers
    )
    assert r.status_code == 200, r.text
    log = await _audit(client, admin, target_kind="user", target_id=str(user.id))
    assert [(e["action"], e["actor"]["id"]) for e in log] == [  # type: ignore[index]
        ("set_role:editor", str(admin.id))
    ]


@pytest.mark.slow
async def test_both_sides_of_a_hidden_message_are_told_at_once(
    client: httpx.AsyncClient, ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    sender, recipient = await accounts(ctx, client, 2)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    await befriend(client, sender, recipient)
    message = (await send_dm(client, sender, recipient, text="a threat")).json()
    one, other = two_servers
    async with (
        connected(one.url, sender.access_token) as a,
        connected(other.url, recipient.access_token) as b,
    ):
        url = f"{API}/moderation/messages/{message['id']}"
        r = await client.post(f"{url}/hide", json={}, headers=editor.headers)
        assert r.status_code == 200, r.text
        want = {
            "message_id": message["id"],
            "conversation_id": message["conversation_id"],
            "hidden": True,
        }
        assert (await a.wait_event("dm:moderated"))[-1] == want
        assert (await b.wait_event("dm:moderated"))[-1] == want
        await client.post(f"{url}/restore", json={}, headers=editor.headers)
        assert (await b.wait_event("dm:moderated", 2))[-1] == {**want, "hidden": False}


@pytest.mark.slow
async def test_a_suspended_users_sockets_close_at_once(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    (user,) = await accounts(ctx, client, 1)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    async with connected(live_server.url, user.access_token) as sock:
        assert (await sock.call("ping", {}))["ok"] is True
        r = await client.post(
            f"{API}/moderation/users/{user.id}/suspend", json={}, headers=editor.headers
        )
        assert r.status_code == 200, r.text
        # Well before the housekeeping's next pass (SOCKET_HEARTBEAT_S, 30 s).
        await asyncio.wait_for(sock.disconnected.wait(), 5)


async def test_editors_catalog_writes_are_audited(client: httpx.AsyncClient, ctx: Context) -> None:
    (editor,) = await accounts(ctx, client, 1, role="editor")
    (admin,) = await accounts(ctx, client, 1, role="admin")
    r = await client.post(
        f"{API}/titles",
        json={"kind": "film", "title": "Audited", "year": 2001},
        headers=editor.headers,
    )
    assert r.status_code == 201, r.text
    title_id = r.json()["id"]
    r = await client.patch(
        f"{API}/titles/{title_id}", json={"title": "Audited again"}, headers=editor.headers
    )
    assert r.status_code == 200, r.text
    assert (
        await client.delete(f"{API}/titles/{title_id}", headers=admin.headers)
    ).status_code == 204
    log = await _audit(client, admin, target_kind="title", target_id=str(title_id))
    assert [(e["action"], e["actor"]["id"]) for e in log] == [  # type: ignore[index]
        ("delete_title", str(admin.id)),
        ("update_title", str(editor.id)),
        ("create_title", str(editor.id)),
    ]


async def test_the_back_office_lists_accounts_and_media(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    (user,) = await accounts(ctx, client, 1)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    assert (await _report(client, editor, "user", user.id)).status_code == 201
    r = await client.get(
        f"{API}/moderation/users",
        params={"q": user.user.username[:8].upper(), "role": "user"},
        headers=editor.headers,
    )
    assert r.status_code == 200, r.text
    (row,) = [i for i in r.json()["items"] if i["id"] == str(user.id)]
    assert row["open_reports"] == 1 and row["suspended"] is False and "email" not in row
    r = await client.get(f"{API}/moderation/users", params={"limit": 1}, headers=editor.headers)
    assert r.status_code == 200 and len(r.json()["items"]) == 1
    nxt = await client.get(
        f"{API}/moderation/users",
        params={"limit": 1, "cursor": r.json()["next_cursor"]},
        headers=editor.headers,
    )
    assert nxt.status_code == 200 and nxt.json()["items"][0]["id"] != r.json()["items"][0]["id"]
    assert (await client.get(f"{API}/moderation/users", headers=user.headers)).status_code == 403
    r = await client.get(f"{API}/media/assets", headers=editor.headers)
    assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/media/assets", headers=user.headers)).status_code == 403


@pytest.mark.slow
async def test_suspension_closes_the_users_sockets_on_every_server_at_once(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer]
) -> None:
    """The suspension comes through one process; the user's sockets, two devices on two
    processes, close at once, and neither may connect again."""
    one, other = two_servers
    async with httpx.AsyncClient(base_url=one.url, timeout=30) as http:
        (user,) = await accounts(ctx, http, 1)
        (editor,) = await accounts(ctx, http, 1, role="editor")
        phone = await login(http, user.user.email)
        async with (
            connected(one.url, user.access_token) as laptop_sock,
            connected(other.url, phone["access_token"]) as phone_sock,
        ):
            for sock in (laptop_sock, phone_sock):
                assert (await sock.call("ping", {}))["ok"] is True
            r = await http.post(
                f"{API}/moderation/users/{user.id}/suspend",
                json={"reason": "spam"},
                headers=editor.headers,
            )
            assert r.status_code == 200, r.text
            assert r.json()["ended_sessions"] == 2
            # Well before the housekeeping's next pass (SOCKET_HEARTBEAT_S, 30 s).
            await asyncio.wait_for(laptop_sock.disconnected.wait(), 5)
            await asyncio.wait_for(phone_sock.disconnected.wait(), 5)
        for server, token in ((one, user.access_token), (other, phone["access_token"])):
            with pytest.raises(socketio.exceptions.ConnectionError):
                async with connected(server.url, token):
                    pass


async def test_the_audit_log_filters_by_actor_and_action(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    user, author = await accounts(ctx, client, 2)
    editor, other_editor = await accounts(ctx, client, 2, role="editor")
    (admin,) = await accounts(ctx, client, 1, role="admin")
    title = await make_title(ctx)
    r = await client.post(
        f"{API}/titles/{title.id}/comments", json={"body": "spam spam"}, headers=author.headers
    )
    comment_id = r.json()["id"]
    url = f"{API}/moderation/comments/{comment_id}"
    assert (await client.post(f"{url}/hide", json={}, headers=editor.headers)).status_code == 200
    r = await client.post(f"{url}/restore", json={}, headers=other_editor.headers)
    assert r.status_code == 200
    r = await client.put(
        f"{API}/users/{user.id}/role",
        json={"role": "editor", "reason": "joins the team"},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text

    mine = await _audit(client, admin, actor_id=str(editor.id))
    assert [(e["action"], e["target_id"]) for e in mine] == [("hide_comment", str(comment_id))]
    roles = await _audit(client, admin, action="set_role", target_id=str(user.id))
    assert [(e["action"], e["reason"]) for e in roles] == [("set_role:editor", "joins the team")]
    restores = await _audit(client, admin, action="restore_comment", target_kind="comment")
    assert str(comment_id) in [e["target_id"] for e in restores]
    assert all(e["action"] == "restore_comment" for e in restores)
    # "set" is no action: a prefix of a name matches nothing, only whole names (and their
    # role suffix) do.
    assert await _audit(client, admin, action="set", target_id=str(user.id)) == []


async def test_a_hidden_comment_says_so_to_everyone(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    """Hidden and deleted both leave no words and no name; `hidden` tells them apart."""
    author, reader = await accounts(ctx, client, 2)
    (editor,) = await accounts(ctx, client, 1, role="editor")
    title = await make_title(ctx)
    posted = []
    for body in ("mean", "regret"):
        r = await client.post(
            f"{API}/titles/{title.id}/comments", json={"body": body}, headers=author.headers
        )
        posted.append(r.json()["id"])
    hidden_id, deleted_id = posted
    r = await client.post(
        f"{API}/moderation/comments/{hidden_id}/hide", json={}, headers=editor.headers
    )
    assert r.status_code == 200
    r = await client.delete(f"{API}/comments/{deleted_id}", headers=author.headers)
    assert r.status_code == 204, r.text
    for who in (reader.headers, {}):
        r = await client.get(f"{API}/titles/{title.id}/comments", headers=who)
        seen = {c["id"]: c for c in r.json()["items"]}
        assert (seen[hidden_id]["hidden"], seen[hidden_id]["deleted"]) == (True, True)
        assert (seen[deleted_id]["hidden"], seen[deleted_id]["deleted"]) == (False, True)
        assert seen[hidden_id]["body"] is None and seen[hidden_id]["author"] is None
