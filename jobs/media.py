"""The transcode job: one ffmpeg ladder run per queued source."""

from __future__ import annotations

import logging

from arq import Retry

from jobs.registry import JobContext, app, cron, long_job
from models.media import service

log = logging.getLogger("cinema.jobs.media")


# Hours of video on a small machine: well past the default job timeout.
@long_job(timeout_s=12 * 3600, max_tries=10)
async def transcode_media(ctx: JobContext, *, asset_id: int, token: str) -> str:
    """Encode an asset's source into HLS + DASH renditions; returns a one-line outcome."""
    try:
        outcome = await service.run_transcode(app(ctx), asset_id=asset_id, token=token)
    except service.Busy as exc:
        # The previous run of this asset is still letting go; come back shortly.
        raise Retry(defer=min(5 * int(ctx.get("job_try", 1)), 30)) from exc
    log.info("transcode asset %s: %s", asset_id, outcome)
    return outcome


async def prune_orphaned_media(ctx: JobContext) -> int:
    """Nightly: remove files of films and episodes deleted from the catalog."""
    return len(await service.do_prune_orphans(app(ctx)))


cron(prune_orphaned_media, hour={4}, minute={17})
