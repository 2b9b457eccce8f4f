"""Who sends which party:state: claims of versions, and the batch's sender, in real Redis."""

from __future__ import annotations

import uuid

from models.core.clock import now_ms
from models.core.context import Context
from models.parties import service
from models.parties.live import LiveParties, Sent
from models.parties.state import Join, Media, Play, new_party


async def test_each_version_is_sent_once_never_after_a_newer_one(ctx: Context) -> None:
    live = LiveParties(ctx.redis, ctx.keys, send_at_once=service._sent_at_once)
    party_id = str(uuid.uuid4())
    start = new_party(party_id=party_id, host_id="h", media=Media("title", 1), now_ms=now_ms())
    await live.create(start)
    joined = await live.apply(party_id, Join("a"))
    assert joined.sent is None  # a member change waits for its batch
    first = await live.claim_broadcast(joined.state)
    assert first == Sent(None, None, None)  # nothing sent before: the lists go whole
    assert await live.claim_broadcast(joined.state) is None  # sent once
    # Playback goes at once, claimed by its own write: counted from what the batch sent.
    played = await live.apply(party_id, Play("h"))
    assert played.sent == Sent(joined.state.members_version, joined.state.queue_version, None)
    assert await live.claim_broadcast(played.state) is None
    assert await live.claim_broadcast(joined.state) is None  # older than one sent
    again = await live.apply(party_id, Join("b"))
    assert await live.claim_broadcast(again.state) == Sent(
        played.state.members_version, played.state.queue_version, joined.state.members_version
    )


async def test_one_process_at_a_time_holds_a_party_batch(ctx: Context) -> None:
    live = LiveParties(ctx.redis, ctx.keys)
    party_id = str(uuid.uuid4())
    assert await live.mark_due(party_id, ttl_ms=5_000)
    assert not await live.mark_due(party_id, ttl_ms=5_000)
    await live.clear_due(party_id)  # the sender, before it reads the state
    assert await live.mark_due(party_id, ttl_ms=5_000)
