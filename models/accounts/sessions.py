"""Login sessions in Redis: idle TTL, absolute expiry, refresh rotation with reuse detection
(and a short grace window for a retried refresh whose answer was lost)."""

from __future__ import annotations

import contextlib
import enum
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from models.core.redis import Keys

log = logging.getLogger("cinema.sessions")

# Rotate the refresh jti if the presented one is current. A retry of the token rotated just
# before, within the grace window, gets the same successor again (a client whose answer was
# lost on the network retries with what it has). Anything else presented is reuse.
# ARGV: presented, new, now_s, idle_ttl_s, now_ms, grace_until_ms, user_id.
# Returns {1, jti, iat, absolute_exp} rotated, {2, jti, iat, absolute_exp} a retry in the
# grace window (jti is the current one), {0} no such session, {-1} reuse (caller revokes),
# {-2} the session is another user's (a forged token: nothing is touched).
_ROTATE = """
local key = KEYS[1]
local h = redis.call('HMGET', key, 'refresh_jti', 'absolute_exp', 'refresh_iat',
                     'prev_jti', 'prev_until_ms', 'user_id')
if not h[1] then return {0} end
if h[6] ~= ARGV[7] then return {-2} end
if h[1] == ARGV[1] then
  local ttl = math.min(tonumber(ARGV[4]), tonumber(h[2]) - tonumber(ARGV[3]))
  if ttl <= 0 then redis.call('DEL', key) return {0} end
  redis.call('HSET', key, 'refresh_jti', ARGV[2], 'refresh_iat', ARGV[3], 'last_seen', ARGV[3],
             'prev_jti', ARGV[1], 'prev_until_ms', ARGV[6])
  redis.call('EXPIRE', key, ttl)
  return {1, ARGV[2], ARGV[3], h[2]}
end
if h[4] == ARGV[1] and tonumber(ARGV[5]) < tonumber(h[5]) then
  return {2, h[1], h[3], h[2]}
end
return {-1}
"""


_PRINCIPAL_FIELDS = ("user_id", "role", "max_age")


def principal_from(reply: list[str | None], user_id: str) -> tuple[str, int | None] | None:
    """The role and maturity limit from a session's principal fields, if the session is alive
    and belongs to `user_id`."""
    owner, role, max_age = reply
    if owner is None or owner != user_id:
        return None
    return str(role), int(max_age) if max_age is not None else None


class Rotated(enum.Enum):
    rotated = 1
    retried = 2  # the previous token again, within the grace window: the same successor
    ended = 0
    reused = -1
    foreign = -2  # the token's user is not the session's


@dataclass(frozen=True)
class Rotation:
    outcome: Rotated
    # The session's current refresh jti, when it was issued, and the session's absolute expiry
    # (rotated and retried only): enough to encode the very token the first answer carried.
    jti: str = ""
    issued_at: int = 0
    absolute_exp: int = 0


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    role: str
    created_at: int
    last_seen: int
    absolute_exp: int
    user_agent: str
    ip: str

    @classmethod
    def from_hash(cls, session_id: str, h: dict[str, str]) -> Session:
        return cls(
            id=session_id,
            user_id=h["user_id"],
            role=h.get("role", "user"),
            created_at=int(h["created_at"]),
            last_seen=int(h.get("last_seen", h["created_at"])),
            absolute_exp=int(h["absolute_exp"]),
            user_agent=h.get("user_agent", ""),
            ip=h.get("ip", ""),
        )

    @property
    def created(self) -> datetime:
        return datetime.fromtimestamp(self.created_at, UTC)


