"""Sync accuracy: a simulated party against the real server, measuring playback-position spread.

Each simulated member has its own clock (offset up to +-10 s, skew up to +-50 ppm), its own
network (one-way delay 20-300 ms plus jitter, FIFO like TCP, applied both ways on a real
Socket.IO connection) and a simulated player (seek 20-80 ms, start 5-25 ms, timers late by
0-4 ms). It follows the party with models/parties/sync.py: the same rules as the reference
JavaScript client. A "naive" shadow player on each member applies every state on receipt (no
clock sync, no scheduled start; roughly what CyTube-style systems do) for contrast.

Then catch-up without waiting: one member at a time stalls for --stall-s (its player stops; the
party plays on), asks `party:catch_up` with its position by its clock model, plays at the
planned rate (at most 1.25x) and goes back to the party's rate at the planned instant. Reported:
time to rejoin (the request to the plan's end), the member's own error against the timeline
then, and the spread of every member 500 ms and 2 s after.

    .venv/bin/python -m bench.party_sync [--members 20] [--cycles 8] [--servers 2] \
        [--rejoins 6] [--stall-s 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from typing import Any

import socketio

from bench.common import BenchEnv, machine, percentile, setup, teardown
from models.parties.sync import (
    RESYNC_EARLY_MS,
    RESYNC_MS,
    ClockSync,
    Playback,
    clock_sample,
    correct,
    target_position,
)


def true_ms() -> float:
    return time.time() * 1000


class Network:
    """One direction of a member's link: base delay plus jitter, delivered in order."""

    def __init__(self, rng: random.Random, base_ms: float) -> None:
        self.rng = rng
        self.base_ms = base_ms
        self.last_at = 0.0

    def arrival(self) -> float:
        jitter = min(self.rng.expovariate(1 / max(2.0, self.base_ms * 0.1)), self.base_ms)
        at = max(true_ms() + self.base_ms + jitter, self.last_at + 0.01)
        self.last_at = at
        return at


class Player:
    """A video element's position as a function of true time."""

    def __init__(self, skew: float) -> None:
        self.skew = skew
        self.paused = True
        self.base_pos = 0.0
        self.base_t = 0.0
        self.rate = 1.0

    def position(self, t: float) -> float:
        if self.paused or t <= self.base_t:
            return self.base_pos
        return self.base_pos + (t - self.base_t) * self.rate * (1 + self.skew)

    def seek(self, pos: float, t: float, latency: float) -> None:
        self.base_pos = pos
        self.base_t = t + latency  # frozen while the seek completes

    def pause(self, t: float) -> None:
        self.base_pos = self.position(t)
        self.base_t = t
        self.paused = True

    def play(self, t: float, latency: float) -> None:
        self.base_pos = self.position(t)
        self.base_t = max(self.base_t, t + latency)
        self.paused = False

    def set_rate(self, rate: float, t: float) -> None:
        self.base_pos = self.position(t)
        self.base_t = max(t, self.base_t)
        self.rate = rate


