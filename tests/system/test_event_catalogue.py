from __future__ import annotations

from pathlib import Path

import httpx

import realtime.handlers  # noqa: F401
from realtime.catalogue import render_markdown
from realtime.registry import events

ROOT = Path(__file__).resolve().parents[2]


def test_docs_events_md_is_current() -> None:
    """Adding or changing a socket event means regenerating: `cinema events-doc`."""
    assert (ROOT / "docs" / "events.md").read_text() == render_markdown(events) + "\n"


async def test_asyncapi_lists_every_declared_event(client: httpx.AsyncClient) -> None:
    doc = (await client.get("/asyncapi.json")).json()
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["channels"]["root"]["messages"].values()}
    assert names == set(events.specs) | set(events.server_specs)
    for spec in events.client_events():
        assert spec.handler is not None
        op = doc["operations"][spec.name.replace(":", "_")]
        assert op["action"] == "receive"
