"""Images attached to messages: upload, signed URLs for the conversation's two members, and
removal with the message.

An upload is checked and re-encoded (models/social/messages/images.py) and kept in the
MediaStore (local disk, or the object store with MEDIA_STORE=s3) under attachments/<id hex>/:
`full.<ext>` and `thumb.webp`. Nobody but its uploader sees it until a message of theirs uses
it; then the two members of that conversation get URLs signed for each of them:

    /media/dm/<expires>.<user>.<sig>/<id hex>-full.jpg

The signature covers the file, the user and the expiry; the server still checks at each fetch
that the message is there (not deleted, not hidden by a moderator) and that the user is one of
its two members, so deleting the message ends access at once, whatever URLs are out.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from models.core.context import Context
from models.core.db import transaction
from models.core.errors import DomainError, Forbidden, Gone, NotFound
from models.core.events import Outbox
from models.core.jobs import Job
from models.core.ratelimit import Limit, RateLimiter
from models.media.objects import ObjectStore
from models.media.service import objects_of
from models.media.storage import MediaStore
from models.social.messages import images
from models.social.messages.schemas import AttachmentOut, UploadedOut
from models.social.messages.tables import (
    AttachmentPurge,
    DirectMessage,
    DirectMessageAttachment,
)

_PURPOSE = b"cinema/dm-attachment-url/v1"
_TOKEN = re.compile(r"^([0-9a-f]{1,12})\.([0-9a-f]{32})\.([A-Za-z0-9_-]{22})$")
_NAME = re.compile(r"^([0-9a-f]{32})-(full\.(?:jpg|png|webp)|thumb\.webp)$")
UNUSED_GRACE_S = 24 * 3600  # an upload no message used is pruned after this
PURGE_BATCH = 200  # queued images whose files one transaction removes (800 keys: one S3 call)
# Every name an image's folder may hold (do_upload writes the full image and its thumbnail).
FILE_NAMES = (*sorted({f"full.{ext}" for ext in images.EXTENSIONS.values()}), "thumb.webp")
MAX_PENDING = 20  # unused uploads one user may hold at once
# Decoding and encoding a large picture is a second of CPU: per uploader, across processes.
UPLOADS = Limit("dm_upload", 60, 3600)


@dataclass(frozen=True)
class Signer:
    """Signs attachment URLs for one reader at a time (a key of its own, one clock reading)."""

    key: bytes
    base_url: str
    ttl_s: int
    now_s: int

    def token(self, user_id: uuid.UUID, name: str, expires: int) -> str:
        expires_hex = format(expires, "x")
        return f"{expires_hex}.{user_id.hex}.{_mac(self.key, name, user_id.hex, expires_hex)}"

    @property
    def expires(self) -> int:
        # Rounded up to the hour: every URL of a page of history is the same for an hour, so
        # the browser's cache keeps working between fetches.
        return (self.now_s + self.ttl_s) // 3600 * 3600 + 3600

    def url(self, user_id: uuid.UUID, name: str) -> str:
        return f"{self.base_url}/media/dm/{self.token(user_id, name, self.expires)}/{name}"


def _mac(key: bytes, name: str, user_hex: str, expires_hex: str) -> str:
    msg = f"{name}\n{user_hex}\n{expires_hex}".encode()
    digest = hmac.new(key, msg, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _key(ctx: Context) -> bytes:
    return _derived(ctx.settings.secret)


@functools.lru_cache(maxsize=8)
def _derived(secret: bytes) -> bytes:
    # Once per secret, not at every send (each made a signer for its copies).
    return hmac.new(secret, _PURPOSE, hashlib.sha256).digest()


def signer(ctx: Context) -> Signer:
    s = ctx.settings
    base = (s.media_public_url or s.public_url).rstrip("/")
    return Signer(key=_key(ctx), base_url=base, ttl_s=s.media_url_ttl_s, now_s=int(time.time()))


def store(ctx: Context) -> MediaStore:
    return MediaStore(ctx.settings.media_dir, objects_of(ctx))


def _full_name(a: DirectMessageAttachment) -> str:
    return f"{a.id.hex}-full.{images.EXTENSIONS[a.content_type]}"  # type: ignore[index]


def _thumb_name(a: DirectMessageAttachment) -> str:
    return f"{a.id.hex}-thumb.webp"


def _expires_at(sign: Signer) -> datetime:
    return datetime.fromtimestamp(sign.expires, UTC)


def attachment_out(a: DirectMessageAttachment, sign: Signer, reader: uuid.UUID) -> AttachmentOut:
    return AttachmentOut(
        id=a.id,
        content_type=a.content_type,
        width=a.width,
        height=a.height,
        size_bytes=a.size_bytes,
        url=sign.url(reader, _full_name(a)),
        thumb_url=sign.url(reader, _thumb_name(a)),
        thumb_width=a.thumb_width,
        thumb_height=a.thumb_height,
        expires_at=_expires_at(sign),
    )


async def do_upload(
    ctx: Context, *, user_id: uuid.UUID, data: bytes, declared_type: str | None
) -> UploadedOut:
    """Check, re-encode and store an image for a message the user is about to send."""
    await RateLimiter(ctx.redis, ctx.keys.prefix).hit(
        UPLOADS, str(user_id), message="Too many images uploaded; try again later"
    )
    async with ctx.sessions() as session:
        pending = await session.scalar(
            select(DirectMessageAttachment.id)
            .outerjoin(DirectMessage, DirectMessage.attachment_id == DirectMessageAttachment.id)
            .where(DirectMessageAttachment.owner_id == user_id, DirectMessage.id.is_(None))
            .offset(MAX_PENDING - 1)
            .limit(1)
        )
    if pending is not None:
        raise DomainError(
            f"At most {MAX_PENDING} images waiting to be sent; send or wait a day",
            code="too_many_pending_attachments",
            status=429,
            headers={"Retry-After": "3600"},
        )
    checked = await asyncio.to_thread(images.check_image, data, declared_type)
    row = DirectMessageAttachment(
        id=uuid.uuid4(),
        owner_id=user_id,
        content_type=checked.content_type,
        width=checked.full.width,
        height=checked.full.height,
        size_bytes=len(checked.full.data),
        thumb_width=checked.thumb.width,
        thumb_height=checked.thumb.height,
    )
    media = store(ctx)
    files: dict[str, tuple[bytes, str]] = {
        f"full.{images.EXTENSIONS[checked.content_type]}": (
            checked.full.data,
            checked.content_type,
        ),
        "thumb.webp": (checked.thumb.data, "image/webp"),
    }
    await asyncio.to_thread(media.save_attachment, row.id.hex, files)
    try:
        async with transaction(ctx.sessions) as session:
            session.add(row)
    except BaseException:
        await asyncio.to_thread(media.drop_attachment, row.id.hex)
        raise
    sign = signer(ctx)
    return UploadedOut(
        id=row.id,
        content_type=checked.content_type,
        width=row.width,
        height=row.height,
        size_bytes=row.size_bytes,
        thumb_url=sign.url(user_id, _thumb_name(row)),
        thumb_width=row.thumb_width,
        thumb_height=row.thumb_height,
        expires_at=_expires_at(sign),
    )


async def check_usable(
    session: AsyncSession, *, user_id: uuid.UUID, attachment_id: uuid.UUID
) -> DirectMessageAttachment:
    """An upload of mine that no message uses yet."""
    row = await session.get(DirectMessageAttachment, attachment_id)
    if row is None:
        raise NotFound("No such attachment", code="attachment_not_found")
    if row.owner_id != user_id:
        raise Forbidden("This attachment is someone else's", code="not_your_attachment")
    used = await session.scalar(
        select(DirectMessage.id).where(DirectMessage.attachment_id == attachment_id)
    )
    if used is not None:
        raise DomainError(
            "This attachment is already in a message", code="attachment_in_use", status=409
        )
    return row


async def do_discard(
    ctx: Context,
    session: AsyncSession,
    outbox: Outbox,
    *,
    user_id: uuid.UUID,
    attachment_id: uuid.UUID,
) -> None:
    """An upload of mine I decided not to send: gone now (its files queued for purge in the
    same transaction), so it does not count against the uploads that may wait."""
    row = await check_usable(session, user_id=user_id, attachment_id=attachment_id)
    await session.delete(row)
    await session.flush()
    await _purge_later(ctx, session, outbox, [attachment_id])


async def drop_with_message(
    ctx: Context, session: AsyncSession, outbox: Outbox, m: DirectMessage
) -> None:
    """A message deleted for everyone takes its image along: the row now, the files queued
    for purge in the same transaction."""
    if m.attachment_id is None:
        return
    attachment_id, m.attachment_id = m.attachment_id, None
    await session.flush()
    await session.execute(
        delete(DirectMessageAttachment).where(DirectMessageAttachment.id == attachment_id)
    )
    await _purge_later(ctx, session, outbox, [attachment_id])


async def _purge_later(
    ctx: Context, session: AsyncSession, outbox: Outbox, attachment_ids: list[uuid.UUID]
) -> None:
    """Queued with the change (a crash after the commit, or a lost job, leaves them queued,
    not leaked, on disk or in the bucket); the job removes them after the commit, the cron
    finishes what it did not."""
    await queue_purges(session, attachment_ids=attachment_ids, location=store(ctx).location)
    outbox.enqueue(Job.purge_dm_attachment_files)


@dataclass(frozen=True)
class Served:
    """Where a checked request's file is: a local path, or a key in the object store."""

    path: Path | None
    key: str | None
    objects: ObjectStore | None
    content_type: str
    max_age_s: int


