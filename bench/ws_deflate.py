"""Is permessage-deflate worth it for our messages? Bytes on the wire per message, with and
without it, for what sockets mostly carry: party states, DMs, notifications.

    .venv/bin/python -m bench.ws_deflate [--messages 200]

Each stream is a realistic sequence (a party seeking and pausing, a conversation, an inbox
filling) encoded as the server sends it ("42" + JSON in one text frame), then framed by
websockets' own permessage-deflate with the parameters uvicorn negotiates with a browser
(12-bit windows, memLevel 5, context takeover: the best case for deflate, since each message
is compressed against the previous ones). Bytes depend on nothing but the data; the CPU time
per message is indicative only (shared machine). The memory side (two zlib contexts per
socket) is in bench/socket_memory.py.
"""

from __future__ import annotations

import argparse
import random
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import orjson
from websockets.extensions.permessage_deflate import PerMessageDeflate
from websockets.frames import Frame, Opcode

from bench.common import machine


def _header(n: int) -> int:
    return 2 if n < 126 else 4 if n < 65536 else 10


def party_states(n: int) -> Iterator[dict[str, Any]]:
    party, host = str(uuid.uuid4()), str(uuid.uuid4())
    members = [str(uuid.uuid4()) for _ in range(8)]
    t = 1_764_950_000_000
    pos, version = 0, 10
    for i in range(n):
        t += random.randint(500, 30_000)
        version += 1
        cause = random.choice(["seek", "pause", "play", "buffering", "ready"])
        pos += random.randint(-60_000, 120_000) if cause == "seek" else 0
        yield {
            "party_id": party,
            "version": version,
            "phase": "playing" if cause != "pause" else "paused",
            "playing": cause != "pause",
            "position_ms": max(0, pos),
            "anchor_server_ms": t + 350,
            "rate": 1.0,
            "media": {"kind": "title", "id": 4242, "duration_ms": 7_260_000},
            "host_id": host,
            "control_mode": "host_only",
            "waiting_for": [members[i % 8]] if cause == "buffering" else [],
            "wait_deadline_ms": t + 8000 if cause == "buffering" else None,
            "capacity": 50,
            "members_version": 12,
            "cause": cause,
            "by": host if cause in ("seek", "pause", "play") else members[i % 8],
            "server_ms": t,
        }


_WORDS = (
    "ok see you at eight did you watch the new episode yes it was great the ending though "
    "no spoilers please I am only halfway lol what time works for you tomorrow maybe"
).split()


def dms(n: int) -> Iterator[dict[str, Any]]:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    msg_id = 91_000
    for i in range(n):
        msg_id += random.randint(1, 40)
        sender, to = (a, b) if i % 2 else (b, a)
        yield {
            "id": msg_id,
            "conversation_id": 5012,
            "from_user_id": sender,
            "to_user_id": to,
            "client_msg_id": uuid.uuid4().hex,
            "text": " ".join(random.choices(_WORDS, k=random.randint(2, 14))),
            "created_at": f"2026-12-05T20:{i % 60:02d}:{random.randint(0, 59):02d}"
            f".{random.randint(0, 999999):06d}Z",
            "stream": "dm",
            "cursor": msg_id,
        }


def notifications(n: int) -> Iterator[dict[str, Any]]:
    kinds = [
        ("friend_request", "{} sent you a friend request"),
        ("comment_reply", "{} replied to your comment"),
        ("comment_like", "{} liked your comment"),
        ("party_invite", "{} invited you to a watch party"),
        ("new_release", "A new episode of a series you follow is out"),
    ]
    cursor = 300
    for i in range(n):
        cursor += 1
        kind, text = random.choice(kinds)
        name = random.choice(["ann", "bob", "chiara", "dmitri", "emeka"])
        yield {
            "stream": "notifications",
            "cursor": cursor,
            "notification": {
                "id": 7000 + i,
                "cursor": cursor,
                "type": kind,
                "text": text.format(name),
                "data": {"title_id": random.randint(1, 100_000), "comment_id": 88_000 + i},
                "actor": {"id": str(uuid.uuid4()), "username": name, "display_name": name.title()},
                "actor_count": 1,
                "group_key": None,
                "created_at": "2026-12-05T20:15:03.120934Z",
                "updated_at": "2026-12-05T20:15:03.120934Z",
                "read": False,
            },
        }


def measure(event: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    texts = [("42" + orjson.dumps([event, item]).decode()).encode() for item in items]
    plain = sum(len(t) + _header(len(t)) for t in texts)
    ext = PerMessageDeflate(
        remote_no_context_takeover=False,
        local_no_context_takeover=False,
        remote_max_window_bits=12,
        local_max_window_bits=12,
        compress_settings={"memLevel": 5},
    )
    compressed: list[int] = []
    t0 = time.perf_counter()
    for t in texts:
        frame = ext.encode(Frame(Opcode.TEXT, t))
        compressed.append(len(frame.data) + _header(len(frame.data)))
    cpu_us = (time.perf_counter() - t0) * 1e6 / len(texts)
    n = len(texts)
    return {
        "event": event,
        "messages": n,
        "plain_bytes": plain / n,
        "deflate_first": compressed[0],
        "deflate_bytes": sum(compressed) / n,
        "saved_per_message": (plain - sum(compressed)) / n,
        "deflate_us": cpu_us,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=200)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    random.seed(args.seed)
    streams: list[tuple[str, Callable[[int], Iterator[dict[str, Any]]]]] = [
        ("party:state", party_states),
        ("dm:message", dms),
        ("notification", notifications),
    ]
    print(f"machine: {machine()}")
    print(
        "| message | plain frame, bytes | deflated (first) | deflated (steady, mean) "
        "| saved per message | deflate CPU per message |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for event, make in streams:
        r = measure(event, list(make(args.messages)))
        share = 100 * r["saved_per_message"] / r["plain_bytes"]
        print(
            f"| {event} | {r['plain_bytes']:.0f} | {r['deflate_first']} | "
            f"{r['deflate_bytes']:.0f} | {r['saved_per_message']:.0f} B ({share:.0f} %) "
            f"| {r['deflate_us']:.0f} µs |"
        )


if __name__ == "__main__":
    main()