class SessionStore:
    """Sessions in Redis. With `replicas` (Redis through Sentinel), a login, a refresh and a
    revocation are answered only once a replica has them (WAIT, on the connection that wrote,
    at most `replica_wait_ms`): a failover right after cannot sign someone out, or bring a
    revoked session back. A replica that does not answer in time is logged, not waited for."""

    def __init__(
        self,
        redis: Redis,
        keys: Keys,
        *,
        idle_ttl_s: int,
        absolute_ttl_s: int,
        replicas: int = 0,
        replica_wait_ms: int = 500,
    ) -> None:
        self._redis = redis
        self._keys = keys
        self._idle = idle_ttl_s
        self._absolute = absolute_ttl_s
        self._rotate = redis.register_script(_ROTATE)
        self._replicas = replicas
        self._replica_wait_ms = replica_wait_ms

    @contextlib.asynccontextmanager
    async def _durable(self) -> AsyncIterator[Redis]:
        """A client for writes that must reach a replica before the caller answers: one
        connection (WAIT counts what that connection wrote), then WAIT on it."""
        if not self._replicas:
            yield self._redis
            return
        async with self._redis.client() as conn:
            yield conn
            # WAIT counts only this connection's writes, and a pipeline or a script the caller
            # ran went out on another connection of the pool: a marker written here after them
            # comes later in the replication stream, so a replica that has it has them too.
            await conn.set(self._keys("session", "replicated"), "1", px=60_000)
            acked = int(await conn.execute_command("WAIT", self._replicas, self._replica_wait_ms))
            if acked < self._replicas:
                log.warning(
                    "session write reached %d of %d replicas in %d ms",
                    acked,
                    self._replicas,
                    self._replica_wait_ms,
                    extra={"event": "session_not_replicated"},
                )

    def _key(self, session_id: str) -> str:
        return self._keys("session", session_id)

    def _user_key(self, user_id: str) -> str:
        return self._keys("user_sessions", user_id)

    async def create(
        self,
        *,
        session_id: str,
        user_id: str,
        role: str,
        refresh_jti: str,
        now: int,
        user_agent: str,
        ip: str,
        max_age: int | None = None,
    ) -> Session:
        fields = {
            "user_id": user_id,
            "role": role,
            "refresh_jti": refresh_jti,
            "created_at": str(now),
            "last_seen": str(now),
            "absolute_exp": str(now + self._absolute),
            "user_agent": user_agent[:256],
            "ip": ip,
        }
        if max_age is not None:  # a child's: every catalog read filters by it
            fields["max_age"] = str(max_age)
        async with self._durable() as redis, redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(session_id), mapping=fields)
            pipe.expire(self._key(session_id), min(self._idle, self._absolute))
            pipe.sadd(self._user_key(user_id), session_id)
            pipe.expire(self._user_key(user_id), self._absolute)
            await pipe.execute()
        return Session.from_hash(session_id, fields)

    async def get(self, session_id: str) -> Session | None:
        h = await self._redis.hgetall(self._key(session_id))
        return Session.from_hash(session_id, h) if h else None

    async def role_if_alive(self, session_id: str) -> str | None:
        """One round trip: the session's role, or None once it is revoked or expired."""
        role: str | None = await self._redis.hget(self._key(session_id), "role")
        return role

    def queue_role(self, pipe: Pipeline, session_id: str) -> None:
        """`role_if_alive`'s read queued in a pipeline (its reply: the role or None)."""
        pipe.hget(self._key(session_id), "role")

    async def principal_if_alive_for(
        self, session_id: str, user_id: str
    ) -> tuple[str, int | None] | None:
        """The session's role and maturity limit (a child's) if it is alive and belongs to
        `user_id`, else None; one round trip."""
        reply = await self._redis.hmget(self._key(session_id), list(_PRINCIPAL_FIELDS))
        return principal_from(reply, user_id)

    def queue_principal(self, pipe: Pipeline, session_id: str) -> None:
        """`principal_if_alive_for`'s read queued in a pipeline, so a caller with more to read
        pays one round trip; its reply goes through `principal_from`."""
        pipe.hmget(self._key(session_id), list(_PRINCIPAL_FIELDS))

    async def set_max_age(self, user_id: str, max_age: int | None) -> None:
        """A child's new limit reaches every session of theirs at once."""
        for session in await self.list_for_user(user_id):
            if max_age is None:
                await self._redis.hdel(self._key(session.id), "max_age")
            else:
                await self._redis.hset(self._key(session.id), "max_age", str(max_age))

    async def role_if_alive_for(self, session_id: str, user_id: str) -> str | None:
        """The session's role if it is alive and belongs to `user_id`, else None."""
        owner, role = await self._redis.hmget(self._key(session_id), ["user_id", "role"])
        return str(role) if owner is not None and owner == user_id else None

    async def rotate_refresh(
        self,
        session_id: str,
        *,
        user_id: str,
        presented: str,
        new: str,
        now_ms: int,
        grace_ms: int,
    ) -> Rotation:
        """Atomically: rotate, answer a retry within the grace window, or report reuse."""
        async with self._durable() as redis:
            reply = await self._rotate(
                keys=[self._key(session_id)],
                args=[
                    presented,
                    new,
                    now_ms // 1000,
                    self._idle,
                    now_ms,
                    now_ms + grace_ms,
                    user_id,
                ],
                client=redis,
            )
        outcome = Rotated(int(reply[0]))
        if outcome not in (Rotated.rotated, Rotated.retried):
            return Rotation(outcome)
        return Rotation(outcome, str(reply[1]), int(reply[2]), int(reply[3]))

    async def list_for_user(self, user_id: str) -> list[Session]:
        ids = sorted(await self._redis.smembers(self._user_key(user_id)))
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in ids:
                pipe.hgetall(self._key(session_id))
            hashes = await pipe.execute()
        alive: list[tuple[str, dict[str, str]]] = []
        dead: list[tuple[str, dict[str, str]]] = []
        for session_id, h in zip(ids, hashes, strict=True):
            (alive if h else dead).append((session_id, h))
        if dead:
            await self._redis.srem(self._user_key(user_id), *(sid for sid, _ in dead))
        return sorted((Session.from_hash(sid, h) for sid, h in alive), key=lambda s: -s.last_seen)

    async def revoke(self, session_id: str) -> Session | None:
        session = await self.get(session_id)
        async with self._durable() as redis, redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key(session_id))
            if session:
                pipe.srem(self._user_key(session.user_id), session_id)
            await pipe.execute()
        return session

    async def revoke_all(self, user_id: str, *, except_id: str | None = None) -> list[str]:
        ids = [sid for sid in await self._redis.smembers(self._user_key(user_id))]
        ids = [sid for sid in ids if sid != except_id]
        if ids:
            async with self._durable() as redis, redis.pipeline(transaction=True) as pipe:
                pipe.delete(*(self._key(sid) for sid in ids))
                pipe.srem(self._user_key(user_id), *ids)
                await pipe.execute()
        return ids

    async def set_role(self, user_id: str, role: str) -> None:
        for session in await self.list_for_user(user_id):
            await self._redis.hset(self._key(session.id), "role", role)
