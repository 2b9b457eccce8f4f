"""Members whose process died: marked connected, but none of their sockets has a heartbeat.

A Disconnect is recorded when the process holding a member's last socket in a party sees it
close. A process that is killed never sees it, so its members would stay connected forever:
waited for, counted, keeping the host role. Every `party_reconcile_s`, one process (the first
to claim the slot in Redis: any web process, or the job worker) walks the parties with a member
marked connected, checks each such member's sockets in the party against the socket heartbeats
(realtime/connections.py: a socket unrefreshed for `socket_stale_ms` is dead) and sends the
Disconnect they never had through `service.do_disconnect`, the path of a socket close: same
versions, events and grace period, then host handover as for any disconnect.

Idempotent and safe to run anywhere at once: a Disconnect for a member already disconnected
changes nothing, and it is never written while a socket of theirs is in the party (a member
with a second tab on a live process stays; one reconnecting meanwhile wins) or once a dead
socket heartbeats again. A process that was only stalled puts its members back itself at its
next heartbeat (`service.do_resume`). The first pass of a deployment also indexes, once, the
parties last written before the connected index existed (`do_backfill`).
"""

from __future__ import annotations

import logging
import uuid

from models.core.clock import now_ms
from models.core.context import Context
from models.parties import service
from models.parties.state import Phase

log = logging.getLogger("cinema.parties")

PAGE = 200


async def take_turn(ctx: Context) -> bool:
    """Whether the caller makes this slot's pass: one per `party_reconcile_s` slot, by
    whichever process (web or worker) gets there first."""
    interval_ms = max(1, int(ctx.settings.party_reconcile_s * 1000))
    return bool(await ctx.redis.set(slot_key(ctx), "1", nx=True, px=2 * interval_ms))


def slot_key(ctx: Context) -> str:
    """The current slot's claim (the interval is in the name: differently configured
    processes, as in tests, never take each other's turns)."""
    interval_ms = max(1, int(ctx.settings.party_reconcile_s * 1000))
    return ctx.keys("party", "reconcile", interval_ms, now_ms() // interval_ms)


BACKFILL_LEASE_MS = 10 * 60 * 1000  # a backfiller that died is taken over after this


def backfill_keys(ctx: Context) -> tuple[str, str]:
    """(done for good, being done now) claims of the one-time connected-index backfill."""
    return ctx.keys("party", "connected", "backfilled"), ctx.keys("party", "connected", "backfill")


async def do_backfill(ctx: Context) -> int | None:
    """Once per deployment: index the parties last written before `party:connected` existed
    (they would join it only at their next change, and until then their members of crashed
    processes would stay connected). Returns how many were missing, or None when it was done
    before or another process is doing it. Idempotent: running it again only re-adds."""
    done, lease = backfill_keys(ctx)
    if await ctx.redis.exists(done):
        return None
    token = uuid.uuid4().hex
    if not await ctx.redis.set(lease, token, nx=True, px=BACKFILL_LEASE_MS):
        return None
    try:
        added = await service.runtime(ctx).live.index_connected()
        await ctx.redis.set(done, str(now_ms()))
    finally:
        if await ctx.redis.get(lease) == token:  # not a successor's, had ours run out
            await ctx.redis.delete(lease)
    log.info(
        "party index backfilled: %d parties added",
        added,
        extra={"event": "party_backfill", "count": added},
    )
    return added


async def do_reconcile(ctx: Context) -> int:
    """Disconnect every member whose sockets in a party all died; returns how many."""
    live = service.runtime(ctx).live
    try:
        await do_backfill(ctx)  # one EXISTS once it is done
    except Exception:
        log.exception("party index backfill failed; next pass tries again")
    disconnected = 0
    after = ""
    while True:
        party_ids = await live.connected(after=after, limit=PAGE)
        for party_id in party_ids:
            try:
                disconnected += await _reconcile_party(ctx, party_id)
            except Exception:
                log.exception("party %s: reconciling members failed", party_id)
        if len(party_ids) < PAGE:
            return disconnected
        after = party_ids[-1]


async def reconcile_parties(ctx: Context, party_ids: list[str]) -> int:
    """`do_reconcile` for these parties only (those a process found dead had sockets in):
    every member whose sockets in the party all died gets their Disconnect; returns how many."""
    disconnected = 0
    for party_id in party_ids:
        try:
            disconnected += await _reconcile_party(ctx, party_id)
        except Exception:
            log.exception("party %s: reconciling members failed", party_id)
    return disconnected


async def _reconcile_party(ctx: Context, party_id: str) -> int:
    live = service.runtime(ctx).live
    state = await live.load(party_id)
    if state is None or state.phase is Phase.ENDED:
        await live.forget(party_id)  # expired: no write will ever take it out of the index
        return 0
    members = [m.user_id for m in state.members if m.connected]
    if not members:
        return 0
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for user_id in members:
            pipe.smembers(live.sockets_key(party_id, user_id))
        socket_sets = await pipe.execute()
    sockets = {
        user_id: sorted(str(s) for s in sids)
        for user_id, sids in zip(members, socket_sets, strict=True)
    }
    async with ctx.redis.pipeline(transaction=False) as pipe:
        for user_id, sids in sockets.items():
            for sid in sids:
                pipe.zscore(live.beats_key(user_id), sid)
        beats = iter(await pipe.execute())
    floor = now_ms() - ctx.settings.socket_stale_ms
    gone: dict[str, list[str]] = {}
    stale: dict[str, list[str]] = {}
    for user_id, sids in sockets.items():
        dead = [sid for sid in sids if (beat := next(beats)) is None or float(beat) < floor]
        if len(dead) == len(sids):
            gone[user_id] = dead
        elif dead:
            stale[user_id] = dead
    if stale:
        # A live tab elsewhere keeps the member; forget the dead one, so closing the live tab
        # later is seen as the last socket going (unless it heartbeated since: then it stays),
        # and so the party no longer waits for that screen.
        for user_id, dead in stale.items():
            forgotten = await live.forget_dead(party_id, user_id, dead, floor_ms=floor)
            if forgotten:
                await service.do_screens_gone(
                    ctx, party_id=party_id, user_id=user_id, screens=forgotten
                )
    count = 0
    for user_id, dead in gone.items():
        outcome = await service.do_disconnect(
            ctx, party_id=party_id, user_id=user_id, dead=dead, floor_ms=floor
        )
        if outcome.changed:
            count += 1
            log.info(
                "party %s: %s had no live socket; disconnected",
                party_id,
                user_id,
                extra={"event": "party_reconcile", "user_id": user_id},
            )
    return count
