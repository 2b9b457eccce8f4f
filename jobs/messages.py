"""Message jobs: an image's files after its message was deleted or its account erased, and
the hourly prune of uploads nobody sent."""

from __future__ import annotations

from jobs.registry import JobContext, app, cron, job
from models.core import clock
from models.social.messages import attachments


@job
async def purge_dm_attachment(ctx: JobContext, *, folder: str) -> None:
    """The files of an image whose message was deleted (its row went with the deletion)."""
    await attachments.purge_files(app(ctx), folder=folder)


@job
async def purge_dm_attachment_files(ctx: JobContext) -> int:
    """Files of images whose rows went with an erased account (queued in its transaction)."""
    return await attachments.purge_queued(app(ctx))


async def prune_dm_attachments(ctx: JobContext) -> int:
    """Hourly: uploads no message used within a day, and files left without a row."""
    return await attachments.prune(app(ctx), now=clock.now())


cron(prune_dm_attachments, minute={41}, max_tries=3)