_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


async def access_file(ctx: Context, *, token: str, name: str, now_s: int) -> Served:
    """A signed file request: 403 for a bad signature, 410 once expired, 404 when the image
    is gone (message deleted or hidden) or the signed user is no longer one of its readers."""
    m = _TOKEN.match(token)
    n = _NAME.match(name)
    if m is None or n is None:
        raise Forbidden("Malformed attachment URL", code="bad_signature")
    expires_hex, user_hex, sig = m.groups()
    if not hmac.compare_digest(sig, _mac(_key(ctx), name, user_hex, expires_hex)):
        raise Forbidden("Bad attachment signature", code="bad_signature")
    expires = int(expires_hex, 16)
    if now_s >= expires:
        raise Gone("Attachment URL expired", code="expired")
    attachment_id = uuid.UUID(hex=n.group(1))
    user_id = uuid.UUID(hex=user_hex)
    async with ctx.sessions() as session:
        row = (
            await session.execute(
                select(DirectMessageAttachment, DirectMessage)
                .outerjoin(DirectMessage, DirectMessage.attachment_id == DirectMessageAttachment.id)
                .where(DirectMessageAttachment.id == attachment_id)
            )
        ).first()
    if row is None:
        raise NotFound("No such image", code="not_found")
    att, msg = row
    if msg is None:
        allowed = att.owner_id == user_id
    else:
        allowed = (
            msg.deleted_at is None
            and msg.hidden_at is None
            and user_id in (msg.sender_id, msg.recipient_id)
        )
    variant = n.group(2)
    expected = _full_name(att).split("-", 1)[1] if variant.startswith("full") else "thumb.webp"
    if not allowed or variant != expected:
        raise NotFound("No such image", code="not_found")
    media = store(ctx)
    max_age = max(0, min(3600, expires - now_s))
    ext = variant.rsplit(".", 1)[1]
    if media.objects is not None:
        key = media.objects.attachment_key(att.id.hex, variant)
        return Served(None, key, media.objects, _TYPES[ext], max_age)
    return Served(media.attachment_path(att.id.hex, variant), None, None, _TYPES[ext], max_age)


