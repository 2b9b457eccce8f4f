"""The JobQueue behind models.core.context: arq's pool on our prefixed queue, jobs as JSON.

arq serializes jobs with pickle unless told otherwise, and unpickling runs code: anyone who
can write one key to Redis would run code in the worker. Every pool and the worker use
`dump_job` / `load_job` instead, and a payload that is not JSON is refused unread.
"""

from __future__ import annotations

import logging
from typing import Any, cast

import orjson
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

from models.core import metrics, tracing
from models.core.redis import FAILOVER_RETRIES, make_redis, parse_sentinel_url

log = logging.getLogger("cinema.jobs")

_PLAIN = (str, int, float, bool, type(None))


def _check_plain(value: Any, where: str) -> None:
    """Job arguments are JSON's own types: a UUID or a datetime would come back a string."""
    if isinstance(value, _PLAIN):
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"job argument {where} has a non-string key {key!r}")
            _check_plain(item, f"{where}.{key}")
        return
    raise TypeError(
        f"job argument {where} is a {type(value).__name__}: pass JSON types (str, int, ...)"
    )


def _describe(value: Any) -> Any:
    """A job's result may be an exception (a failed job): keep its text."""
    if isinstance(value, BaseException):
        return f"{type(value).__name__}: {value}"
    raise TypeError(f"cannot store a {type(value).__name__} in a job result")


def dump_job(data: dict[str, Any]) -> bytes:
    """arq's job and result records as JSON. Results keep no arguments: they outlive the job,
    nothing reads them, and a mail job's arguments carry sign-in links."""
    if "s" in data:  # a result record
        data = {**data, "a": [], "k": {}}
    else:
        for i, arg in enumerate(data.get("a", ())):
            _check_plain(arg, f"#{i}")
        for name, arg in data.get("k", {}).items():
            _check_plain(arg, name)
    return orjson.dumps(data, default=_describe)


def load_job(raw: bytes) -> dict[str, Any]:
    """Parse a job or result record; anything that is not a JSON object is refused unread."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        data = None
    if not isinstance(data, dict):
        log.warning(
            "refused a job payload that is not a JSON job (%d bytes): someone wrote to the "
            "queue with another serializer, or tampered with Redis",
            len(raw),
            extra={"event": "job_refused"},
        )
        raise ValueError("not a JSON job payload: refused")
    return data


def redis_settings(redis_url: str) -> RedisSettings:
    return RedisSettings.from_dsn(redis_url)


def arq_redis(redis_url: str, queue_name: str, *, retries: int = FAILOVER_RETRIES) -> ArqRedis:
    """arq's client made as every other (models/core/redis.py: one Redis, or the master
    through Sentinel with retries across a failover, which arq's own sentinel pool lacks),
    writing and reading jobs as JSON."""
    pool = cast(
        ArqRedis,
        make_redis(
            redis_url,
            redis_class=ArqRedis,
            retries=retries,
            decode_responses=False,
            health_check_interval=0,
        ),
    )
    pool.job_serializer = dump_job
    pool.job_deserializer = load_job
    pool.default_queue_name = queue_name
    return pool


async def connect_pool(redis_url: str, queue_name: str) -> ArqRedis:
    """An arq pool that writes and reads jobs as JSON: the only way this codebase makes one."""
    if parse_sentinel_url(redis_url) is not None:
        pool = arq_redis(redis_url, queue_name)
        await pool.ping()
        return pool
    return await create_pool(
        redis_settings(redis_url),
        default_queue_name=queue_name,
        job_serializer=dump_job,
        job_deserializer=load_job,
    )


class ArqQueue:
    def __init__(self, pool: ArqRedis, queue_name: str) -> None:
        self.pool = pool
        self.queue_name = queue_name

    @classmethod
    async def connect(cls, redis_url: str, queue_name: str) -> ArqQueue:
        return cls(await connect_pool(redis_url, queue_name), queue_name)

    async def enqueue(self, function: str, /, *args: Any, **kwargs: Any) -> None:
        carrier = tracing.job_context()
        if carrier:  # the job's span continues this trace (jobs/registry.py)
            kwargs[tracing.JOB_CONTEXT] = carrier
        job = await self.pool.enqueue_job(function, *args, _queue_name=self.queue_name, **kwargs)
        if job is not None:  # None: a job of that id is queued already
            metrics.jobs_enqueued.labels(function).inc()

    async def close(self) -> None:
        await self.pool.aclose()
