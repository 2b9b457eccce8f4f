"""Container logs: JSON lines on stdout, no file, and the trace id of the running span."""

from __future__ import annotations

import io
import json
import logging
import sys

from opentelemetry.sdk.trace import TracerProvider

from cinema.logsetup import flush_logs, setup_logging
from models.core.settings import Settings


def test_json_lines_on_stdout_carry_the_trace_id(settings: Settings) -> None:
    where = settings.log_dir / "container"
    # stdout is this stream while the handler is made (it keeps the stream it found): a
    # stream the test owns, so nothing closes it under the writer thread afterwards.
    out = io.StringIO()
    real_stdout, sys.stdout = sys.stdout, out
    try:
        setup_logging(level="INFO", log_dir=where, as_json=True, to_file=False)
    finally:
        sys.stdout = real_stdout
    try:
        tracer = TracerProvider().get_tracer("test")
        with tracer.start_as_current_span("work") as span:
            logging.getLogger("cinema.http").info("inside", extra={"request_id": "r-1234567"})
        logging.getLogger("cinema.http").info("outside")
        flush_logs()
        lines = [json.loads(line) for line in out.getvalue().splitlines() if line]
    finally:
        setup_logging(level="INFO", log_dir=settings.log_dir)
    inside = next(line for line in lines if line["message"] == "inside")
    assert inside["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert inside["span_id"] == format(span.get_span_context().span_id, "016x")
    assert inside["request_id"] == "r-1234567"
    outside = next(line for line in lines if line["message"] == "outside")
    assert "trace_id" not in outside
    assert not where.exists()  # no app.log
