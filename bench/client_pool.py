"""Thousands of raw Socket.IO clients (bench/eio_client.py) in worker processes pinned to the
client cores, driven over a pipe by the benchmark."""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import time
from collections import Counter
from multiprocessing.connection import Connection
from typing import Any

from bench.common import pin_self
from bench.eio_client import EioClient


def _main(conn: Connection, cores: str | None) -> None:
    pin_self(cores)
    asyncio.run(_serve(conn))


async def _serve(conn: Connection) -> None:
    clients: list[EioClient] = []
    events: Counter[str] = Counter()

    def on_event(name: str, data: Any) -> None:
        events[name] += 1

    loop = asyncio.get_running_loop()
    while True:
        msg = await loop.run_in_executor(None, conn.recv)
        kind = msg[0]
        if kind == "connect":
            _, urls, auths, deflate, concurrency = msg
            gate = asyncio.Semaphore(concurrency)
            errors: Counter[str] = Counter()

            t0 = time.perf_counter()
            await asyncio.gather(
                *(
                    _open(clients, errors, gate, urls[i % len(urls)], a, deflate, on_event)
                    for i, a in enumerate(auths)
                )
            )
            conn.send(("connected", len(clients), dict(errors), time.perf_counter() - t0))
        elif kind == "call":
            _, event, data = msg
            acks = await asyncio.gather(
                *(c.call(event, data) for c in clients), return_exceptions=True
            )
            conn.send(("acks", [a if not isinstance(a, Exception) else repr(a) for a in acks]))
        elif kind == "events":
            conn.send(("events", dict(events)))
        elif kind == "close":
            await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
            clients.clear()
            conn.send(("closed",))
        elif kind == "stop":
            conn.send(("stopped",))
            return


async def _open(
    clients: list[EioClient],
    errors: Counter[str],
    gate: asyncio.Semaphore,
    url: str,
    auth: Any,
    deflate: bool,
    on_event: Any,
) -> None:
    async with gate:
        c = EioClient(on_event)
        try:
            await c.connect(url, auth, deflate=deflate)
        except Exception as exc:
            errors[type(exc).__name__ + ": " + str(exc)[:80]] += 1
            return
        clients.append(c)


class ClientPool:
    """`workers` client processes on `cores`; sockets are spread over them."""

    def __init__(self, cores: str | None, workers: int = 1) -> None:
        ctx = mp.get_context("spawn")
        self.conns: list[Connection] = []
        self.procs = []
        for _ in range(workers):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=_main, args=(child, cores), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)

    def _all(self, msgs: list[tuple[Any, ...]]) -> list[Any]:
        for c, m in zip(self.conns, msgs, strict=True):
            c.send(m)
        return [c.recv() for c in self.conns]

    def connect(
        self, urls: list[str], auths: list[Any], *, deflate: bool = False, concurrency: int = 50
    ) -> tuple[int, dict[str, int], float]:
        """Open one socket per auth; (connected, errors by kind, seconds for all)."""
        n = len(self.conns)
        replies = self._all(
            [("connect", urls, auths[k::n], deflate, max(1, concurrency // n)) for k in range(n)]
        )
        errors: Counter[str] = Counter()
        for r in replies:
            errors.update(r[2])
        return sum(r[1] for r in replies), dict(errors), max(r[3] for r in replies)

    def call_all(self, event: str, data: Any = None) -> list[Any]:
        out: list[Any] = []
        for r in self._all([("call", event, data)] * len(self.conns)):
            out += r[1]
        return out

    def events(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for r in self._all([("events",)] * len(self.conns)):
            total.update(r[1])
        return dict(total)

    def close_all(self) -> None:
        self._all([("close",)] * len(self.conns))

    def stop(self) -> None:
        self._all([("stop",)] * len(self.conns))
        for p in self.procs:
            p.join(10)