class Member:
    def __init__(self, index: int, url: str, token: str, rng: random.Random) -> None:
        self.index = index
        self.url = url
        self.token = token
        self.rng = rng
        self.offset_ms = rng.uniform(-10_000, 10_000)
        self.skew = rng.uniform(-50e-6, 50e-6)
        self.born = true_ms()
        self.delay_ms = rng.uniform(20, 300)
        self.up = Network(rng, self.delay_ms)
        self.down = Network(rng, self.delay_ms)
        self.clock = ClockSync()
        self.player = Player(self.skew)
        self.naive = Player(self.skew)
        self.state: dict[str, Any] | None = None
        self.seek_latency_est = 50.0
        self.start_latency_est = 0.0
        self.start_timer: asyncio.TimerHandle | None = None
        self.start_due = 0.0
        self.sio = socketio.AsyncClient(reconnection=False)
        self.sio.on("party:state", self._on_state_raw)
        self._inbox: asyncio.Queue[tuple[float, Callable[[], Awaitable[None] | None]]] = (
            asyncio.Queue()
        )
        self._tasks: list[asyncio.Task[None]] = []
        self.actions: dict[str, int] = defaultdict(int)
        self.late_starts: list[float] = []
        self.detached = False  # stalled or following a catch-up plan: no drift correction

    def local_ms(self) -> float:
        t = true_ms()
        return t + self.offset_ms + (t - self.born) * self.skew

    def true_offset_ms(self) -> float:
        """What a perfect estimate would say now: server (true) clock minus ours."""
        t = true_ms()
        return t - (t + self.offset_ms + (t - self.born) * self.skew)

    def server_now(self) -> float:
        return self.local_ms() + self.clock.offset_ms

    async def start(self) -> None:
        await self.sio.connect(self.url, auth={"token": self.token}, transports=["websocket"])
        self._tasks.append(asyncio.create_task(self._deliver()))
        self._tasks.append(asyncio.create_task(self._control_loop()))
        self._tasks.append(asyncio.create_task(self._resync_loop()))

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await self.sio.disconnect()

    async def _deliver(self) -> None:
        """The downlink: events reach the client at their simulated arrival, in order."""
        while True:
            at, fn = await self._inbox.get()
            wait = (at - true_ms()) / 1000
            if wait > 0:
                await asyncio.sleep(wait)
            result = fn()
            if result is not None:
                await result

    async def call(self, event: str, data: Any) -> Any:
        """Uplink delay, the real call, then the reply's downlink delay."""
        wait = (self.up.arrival() - true_ms()) / 1000
        if wait > 0:
            await asyncio.sleep(wait)
        ack = await self.sio.call(event, data, timeout=30)
        arrived = asyncio.get_running_loop().create_future()
        self._inbox.put_nowait((self.down.arrival(), lambda: arrived.set_result(ack)))
        result = await arrived
        if not result["ok"]:
            raise RuntimeError(f"{event}: {result['error']}")
        return result["data"]

    async def sync_clock(self, samples: int = 8) -> None:
        for _ in range(samples):
            t0 = self.local_ms()
            data = await self.call("time:sync", {"t0": t0})
            t3 = self.local_ms()
            self.clock.add(clock_sample(t0, data["t1"], data["t2"], t3))

    async def _on_state_raw(self, data: dict[str, Any]) -> None:
        self._inbox.put_nowait((self.down.arrival(), lambda: self.on_state(data)))

    def on_state(self, s: dict[str, Any]) -> None:
        if self.state is not None and s["version"] <= self.state["version"]:
            return
        self.state = s
        if self.start_timer is not None:
            self.start_timer.cancel()
            self.start_timer = None
        t = true_ms()
        # The naive shadow: apply on receipt, position as stated.
        if s["playing"]:
            if self.naive.paused or s.get("cause") == "seek":
                self.naive.seek(s["position_ms"], t, self.rng.uniform(20, 80))
                self.naive.play(t, self.rng.uniform(5, 25))
        else:
            self.naive.pause(t)
            self.naive.seek(s["position_ms"], t, 0)
        self.step()

    def step(self) -> None:
        s = self.state
        if s is None or not self.clock.ready or self.detached:
            return
        t = true_ms()
        if self.start_timer is not None and t >= self.start_due:
            # The shared loop ran this step before the member's own timer: start it first.
            self.start_timer.cancel()
            self._start(self.start_due)
        p = Playback(
            version=s["version"],
            playing=s["playing"],
            position_ms=s["position_ms"],
            anchor_server_ms=s["anchor_server_ms"],
            rate=s["rate"],
        )
        pl = self.player
        a = correct(p, self.server_now(), pl.position(t), pl.paused, pl.rate, self.seek_latency_est)
        if a.kind in ("play", "seek"):
            self.actions[a.kind] += 1
            self.late_starts.append(a.position_ms - pl.position(t))
        if a.kind != "wait" and self.start_timer is not None:
            self.start_timer.cancel()
            self.start_timer = None
        if a.kind == "pause":
            pl.pause(t)
            pl.set_rate(p.rate, t)
            if abs(pl.position(t) - a.position_ms) > 1:
                pl.seek(a.position_ms, t, self._seek_latency())
        elif a.kind == "seek":
            pl.seek(a.position_ms, t, self._seek_latency())
        elif a.kind == "play":
            pl.set_rate(p.rate, t)
            pl.seek(a.position_ms, t, self._seek_latency())
            pl.play(t, self._start_latency())
        elif a.kind == "rate":
            pl.set_rate(a.rate, t)
        elif a.kind == "wait" and self.start_timer is None:
            # Start early by the player's own measured start latency; timers fire 0-4 ms late.
            delay = max(0.0, a.start_in_ms - self.start_latency_est) + self.rng.uniform(0, 4)
            due = self.start_due = t + delay
            self.start_timer = asyncio.get_running_loop().call_later(
                delay / 1000, lambda: self._start(due)
            )

    def _start(self, due: float) -> None:
        """Start as of `due`: each simulated member has its own CPU, so the shared bench
        event loop's lateness (tens of ms on a loaded 2-core box) is not the member's."""
        self.start_timer = None
        if self.state is None:
            return
        t = min(due, true_ms())
        self.player.set_rate(self.state["rate"], t)
        self.player.play(t, self._start_latency())

    async def stall_and_catch_up(self, party_id: str, stall_s: float) -> dict[str, float]:
        """Stall (the party plays on), then catch up by the server's plan; returns the times."""
        pl = self.player
        self.detached = True
        pl.pause(true_ms())
        await asyncio.sleep(stall_s)
        asked = true_ms()
        at = self.server_now()
        ack = await self.call(
            "party:catch_up",
            {
                "party_id": party_id,
                "position_ms": round(pl.position(true_ms())),
                "at_server_ms": round(at),
                "rate": 0,
            },
        )
        plan = ack["plan"]
        if plan["mode"] != "rate":
            self.detached = False
            return {"asked": asked, "rejoined": true_ms(), "mode_rate": 0.0}
        await self._until_server(plan["start_server_ms"] - self.start_latency_est)
        t = true_ms()
        pl.set_rate(plan["rate"], t)
        pl.play(t, self._start_latency())
        await self._until_server(plan["until_server_ms"])
        rejoined = true_ms()
        assert self.state is not None
        pl.set_rate(self.state["rate"], rejoined)
        self.detached = False
        await self.call("party:ready", {"party_id": party_id, "rtt_ms": self.clock.rtt_ms})
        return {"asked": asked, "rejoined": rejoined, "mode_rate": 1.0, "rate": plan["rate"]}

    async def _until_server(self, server_ms: float) -> None:
        # Timers fire 0-4 ms late, as in the scheduled start.
        wait = (server_ms - self.server_now()) / 1000 + self.rng.uniform(0, 0.004)
        if wait > 0:
            await asyncio.sleep(wait)

    def error_ms(self, t: float) -> float:
        """How far the member's player is from the party's timeline at true time t."""
        assert self.state is not None
        s = self.state
        p = Playback(s["version"], s["playing"], s["position_ms"], s["anchor_server_ms"], s["rate"])
        return abs(self.player.position(t) - target_position(p, t))

    def _seek_latency(self) -> float:
        actual = self.rng.uniform(20, 80)
        self.seek_latency_est = 0.7 * self.seek_latency_est + 0.3 * actual
        return actual

    def _start_latency(self) -> float:
        actual = self.rng.uniform(5, 25)
        self.start_latency_est = (
            actual if self.start_latency_est == 0 else 0.7 * self.start_latency_est + 0.3 * actual
        )
        return actual

    async def _resync_loop(self) -> None:
        """As the reference client: one more sample every RESYNC_EARLY_MS for the first minute."""
        started = time.monotonic()
        while True:
            early = time.monotonic() - started < 60
            await asyncio.sleep((RESYNC_EARLY_MS if early else RESYNC_MS) / 1000)
            await self.sync_clock(1)

    async def _control_loop(self) -> None:
        while True:
            await asyncio.sleep(0.1 + self.rng.uniform(0, 0.004))
            self.step()


