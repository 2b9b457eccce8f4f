"""Events every client may use regardless of features: whoami and ping."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from models.accounts.schemas import UserOut
from models.accounts.service import sessions_of
from models.core.clock import now_ms
from models.core.errors import Unauthorized
from realtime.registry import SocketCall, events


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WhoAmI(BaseModel):
    user_id: str
    session_id: str
    role: str


class Pong(BaseModel):
    server_ms: int


events.emits(
    "account:updated",
    payload=UserOut,
    doc="My profile changed (on any device, or by a job); sent to all my sockets.",
)


@events.on("session:whoami", payload=Empty, ack=WhoAmI, doc="Who this socket is signed in as.")
async def whoami(ev: SocketCall) -> WhoAmI:
    # Read now, not the role other events reuse for a second: this answer is about the session.
    role = await sessions_of(ev.ctx).role_if_alive(ev.session_id)
    if role is None:
        raise Unauthorized("Session has been revoked or has expired", code="session_revoked")
    return WhoAmI(user_id=str(ev.user_id), session_id=ev.session_id, role=role)


@events.on("ping", payload=Empty, ack=Pong, doc="Liveness check answered with server time.")
async def ping(ev: SocketCall) -> Pong:
    return Pong(server_ms=now_ms())
