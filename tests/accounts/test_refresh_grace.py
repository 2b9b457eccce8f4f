"""Refresh rotation's grace window: a retry of the token rotated just before (its answer was
lost on the network) gets the same successor; older tokens, or the same one too late, are
reuse and end the session."""

from __future__ import annotations

import asyncio
import dataclasses

import httpx
import pytest

from models.accounts import service
from models.core.context import Context
from models.core.errors import Unauthorized
from tests.factories import Account, make_account


async def _refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def _me(client: httpx.AsyncClient, access_token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers={"Authorization": f"Bearer {access_token}"})


async def _assert_revoked(client: httpx.AsyncClient, acct: Account, *refresh_tokens: str) -> None:
    r = await _me(client, acct.access_token)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    for token in refresh_tokens:
        r = await _refresh(client, token)
        assert r.status_code == 401, r.text


def _with_grace(ctx: Context, grace_s: float) -> Context:
    settings = ctx.settings.model_copy(update={"refresh_grace_s": grace_s})
    return dataclasses.replace(ctx, settings=settings)


async def test_a_retry_within_the_window_gets_the_same_successor(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    assert ctx.settings.refresh_grace_s == 30
    acct = await make_account(ctx, client)
    first = await _refresh(client, acct.refresh_token)
    assert first.status_code == 200, first.text
    # The answer was lost: the client retries with the token it still has.
    retry = await _refresh(client, acct.refresh_token)
    assert retry.status_code == 200, retry.text
    assert retry.json()["refresh_token"] == first.json()["refresh_token"]
    assert retry.json()["access_token"] != first.json()["access_token"]
    for answer in (first, retry):
        assert (await _me(client, answer.json()["access_token"])).status_code == 200
    # The successor rotates as usual, and the session stays one session.
    second = await _refresh(client, retry.json()["refresh_token"])
    assert second.status_code == 200, second.text
    assert second.json()["refresh_token"] != retry.json()["refresh_token"]
    assert (await _me(client, second.json()["access_token"])).status_code == 200
    listed = await client.get(
        "/api/v1/auth/sessions",
        headers={"Authorization": f"Bearer {second.json()['access_token']}"},
    )
    assert len(listed.json()) == 1


async def test_a_token_two_rotations_back_revokes(client: httpx.AsyncClient, ctx: Context) -> None:
    acct = await make_account(ctx, client)
    first = (await _refresh(client, acct.refresh_token)).json()
    second = (await _refresh(client, first["refresh_token"])).json()
    # Within the window, but not the token rotated just before: someone kept an old one.
    reused = await _refresh(client, acct.refresh_token)
    assert reused.status_code == 401
    assert reused.json()["error"]["code"] == "refresh_token_reused"
    await _assert_revoked(client, acct, first["refresh_token"], second["refresh_token"])
    assert (await _me(client, second["access_token"])).status_code == 401


async def test_a_retry_after_the_window_revokes(client: httpx.AsyncClient, ctx: Context) -> None:
    short = _with_grace(ctx, 0.3)
    acct = await make_account(ctx, client)
    successor = await service.do_refresh(short, refresh_token=acct.refresh_token)
    retry = await service.do_refresh(short, refresh_token=acct.refresh_token)
    assert retry.refresh_token == successor.refresh_token
    await asyncio.sleep(0.5)
    with pytest.raises(Unauthorized) as exc:
        await service.do_refresh(short, refresh_token=acct.refresh_token)
    assert exc.value.code == "refresh_token_reused"
    await _assert_revoked(client, acct, successor.refresh_token)


async def test_no_window_means_strict_rotation(client: httpx.AsyncClient, ctx: Context) -> None:
    strict = _with_grace(ctx, 0)
    acct = await make_account(ctx, client)
    successor = await service.do_refresh(strict, refresh_token=acct.refresh_token)
    with pytest.raises(Unauthorized) as exc:
        await service.do_refresh(strict, refresh_token=acct.refresh_token)
    assert exc.value.code == "refresh_token_reused"
    await _assert_revoked(client, acct, successor.refresh_token)


async def test_concurrent_refreshes_and_retries_agree(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    acct = await make_account(ctx, client)
    # The same current token from several requests at once: one rotation, one successor.
    answers = await asyncio.gather(*(_refresh(client, acct.refresh_token) for _ in range(6)))
    assert [a.status_code for a in answers] == [200] * 6, [a.text for a in answers]
    successors = {a.json()["refresh_token"] for a in answers}
    assert len(successors) == 1
    (successor,) = successors
    # Retries racing with the successor's own rotation: each gets either the successor again
    # (before it rotated) or is reuse of a token two back (after), never a second branch.
    answers = await asyncio.gather(
        _refresh(client, successor), *(_refresh(client, acct.refresh_token) for _ in range(4))
    )
    rotated = answers[0]
    assert rotated.status_code == 200, rotated.text
    retries = answers[1:]
    if all(r.status_code == 200 for r in retries):
        assert {r.json()["refresh_token"] for r in retries} == {successor}
        nxt = await _refresh(client, rotated.json()["refresh_token"])
        assert nxt.status_code == 200, nxt.text
    else:
        # At least one retry came after the rotation and revoked the session.
        assert any(r.json()["error"]["code"] == "refresh_token_reused" for r in retries)
        await _assert_revoked(client, acct, rotated.json()["refresh_token"])


async def test_concurrent_retries_within_the_window(
    client: httpx.AsyncClient, ctx: Context
) -> None:
    acct = await make_account(ctx, client)
    first = (await _refresh(client, acct.refresh_token)).json()
    retries = await asyncio.gather(*(_refresh(client, acct.refresh_token) for _ in range(6)))
    assert [r.status_code for r in retries] == [200] * 6
    assert {r.json()["refresh_token"] for r in retries} == {first["refresh_token"]}
    nxt = await _refresh(client, first["refresh_token"])
    assert nxt.status_code == 200, nxt.text
    assert (await _me(client, nxt.json()["access_token"])).status_code == 200
