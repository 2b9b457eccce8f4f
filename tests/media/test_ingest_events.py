"""`media:ingest` goes to every editor's and admin's sockets, whichever server they are on and
whoever uploaded (the back office's media pages follow any transcode live), and to nobody
else."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from models.accounts.tables import Role
from models.core.context import Context
from tests.conftest import LiveServer
from tests.factories import make_account
from tests.media.helpers import make_film, make_video, wait_media
from tests.realtime_client import connected

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


async def test_every_staff_socket_hears_a_transcode_and_viewers_do_not(
    ctx: Context, two_servers: tuple[LiveServer, LiveServer], worker: Any, tmp_path: Path
) -> None:
    a, b = two_servers
    source = make_video(tmp_path / "clip.mov", seconds=2, size="320x180")
    async with httpx.AsyncClient(base_url=a.url, timeout=30) as http:
        uploader = await make_account(ctx, http, role=Role.editor)
        colleague = await make_account(ctx, http, role=Role.editor)
        admin = await make_account(ctx, http, role=Role.admin)
        viewer = await make_account(ctx, http)
        film = await make_film(ctx)
        async with (
            connected(b.url, colleague.access_token) as other_editor,
            connected(a.url, admin.access_token) as an_admin,
            connected(b.url, viewer.access_token) as a_viewer,
        ):
            r = await http.put(
                f"/api/v1/titles/{film}/media/source",
                params={"filename": "clip.mov"},
                content=source.read_bytes(),
                headers={**uploader.headers, "Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 202, r.text
            media = await wait_media(http, f"/api/v1/titles/{film}/media", uploader.headers)
            assert media["status"] == "ready", media
            for sock in (other_editor, an_admin):
                events = await sock.wait_event("media:ingest", 1)
                deadline = time.monotonic() + 10
                while events[-1]["status"] != "ready":
                    assert time.monotonic() < deadline, events
                    await asyncio.sleep(0.05)
                statuses = [e["status"] for e in events]
                assert statuses[0] == "queued" and statuses[-1] == "ready", statuses
                progress = [e["progress"] for e in events]
                assert progress == sorted(progress) and progress[-1] == 1.0, progress
                assert {(e["asset_id"], e["title_id"]) for e in events} == {(media["id"], film)}
            # The viewer's socket is connected and hears nothing of it.
            assert a_viewer.client.connected
            assert a_viewer.events["media:ingest"] == []
