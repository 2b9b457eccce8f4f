"""Which sockets belong to which session, user and process, across every process.

Each process heartbeats its own sockets into Redis sorted sets (score = last heartbeat, every
`socket_heartbeat_s`), so entries of a crashed process age out instead of counting forever:
a socket older than `Settings.socket_stale_ms` (three heartbeats) is dead. Each process also
lists its sockets under its own id, so when it is found dead (realtime/liveness.py) they are
let go of at once instead of when their heartbeats run out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from models.core.clock import now_ms
from models.core.redis import Keys, QueueCommands

# A socket's records, in one command (ten separate ones cost the connect more to send and
# read than Redis takes to run them): the session's and the user's sockets (dead processes'
# entries trimmed), the users seen connected, and this process's own list.
# KEYS: session, user, users[, process]; ARGV: sid, stamp, stale_before, ttl_ms, user, entry
_ADD = """
for i = 1, 2 do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', ARGV[3])
  redis.call('ZADD', KEYS[i], ARGV[2], ARGV[1])
  redis.call('PEXPIRE', KEYS[i], ARGV[4])
end
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[5])
if #KEYS > 3 then
  redis.call('SADD', KEYS[4], ARGV[6])
  redis.call('PEXPIRE', KEYS[4], ARGV[4])
end
return 1
"""


@dataclass(frozen=True)
class Conn:
    sid: str
    user_id: str
    session_id: str


class Connections:
    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        stale_ms: int,
        proc: str = "",
    ) -> None:
        self.redis = redis
        self._add = redis.register_script(_ADD)
        self.keys = keys
        self.stale_ms = stale_ms
        self.proc = proc  # this process's id (realtime/relay.py); "" when only reading
        self.local: dict[str, Conn] = {}

    def process_key(self, proc: str) -> str:
        """The sockets of one process, as "sid user session" strings."""
        return self.keys("sio", "proc", proc, "sockets")

    def _session_key(self, session_id: str) -> str:
        return self.keys("sio", "session", session_id)

    def _user_key(self, user_id: str) -> str:
        return self.keys("sio", "user", user_id)

    async def count_for_user(self, user_id: str) -> int:
        """Live sockets of a user on every process (stale ones, of a dead process, left out)."""
        return int(
            await self.redis.zcount(self._user_key(user_id), now_ms() - self.stale_ms, "+inf")
        )

    def queue_count_for_user(self, pipe: Pipeline, user_id: str) -> None:
        """`count_for_user` queued in a pipeline (its reply: the count)."""
        pipe.zcount(self._user_key(user_id), now_ms() - self.stale_ms, "+inf")

    def _add_call(self, conn: Conn) -> tuple[list[str], list[Any]]:
        stamp = now_ms()
        keys = [
            self._session_key(conn.session_id),
            self._user_key(conn.user_id),
            self.keys("sio", "users"),
        ]
        if self.proc:
            keys.append(self.process_key(self.proc))
        args = [conn.sid, stamp, stamp - self.stale_ms, self.stale_ms * 2, conn.user_id]
        args.append(_entry(conn))
        return keys, args

    def queue_add(self, conn: Conn) -> QueueCommands:
        """`add` as one command to queue in a pipeline (a connect sends it with others), the
        socket counted as this process's from now on; its reply goes through `added`."""
        self.local[conn.sid] = conn
        keys, args = self._add_call(conn)
        sha = self._add.sha

        def queue(pipe: Pipeline) -> None:
            pipe.execute_command("EVALSHA", sha, len(keys), *keys, *args)

        return queue

    async def added(self, conn: Conn, reply: Any) -> None:
        """Check `queue_add`'s reply: the script loaded and sent again if Redis did not have
        it (first use, or Redis restarted); any other error raised."""
        if isinstance(reply, NoScriptError):
            keys, args = self._add_call(conn)
            await self._add(keys=keys, args=args)
        elif isinstance(reply, Exception):
            raise reply

    async def add(self, conn: Conn) -> None:
        self.local[conn.sid] = conn
        keys, args = self._add_call(conn)
        await self._add(keys=keys, args=args)

    async def remove(self, sid: str) -> Conn | None:
        conn = self.local.pop(sid, None)
        if conn is not None:
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zrem(self._session_key(conn.session_id), sid)
                pipe.zrem(self._user_key(conn.user_id), sid)
                if self.proc:
                    pipe.srem(self.process_key(self.proc), _entry(conn))
                await pipe.execute()
        return conn

    async def sockets_of(self, proc: str) -> list[Conn]:
        entries = await self.redis.smembers(self.process_key(proc))
        return [Conn(*str(e).split(" ", 2)) for e in entries]

    async def forget_process(self, proc: str, conns: list[Conn]) -> None:
        """A dead process's sockets are gone: out of their users' and sessions' sets now
        (so counts, reconciliation and session lookups stop seeing them)."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for conn in conns:
                pipe.zrem(self._session_key(conn.session_id), conn.sid)
                pipe.zrem(self._user_key(conn.user_id), conn.sid)
            pipe.delete(self.process_key(proc))
            await pipe.execute()

    async def sids_of_session(self, session_id: str) -> list[str]:
        key = self._session_key(session_id)
        return list(await self.redis.zrangebyscore(key, now_ms() - self.stale_ms, "+inf"))

    async def heartbeat(self) -> None:
        stamp = now_ms()
        async with self.redis.pipeline(transaction=False) as pipe:
            for conn in self.local.values():
                for key in (self._session_key(conn.session_id), self._user_key(conn.user_id)):
                    pipe.zadd(key, {conn.sid: stamp})
                    pipe.pexpire(key, self.stale_ms * 2)
            if self.local:
                # Users with a socket somewhere, scored by last sighting: lets a fan-out to
                # 100k users find the few connected ones without a lookup per user. One
                # command for all of this process's users.
                users = {conn.user_id for conn in self.local.values()}
                pipe.zadd(self.keys("sio", "users"), dict.fromkeys(users, stamp))
            if self.proc and self.local:
                # Again each time: a process wrongly taken for dead lists its sockets anew.
                pipe.sadd(self.process_key(self.proc), *(_entry(c) for c in self.local.values()))
                pipe.pexpire(self.process_key(self.proc), self.stale_ms * 2)
            await pipe.execute()


def _entry(conn: Conn) -> str:
    return f"{conn.sid} {conn.user_id} {conn.session_id}"
