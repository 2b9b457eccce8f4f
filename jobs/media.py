"""Media jobs: the transcode of a new source, the compose of a track change, and the
nightly segment suggestions and orphan prune."""

from __future__ import annotations

import logging

from arq import Retry

from jobs.registry import JobContext, app, cron, long_job
from models.core import clock
from models.core.db import transaction
from models.media import publish, segments

log = logging.getLogger("cinema.jobs.media")


# Hours of video on a small machine: well past the default job timeout.
@long_job(timeout_s=12 * 3600, max_tries=10)
async def transcode_media(ctx: JobContext, *, asset_id: int, token: str) -> str:
    """Encode an asset's source into HLS + DASH renditions; returns a one-line outcome."""
    try:
        outcome = await publish.run_transcode(app(ctx), asset_id=asset_id, token=token)
    except publish.Busy as exc:
        # The previous run of this asset is still letting go; come back shortly.
        raise Retry(defer=min(5 * int(ctx.get("job_try", 1)), 30)) from exc
    log.info("transcode asset %s: %s", asset_id, outcome)
    return outcome


# Encoding a dub is minutes of audio work at most; the video is never encoded again.
@long_job(timeout_s=2 * 3600, max_tries=3)
async def compose_media(ctx: JobContext, *, asset_id: int) -> str:
    """Publish a revision with an asset's tracks as they are now (same video)."""
    outcome = await publish.run_compose(app(ctx), asset_id=asset_id)
    log.info("compose asset %s: %s", asset_id, outcome)
    return outcome


async def suggest_media_segments(ctx: JobContext) -> int:
    """Nightly: propose intros and credits from how viewers skip and stop."""
    c = app(ctx)
    async with transaction(c.sessions) as session:
        found = await segments.do_suggest_segments(
            session, now=clock.now(), min_viewers=c.settings.media_segment_min_viewers
        )
    return len(found)


async def prune_orphaned_media(ctx: JobContext) -> int:
    """Nightly: remove files of films and episodes deleted from the catalog."""
    return len(await publish.do_prune_orphans(app(ctx)))


cron(prune_orphaned_media, hour={4}, minute={17})
cron(suggest_media_segments, hour={4}, minute={47})
