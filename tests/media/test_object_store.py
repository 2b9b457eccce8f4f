"""Media that survives a lost machine: with MEDIA_STORE=s3 a published revision is uploaded to
an S3-compatible bucket (moto's server, a real HTTP S3 endpoint, as a process) before anyone
gets a URL to it; playback then works with the machine's disk gone: manifests served
through, segments by a redirect to a presigned URL, as ffprobe reads them."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import pty
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from cinema.ports import free_port
from cinema.worker import create_worker
from models.accounts.tables import Role
from models.core.context import Context
from models.core.settings import Settings
from models.media.objects import ObjectStore
from models.media.storage import MediaStore
from tests.conftest import LiveServer
from tests.factories import login, make_user
from tests.media.helpers import make_film, make_video, wait_media

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

KEY, SECRET = "test-key", "test-secret"


@pytest.fixture
def s3_endpoint(tmp_path: Path) -> Iterator[str]:
    """moto in server mode: S3 over HTTP on a free port."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    out = (tmp_path / "moto.log").open("wb")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto_server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()
        proc.wait(10)
        out.close()


def _s3(endpoint: str) -> Any:
    import boto3  # type: ignore[import-untyped]

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY,
        aws_secret_access_key=SECRET,
    )


async def test_published_media_is_played_from_the_object_store(
    settings: Settings, ctx: Context, s3_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"media-{uuid.uuid4().hex[:8]}"
    s3 = _s3(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    media_dir = tmp_path / "media"
    s3_env = {
        "MEDIA_STORE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY_ID": KEY,
        "S3_SECRET_ACCESS_KEY": SECRET,
        "MEDIA_DIR": str(media_dir),
        "MEDIA_LADDER": "360:600",
        "REDIS_PREFIX": f"{settings.redis_prefix}-s3",
    }
    own = settings.model_copy(
        update={
            "media_store": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": KEY,
            "s3_secret_access_key": SecretStr(SECRET),
            "media_dir": media_dir,
            "media_ladder": "360:600",
            # A queue of its own: a worker another test left polling the run's queue would
            # take the transcode and publish it to its own disk, not to this bucket.
            "redis_prefix": f"{settings.redis_prefix}-s3",
        }
    )
    server = LiveServer(own, free_port(), env=s3_env)
    worker = create_worker(own, handle_signals=False, poll_delay=0.05)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        await asyncio.to_thread(server.wait_ready)
        source = make_video(tmp_path / "movie.mov", seconds=2, size="320x180")
        film = await make_film(ctx)
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            editor = await make_user(ctx, role=Role.editor)
            viewer = await make_user(ctx)
            ed = {"Authorization": f"Bearer {(await login(http, editor.email))['access_token']}"}
            me = {"Authorization": f"Bearer {(await login(http, viewer.email))['access_token']}"}
            r = await http.put(
                f"/api/v1/titles/{film}/media/source",
                params={"filename": "movie.mov"},
                content=source.read_bytes(),
                headers={**ed, "Content-Type": "application/octet-stream"},
            )
            assert r.status_code == 202, r.text
            media = await wait_media(http, f"/api/v1/titles/{film}/media", ed, timeout=120)
            assert media["status"] == "ready", media
            play = (await http.get(f"/api/v1/titles/{film}/playback", headers=me)).json()
            asset, revision = play["hls"].split("/")[-3:-1]

            # The revision is in the bucket, as published.
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"media/assets/{asset}/{revision}/")
            keys = {o["Key"].rsplit("/", 1)[1] for o in listed.get("Contents", [])}
            assert {"master.m3u8", "manifest.mpd"} <= keys
            assert any(k.endswith(".m4s") for k in keys)

            # What MEDIA_S3_DELIVERY=proxy serves: a range of an object, as asked.
            store = ObjectStore(
                bucket=bucket,
                prefix="media",
                endpoint_url=s3_endpoint,
                region="us-east-1",
                access_key_id=KEY,
                secret_access_key=SECRET,
            )
            seg_key = next(o["Key"] for o in listed["Contents"] if o["Key"].endswith(".m4s"))
            body, content_range, total = store.get(seg_key, byte_range="bytes=0-9")
            assert len(body) == 10 and content_range == f"bytes 0-9/{total}" and total > 10
            with pytest.raises(KeyError):
                store.get(seg_key + ".missing")

            # The machine's disk is lost: only the object store has the media now.
            shutil.rmtree(media_dir / "assets")

            master = await http.get(play["hls"])
            assert master.status_code == 200 and "#EXT-X-STREAM-INF:" in master.text
            # A media playlist (served through), then a segment: redirected to a presigned URL.
            base = play["hls"].rsplit("/", 1)[0]
            playlist_name = next(
                line for line in master.text.splitlines() if line.endswith(".m3u8")
            )
            playlist = await http.get(f"{base}/{playlist_name}")
            assert playlist.status_code == 200
            segment = next(
                line
                for line in playlist.text.splitlines()
                if line and not line.startswith("#") and line.endswith(".m4s")
            )
            moved = await http.get(f"{base}/{segment}")
            assert moved.status_code == 302
            assert moved.headers["location"].startswith(f"{s3_endpoint}/{bucket}/")
            assert "X-Amz-Signature=" in moved.headers["location"]
            got = await http.get(moved.headers["location"])
            assert got.status_code == 200 and len(got.content) > 0
            # MEDIA_S3_DELIVERY=proxy: the same URL served through, whole or a range.
            proxy = LiveServer(own, free_port(), env={**s3_env, "MEDIA_S3_DELIVERY": "proxy"})
            try:
                await asyncio.to_thread(proxy.wait_ready)
                through = base.replace(server.url, proxy.url)
                whole = await http.get(f"{through}/{segment}")
                assert whole.status_code == 200 and whole.content == got.content
                assert whole.headers["content-type"] == "video/iso.segment"
                part = await http.get(f"{through}/{segment}", headers={"Range": "bytes=0-99"})
                assert part.status_code == 206 and part.content == got.content[:100]
                assert part.headers["content-range"] == f"bytes 0-99/{len(got.content)}"
            finally:
                proxy.stop()
            # A URL whose signature was tampered with redirects nowhere.
            origin, signed = base.split("/media/", 1)
            token, rest = signed.split("/", 1)
            flipped = ("A" if token[0] != "A" else "B") + token[1:]
            forged = f"{origin}/media/{flipped}/{rest}/{segment}"
            assert (await http.get(forged)).status_code == 403

        # ffprobe as the player, through our URLs and the store's redirects.
        ffprobe = shutil.which("ffprobe")
        if ffprobe is not None:
            for url in (play["hls"], play["dash"]):
                probe = await asyncio.to_thread(
                    subprocess.run,
                    [ffprobe, "-v", "error", "-show_streams", "-of", "json", url],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                assert probe.returncode == 0, probe.stderr
                kinds = {s["codec_type"] for s in json.loads(probe.stdout)["streams"]}
                assert "video" in kinds, (url, probe.stdout)
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await worker_task
        await worker.close()
        server.stop()


def _store(endpoint: str, bucket: str) -> ObjectStore:
    return ObjectStore(
        bucket=bucket,
        prefix="media",
        endpoint_url=endpoint,
        region="us-east-1",
        access_key_id=KEY,
        secret_access_key=SECRET,
    )


def _keys(s3: Any, bucket: str) -> dict[str, int]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="media/")
    return {o["Key"]: o["Size"] for o in listed.get("Contents", [])}


async def test_sources_and_dubs_are_kept_in_the_object_store(
    s3_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"media-{uuid.uuid4().hex[:8]}"
    s3 = _s3(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    media = MediaStore(tmp_path / "media", _store(s3_endpoint, bucket))
    original = tmp_path / "movie.mov"
    original.write_bytes(b"source bytes " * 1000)

    # Saved sources (a copied import, an upload) and an uploaded dub reach the bucket at once.
    source = media.new_source_path("film-1", "movie.mov")
    await media.copy_in(original, source)
    upload = media.new_source_path("film-2", "up.mp4")

    async def chunks() -> AsyncIterator[bytes]:
        yield b"uploaded " * 500

    await media.save_stream(chunks(), upload, max_bytes=10_000)
    dub = media.new_track_path(7, "french.wav")

    async def dub_chunks() -> AsyncIterator[bytes]:
        yield b"dub"

    await media.save_stream(dub_chunks(), dub, max_bytes=100)
    keys = _keys(s3, bucket)
    for path in (source, upload, dub):
        key = "media/" + path.relative_to(media.root).as_posix()
        assert keys[key] == path.stat().st_size
    got = s3.get_object(Bucket=bucket, Key=media.object_key(source))["Body"].read()
    assert got == original.read_bytes()

    # The disk lost it (a new machine): a transcode fetches it back; gone from both, it is gone.
    source.unlink()
    assert media.ensure_local(source) and source.read_bytes() == original.read_bytes()
    s3.delete_object(Bucket=bucket, Key=media.object_key(source))
    source.unlink()
    assert not media.ensure_local(source)

    # A film deleted from the catalog: its sources go from the bucket with the folder.
    media.prune_orphans(asset_ids={7}, item_keys={"film-1"}, grace_s=0)
    assert not upload.exists()
    assert media.object_key(upload) not in _keys(s3, bucket)
    assert media.object_key(dub) in _keys(s3, bucket)


def _backfill(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cinema.cli", "media-backfill"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def test_backfill_copies_what_the_disk_holds_once_and_resumes(
    settings: Settings, s3_endpoint: str, tmp_path: Path
) -> None:
    bucket = f"media-{uuid.uuid4().hex[:8]}"
    s3 = _s3(s3_endpoint)
    s3.create_bucket(Bucket=bucket)
    root = tmp_path / "media"
    files = {
        "assets/7/r1/master.m3u8": b"#EXTM3U\n",
        "assets/7/r1/v0/seg1.m4s": b"x" * 5000,
        "assets/7/.work-r2/seg1.m4s": b"an encode in progress",
        "sources/film-1/a.mov": b"a source" * 100,
        "sources/film-1/b.mov.part": b"an upload in progress",
        "tracks/7/d.wav": b"a dub",
        "imports/raw.mov": b"an operator's drop",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    durable = ["assets/7/r1/master.m3u8", "assets/7/r1/v0/seg1.m4s", "sources/film-1/a.mov"]
    durable.append("tracks/7/d.wav")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("S3_", "MEDIA_"))},
        "ENV": "test",
        "SECRET_KEY": settings.secret_key.get_secret_value(),
        "LOG_DIR": str(tmp_path / "logs"),
        "MEDIA_DIR": str(root),
        "MEDIA_STORE": "s3",
        "S3_BUCKET": bucket,
        "S3_ENDPOINT_URL": s3_endpoint,
        "S3_ACCESS_KEY_ID": KEY,
        "S3_SECRET_ACCESS_KEY": SECRET,
    }

    # Piped: no progress, one summary line.
    first = _backfill(env)
    assert first.stderr == ""
    assert (
        first.stdout.startswith("backfill: 4 files, 4 uploaded")
        and "0 already there" in first.stdout
    )
    assert _keys(s3, bucket) == {f"media/{rel}": len(files[rel]) for rel in durable}
    head = s3.head_object(Bucket=bucket, Key="media/assets/7/r1/master.m3u8")
    assert head["ContentType"] == "application/vnd.apple.mpegurl"

    # Again: nothing to do. After a lost object and a changed file: just those two.
    assert "0 uploaded (0.0 MB), 4 already there" in _backfill(env).stdout
    s3.delete_object(Bucket=bucket, Key="media/tracks/7/d.wav")
    (root / "sources/film-1/a.mov").write_bytes(b"replaced, longer than before" * 100)
    assert "2 uploaded" in _backfill(env).stdout
    assert _keys(s3, bucket)["media/sources/film-1/a.mov"] == 2800

    # On a terminal: files, percent, rate and ETA on one line.
    s3.delete_object(Bucket=bucket, Key="media/assets/7/r1/v0/seg1.m4s")
    leader, follower = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "cinema.cli", "media-backfill"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=120,
            check=True,
        )
        os.close(follower)
        shown = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(leader, 4096):
                shown += chunk
    finally:
        os.close(leader)
    assert "1 uploaded" in done.stdout
    line = shown.decode()
    assert "backfill: 1/1 files, 100%" in line and "MB/s" in line and "ETA" in line
