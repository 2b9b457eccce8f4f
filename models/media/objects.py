"""Published media and sources on S3-compatible object storage, so they survive the loss of a
machine.

The bucket mirrors the media folder under the prefix: `<prefix>/assets/<asset>/<revision>/...`
(published revisions), `<prefix>/sources/<item>/<file>` and `<prefix>/tracks/<asset>/<file>`
(sources and uploaded dubs). The transcoder still works on its local disk (ffmpeg needs
files); `MediaStore.publish` uploads a finished revision here before the asset's pointer
moves to it, a source is uploaded as soon as it is saved (and fetched back when a transcode
finds it missing from the disk), and removing either locally removes it here too. Players
get segments and images either by a redirect to a presigned URL (the bytes never pass
through us) or served through; manifests are always served through, since players resolve
their relative URIs against the manifest's URL.

boto3 is synchronous: every call here runs in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".mpd": "application/dash+xml",
    ".mp4": "video/mp4",
    ".vtt": "text/vtt; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}
SEGMENT_TYPE = "video/iso.segment"  # IANA type of a CMAF / fMP4 media segment
# Read by players relative to their own URL: never redirected.
SERVED_THROUGH = (".m3u8", ".mpd", ".vtt")


def content_type(name: str) -> str:
    if name.endswith(".m4s"):
        return "video/mp4" if name.startswith("init") else SEGMENT_TYPE
    return CONTENT_TYPES[name[name.rfind(".") :]]


class ObjectStore:
    def __init__(
        self,
        *,
        bucket: str,
        prefix: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
    ) -> None:
        import boto3  # type: ignore[import-untyped]  # only when the S3 store is selected
        from botocore.config import Config  # type: ignore[import-untyped]

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=region,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret_access_key,
            config=Config(
                signature_version="s3v4",
                # Other S3 servers (MinIO, Ceph, moto) are addressed by path; AWS by its choice.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
                retries={"max_attempts": 5, "mode": "standard"},
            ),
        )

    def revision_key(self, asset_id: int | str, revision: str, name: str = "") -> str:
        parts = [self.prefix, "assets", str(asset_id), revision, name]
        return "/".join(p for p in parts if p)

    def attachment_key(self, attachment: str, name: str = "") -> str:
        parts = [self.prefix, "attachments", attachment, name]
        return "/".join(p for p in parts if p)

    def attachment_folders(self, *, older_than: float) -> list[str]:
        """The image folders under the attachments prefix whose every object was last written
        before `older_than` (unix s): one paginated listing."""
        prefix = self.attachment_key("") + "/"
        newest: dict[str, float] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                folder = obj["Key"][len(prefix) :].split("/", 1)[0]
                at = obj["LastModified"].timestamp()
                newest[folder] = max(at, newest.get(folder, at))
        return [f for f, at in newest.items() if f and at < older_than]

    def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """One small object (a message's image), private to whoever gets a URL from us."""
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl="private, max-age=3600",
        )

    def key(self, relative: str) -> str:
        """The key of a file of the media folder (its path relative to the folder)."""
        return "/".join(p for p in (self.prefix, relative.strip("/")) if p)

    def put_file(self, path: Path, key: str) -> None:
        """One file (multipart when large). Every file we store never changes under its name
        (revisions and sources are named once), so caches may keep them for good."""
        try:
            ctype = content_type(path.name)
        except KeyError:
            ctype = "application/octet-stream"
        self.client.upload_file(
            str(path),
            self.bucket,
            key,
            ExtraArgs={"ContentType": ctype, "CacheControl": "public, max-age=31536000, immutable"},
        )

    def upload_dir(self, local: Path, key_prefix: str) -> int:
        """Every file under `local` (a published revision) to `key_prefix/<relative path>`."""
        count = 0
        for path in sorted(local.rglob("*")):
            if not path.is_file():
                continue
            self.put_file(path, f"{key_prefix}/{path.relative_to(local).as_posix()}")
            count += 1
        return count

    def sizes(self, key_prefix: str) -> dict[str, int]:
        """Every object under `key_prefix/` with its size (one listing, paginated)."""
        found: dict[str, int] = {}
        paginator = self.client.get_paginator("list_objects_v2")
        prefix = key_prefix.rstrip("/") + "/" if key_prefix.strip("/") else ""
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                found[obj["Key"]] = int(obj["Size"])
        return found

    def download(self, key: str, dest: Path) -> bool:
        """The object to `dest` (through a `.part` file renamed at the end); False when the
        bucket does not have it."""
        part = dest.with_name(dest.name + ".part")
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.client.download_file(self.bucket, key, str(part))
        except self.client.exceptions.ClientError as exc:
            part.unlink(missing_ok=True)
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise
        part.replace(dest)
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_keys(self, keys: list[str]) -> None:
        """Many objects, a thousand per request (S3's limit); a key already gone is no error,
        any other refusal raises, so the caller keeps them to try again."""
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            reply = self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True}
            )
            errors = reply.get("Errors") or []
            if errors:
                first = errors[0]
                raise RuntimeError(
                    f"{len(errors)} objects not deleted, e.g. {first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )

    @property
    def location(self) -> str:
        return "/".join(p for p in (f"s3://{self.bucket}", self.prefix) if p)

    def delete_prefix(self, key_prefix: str) -> int:
        deleted = 0
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key_prefix.rstrip("/") + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
                deleted += len(keys)
        return deleted

    def presigned_get(self, key: str, *, expires_s: int) -> str:
        url: str = self.client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=max(1, expires_s),
        )
        return url

    def get(self, key: str, *, byte_range: str | None = None) -> tuple[bytes, str | None, int]:
        """(body, Content-Range or None, the object's whole size); KeyError when missing."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if byte_range:
            kwargs["Range"] = byte_range
        try:
            obj = self.client.get_object(**kwargs)
        except self.client.exceptions.NoSuchKey as exc:
            raise KeyError(key) from exc
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("404", "NoSuchKey"):
                raise KeyError(key) from exc
            raise
        body = obj["Body"].read()
        content_range = obj.get("ContentRange")
        total = int(content_range.rsplit("/", 1)[1]) if content_range else len(body)
        return body, content_range, total


@functools.lru_cache(maxsize=4)
def object_store(
    bucket: str,
    prefix: str,
    endpoint_url: str | None,
    region: str,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> ObjectStore:
    """One client per configuration and process (boto3 clients are thread-safe)."""
    return ObjectStore(
        bucket=bucket,
        prefix=prefix,
        endpoint_url=endpoint_url,
        region=region,
        access_key_id=access_key_id,
        secret_access_key=secret_access_key,
    )
