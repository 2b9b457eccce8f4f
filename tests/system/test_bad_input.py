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
