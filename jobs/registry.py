"""arq functions and cron jobs, declared where they live and collected by the worker."""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from arq.cron import CronJob
from arq.cron import cron as arq_cron
from arq.worker import Function, Retry
from arq.worker import func as arq_func

from models.core import metrics, tracing
from models.core.context import Context

JobContext = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

functions: list[Callable[..., Awaitable[Any]] | Function] = []
cron_jobs: list[CronJob] = []


def _observed(fn: F) -> F:
    """The same job, counted and timed in the metrics (outcome: ok, retry, failed,
    cancelled), in a span that continues the trace of whoever queued it."""
    name = fn.__name__

    @functools.wraps(fn)
    async def run(ctx: JobContext, *args: Any, **kwargs: Any) -> Any:
        parent = tracing.job_parent(kwargs.pop(tracing.JOB_CONTEXT, None))
        started = time.perf_counter()
        outcome = "failed"
        running = metrics.jobs_running.labels(name)
        running.inc()
        with tracing.tracer.start_as_current_span(
            f"job {name}",
            context=parent,
            kind=tracing.SpanKind.CONSUMER,
            attributes={"job.function": name, "job.id": str(ctx.get("job_id") or "")},
        ) as span:
            try:
                result = await fn(ctx, *args, **kwargs)
                outcome = "ok"
                return result
            except Retry:
                outcome = "retry"
                raise
            except asyncio.CancelledError:
                outcome = "cancelled"
                raise
            finally:
                span.set_attribute("job.outcome", outcome)
                running.dec()
                metrics.job_runs.labels(name, outcome).inc()
                metrics.job_duration.labels(name).observe(time.perf_counter() - started)

    return cast(F, run)


def job(fn: F) -> F:
    """Register an arq function; enqueue it by its name."""
    functions.append(_observed(fn))
    return fn


def private_job(fn: F) -> F:
    """Register an arq function whose arguments are secret (mail carrying sign-in links):
    its result is not kept in Redis after it ran."""
    functions.append(arq_func(cast(Any, _observed(fn)), name=fn.__name__, keep_result=0))
    return fn


def long_job(*, timeout_s: int, max_tries: int | None = None) -> Callable[[F], F]:
    """Register an arq function whose run may outlast the worker's job_timeout (transcodes)."""

    def register(fn: F) -> F:
        functions.append(
            arq_func(
                cast(Any, _observed(fn)), name=fn.__name__, timeout=timeout_s, max_tries=max_tries
            )
        )
        return fn

    return register


def cron(fn: F, **schedule: Any) -> F:
    """Register fn to run on a schedule (arq.cron keywords: hour, minute, second...)."""
    schedule.setdefault("run_at_startup", False)
    schedule.setdefault("unique", True)
    cron_jobs.append(arq_cron(_observed(fn), name=fn.__name__, **schedule))  # type: ignore[arg-type]
    return fn


def app(ctx: JobContext) -> Context:
    app_ctx: Context = ctx["app"]
    return app_ctx
