"""Client sync rules (models/parties/sync.py) and their parity with party-client.js."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from models.parties import sync
from models.parties.sync import Action, ClockSync, Playback, clock_sample, correct, nudged_rate

CLIENT_JS = Path(__file__).resolve().parents[2] / "http_api" / "static" / "party-client.js"


def test_clock_sample_recovers_offset_with_symmetric_delay() -> None:
    # Client clock is 5 s behind the server; 40 ms each way; server holds it 2 ms.
    t0 = 1_000.0
    t1 = t0 + 5_000 + 40
    t2 = t1 + 2
    t3 = t0 + 40 + 2 + 40
    s = clock_sample(t0, t1, t2, t3)
    assert s.offset_ms == pytest.approx(5_000)
    assert s.delay_ms == pytest.approx(80)


def test_offset_from_the_intersection_of_sample_bounds() -> None:
    c = ClockSync(size=3)
    c.add(sync.ClockSample(offset_ms=130, delay_ms=300))  # [-20, 280]
    c.add(sync.ClockSample(offset_ms=101, delay_ms=42))  # [80, 122]
    c.add(sync.ClockSample(offset_ms=90, delay_ms=100))  # [40, 140]
    assert c.offset_ms == 101 and c.rtt_ms == 42
    c.add(sync.ClockSample(offset_ms=0, delay_ms=500))
    c.add(sync.ClockSample(offset_ms=0, delay_ms=500))
    c.add(sync.ClockSample(offset_ms=0, delay_ms=500))
    assert c.offset_ms == 0  # the window forgets old samples (clocks drift)
    # Disjoint bounds (the clock was stepped): the lowest-delay sample decides.
    c.add(sync.ClockSample(offset_ms=1_000, delay_ms=10))
    assert c.offset_ms == 1_000


def test_reported_rtt_is_never_negative() -> None:
    # Whole-millisecond server stamps around a sub-millisecond trip: t2 - t1 = 1 > t3 - t0.
    c = ClockSync()
    c.add(clock_sample(1_000.0, 5_000, 5_001, 1_000.4))
    assert c.best.delay_ms < 0 and c.rtt_ms == 0  # party:join refuses a negative rtt_ms


def test_intersection_beats_the_lowest_delay_sample_under_jitter() -> None:
    rng = random.Random(1)
    worse = 0
    for _ in range(200):
        true_offset, base = rng.uniform(-10_000, 10_000), rng.uniform(20, 300)
        c = ClockSync()
        t = 0.0
        for _ in range(16):
            up, down = (base + rng.expovariate(1 / (base * 0.1)) for _ in range(2))
            t0 = t
            t1 = t0 + up + true_offset
            t3 = t0 + up + 1 + down
            c.add(clock_sample(t0, t1, t1 + 1, t3))
            t += 2_000
        if abs(c.offset_ms - true_offset) > abs(c.best.offset_ms - true_offset) + 1e-9:
            worse += 1
    assert worse < 40  # usually at least as good; on average far better


PLAYING = Playback(version=3, playing=True, position_ms=10_000, anchor_server_ms=50_000, rate=1.0)
PAUSED = Playback(version=3, playing=False, position_ms=10_000, anchor_server_ms=50_000, rate=1.0)


@pytest.mark.parametrize(
    ("p", "now", "pos", "paused", "rate", "expected"),
    [
        (PAUSED, 60_000, 10_000, True, 1.0, Action("none")),
        (PAUSED, 60_000, 10_400, False, 1.0, Action("pause", position_ms=10_000)),
        (PAUSED, 60_000, 10_400, True, 1.0, Action("seek", position_ms=10_000)),
        (PLAYING, 49_000, 10_000, True, 1.0, Action("wait", start_in_ms=1_000)),
        (PLAYING, 49_000, 3_000, False, 1.0, Action("pause", position_ms=10_000)),
        (PLAYING, 51_000, 11_000, False, 1.0, Action("none")),
        (PLAYING, 51_000, 11_002, False, 1.0, Action("none")),  # inside the dead band
        (PLAYING, 51_000, 11_010, False, 1.0, Action("rate", rate=0.975)),  # ahead: slower
        (PLAYING, 51_000, 10_900, False, 1.0, Action("rate", rate=1.05)),  # capped at +5 %
        (PLAYING, 51_000, 10_000, False, 1.0, Action("seek", position_ms=11_050)),
        (PLAYING, 51_000, 0, True, 1.0, Action("play", position_ms=11_050)),
        (PLAYING, 51_000, 11_000, False, 1.02, Action("rate", rate=1.0)),  # drift gone: reset
    ],
)
def test_correction_rules(
    p: Playback, now: float, pos: float, paused: bool, rate: float, expected: Action
) -> None:
    assert correct(p, now, pos, paused, rate, seek_latency_ms=50) == expected


def test_nudge_stays_within_five_percent() -> None:
    for drift in range(-1_000, 1_000, 7):
        assert 0.95 * 1.5 - 1e-9 <= nudged_rate(1.5, drift) <= 1.05 * 1.5 + 1e-9


def test_nudging_converges_from_small_drift() -> None:
    """A player 200 ms behind closes the gap within a few seconds by rate alone."""
    p = Playback(version=1, playing=True, position_ms=0, anchor_server_ms=0, rate=1.0)
    pos, rate, now = -200.0, 1.0, 0.0
    for _ in range(60):  # 6 s of 100 ms ticks
        a = correct(p, now, pos, False, rate)
        assert a.kind in ("rate", "none")
        if a.kind == "rate":
            rate = a.rate
        pos += 100 * rate
        now += 100
    assert abs(pos - now) < 10


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_javascript_client_applies_the_same_rules() -> None:
    rng = random.Random(4)
    cases: list[list[Any]] = []
    for _ in range(300):
        playing = rng.random() < 0.7
        p: dict[str, Any] = {
            "version": 1,
            "playing": playing,
            "position_ms": rng.randrange(0, 100_000),
            "anchor_server_ms": 1_000_000,
            "rate": rng.choice([0.5, 1.0, 1.25, 2.0]),
        }
        now = 1_000_000 + rng.randrange(-2_000, 4_000)
        target = sync.target_position(Playback(**p), now)
        pos = target + rng.choice([0, 1, 3, 5, 20, 49, 120, 299, 301, 2_000, -7, -60, -900])
        cases.append([p, now, pos, rng.random() < 0.4, rng.choice([1.0, 0.98, p["rate"]]), 40])
    script = (
        f"import('{CLIENT_JS.as_uri()}').then(m => {{"
        "const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(cases.map(c => m.correct(...c))));"
        "const s = m.clockSample(1000, 6040, 6042, 1082);"
        "const c = new m.ClockSync(3);"
        "for (const [o, d] of [[130, 300], [101, 42], [90, 100]]) c.add({offsetMs: o, delayMs: d});"
        "const fast = new m.ClockSync(); fast.add({offsetMs: 0, delayMs: -0.6});"
        "console.log(JSON.stringify([s.offsetMs, s.delayMs, c.offsetMs, fast.rttMs]));"
        "});"
    )
    out = subprocess.run(
        ["node", "-e", script], input=json.dumps(cases), capture_output=True, text=True, timeout=30
    )
    assert out.returncode == 0, out.stderr
    js_actions, js_sample = (json.loads(line) for line in out.stdout.splitlines())
    for case, js in zip(cases, js_actions, strict=True):
        p, now, pos, paused, rate, latency = case
        py = correct(Playback(**p), now, pos, paused, rate, latency)
        assert js["kind"] == py.kind, (case, js, py)
        if py.kind in ("pause", "seek", "play"):
            assert js["positionMs"] == pytest.approx(py.position_ms)
        if py.kind == "rate":
            assert js["rate"] == pytest.approx(py.rate, abs=1e-4)
        if py.kind == "wait":
            assert js["startInMs"] == pytest.approx(py.start_in_ms)
    assert js_sample == [5_000, 80, 101, 0]
