from __future__ import annotations

from cinema.worker import create_worker
from jobs.registry import cron_jobs
from models.core.settings import Settings


def test_cron_names_and_ids_carry_the_redis_prefix(settings: Settings) -> None:
    worker = create_worker(settings, handle_signals=False)
    names = {c.name for c in worker.cron_jobs}
    assert cron_jobs, "some aggregate registers cron jobs"
    assert names == {f"{settings.redis_prefix}:{c.name}" for c in cron_jobs}
    # each cron name is a function the worker can run
    assert names <= set(worker.functions)
