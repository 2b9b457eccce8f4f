from __future__ import annotations

from cinema.worker import create_worker
from jobs.registry import cron_jobs
from models.core.jobs import Job
from models.core.settings import Settings


def test_cron_names_and_ids_carry_the_redis_prefix(settings: Settings) -> None:
    worker = create_worker(settings, handle_signals=False)
    names = {c.name for c in worker.cron_jobs}
    assert cron_jobs, "some aggregate registers cron jobs"
    assert names == {f"{settings.redis_prefix}:{c.name}" for c in cron_jobs}
    # each cron name is a function the worker can run
    assert names <= set(worker.functions)


def test_every_job_name_is_one_the_worker_runs(settings: Settings) -> None:
    """Enqueueing by a name no worker registered fails only when the job runs; the names
    live in one enum, and it and the worker's functions and crons are the same list."""
    worker = create_worker(settings, handle_signals=False)
    crons = {c.name for c in cron_jobs}
    functions = set(worker.functions) - {c.name for c in worker.cron_jobs}
    assert functions | crons == {j.value for j in Job}
