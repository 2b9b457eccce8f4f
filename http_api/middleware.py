"""Pure ASGI middleware: request ids and one log line per request."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.core import metrics, tracing

log = logging.getLogger("cinema.http")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Before the answer leaves: the request's span ends with its last byte.
                tracing.name_request(scope, _template(scope))
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            took = time.perf_counter() - started
            route = _template(scope)
            metrics.http_requests.labels(route, scope["method"], str(status)).inc()
            metrics.http_duration.labels(route, scope["method"]).observe(took)
            log.info(
                "%s %s %s %.1fms",
                scope["method"],
                scope["path"],
                status,
                took * 1000,
                extra={
                    "event": "http_request",
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(took * 1000, 2),
                    "request_id": request_id,
                    "user_id": state.get("user_id"),
                    "client": (scope.get("client") or ("", 0))[0],
                },
            )


def _template(scope: Scope) -> str:
    """The matched route's path template (a label of bounded cardinality), not the path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
