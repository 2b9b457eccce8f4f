"""Socket.IO fuzzer: every registered client event with malformed payloads, through real
python-socketio clients against a running server.

    .venv/bin/python -m bench.socket_fuzz --url http://127.0.0.1:8000 \\
        --token "$ANN_ACCESS" --token "$BOB_ACCESS" --title-id 1 [--rounds 3]

Each event gets: junk as the whole payload; each field of a valid payload replaced by junk
(wrong types, huge/negative/NaN numbers, huge strings, NUL, other scripts' digits, nested
junk, binary); each required field dropped; an unknown field; two arguments; no ack
callback. Every ack must be {ok: true, data} or {ok: false, error: {code, message}} with a
code other than `internal`, within the timeout, and the socket must stay connected. Sockets
are paced under the per-socket flood guard, so the handlers themselves are exercised.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import socketio

from realtime import handlers  # noqa: F401  (registers every event)
from realtime.registry import events

ACK_TIMEOUT_S = 5.0
PACE_S = 1 / 15  # per socket, under the 20 events/s flood guard
MAX_FRAME = 60_000  # stays under SOCKETIO_MAX_PAYLOAD_BYTES (64 KiB)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for i in range(depth):
        value = [value] if i % 2 else {"k": value}
    return value


JUNK: list[Any] = [
    None,
    True,
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**63,
    -(2**63) - 1,
    10**40,
    0.5,
    -0.0,
    1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    " ",
    "a" * 20_000,
    "\x00",
    "nul\x00inside",
    "\u202eevil",
    "³",
    "١٢",
    "💥" * 500,
    "00000000-0000-0000-0000-000000000000",
    "not-a-uuid",
    "null",
    [],
    [None],
    list(range(2000)),
    {},
    {"$gt": ""},
    {"__proto__": {"x": 1}},
    _nested(50),
    b"\xff\xfe\x00binary",
]


def describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) < 80 else text[:77] + "..."


@dataclass
class Report:
    cases: int = 0
    acks: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)

    def problem(self, event: str, payload: str, what: str) -> None:
        self.problems.append(f"{event} {payload}: {what}")


def check_ack(ack: Any) -> str | None:
    """None when the ack has the documented shape, else what is wrong with it."""
    if not isinstance(ack, dict) or not isinstance(ack.get("ok"), bool):
        return f"not an ack: {describe(ack)}"
    try:
        json.dumps(ack, allow_nan=False)
    except ValueError:
        # Python reads NaN/Infinity; a browser's JSON.parse throws on the whole packet.
        return f"ack is not strict JSON (NaN/Infinity): {describe(ack)}"
    if ack["ok"]:
        return None
    error = ack.get("error")
    if not isinstance(error, dict):
        return f"ok:false without error: {describe(ack)}"
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not code or not isinstance(message, str) or not message:
        return f"error without code/message: {describe(ack)}"
    if code == "internal":
        return "internal error (see the server log)"
    return None


class Fuzzer:
    def __init__(self, url: str, tokens: list[str], context: dict[str, Any]) -> None:
        self.url, self.tokens, self.context = url, tokens, context
        self.sockets: list[socketio.AsyncClient] = []
        self.last_sent: list[float] = []
        self.report = Report()
        self._turn = 0

    async def _connect(self, token: str) -> socketio.AsyncClient:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(
            self.url, auth={"token": token}, transports=["websocket"], wait_timeout=10
        )
        return client

    async def start(self, per_token: int = 2) -> None:
        for token in self.tokens:
            for _ in range(per_token):
                self.sockets.append(await self._connect(token))
                self.last_sent.append(0.0)

    async def connect_junk(self) -> None:
        """Junk auth is refused with a connect_error carrying {code, message}, never a crash."""
        junk_auth: list[Any] = [
            None,
            "token",
            1,
            [],
            {},
            {"token": None},
            {"token": 5},
            {"token": ""},
            {"token": "x" * 20_000},
            {"token": "a.b.c"},
            {"token": "\x00"},
            {"token": self.tokens[0] + "x"},
        ]
        for auth in junk_auth:
            self.report.cases += 1
            errors: list[Any] = []
            client = socketio.AsyncClient(reconnection=False)
            client.on("connect_error", errors.append)
            try:
                await client.connect(self.url, auth=auth, transports=["websocket"], wait_timeout=5)
            except socketio.exceptions.ConnectionError:
                pass
            if client.connected:
                self.report.problem("connect", describe(auth), "accepted")
                await client.disconnect()
                continue
            # The client hands the handler {message, data}; data is the server's {code, message}.
            data = errors[0].get("data") if errors and isinstance(errors[0], dict) else None
            if not (isinstance(data, dict) and data.get("code") and data.get("message")):
                got = describe(errors[0] if errors else None)
                self.report.problem("connect", describe(auth), f"connect_error {got}")
            else:
                self.report.acks["connect:" + data["code"]] += 1

    async def stop(self) -> None:
        for client in self.sockets:
            if client.connected:
                await client.disconnect()

    async def _socket(self) -> int:
        i = self._turn % len(self.sockets)
        self._turn += 1
        wait = self.last_sent[i] + PACE_S - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self.last_sent[i] = time.monotonic()
        return i

    async def _alive(self, i: int, event: str, label: str) -> None:
        client = self.sockets[i]
        if client.connected:
            try:
                ack = await client.call("ping", {}, timeout=ACK_TIMEOUT_S)
            except Exception as exc:
                self.report.problem(event, label, f"ping after it failed: {exc!r}")
            else:
                if not (isinstance(ack, dict) and ack.get("ok")):
                    self.report.problem(event, label, f"ping after it answered {describe(ack)}")
            return
        self.report.problem(event, label, "the server closed the socket")
        token = self.tokens[i // (len(self.sockets) // len(self.tokens))]
        self.sockets[i] = await self._connect(token)

    async def case(self, event: str, payload: Any, *, args: int = 1, ack: bool = True) -> None:
        label = f"{describe(payload)}" + (f" x{args}" if args > 1 else "")
        label += "" if ack else " (no ack)"
        i = await self._socket()
        client = self.sockets[i]
        self.report.cases += 1
        data: Any = tuple([payload] * args) if args > 1 else payload
        if not ack:
            await client.emit(event, data)
            self.last_sent[i] = time.monotonic()
            await self._alive(i, event, label)
            return
        try:
            answer = await client.call(event, data, timeout=ACK_TIMEOUT_S)
        except socketio.exceptions.TimeoutError:
            self.report.problem(event, label, f"no ack within {ACK_TIMEOUT_S} s")
            await self._alive(i, event, label)
            return
        except Exception as exc:
            self.report.problem(event, label, f"call failed: {exc!r}")
            await self._alive(i, event, label)
            return
        wrong = check_ack(answer)
        if wrong:
            self.report.problem(event, label, wrong)
        else:
            key = "ok" if answer["ok"] else answer["error"]["code"]
            self.report.acks[key] += 1
        if not client.connected:
            await self._alive(i, event, label)


def valid_payload(name: str, schema: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
    """A payload the server would accept (or refuse for a domain reason), per field name."""
    defs = schema.get("$defs", {})
    if "$ref" in schema:
        schema = defs[schema["$ref"].rsplit("/", 1)[-1]]
    values = {
        "party_id": ctx["party_id"],
        "title_id": ctx["title_id"],
        "user_id": ctx["peer_id"],
        "to_user_id": ctx["peer_id"],
        "peer_user_id": ctx["peer_id"],
        "position_ms": 1000,
        "duration_ms": 60_000,
        "rtt_ms": 40,
        "rate": 1.0,
        "enabled": True,
        "mode": "host_only",
        "text": "hello",
        "emoji": "👍",
        "client_id": uuid.uuid4().hex,
        "client_msg_id": uuid.uuid4().hex,
        "typing": True,
        "up_to_id": 1,
        "t0": time.time() * 1000,
        "cursors": {},
        "invite_code": ctx.get("invite_code"),
    }
    props = schema.get("properties", {})
    payload = {k: values[k] for k in props if k in values and values[k] is not None}
    if name == "party:join":
        payload.pop("invite_code", None)
    return payload


# Deeper payloads the per-field mutations do not reach.
EXTRA: dict[str, list[Any]] = {
    "sync:resume": [
        {"cursors": {"party_chat:not-a-uuid": 1, "dm": 2**62, "notifications": 0}},
        {"cursors": {"party_chat:" + str(uuid.uuid4()): 5, "x" * 100: 1}},
        {"cursors": {"x" * 101: 1}},
        {"cursors": {"dm": -1}},
        {"cursors": {"dm": 2**63}},
        {"cursors": {"dm": "1"}},
        {"cursors": {"dm": 1.5}},
        {"cursors": {f"s{i}": 0 for i in range(33)}},
        {"cursors": {"party_chat:": 0, "party_chat:\x00": 0}},
    ],
    "party:join": [
        {"invite_code": "ZZZZ"},
        {"invite_code": "a" * 16},
        {"invite_code": "%_%_"},
        {"party_id": "00000000-0000-0000-0000-000000000000"},
        {},
    ],
    "party:create": [
        {},
        {"title_id": 1, "episode_id": 1},
        {"episode_id": 2**62},
        {"title_id": 1, "capacity": 1},
        {"title_id": 1, "control_mode": "anarchy"},
    ],
    "history:heartbeat": [
        {"position_ms": 1000},
        {"title_id": 1, "episode_id": 1, "position_ms": 1000},
        {"title_id": 1, "position_ms": 10**12, "duration_ms": 1},
        {"title_id": 1, "position_ms": 5, "duration_ms": 0},
        {"title_id": 1, "position_ms": -5, "duration_ms": -1},
    ],
}


def cases_for(
    name: str, payload_type: Any, ctx: dict[str, Any], *, sample: int | None = None
) -> Iterator[dict[str, Any]]:
    """(payload, args, ack) for one event; `sample` junk values per field instead of all."""
    for junk in JUNK:
        yield {"payload": junk}
    for extra in EXTRA.get(name, []):
        yield {"payload": extra}
    if payload_type is None:
        return
    schema = events.specs[name].payload_adapter.json_schema()
    defs = schema.get("$defs", {})
    model = defs[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
    base = valid_payload(name, schema, ctx)
    yield {"payload": base}
    yield {"payload": base, "args": 2}
    yield {"payload": base, "ack": False}
    yield {"payload": {**base, "unknown_field": 1}}
    for required in model.get("required", []):
        yield {"payload": {k: v for k, v in base.items() if k != required}}
    rng = random.Random(name)
    for prop in model.get("properties", {}):
        for junk in JUNK if sample is None else rng.sample(JUNK, sample):
            yield {"payload": {**base, prop: junk}}
    yield {"payload": "x" * (MAX_FRAME * 2), "oversize": True}


async def _fresh_party(fz: Fuzzer, ctx: dict[str, Any]) -> None:
    """A live party with the first token's user as host and the second's as guest, so party
    events reach their rules instead of stopping at `not_member` or `party_ended`."""
    host, guest = fz.sockets[0], fz.sockets[len(fz.sockets) // 2]
    if "party_id" in ctx:
        for sock in (host, guest):
            snap = await sock.call(
                "party:snapshot", {"party_id": ctx["party_id"]}, timeout=ACK_TIMEOUT_S
            )
            if not snap["ok"] or snap["data"]["phase"] == "ended":
                break
        else:
            return
    me = (await guest.call("session:whoami", {}, timeout=ACK_TIMEOUT_S))["data"]
    created = await host.call("party:create", {"title_id": ctx["title_id"]}, timeout=ACK_TIMEOUT_S)
    assert created["ok"], created
    ctx.update(
        party_id=created["data"]["party_id"],
        invite_code=created["data"]["invite_code"],
        peer_id=me["user_id"],
    )
    joined = await guest.call(
        "party:join", {"invite_code": ctx["invite_code"]}, timeout=ACK_TIMEOUT_S
    )
    assert joined["ok"], joined


async def fuzz(
    url: str,
    tokens: list[str],
    *,
    title_id: int,
    rounds: int = 1,
    sample: int | None = None,
    sockets_per_token: int = 2,
    seed: int = 0,
) -> Report:
    fz = Fuzzer(url, tokens, {})
    await fz.connect_junk()
    await fz.start(sockets_per_token)
    try:
        ctx: dict[str, Any] = {"title_id": title_id}
        await _fresh_party(fz, ctx)
        names = sorted(events.specs)
        order = random.Random(seed)
        for _ in range(rounds):
            order.shuffle(names)
            for name in names:
                if name == "party:end":
                    continue  # last, or every party event after it is only `party_ended`
                await _fresh_party(fz, ctx)  # a kick or leave before may have ended it
                for case in cases_for(name, events.specs[name].payload, ctx, sample=sample):
                    if case.get("oversize"):
                        continue  # past the frame limit the server closes the socket, by design
                    await fz.case(
                        name, case["payload"], args=case.get("args", 1), ack=case.get("ack", True)
                    )
        for case in cases_for("party:end", events.specs["party:end"].payload, ctx, sample=sample):
            if not case.get("oversize"):
                await fz.case("party:end", case["payload"])
        return fz.report
    finally:
        await fz.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--token", action="append", required=True, help="two users' tokens")
    parser.add_argument("--title-id", type=int, required=True)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--sample", type=int, help="junk values per field (default: all)")
    args = parser.parse_args()
    started = time.monotonic()
    report = asyncio.run(
        fuzz(args.url, args.token, title_id=args.title_id, rounds=args.rounds, sample=args.sample)
    )
    print(
        json.dumps(
            {
                "cases": report.cases,
                "seconds": round(time.monotonic() - started, 1),
                "acks": dict(report.acks.most_common()),
                "problems": len(report.problems),
            }
        )
    )
    for p in report.problems:
        print("PROBLEM", p)
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
