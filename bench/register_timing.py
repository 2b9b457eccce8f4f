"""Registration takes about as long for a taken address as for a new one (issue 12, finding 11).

    .venv/bin/python -m bench.register_timing [--rounds 200]

One `cinema serve` process on a fresh database. Alternates registrations with new addresses
and with addresses that already have an account (always a new username and a new client IP),
sequentially, and prints each kind's latency percentiles and the difference of the medians.
A large difference would tell an attacker who is registered, whatever the answer says.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid

import httpx

from bench.common import machine, percentile, setup, teardown


async def run(rounds: int) -> None:
    env = await setup(1)
    try:
        (server,) = env.start_servers(1)
        print(f"machine: {machine()}; one server process, {rounds} rounds", flush=True)
        taken_email = None
        times: dict[str, list[float]] = {"new": [], "taken": []}
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            for i in range(rounds * 2 + 1):
                kind = "taken" if i % 2 and taken_email else "new"
                email = taken_email if kind == "taken" else f"r{uuid.uuid4().hex}@example.com"
                ip = f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}"
                started = time.perf_counter()
                r = await client.post(
                    "/api/v1/auth/register",
                    json={
                        "email": email,
                        "username": f"r{uuid.uuid4().hex[:20]}",
                        "password": "a long bench passphrase",
                    },
                    headers={"X-Forwarded-For": ip},
                )
                took = (time.perf_counter() - started) * 1000
                assert r.status_code == 202, r.text
                if i == 0:
                    taken_email = email  # the first one warms up and is not counted
                    continue
                times[kind].append(took)
        for kind, values in times.items():
            print(
                f"{kind:>5}: n={len(values)} p50 {percentile(values, 50):.1f} ms, "
                f"p95 {percentile(values, 95):.1f} ms, p99 {percentile(values, 99):.1f} ms"
            )
        gap = percentile(times["taken"], 50) - percentile(times["new"], 50)
        print(f"median taken - new: {gap:+.1f} ms")
    finally:
        await teardown(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    main()
