"""Message images with MEDIA_STORE=s3: the re-encoded files go to the bucket (nothing on the
server's disk), the signed URL of a member redirects to a short presigned one, and deleting
the message, or erasing its sender's account, ends access and removes the objects."""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from cinema.ports import free_port
from cinema.worker import create_worker
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, login, make_user
from tests.media.test_object_store import KEY, SECRET, _s3, s3_endpoint  # noqa: F401
from tests.social.test_message_media import (
    erasure_removes_images,
    jpeg_with_gps,
    lost_jobs_and_orphans_leak_nothing,
)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]


async def test_images_live_in_the_bucket(
    settings: Settings,
    ctx: Context,
    s3_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    bucket = f"dm-{uuid.uuid4().hex[:8]}"
    s3 = _s3(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    media_dir = tmp_path / "media"
    prefix = f"{settings.redis_prefix}-dms3"
    env = {
        "MEDIA_STORE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY_ID": KEY,
        "S3_SECRET_ACCESS_KEY": SECRET,
        "MEDIA_DIR": str(media_dir),
        "REDIS_PREFIX": prefix,
    }
    own = settings.model_copy(
        update={
            "media_store": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": KEY,
            "s3_secret_access_key": SecretStr(SECRET),
            "media_dir": media_dir,
            # A queue of its own: the purge job must run where the bucket is known.
            "redis_prefix": prefix,
        }
    )
    server = LiveServer(own, free_port(), env=env)
    worker = create_worker(own, handle_signals=False, poll_delay=0.05)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        await asyncio.to_thread(server.wait_ready)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            people = []
            for _ in range(2):
                user = await make_user(ctx)
                tokens = await login(http, user.email)
                people.append(Account(user, "", tokens["access_token"], tokens["refresh_token"]))
            ann, bob = people
            r = await http.post(
                "/api/v1/friends/requests", json={"user_id": str(bob.id)}, headers=ann.headers
            )
            r = await http.post(
                f"/api/v1/friends/requests/{r.json()['id']}/accept", headers=bob.headers
            )
            assert r.status_code == 200, r.text
            r = await http.post(
                "/api/v1/message-attachments",
                content=jpeg_with_gps(),
                headers={**ann.headers, "Content-Type": "image/jpeg"},
            )
            assert r.status_code == 201, r.text
            attachment_id = r.json()["id"]
            hex_id = uuid.UUID(attachment_id).hex
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"media/attachments/{hex_id}/")
            keys = sorted(o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", []))
            assert keys == ["full.jpg", "thumb.webp"]
            assert not await asyncio.to_thread((media_dir / "attachments" / hex_id).exists)

            sent = await http.post(
                "/api/v1/messages",
                json={
                    "to_user_id": str(bob.id),
                    "client_msg_id": "s3",
                    "attachment_id": attachment_id,
                },
                headers=ann.headers,
            )
            assert sent.status_code == 201, sent.text
            page = await http.get(f"/api/v1/conversations/{ann.id}/messages", headers=bob.headers)
            url = page.json()["items"][0]["attachment"]["url"]
            r = await http.get(url)
            assert r.status_code == 302 and r.headers["location"].startswith(s3_endpoint)
            async with httpx.AsyncClient() as anyone:
                image = await anyone.get(r.headers["location"])
            assert image.status_code == 200 and image.content[:3] == b"\xff\xd8\xff"
            assert b"Exif" not in image.content[:200]

            r = await http.delete(f"/api/v1/messages/{sent.json()['id']}", headers=ann.headers)
            assert r.status_code == 204
            assert (await http.get(url)).status_code == 404
            deadline = time.monotonic() + 30
            while True:
                listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"media/attachments/{hex_id}/")
                if not listed.get("Contents"):
                    break
                assert time.monotonic() < deadline, "the purge job did not remove the objects"
                await asyncio.sleep(0.2)
    finally:
        worker_task.cancel()
        await asyncio.gather(worker_task, return_exceptions=True)
        await worker.close()
        await asyncio.to_thread(server.stop)


async def test_erasure_removes_images_from_the_bucket(
    client: httpx.AsyncClient,
    ctx: Context,
    settings: Settings,
    s3_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    bucket = f"dm-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(_s3(s3_endpoint).create_bucket, Bucket=bucket)
    own = settings.model_copy(
        update={
            "media_store": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": KEY,
            "s3_secret_access_key": SecretStr(SECRET),
            "media_dir": tmp_path / "media",
        }
    )
    await erasure_removes_images(client, ctx, dataclasses.replace(ctx, settings=own))


async def test_lost_purge_jobs_and_orphans_leak_nothing_in_the_bucket(
    client: httpx.AsyncClient,
    ctx: Context,
    settings: Settings,
    s3_endpoint: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    bucket = f"dm-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(_s3(s3_endpoint).create_bucket, Bucket=bucket)
    own = settings.model_copy(
        update={
            "media_store": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": KEY,
            "s3_secret_access_key": SecretStr(SECRET),
            "media_dir": tmp_path / "media",
        }
    )
    await lost_jobs_and_orphans_leak_nothing(client, ctx, dataclasses.replace(ctx, settings=own))
