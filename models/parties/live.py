"""Live party state in Redis: read, decide, compare-and-set in one Lua script, retry on a race.

Any process may apply a command to any party. The write succeeds only if the stored version is
still the one the decision was based on; otherwise the command is decided again on the newer
state, so concurrent commands from members on different processes never lose an update.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from models.core import metrics
from models.core.clock import now_ms as wall_now_ms
from models.core.errors import Conflict, NotFound
from models.core.redis import Keys
from models.parties.state import Command, Event, PartyState, Phase, decide, dump_state, load_state

# KEYS: state hash, deadlines zset, connected-parties zset, the member's sockets set and the
# user's socket heartbeats ('' unless guarded), the party's broadcast record ('' unless the new
# state is sent at once). ARGV: expected version ('' = must not exist), new version, state
# JSON, TTL ms, next deadline ms ('' = none), party id, '1' if a member is connected, a socket
# that must be in the set ('' = none), the heartbeat floor, the new members_version and
# queue_version, dead socket ids...
# Guarded by a present socket (a Reconnect): nothing is written unless it is still in the set.
# Guarded by dead sockets (a Disconnect): those still unrefreshed since the floor leave the set
# first, and nothing is written while a socket is left in it (-1), so a socket that entered or
# heartbeated meanwhile always wins. A state sent at once is claimed for sending in the same
# step (as _CLAIM does; the newest version written is never claimed yet): {1, what the
# broadcasts before it carried}.
_CAS = """
if KEYS[4] ~= '' then
  if ARGV[8] ~= '' then
    if redis.call('SISMEMBER', KEYS[4], ARGV[8]) == 0 then return -1 end
  else
    for i = 12, #ARGV do
      local beat = KEYS[5] ~= '' and redis.call('ZSCORE', KEYS[5], ARGV[i])
      if not beat or tonumber(beat) < tonumber(ARGV[9]) then
        redis.call('SREM', KEYS[4], ARGV[i])
      end
    end
    if redis.call('SCARD', KEYS[4]) > 0 then return -1 end
  end