def spread(members: list[Member], t: float, naive: bool = False) -> float:
    positions = [(m.naive if naive else m.player).position(t) for m in members]
    return max(positions) - min(positions)


async def run(
    env: BenchEnv,
    members_n: int,
    cycles: int,
    servers: int,
    seed: int,
    rejoins: int = 0,
    stall_s: float = 5.0,
) -> dict[str, Any]:
    rng = random.Random(seed)
    urls = [s.url for s in env.servers]
    members = [
        Member(i, urls[i % servers], env.tokens[i], random.Random(rng.random()))
        for i in range(members_n)
    ]
    for m in members:
        await m.start()
    host = members[0]
    await asyncio.gather(*(m.sync_clock() for m in members))
    created = await host.call("party:create", {"title_id": env.title_id, "capacity": members_n})
    party_id = created["party_id"]
    await asyncio.gather(
        *(
            m.call(
                "party:join",
                {"party_id": party_id} if m is host else {"invite_code": created["invite_code"]},
            )
            for m in members
        )
    )
    for m in members:
        snap = await m.call("party:snapshot", {"party_id": party_id})
        m.on_state(snap)
    await asyncio.gather(
        *(m.call("party:ready", {"party_id": party_id, "rtt_ms": m.clock.rtt_ms}) for m in members)
    )
    samples: dict[str, list[float]] = defaultdict(list)
    naive: dict[str, list[float]] = defaultdict(list)
    offsets = [200, 500, 1000, 2000, 3000]
    position = 60_000

    async def measure(kind: str, anchor: float, at: list[int]) -> None:
        for off in at:
            wait = (anchor + off - true_ms()) / 1000
            if wait > 0:
                await asyncio.sleep(wait)
            t = true_ms()
            samples[f"{kind}+{off}"].append(spread(members, t))
            naive[f"{kind}+{off}"].append(spread(members, t, naive=True))

    for _ in range(cycles):
        played = await host.call("party:play", {"party_id": party_id})
        await measure("play", played["anchor_server_ms"], offsets)
        position = rng.randrange(60_000, 6_000_000)
        seeked = await host.call("party:seek", {"party_id": party_id, "position_ms": position})
        await measure("seek", seeked["anchor_server_ms"], offsets)
        paused = await host.call("party:pause", {"party_id": party_id})
        await measure("pause", paused["anchor_server_ms"], [1000, 2000])

    rejoin: dict[str, list[float]] = defaultdict(list)
    if rejoins and members_n > 1:
        played = await host.call("party:play", {"party_id": party_id})
        await asyncio.sleep(max(0.0, (played["anchor_server_ms"] - true_ms()) / 1000) + 1.0)
        for i in range(rejoins):
            member = members[1 + i % (members_n - 1)]
            times = await member.stall_and_catch_up(party_id, stall_s)
            rejoin["time_to_rejoin_ms"].append(times["rejoined"] - times["asked"])
            rejoin["planned_rate"].append(times.get("rate", 1.0))
            for off in (0, 500, 2000):
                wait = (times["rejoined"] + off - true_ms()) / 1000
                if wait > 0:
                    await asyncio.sleep(wait)
                t = true_ms()
                rejoin[f"own_error+{off}"].append(member.error_ms(t))
                rejoin[f"spread+{off}"].append(spread(members, t))

    for m in members:
        await m.stop()
    estimate_errors = [abs(m.clock.offset_ms - m.true_offset_ms()) for m in members]
    actions: dict[str, int] = defaultdict(int)
    for m in members:
        for k, v in m.actions.items():
            actions[k] += v
    return {
        "actions": actions,
        "corrections_ms": sorted(round(x) for m in members for x in m.late_starts),
        "samples": samples,
        "naive": naive,
        "clock_error_ms": estimate_errors,
        "delays_ms": [m.delay_ms for m in members],
        "rejoin": rejoin,
    }