async def purge_files(ctx: Context, *, folder: str) -> None:
    """One image's files (jobs queued before deletions went through the purge queue)."""
    await asyncio.to_thread(store(ctx).drop_attachment, folder)


async def queue_purges(
    session: AsyncSession, *, attachment_ids: list[uuid.UUID], location: str
) -> None:
    """In the transaction that deletes these images' rows: their files are to go (from the
    store at `location`), by `purge_queued` after the commit."""
    if attachment_ids:
        await session.execute(
            text(
                "INSERT INTO dm_attachment_purges (attachment_id, store)"
                " SELECT unnest(CAST(:ids AS uuid[])), :store ON CONFLICT DO NOTHING"
            ),
            {"ids": attachment_ids, "store": location},
        )


async def purge_queued(ctx: Context, *, batch: int = PURGE_BATCH, limit: int | None = None) -> int:
    """Remove queued images' files, `batch` at a time (at most `limit`); how many.

    A batch's queue rows are locked while its files go and deleted in the same transaction, so
    a run that dies midway leaves the rest to the next (removing files already gone is fine).
    Only rows of this process's store: another store's files are not within its reach.
    """
    media = store(ctx)
    done = 0
    while limit is None or done < limit:
        size = batch if limit is None else min(batch, limit - done)
        async with transaction(ctx.sessions) as session:
            ids = list(
                await session.scalars(
                    select(AttachmentPurge.attachment_id)
                    .where(AttachmentPurge.store == media.location)
                    .order_by(AttachmentPurge.queued_at, AttachmentPurge.attachment_id)
                    .limit(size)
                    .with_for_update(skip_locked=True)
                )
            )
            if ids:
                await asyncio.to_thread(media.drop_attachments, [i.hex for i in ids], FILE_NAMES)
                await session.execute(
                    delete(AttachmentPurge).where(AttachmentPurge.attachment_id.in_(ids))
                )
        done += len(ids)
        if len(ids) < size:
            break
    return done


