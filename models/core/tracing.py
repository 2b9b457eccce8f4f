"""OpenTelemetry traces, off unless an OTLP endpoint is set: spans for HTTP requests (ASGI),
socket events, SQL (SQLAlchemy), Redis commands and jobs, one trace from a request to the
jobs it queued (the context travels in the job's `_trace` keyword).

Without `setup` every call here is OpenTelemetry's no-op: nothing is recorded or sent, and
job payloads carry no context.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.context import Context as OtelContext
from opentelemetry.trace import Link, SpanKind, Status, StatusCode
from opentelemetry.util.types import Attributes

log = logging.getLogger("cinema.tracing")
tracer = trace.get_tracer("cinema")
JOB_CONTEXT = "_trace"  # the job keyword carrying the enqueuer's trace context

_active = False


def active() -> bool:
    return _active


def setup(*, endpoint: str | None, service: str, process: str) -> bool:
    """Export spans of this process to `endpoint` (OTLP/HTTP, e.g. http://collector:4318);
    False (and nothing done) without one."""
    global _active
    if not endpoint or _active:
        return _active
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, Sampler, SamplingResult

    class NoOrphanCalls(Sampler):
        """A SQL statement or Redis command outside any request, event or job (heartbeats,
        the relay, sweepers, several a second per process) starts no trace of its own:
        traces are for work someone asked for."""

        def __init__(self) -> None:
            self.rest = ParentBased(_configured_root())

        def should_sample(
            self,
            parent_context: OtelContext | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            parent = trace.get_current_span(parent_context).get_span_context()
            if kind is SpanKind.CLIENT and not parent.is_valid:
                from opentelemetry.sdk.trace.sampling import Decision

                return SamplingResult(Decision.DROP)
            return self.rest.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return "NoOrphanCalls"

    resource = Resource.create(
        {
            "service.name": service,
            "service.instance.id": f"{socket.gethostname()}:{os.getpid()}",
            "cinema.process": process,
        }
    )
    provider = TracerProvider(resource=resource, sampler=NoOrphanCalls())
    provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces"))
    )
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    _active = True
    log.info("traces go to %s", endpoint, extra={"event": "tracing_on", "cinema_process": process})
    return True


def _configured_root() -> Any:
    """The sampler OTEL_TRACES_SAMPLER names for new traces (default: every one)."""
    from opentelemetry.sdk.trace.sampling import ALWAYS_ON, TraceIdRatioBased

    name = os.environ.get("OTEL_TRACES_SAMPLER", "")
    if name in ("traceidratio", "parentbased_traceidratio"):
        try:
            return TraceIdRatioBased(float(os.environ.get("OTEL_TRACES_SAMPLER_ARG", "1")))
        except ValueError:
            pass
    return ALWAYS_ON


def instrument_engine(engine: Any) -> None:
    """SQL spans for this engine (a span per statement, under the request's or job's)."""
    if not _active:
        return
    from opentelemetry.instrumentation.sqlalchemy.engine import EngineTracer
    from opentelemetry.metrics import get_meter

    usage = get_meter("cinema.db").create_up_down_counter("db.client.connections.usage")
    tracer_ = trace.get_tracer("opentelemetry.instrumentation.sqlalchemy")
    EngineTracer(tracer_, engine, usage)  # type: ignore[no-untyped-call]


def current_ids() -> tuple[str, str] | None:
    """The trace and span ids (hex) of the span running now, if one is recorded."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def job_context() -> dict[str, str]:
    """The running span's context for a job's keywords (empty when nothing is traced)."""
    carrier: dict[str, str] = {}
    if _active:
        propagate.inject(carrier)
    return carrier


def job_parent(carrier: Mapping[str, Any] | None) -> OtelContext | None:
    if not carrier or not isinstance(carrier, Mapping):
        return None
    return propagate.extract({str(k): str(v) for k, v in carrier.items()})


def name_request(scope: Mapping[str, Any], route: str) -> None:
    """Name the request's span by its route template once the router matched it."""
    span = trace.get_current_span()
    if span.is_recording():
        span.update_name(f"{scope.get('method', 'HTTP')} {route}")
        span.set_attribute("http.route", route)


def fail(span: trace.Span, code: str) -> None:
    span.set_status(Status(StatusCode.ERROR, code))


__all__ = ["JOB_CONTEXT", "SpanKind", "tracer"]
