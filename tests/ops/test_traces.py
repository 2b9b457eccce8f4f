"""Traces: a request to a real server and the job it queued in a real worker arrive at a local
OTLP/HTTP receiver as one trace (HTTP -> SQL -> job -> SQL), socket events have spans, and
the request's log line carries the trace id."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

from cinema.ports import free_port
from models.core.settings import Settings
from tests.conftest import LiveServer, worker_process
from tests.factories import PASSWORD
from tests.realtime_client import connected

pytestmark = pytest.mark.slow  # starts a server, a worker and a receiver


@dataclass
class Span:
    process: str
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    kind: int
    attributes: dict[str, Any]


class Receiver:
    """An OTLP/HTTP collector of traces (protobuf), as a collector would listen on 4318."""

    def __init__(self) -> None:
        self.spans: list[Span] = []
        self.posts: list[str] = []
        spans, posts = self.spans, self.posts

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                posts.append(f"{self.path} {self.headers.get('Content-Type')}")
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                for resource in request.resource_spans:
                    attrs = {a.key: a.value.string_value for a in resource.resource.attributes}
                    for scope in resource.scope_spans:
                        for s in scope.spans:
                            spans.append(
                                Span(
                                    attrs.get("cinema.process", ""),
                                    s.name,
                                    s.trace_id.hex(),
                                    s.span_id.hex(),
                                    s.parent_span_id.hex(),
                                    s.kind,
                                    {
                                        a.key: a.value.string_value or a.value.int_value
                                        for a in s.attributes
                                    },
                                )
                            )
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def traced(settings: Settings) -> Iterator[tuple[LiveServer, Receiver]]:
    receiver = Receiver()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url,
        "OTEL_BSP_SCHEDULE_DELAY": "200",
        "REDIS_PREFIX": f"{settings.redis_prefix}-traces",
    }
    server = LiveServer(settings, free_port(), env=env)
    try:
        with worker_process(settings, "traces-worker", **env):
            try:
                server.wait_ready()
                yield server, receiver
            finally:
                server.stop()
    finally:
        receiver.stop()


def _sql(span: Span) -> bool:
    return (
        any(key.startswith("db.") for key in span.attributes)
        and "INSERT SELECT UPDATE".count(span.name.split(" ")[0]) > 0
    )


async def _until(check: Any, timeout: float = 60) -> Any:
    async def poll() -> Any:
        while not (found := check()):
            await asyncio.sleep(0.2)
        return found

    return await asyncio.wait_for(poll(), timeout)


async def _account(server: LiveServer) -> str:
    """A new account's access token, registered and logged in over HTTP."""
    tag = uuid.uuid4().hex[:10]
    email = f"t{tag}@example.com"
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        r = await http.post(
            "/api/v1/auth/register",
            json={"email": email, "username": f"t{tag}", "password": PASSWORD},
        )
        assert r.status_code == 202, r.text
        r = await http.post(
            "/api/v1/auth/token",
            data={"username": email, "password": PASSWORD, "grant_type": "password"},
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token


async def test_a_request_and_its_job_are_one_trace(
    settings: Settings, traced: tuple[LiveServer, Receiver]
) -> None:
    server, receiver = traced
    token = await _account(server)
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as http:
        # A new display name: an UPDATE, then a job that reads the profile and tells the
        # user's other devices.
        r = await http.patch(
            "/api/v1/me",
            json={"display_name": "Traced"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 200, r.text
        request_id = r.headers["x-request-id"]

    def register_trace() -> list[Span] | None:
        roots = [s for s in receiver.spans if s.name == "PATCH /api/v1/me"]
        if not roots:
            return None
        trace = [s for s in receiver.spans if s.trace_id == roots[0].trace_id]
        job = [s for s in trace if s.name == "job announce_account_update"]
        if not job or not any(s.parent_id == job[0].span_id for s in trace):
            return None
        return trace

    try:
        trace = await _until(register_trace)
    except TimeoutError:
        got = [(s.process, s.name, s.trace_id[:6], s.parent_id[:6]) for s in receiver.spans]
        raise AssertionError(f"no trace from the request to its job in {got}") from None
    root = next(s for s in trace if s.name == "PATCH /api/v1/me")
    assert root.process == "web" and not root.parent_id
    assert root.attributes["http.route"] == "/api/v1/me"
    ids = {s.span_id: s for s in trace}
    web_sql = [s for s in trace if s.process == "web" and _sql(s)]
    assert any(s.name.startswith("UPDATE") for s in web_sql), [
        (s.name, s.attributes) for s in trace
    ]
    job = next(s for s in trace if s.name == "job announce_account_update")
    assert job.process == "worker" and job.parent_id in ids  # queued inside the request
    # The job's own SQL is a child of the job's span.
    assert any(_sql(s) and s.parent_id == job.span_id for s in trace), [
        (s.process, s.name) for s in trace
    ]
    assert all(p.startswith("/v1/traces application/x-protobuf") for p in receiver.posts)

    # The request's log line names its trace beside its request id.
    log = settings.log_dir / "app.log"

    def logged() -> bool:
        return any(
            request_id in line and f"trace_id={root.trace_id}" in line
            for line in log.read_text(errors="replace").splitlines()
        )

    await _until(logged, 20)


async def test_socket_events_have_spans(
    traced: tuple[LiveServer, Receiver], settings: Settings
) -> None:
    server, receiver = traced
    token = await _account(server)
    async with connected(server.url, token) as sock:
        assert (await sock.call("session:whoami", {}))["ok"] is True
        assert (await sock.call("session:whoami", {"x": 1}))["ok"] is False

    def spans() -> list[Span]:
        return [s for s in receiver.spans if s.name == "socket session:whoami"]

    found = await _until(lambda: len(spans()) >= 2 and spans())
    assert {s.attributes.get("socketio.ack_code") for s in found} == {"invalid_payload", None}
    # The session check is Redis, under the event's span.
    ids = {s.span_id for s in found}
    assert any(s.parent_id in ids and s.process == "web" for s in receiver.spans)
