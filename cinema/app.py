"""The one ASGI application: Starlette for /api/v1 and Socket.IO at /socket.io/."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import realtime.handlers  # noqa: F401  (registers socket events)
from cinema.context import build_context, close_context, require_urls
from cinema.logsetup import redact
from http_api import webapp
from http_api.app import create_http_app
from http_api.routing import JSONResponse
from models.core import tracing
from models.core.redis import Keys
from models.core.settings import Settings
from realtime.catalogue import build_asyncapi
from realtime.registry import events
from realtime.server import Realtime, make_server


def create_app(settings: Settings, *, freeze_startup: bool = False) -> Any:
    """`freeze_startup`: once started, keep what start-up built out of later garbage
    collections (a served process; not the test suite, which builds app after app)."""
    _, redis_url = require_urls(settings)
    sio = make_server(settings, redis_url, Keys(settings.redis_prefix).socketio_channel)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        ctx = await build_context(settings, emitter=sio)
        rt = Realtime(sio, ctx)
        rt.start()
        app.state.ctx = ctx
        app.state.realtime = rt
        if freeze_startup:
            settle_gc()
        try:
            yield
        finally:
            await rt.stop()
            await sio.shutdown()
            await close_context(ctx)

    http = create_http_app(settings, lifespan=lifespan)
    if tracing.active():
        _trace_requests(http)
    asyncapi = build_asyncapi(events)

    async def asyncapi_doc(request: Request) -> Response:
        return JSONResponse(asyncapi)

    http.router.routes.append(Route("/asyncapi.json", asyncapi_doc))
    http.router.routes.extend(webapp.routes(settings))  # last: every other page is the app's
    asgi = socketio.ASGIApp(sio, other_asgi_app=http, socketio_path="socket.io")
    asgi.state = http.state  # the tests and the CLI reach ctx through app.state
    asgi.sio = sio
    return asgi


# A served process allocates in bursts (a reconnect storm: ~140 lasting objects per connect;
# a few thousand requests, events and their futures in flight under DM load). With CPython's
# default first threshold (700) the youngest generation was collected every five connects,
# what was in flight then was promoted, and full collections walking every socket's objects
# (~35 ms of CPU at 2,000 sockets, ~170 at 10,000, ~130 ms over ~200k objects under DM load,
# every socket waiting) took ~15 % of a busy process's CPU; ~30 times fewer of both.
GC_THRESHOLDS = (20_000, 10, 10)


def settle_gc() -> None:
    """Leave what start-up built (modules, classes, the ORM's and pydantic's tables: about
    200k objects, most of the process's) out of every later garbage collection: the full
    collections that sockets arriving by the thousand set off walked them all again each
    time, a fifth of a connect's CPU. Cycles among them are collected once, first; what
    start-up built and later drops is still freed by its reference count. Then collect less
    often (GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def _trace_requests(http: Starlette) -> None:
    """A span per HTTP request, outermost, named by method until the router names its route
    (http_api/middleware.py); URLs in it are redacted as in the logs."""
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    def by_method(scope: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return str(scope.get("method") or "HTTP"), {}

    def redact_urls(span: Any, scope: dict[str, Any]) -> None:
        for key in ("http.url", "url.full", "http.target", "url.query"):
            value = (getattr(span, "attributes", None) or {}).get(key)
            if isinstance(value, str):
                span.set_attribute(key, redact(value))

    http.add_middleware(
        OpenTelemetryMiddleware,
        default_span_details=by_method,
        server_request_hook=redact_urls,
        exclude_spans=["receive", "send"],
    )


def asgi_factory() -> Any:
    """Entry point for `uvicorn --factory cinema.app:asgi_factory`."""
    from cinema.logsetup import setup_logging

    settings = Settings()
    setup_logging(
        level=settings.log_level,
        log_dir=settings.log_dir,
        as_json=settings.log_json,
        to_file=settings.log_file,
    )
    tracing.setup(
        endpoint=settings.otel_exporter_otlp_endpoint,
        service=settings.otel_service_name,
        process="web",
    )
    return create_app(settings, freeze_startup=True)
