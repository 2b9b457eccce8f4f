"""The client side of "no loss on reconnect", as apps should implement it, for the Python
clients of the tests (python-socketio) and of the benchmarks (bench/eio_client.py): the rule
only, no socket, so both transports share it.

Per stream keep the last applied cursor. A live event with cursor <= it is a duplicate
(drop); exactly one more is applied; a larger jump is a gap: resume. Resume (`sync:resume`)
on every connect, on a gap and on `sync:stale`; while it runs, hold live events and apply
them afterwards by the same rule. Replayed events only need to be newer: a replay is the
stream's current state, so a notification coalesced meanwhile appears once, at its latest
cursor. Asked for while one runs (a gap, `sync:stale`, a truncated replay), another resume
follows it: the running one may have been answered before what it was asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class StreamCursor:
    """One stream's position; the transport asks it what to do with each event and reply."""

    def __init__(self, stream: str = "notifications") -> None:
        self.stream = stream
        self.cursor = 0
        self.applied: list[int] = []  # every cursor applied, in order
        self.live = 0
        self.replayed = 0
        self.duplicates = 0
        self.gaps = 0
        self._held: list[Mapping[str, Any]] | None = None  # a resume runs while not None
        self._again = False

    @property
    def resuming(self) -> bool:
        return self._held is not None

    def on_live(self, data: Mapping[str, Any]) -> bool:
        """A live event: held while a resume runs, else applied or dropped; True when it shows
        a gap, and the transport must resume."""
        if self._held is not None:
            self._held.append(data)
            return False
        cursor = int(data["cursor"])
        if cursor <= self.cursor:
            self.duplicates += 1
        elif cursor == self.cursor + 1:
            self._apply(cursor)
            self.live += 1
        else:
            self.gaps += 1
            return True
        return False

    def begin_resume(self) -> dict[str, Any] | None:
        """The `sync:resume` payload to send, or None when a resume already runs (then
        another follows it: `end_resume` says so)."""
        if self._held is not None:
            self._again = True
            return None
        self._held = []
        return {"cursors": {self.stream: self.cursor}}

    def on_resumed(self, ack: Mapping[str, Any]) -> str | None:
        """The `sync:resume` ack: its events applied; the error code when it was refused."""
        if not ack.get("ok"):
            return str((ack.get("error") or {}).get("code"))
        replay = ack["data"]["streams"][self.stream]
        if replay.get("error") is not None:
            return str(replay["error"].get("code"))
        for data in replay["events"]:
            cursor = int(data["cursor"])
            if cursor > self.cursor:
                self._apply(cursor)
                self.replayed += 1
            else:
                self.duplicates += 1
        if replay.get("truncated"):
            self._again = True  # more than one reply holds: the next one picks up from here
        return None

    def end_resume(self) -> bool:
        """The resume is over (answered or not): what was held is applied by the live rule.
        True when another resume must follow (a gap, or one asked for meanwhile)."""
        held, self._held = self._held or [], None
        again, self._again = self._again, False
        for data in held:
            again = self.on_live(data) or again
        return again

    def _apply(self, cursor: int) -> None:
        self.cursor = cursor
        self.applied.append(cursor)
