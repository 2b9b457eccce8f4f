"""Per-process values live on their Context, one per Slot, never shared with another one."""

from __future__ import annotations

import dataclasses

from models.catalog.cache import cache_for
from models.core.context import Context, Local, Slot
from models.parties.service import runtime


def test_a_slot_is_made_once_and_dropped_on_pop() -> None:
    local, slot = Local(), Slot[list[int]]("test.list")
    made = local.get_or_make(slot, list)
    assert local.get_or_make(slot, list) is made and local.get(slot) is made
    local.pop(slot)
    assert local.get(slot) is None


async def test_each_context_keeps_its_own_runtime_and_cache(ctx: Context) -> None:
    copy = dataclasses.replace(ctx)
    assert runtime(ctx) is runtime(ctx) and cache_for(ctx) is cache_for(ctx)
    assert runtime(copy) is not runtime(ctx) and cache_for(copy) is not cache_for(ctx)
    assert cache_for(copy).ctx is copy
