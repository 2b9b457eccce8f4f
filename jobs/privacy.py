"""My data: build an export, erase accounts whose grace period is over, prune old exports."""

from __future__ import annotations

import uuid

from jobs.registry import JobContext, app, cron, job
from models.privacy import service
from models.social.messages import attachments
from models.social.reviews.service import refresh_summaries


@job
async def build_data_export(ctx: JobContext, *, export_id: str) -> None:
    await service.build_export(app(ctx), export_id=uuid.UUID(export_id))


@job
async def refresh_title_summaries(ctx: JobContext, *, title_ids: list[int]) -> None:
    """Counters an erased account fed changed: cache the titles' new summaries."""
    await refresh_summaries(app(ctx), sorted(title_ids))


async def purge_deleted_accounts(ctx: JobContext) -> dict[str, int]:
    app_ctx = app(ctx)
    return {
        "erased": await service.purge_due(app_ctx),
        "exports_pruned": await service.prune_exports(app_ctx),
        # Images of erased accounts whose purge job did not run, or did not finish.
        "attachment_files_purged": await attachments.purge_queued(app_ctx),
    }


cron(purge_deleted_accounts, minute=set(range(0, 60, 10)), max_tries=3)
