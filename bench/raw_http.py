"""A lean HTTP/1.1 keep-alive client for write benchmarks: requests built as bytes beforehand,
one in flight per connection, responses read by Content-Length.

httpx spends ~1 ms of client CPU per request (its models, header handling, the pool), so a
Python client on one core tops out near a thousand requests a second, below what the servers
under test can take; this one spends a few tens of microseconds. It speaks only what the
benchmarks need: requests it built itself, answers with a Content-Length (uvicorn's JSON).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def request(method: str, url: str, *, body: bytes = b"", headers: dict[str, str]) -> bytes:
    """One request as bytes (`url`: absolute; the connection decides where it goes)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


@dataclass
class Outcome:
    """What a batch of connections did: statuses seen, latencies (s), connection retries."""

    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    retries: int = 0
    failed: int = 0  # requests given up after retries

    @property
    def errors(self) -> int:
        return self.failed + sum(n for s, n in self.statuses.items() if s >= 300)


class Connection:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
        self._reader = self._writer = None

    async def send(self, raw: bytes) -> tuple[int, bytes]:
        """The status and body of one request on this connection (opened again if need be)."""
        reader, writer = await self._open()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = _content_length(head)
        body = await reader.readexactly(length) if length else b""
        if b"\r\nconnection: close" in head.lower():
            await self.close()
        return status, body

    async def run(self, requests: list[bytes], outcome: Outcome, *, attempts: int = 3) -> None:
        """Each request in order, one after the other; one that lost its connection is sent
        again (the benchmarks send only idempotent writes)."""
        for raw in requests:
            started = time.perf_counter()
            for _ in range(attempts):
                try:
                    status, _ = await self.send(raw)
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                    outcome.retries += 1
                    await self.close()
                    continue
                outcome.statuses[status] = outcome.statuses.get(status, 0) + 1
                break
            else:
                outcome.failed += 1
            outcome.latencies.append(time.perf_counter() - started)


def _content_length(head: bytes) -> int:
    at = head.lower().find(b"\r\ncontent-length:")
    if at < 0:
        if b"\r\ntransfer-encoding: chunked" in head.lower():
            raise ValueError("chunked answers are not read by this client")
        return 0
    end = head.find(b"\r\n", at + 2)
    return int(head[at + 17 : end])


async def drive(connections: list[Connection], queues: list[list[bytes]]) -> Outcome:
    """Every connection sends its queue in order, all connections at once."""
    outcome = Outcome()
    await asyncio.gather(*(c.run(q, outcome) for c, q in zip(connections, queues, strict=True)))
    return outcome
