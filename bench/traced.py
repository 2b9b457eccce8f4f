"""Run a Python module (a server) with memory snapshots and CPU profiles on signal.

    python -m bench.traced OUT_DIR -m cinema.cli serve --port 8160

SIGUSR1 writes a tracemalloc snapshot to OUT_DIR/snap-<n>.pickle (traced from the start, with
TRACE_FRAMES frames, default 1; compare the snapshot taken at 0 sockets with the one at N).
SIGUSR2 starts cProfile, the next SIGUSR2 stops it and writes OUT_DIR/profile-<n>.pstats
(without TRACE_FRAMES set, nothing is traced and the profile sees the server's real code).
The profile's clock is the process's CPU time, not the wall clock: on a shared machine a call
that the scheduler preempted would otherwise be charged for the time other processes ran.
Each output gets a `.done` marker once written.
"""

from __future__ import annotations

import cProfile
import itertools
import os
import runpy
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any


def main() -> None:
    out = Path(sys.argv[1])
    if sys.argv[2] != "-m":
        raise SystemExit("usage: python -m bench.traced OUT_DIR -m MODULE [ARGS...]")
    module, args = sys.argv[3], sys.argv[4:]
    out.mkdir(parents=True, exist_ok=True)
    snaps, profiles = itertools.count(), itertools.count()
    frames = os.environ.get("TRACE_FRAMES")
    if frames:
        tracemalloc.start(int(frames))
    profiler: list[cProfile.Profile] = []

    def snapshot(signum: int, frame: Any) -> None:
        path = out / f"snap-{next(snaps)}.pickle"
        tracemalloc.take_snapshot().dump(str(path))
        path.with_suffix(".done").touch()

    def profile(signum: int, frame: Any) -> None:
        if not profiler:
            profiler.append(cProfile.Profile(time.process_time))
            profiler[0].enable()
            return
        p = profiler.pop()
        p.disable()
        path = out / f"profile-{next(profiles)}.pstats"
        p.dump_stats(str(path))
        path.with_suffix(".done").touch()

    signal.signal(signal.SIGUSR1, snapshot)
    signal.signal(signal.SIGUSR2, profile)
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