end
local cur = redis.call('HGET', KEYS[1], 'v')
if (cur or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 's', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if ARGV[5] == '' then
  redis.call('ZREM', KEYS[2], ARGV[6])
else
  redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
end
if ARGV[7] == '1' then
  redis.call('ZADD', KEYS[3], 0, ARGV[6])
else
  redis.call('ZREM', KEYS[3], ARGV[6])
end
if KEYS[6] ~= '' then
  local was = redis.call('HMGET', KEYS[6], 'm', 'q', 'm0')
  redis.call('HSET', KEYS[6], 'v', ARGV[2], 'm', ARGV[10], 'q', ARGV[11], 'm0', was[1] or '')
  redis.call('PEXPIRE', KEYS[6], ARGV[4])
  return {1, was[1] or '', was[2] or '', was[3] or ''}
end
return 1
"""

# KEYS: the member's sockets set, the user's socket heartbeats. ARGV: heartbeat floor, socket ids.
# Takes out those still unrefreshed since the floor; returns the ones it took out.
_FORGET_DEAD = """
local gone = {}
for i = 2, #ARGV do
  local beat = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if not beat or tonumber(beat) < tonumber(ARGV[1]) then
    if redis.call('SREM', KEYS[1], ARGV[i]) == 1 then gone[#gone + 1] = ARGV[i] end
  end
end
return gone
"""

# KEYS: the member's sockets set, the user's socket heartbeats. ARGV: socket id, heartbeat floor,
# TTL s. Puts the socket (back) in the set only while its heartbeat is fresh: a closing socket
# has left the heartbeats first, so it can never be put back after its close was handled.
_ENTER_LIVE = """
local beat = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not beat or tonumber(beat) < tonumber(ARGV[2]) then return 0 end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: the connected-parties zset, then party state hashes. Indexes those live with a member
# marked connected, deciding on the stored state itself (atomic with the compare-and-set writes,
# so a party that changed meanwhile is judged as it is now); returns how many were new.
_INDEX_CONNECTED = """
local added = 0
for i = 2, #KEYS do
  local raw = redis.call('HGET', KEYS[i], 's')
  if raw then
    local state = cjson.decode(raw)
    if state.phase ~= 'ended' then
      for _, m in ipairs(state.members) do
        if m.connected == true then
          added = added + redis.call('ZADD', KEYS[1], 0, state.party_id)
          break
        end
      end
    end
  end
end
return added
"""

# Returns {version} when the caller's cached version is current, else {version, state JSON}.
_READ = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {} end
if v == ARGV[1] then return {v} end
return {v, redis.call('HGET', KEYS[1], 's')}
"""

# KEYS: the party's broadcast record. ARGV: the version to send, its members_version and
# queue_version, TTL ms. Claims the right to send that version: nil if it (or a newer one) was
# claimed already; else the members and queue versions of the last broadcast claimed, and the
# members version of the one before ('' unknown).
_CLAIM = """
local sent = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if sent >= tonumber(ARGV[1]) then return nil end
local was = redis.call('HMGET', KEYS[1], 'm', 'q', 'm0')
redis.call('HSET', KEYS[1], 'v', ARGV[1], 'm', ARGV[2], 'q', ARGV[3], 'm0', was[1] or '')
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {was[1] or '', was[2] or '', was[3] or ''}
"""

LIVE_TTL_MS = 24 * 3600 * 1000  # an idle party's live state outlives any sane watch session
ENDED_TTL_MS = 3600 * 1000  # long enough for late arrivals to hear "ended", not "not found"
MAX_TRIES = 64
CACHE_SIZE = 4096
SOCKETS_TTL_S = 24 * 3600  # a member's socket set; its process refreshes it every heartbeat


@dataclass(frozen=True, slots=True)
class SocketGuard:
    """Write only if the member's sockets (`key`) allow it.

    With `present`: only while that socket is in the set (a Reconnect). Otherwise only if no
    socket is left once the `dead` ones, unless heartbeated in `beats_key` since `floor_ms`,
    are taken out (a Disconnect)."""

    key: str
    dead: tuple[str, ...] = ()
    beats_key: str = ""
    floor_ms: int = 0
    present: str = ""


@dataclass(frozen=True, slots=True)
class Sent:
    """The members and queue versions of the last `party:state` claimed for a party, and the
    members version of the one before it (None: unknown)."""

    members_version: int | None
    queue_version: int | None
    members_version_before: int | None


@dataclass(frozen=True, slots=True)
class Outcome:
    before: PartyState
    state: PartyState
    events: list[Event]
    at_ms: int = 0  # the server time the command was decided at
    # Claimed for sending with the write (see LiveParties.send_at_once): what was sent before.
    sent: Sent | None = None

    @property
    def changed(self) -> bool:
        return bool(self.events)


class LiveParties:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        clock: Callable[[], int] = wall_now_ms,
        send_at_once: Callable[[list[Event]], bool] | None = None,
    ) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        # Which changes are sent as soon as written: their claim to be sent (claim_broadcast)
        # is made by the write itself, which saves the sender a round trip.
        self.send_at_once = send_at_once
        self._cas = redis.register_script(_CAS)
        self._read = redis.register_script(_READ)
        self._forget_dead = redis.register_script(_FORGET_DEAD)
        self._enter_live = redis.register_script(_ENTER_LIVE)
        self._index_connected = redis.register_script(_INDEX_CONNECTED)
        self._claim = redis.register_script(_CLAIM)
        # Decoding a big party costs more than the round trip; reuse it while it is current.
        self._cache: dict[str, PartyState] = {}
        # One command per party at a time in this process: optimistic retries then only race
        # other processes, instead of every local caller (200 joins at once would starve).
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiters: dict[str, int] = {}

    def state_key(self, party_id: str) -> str:
        return self.keys("party", party_id, "state")

    @property
    def deadlines_key(self) -> str:
        return self.keys("party", "deadlines")

    @property
    def connected_key(self) -> str:
        """Parties with a member marked connected (all scored 0: paged by id), for
        reconciliation."""
        return self.keys("party", "connected")

    def sent_key(self, party_id: str) -> str:
        """The last `party:state` versions claimed for sending (see claim_broadcast)."""
        return self.keys("party", party_id, "sent")

    def due_key(self, party_id: str) -> str:
        """Set while a process holds back the party's member changes for one batch."""
        return self.keys("party", party_id, "due")

    async def claim_broadcast(self, state: PartyState) -> Sent | None:
        """Claim sending `state` to the room; None when it, or a newer one, was claimed
        already. Else what the broadcasts claimed before it carried."""
        reply = await self._claim(
            keys=[self.sent_key(state.party_id)],
            args=[state.version, state.members_version, state.queue_version, LIVE_TTL_MS],
        )
        return None if reply is None else _sent(reply)

    async def mark_due(self, party_id: str, *, ttl_ms: int) -> bool:
        """Become the process that sends the party's next batch of member changes (False:
        another one is, and will read the state after the caller's change)."""
        return bool(await self.redis.set(self.due_key(party_id), 1, nx=True, px=ttl_ms))

    async def clear_due(self, party_id: str) -> None:
        """Before reading the state to send: a change written after this marks a new batch."""
        await self.redis.delete(self.due_key(party_id))

    def sockets_key(self, party_id: str, user_id: str) -> str:
        """The member's sockets in the party's room, on any process."""
        return self.keys("party", party_id, "sids", user_id)

    def beats_key(self, user_id: str) -> str:
        """realtime/connections.py's sockets of the user, scored by their last heartbeat."""
        return self.keys("sio", "user", user_id)

    def rtts_key(self, party_id: str, user_id: str) -> str:
        """The round trip each of the member's sockets last reported (sid -> ms)."""
        return self.keys("party", party_id, "rtts", user_id)

    async def screen_rtt(
        self, party_id: str, user_id: str, sid: str, rtt_ms: int | None, *, ttl_s: int
    ) -> int | None:
        """A member's round trip is their slowest socket's: several screens of one person in
        a party all start on the scheduled instant only if it is far enough ahead for the
        slowest (a phone reporting after the TV must not shorten the TV's lead). Records this
        socket's report (None: keeps its last) and returns the worst of the member's sockets
        still in the room."""
        key = self.rtts_key(party_id, user_id)
        async with self.redis.pipeline(transaction=False) as pipe:
            if rtt_ms is not None:
                pipe.hset(key, sid, rtt_ms)
                pipe.expire(key, ttl_s)
            pipe.hgetall(key)
            pipe.smembers(self.sockets_key(party_id, user_id))
            replies = await pipe.execute()
        reported, present = replies[-2], replies[-1]
        sids = {x.decode() if isinstance(x, bytes) else str(x) for x in present} | {sid}
        values = [
            int(v)
            for k, v in reported.items()
            if (k.decode() if isinstance(k, bytes) else str(k)) in sids
        ]
        return max(values, default=rtt_ms)

    async def forget_screen_rtt(self, party_id: str, user_id: str, sid: str) -> None:
        await self.redis.hdel(self.rtts_key(party_id, user_id), sid)

    async def forget_dead(
        self, party_id: str, user_id: str, sids: Sequence[str], *, floor_ms: int
    ) -> list[str]:
        """Take the member's sockets not heartbeated since `floor_ms` out of their set; returns
        those taken out."""
        if not sids:
            return []
        keys = [self.sockets_key(party_id, user_id), self.beats_key(user_id)]
        gone = await self._forget_dead(keys=keys, args=[floor_ms, *sids])
        return [x.decode() if isinstance(x, bytes) else str(x) for x in gone]

    async def enter_live(self, party_id: str, user_id: str, sid: str, *, floor_ms: int) -> bool:
        """Put a socket heartbeated since `floor_ms` (back) in the member's set."""
        keys = [self.sockets_key(party_id, user_id), self.beats_key(user_id)]
        return bool(await self._enter_live(keys=keys, args=[sid, floor_ms, SOCKETS_TTL_S]))

    async def load(self, party_id: str) -> PartyState | None:
        cached = self._cache.get(party_id)
        reply = await self._read(
            keys=[self.state_key(party_id)], args=["" if cached is None else str(cached.version)]
        )
        if not reply:
            self._cache.pop(party_id, None)
            return None
        if len(reply) == 1 and cached is not None:
            return cached
        state = load_state(orjson.loads(reply[1]))
        self._remember(state)
        return state

    def _remember(self, state: PartyState) -> None:
        if len(self._cache) >= CACHE_SIZE and state.party_id not in self._cache:
            self._cache.pop(next(iter(self._cache)))
        self._cache[state.party_id] = state

    async def get(self, party_id: str) -> PartyState:
        state = await self.load(party_id)
        if state is None:
            raise NotFound("No such party", code="party_not_found")
        return state

    async def create(self, state: PartyState) -> None:
        if (await self._write("", state, None))[0] <= 0:
            raise Conflict("This party already exists", code="party_exists")

    async def apply(
        self, party_id: str, command: Command, *, guard: SocketGuard | None = None
    ) -> Outcome:
        """Decide `command` against the latest state and store the result atomically.

        With a guard, nothing changes unless the member's sockets in the party allow it."""
        lock = self._locks.setdefault(party_id, asyncio.Lock())
        self._waiters[party_id] = self._waiters.get(party_id, 0) + 1
        started = time.perf_counter()
        outcome = "error"
        try:
            async with lock:
                result = await self._apply(party_id, command, guard)
            outcome = "applied" if result.events else "unchanged"
            return result
        finally:
            metrics.party_commands.labels(type(command).__name__, outcome).observe(
                time.perf_counter() - started
            )
            self._waiters[party_id] -= 1
            if not self._waiters[party_id]:
                del self._waiters[party_id]
                del self._locks[party_id]

    async def _apply(self, party_id: str, command: Command, guard: SocketGuard | None) -> Outcome:
        for attempt in range(MAX_TRIES):
            before = await self.get(party_id)
            at = self.clock()
            state, events = decide(before, command, at)
            if not events:
                return Outcome(before, before, [], at)
            claim = self.send_at_once is not None and self.send_at_once(events)
            written, sent = await self._write(str(before.version), state, guard, claim=claim)
            if written < 0:
                return Outcome(before, before, [], at)  # the member's sockets say otherwise
            if written:
                return Outcome(before, state, events, at, sent)
            # Lost a race with another command: back off a little (jittered) and decide again.
            await asyncio.sleep(random.random() * min(0.02, 0.0005 * 2**attempt))
        raise Conflict("The party is too busy; try again", code="party_busy")

    async def _write(
        self, expected: str, state: PartyState, guard: SocketGuard | None, *, claim: bool = False
    ) -> tuple[int, Sent | None]:
        """1 written, 0 the version moved on, -1 the guard held; with `claim`, once written,
        what the broadcasts before it carried."""
        deadline = state.next_deadline_ms()
        live = state.phase is not Phase.ENDED
        connected = live and any(m.connected for m in state.members)
        args: list[Any] = [
            expected,
            str(state.version),
            orjson.dumps(dump_state(state)),
            LIVE_TTL_MS if live else ENDED_TTL_MS,
            "" if deadline is None else deadline,
            state.party_id,
            "1" if connected else "",
            guard.present if guard else "",
            guard.floor_ms if guard else 0,
            state.members_version,
            state.queue_version,
            *(guard.dead if guard else ()),
        ]
        keys = [
            self.state_key(state.party_id),
            self.deadlines_key,
            self.connected_key,
            guard.key if guard else "",
            guard.beats_key if guard else "",
            self.sent_key(state.party_id) if claim else "",
        ]
        reply = await self._cas(keys=keys, args=args)
        sent = _sent(reply[1:]) if isinstance(reply, list) else None
        result = int(reply[0]) if isinstance(reply, list) else int(reply)
        if result > 0:
            self._remember(state)
        return result, sent

    async def due(self, limit: int = 100) -> list[str]:
        """Parties with a deadline (waiting timeout, grace period) that has passed."""
        ids = await self.redis.zrangebyscore(
            self.deadlines_key, "-inf", self.clock(), start=0, num=limit
        )
        return [str(i) for i in ids]

    async def connected(self, *, after: str = "", limit: int = 500) -> list[str]:
        """Up to `limit` parties with a member marked connected, by id after `after`."""
        start = f"({after}" if after else "-"
        ids = await self.redis.zrangebylex(self.connected_key, start, "+", start=0, num=limit)
        return [str(i) for i in ids]

    async def index_connected(self, *, batch: int = 500) -> int:
        """Put every live party with a member marked connected in the connected index (for
        parties last written before the index existed); returns how many were missing."""
        pattern = _glob_escape(self.keys("party")) + ":*:state"
        added = 0
        keys: list[str] = []
        async for key in self.redis.scan_iter(match=pattern, count=1000):
            keys.append(str(key))
            if len(keys) >= batch:
                added += int(await self._index_connected(keys=[self.connected_key, *keys]))
                keys = []
        if keys:
            added += int(await self._index_connected(keys=[self.connected_key, *keys]))
        return added

    async def forget(self, party_id: str) -> None:
        """Drop a party whose live state is gone (expired) from the connected index."""
        await self.redis.zrem(self.connected_key, party_id)


def _sent(reply: list[Any]) -> Sent:
    members, queue, members_before = (
        int(x) if x else None for x in (y.decode() if isinstance(y, bytes) else y for y in reply)
    )
    return Sent(members, queue, members_before)


def _glob_escape(text: str) -> str:
    """`text` matched literally by SCAN's glob (a prefix may hold *, ?, [ or backslashes)."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)