def report(result: dict[str, Any], args: argparse.Namespace) -> str:
    lines = [
        f"members={args.members} cycles={args.cycles} servers={args.servers} seed={args.seed}",
        f"machine: {machine()}",
        "clock offset estimate error (ms): "
        f"p50 {percentile(result['clock_error_ms'], 50):.1f}, "
        f"max {max(result['clock_error_ms']):.1f}",
        f"catch-up seeks and late starts: {dict(result['actions'])}",
        "",
        "| after | n | spread p50 ms | p95 ms | max ms | naive p50 ms | naive p95 ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for key, values in result["samples"].items():
        nv = result["naive"][key]
        lines.append(
            f"| {key} ms | {len(values)} | {percentile(values, 50):.1f} | "
            f"{percentile(values, 95):.1f} | {max(values):.1f} | {percentile(nv, 50):.0f} | "
            f"{percentile(nv, 95):.0f} |"
        )
    if result["rejoin"]:
        lines += [
            "",
            f"catch-up after a {args.stall_s:g} s stall ({args.rejoins} rejoins, one member at "
            "a time, nobody else moves):",
            "",
            "| measure | n | p50 | p95 | max |",
            "| --- | --- | --- | --- | --- |",
        ]
        for key, values in result["rejoin"].items():
            lines.append(
                f"| {key} | {len(values)} | {percentile(values, 50):.2f} | "
                f"{percentile(values, 95):.2f} | {max(values):.2f} |"
            )
    settled = [v for k, vs in result["samples"].items() for v in vs if not k.endswith("+200")]
    everything = [v for vs in result["samples"].values() for v in vs]
    lines += [
        "",
        f"all samples: p95 {percentile(everything, 95):.1f} ms over {len(everything)}; "
        f"from +500 ms on: p95 {percentile(settled, 95):.1f} ms",
    ]
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=20)
    parser.add_argument("--cycles", type=int, default=8)
    parser.add_argument("--servers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rejoins", type=int, default=6, help="catch-ups measured")
    parser.add_argument("--stall-s", type=float, default=5.0, help="how long each one stalls")
    parser.add_argument("--json", type=str, default="")
    args = parser.parse_args()
    env = await setup(args.members)
    try:
        env.start_servers(args.servers)
        result = await run(
            env,
            args.members,
            args.cycles,
            args.servers,
            args.seed,
            rejoins=args.rejoins,
            stall_s=args.stall_s,
        )
    finally:
        await teardown(env)
    print(report(result, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f)


if __name__ == "__main__":
    asyncio.run(main())
