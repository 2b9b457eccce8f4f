"""cinema.app.settle_gc: a served process tunes its garbage collector once started."""

from __future__ import annotations

import gc

from cinema.app import GC_THRESHOLDS, settle_gc


def test_a_started_server_freezes_its_start_up_and_collects_less_often() -> None:
    # The test process's own apps (tests/conftest.py) are not their process's only app: they
    # leave the collector as Python set it.
    before = gc.get_threshold()
    assert before != GC_THRESHOLDS and gc.get_freeze_count() == 0
    try:
        settle_gc()
        assert gc.get_threshold() == GC_THRESHOLDS
        assert gc.get_freeze_count() > 10_000  # all that was alive, out of the collector's walk
        cycle: list[object] = []
        cycle.append(cycle)
        del cycle
        assert gc.collect() >= 1  # what comes after is still collected
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
