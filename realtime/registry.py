"""The socket event registry: each handler declares its name, payload and ack models.

The same declarations validate payloads, translate errors into acks, log every event and
produce the event catalogue (docs/events.md and an AsyncAPI document)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, TypeAdapter, ValidationError

from models.accounts.tables import Role
from models.core import metrics, tracing
from models.core.context import Context
from models.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    check_storable,
    from_backend,
    validation_details,
)
from models.core.events import Outbox

log = logging.getLogger("cinema.socket")
Direction = Literal["client", "server"]


@dataclass
class SocketCall:
    ctx: Context
    server: Any  # socketio.AsyncServer
    sid: str
    user_id: uuid.UUID
    session_id: str
    role: Role
    event: str
    payload: Any
    outbox: Outbox

    def require_role(self, role: Role) -> None:
        if not self.role.at_least(role):
            raise Forbidden(f"This needs the {role.value} role", code="forbidden")


SocketHandler = Callable[[SocketCall], Awaitable[Any]]


@dataclass
class EventSpec:
    name: str
    direction: Direction
    payload: Any
    ack: Any
    doc: str
    handler: SocketHandler | None = None

    @cached_property
    def payload_adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.payload)

    @cached_property
    def ack_adapter(self) -> TypeAdapter[Any]:
        return TypeAdapter(self.ack)


class Registry:
    def __init__(self) -> None:
        self.specs: dict[str, EventSpec] = {}
        # Kept apart: one name may travel both ways (party:chat is sent and broadcast).
        self.server_specs: dict[str, EventSpec] = {}

    def on(
        self, name: str, *, payload: Any = None, ack: Any = None, doc: str = ""
    ) -> Callable[[SocketHandler], SocketHandler]:
        """Declare a client-to-server event and its handler."""

        def register(handler: SocketHandler) -> SocketHandler:
            if name in self.specs:
                raise ValueError(f"socket event {name!r} declared twice")
            self.specs[name] = EventSpec(
                name, "client", payload, ack, doc or (handler.__doc__ or "").strip(), handler
            )
            return handler

        return register

    def emits(self, name: str, *, payload: Any, doc: str) -> None:
        """Declare a server-to-client event (for the catalogue)."""
        self.server_specs.setdefault(name, EventSpec(name, "server", payload, None, doc))

    def client_events(self) -> list[EventSpec]:
        return [s for s in self.specs.values() if s.direction == "client"]

    def server_events(self) -> list[EventSpec]:
        return list(self.server_specs.values())

    def all_specs(self) -> list[EventSpec]:
        """Client events, then server events, each sorted by name (for the catalogue)."""
        return sorted(self.specs.values(), key=lambda s: s.name) + sorted(
            self.server_specs.values(), key=lambda s: s.name
        )


events = Registry()


def ok(data: Any = None) -> dict[str, Any]:
    return {"ok": True, "data": data}


def error_ack(exc: DomainError) -> dict[str, Any]:
    return {"ok": False, **exc.to_dict()}


def _validate(spec: EventSpec, raw: Any) -> Any:
    if spec.payload is None:
        return raw
    try:
        payload = spec.payload_adapter.validate_python({} if raw is None else raw)
        check_storable(payload, "payload")
        return payload
    except ValidationError as exc:
        raise InvalidInput(
            f"Invalid payload for {spec.name}",
            code="invalid_payload",
            details=validation_details(exc),
        ) from exc


async def dispatch(
    spec: EventSpec, call_factory: Callable[[Any], Awaitable[SocketCall]], raw: Any
) -> dict[str, Any]:
    """Run one event: authorize the session, validate, call, ack; never raise."""
    if not tracing.active():
        # OpenTelemetry's no-op span still sets and resets the context: ~5 % of a private
        # message's CPU for nothing.
        return await _dispatch(spec, call_factory, raw)
    with tracing.tracer.start_as_current_span(
        f"socket {spec.name}",
        kind=tracing.SpanKind.SERVER,
        attributes={"socketio.event": spec.name},
    ) as span:
        result = await _dispatch(spec, call_factory, raw)
        if not result["ok"]:
            span.set_attribute("socketio.ack_code", result["error"]["code"])
            if result["error"]["code"] == "internal":
                tracing.fail(span, "internal")
        return result


async def _dispatch(
    spec: EventSpec, call_factory: Callable[[Any], Awaitable[SocketCall]], raw: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    call: SocketCall | None = None
    result: dict[str, Any]
    try:
        call = await call_factory(None)
        call.payload = _validate(spec, raw)
        assert spec.handler is not None
        data = await spec.handler(call)
        await call.ctx.flush(call.outbox)
        if isinstance(data, BaseModel):
            data = data.model_dump(mode="json")
        elif spec.ack is not None and data is not None:
            data = spec.ack_adapter.dump_python(data, mode="json")
        result = ok(data)
    except DomainError as exc:
        result = error_ack(exc)
    except Exception as exc:
        translated = from_backend(exc)
        if translated is not None:
            result = error_ack(translated)
        else:
            log.exception("socket event %s failed", spec.name)
            result = {
                "ok": False,
                "error": {"code": "internal", "message": "Internal server error"},
            }
    took = time.perf_counter() - started
    outcome = "ok" if result["ok"] else result["error"]["code"]
    metrics.socket_events.labels(spec.name, outcome).inc()
    metrics.socket_ack_seconds.labels(spec.name).observe(took)
    log.info(
        "event %s %s",
        spec.name,
        "ok" if result["ok"] else result["error"]["code"],
        extra={
            "event": "socket_event",
            "socket_event": spec.name,
            "sid": call.sid if call else None,
            "user_id": str(call.user_id) if call else None,
            "ok": result["ok"],
            "code": None if result["ok"] else result["error"]["code"],
            "duration_ms": round(took * 1000, 2),
        },
    )
    return result
