"""Message jobs: an image's files after its message was deleted or its account erased, and
the hourly prune of uploads nobody sent."""

from __future__ import annotations

from jobs.registry import JobContext, app, cron, job
from models.core import clock
from models.social.messages import attachments


@job
async def purge_dm_attachment(ctx: JobContext, *, folder: str) -> None:
    """One image's files: kept for jobs an older version queued (deletions and discards now
    queue their images in `dm_attachment_purges`, removed by purge_dm_attachment_files)."""
    await attachments.purge_files(app(ctx), folder=folder)


@job
async def purge_dm_attachment_files(ctx: JobContext) -> int:
    """Files of images whose rows went (a deleted message, a discarded upload, an erased
    account, the sweep), queued in that transaction."""
    return await attachments.purge_queued(app(ctx))


async def prune_dm_attachments(ctx: JobContext) -> int:
    """Hourly: uploads no message used within a day, and image folders in the store (disk or
    bucket) left without a row, through the purge queue."""
    return await attachments.prune(app(ctx), now=clock.now())


cron(prune_dm_attachments, minute={41}, max_tries=3)
