"""Account jobs: tell every device of a user that their profile changed."""

from __future__ import annotations

import uuid

from jobs.registry import JobContext, app, job
from models.accounts import service
from models.core.db import transaction
from models.core.events import user_room


@job
async def announce_account_update(ctx: JobContext, *, user_id: str) -> None:
    app_ctx = app(ctx)
    async with transaction(app_ctx.sessions) as session:
        profile = await service.profile_of(session, user_id=uuid.UUID(user_id))
    if profile is not None:
        await app_ctx.publisher.emit(
            "account:updated", profile.model_dump(mode="json"), room=user_room(user_id)
        )
