"""arq functions and cron jobs, declared where they live and collected by the worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from arq.cron import CronJob
from arq.cron import cron as arq_cron
from arq.worker import Function
from arq.worker import func as arq_func

from models.core.context import Context

JobContext = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

functions: list[Callable[..., Awaitable[Any]] | Function] = []
cron_jobs: list[CronJob] = []


def job(fn: F) -> F:
    """Register an arq function; enqueue it by its name."""
    functions.append(fn)
    return fn


def private_job(fn: F) -> F:
    """Register an arq function whose arguments are secret (mail carrying sign-in links):
    its result is not kept in Redis after it ran."""
    functions.append(arq_func(cast(Any, fn), name=fn.__name__, keep_result=0))
    return fn


def long_job(*, timeout_s: int, max_tries: int | None = None) -> Callable[[F], F]:
    """Register an arq function whose run may outlast the worker's job_timeout (transcodes)."""

    def register(fn: F) -> F:
        functions.append(
            arq_func(cast(Any, fn), name=fn.__name__, timeout=timeout_s, max_tries=max_tries)
        )
        return fn

    return register


def cron(fn: F, **schedule: Any) -> F:
    """Register fn to run on a schedule (arq.cron keywords: hour, minute, second...)."""
    schedule.setdefault("run_at_startup", False)
    schedule.setdefault("unique", True)
    cron_jobs.append(arq_cron(fn, name=fn.__name__, **schedule))  # type: ignore[arg-type]
    return fn


def app(ctx: JobContext) -> Context:
    app_ctx: Context = ctx["app"]
    return app_ctx