async def prune(ctx: Context, *, now: datetime) -> int:
    """Uploads no message used within a day go, and so does every image folder in the store
    (on the disk, or the bucket's objects under the attachments prefix) older than that which
    no message or pending upload has a row for: both through the purge queue."""
    cutoff = now - timedelta(seconds=UNUSED_GRACE_S)
    media = store(ctx)
    async with transaction(ctx.sessions) as session:
        gone = list(
            await session.scalars(
                delete(DirectMessageAttachment)
                .where(
                    DirectMessageAttachment.created_at < cutoff,
                    ~select(DirectMessage.id)
                    .where(DirectMessage.attachment_id == DirectMessageAttachment.id)
                    .exists(),
                )
                .returning(DirectMessageAttachment.id)
            )
        )
        await queue_purges(session, attachment_ids=gone, location=media.location)
    orphans = await _sweep(ctx, media, older_than=cutoff.timestamp(), queued=set(gone))
    await purge_queued(ctx)
    return len(gone) + orphans


async def _sweep(
    ctx: Context, media: MediaStore, *, older_than: float, queued: set[uuid.UUID]
) -> int:
    """Queue for purge the store's image folders untouched since `older_than` that have no
    row (a deletion whose purge was lost, an upload whose row never committed); how many."""
    folders = await asyncio.to_thread(media.attachment_dirs, older_than=older_than)
    # Only our own names (a folder per image id); anything else in the prefix is left alone.
    ids = [uuid.UUID(hex=f) for f in folders if re.fullmatch(r"[0-9a-f]{32}", f)]
    ids = [i for i in ids if i not in queued]
    orphans: list[uuid.UUID] = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        async with transaction(ctx.sessions) as session:
            known = set(
                await session.scalars(
                    select(DirectMessageAttachment.id).where(DirectMessageAttachment.id.in_(chunk))
                )
            )
            lost = [i for i in chunk if i not in known]
            await queue_purges(session, attachment_ids=lost, location=media.location)
        orphans += lost
    return len(orphans)
