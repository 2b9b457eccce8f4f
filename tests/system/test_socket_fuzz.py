"""Every registered socket event with malformed payloads, through real clients on a real
server (bench/socket_fuzz.py, sampled): each ack is {ok, data} or {ok: false, error: {code,
message}} (strict JSON, never `internal`, never missing) and every socket stays usable."""

from __future__ import annotations

import httpx
import pytest

from bench.socket_fuzz import fuzz
from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account, make_title
from tests.social.helpers import befriend

pytestmark = pytest.mark.slow  # every test here starts server processes


async def test_malformed_socket_events_get_error_acks(
    client: httpx.AsyncClient, ctx: Context, live_server: LiveServer
) -> None:
    a = await make_account(ctx, client)
    b = await make_account(ctx, client)
    await befriend(client, a, b)  # so DMs reach their rules, not just `not_friends`
    title_id = (await make_title(ctx, "Fuzzed", runtime_minutes=120)).id
    report = await fuzz(
        live_server.url,
        [a.access_token, b.access_token],
        title_id=title_id,
        sample=3,
        sockets_per_token=4,
    )
    assert report.cases > 500
    assert report.problems == []
    assert report.acks["ok"] > 25  # valid payloads went through, not only refusals
