"""arq functions and cron jobs, declared where they live and collected by the worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from arq.cron import CronJob
from arq.cron import cron as arq_cron

from models.core.context import Context

JobContext = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

functions: list[Callable[..., Awaitable[Any]]] = []
cron_jobs: list[CronJob] = []


def job(fn: F) -> F:
    """Register an arq function; enqueue it by its name."""
    functions.append(fn)
    return fn


def cron(fn: F, **schedule: Any) -> F:
    """Register fn to run on a schedule (arq.cron keywords: hour, minute, second...)."""
    schedule.setdefault("run_at_startup", False)
    schedule.setdefault("unique", True)
    cron_jobs.append(arq_cron(fn, name=fn.__name__, **schedule))  # type: ignore[arg-type]
    return fn


def app(ctx: JobContext) -> Context:
    app_ctx: Context = ctx["app"]
    return app_ctx
