"""The benchmarks' JSON results drawn as PNGs for BENCHMARKS.md (docs/bench/).

    .venv/bin/python -m bench.plots RESULT.json ... [--out docs/bench] [--note "idle, 2 cores"]

Each file is recognised by its "bench" field (the benchmarks write it with `--json`):

- party_fanout (`--members 100,200,500`): delivery latency p50/p99 against party size, ours and
  bare python-socketio -> fanout_latency.png
- social_dm_latency: DM latency p50/p95/p99 against the send rate -> dm_latency.png
- search_typos (`--load 1,2,4,8`): search latency against searches per second ->
  search_latency.png
- relay_scaling: inbound pub/sub messages and CPU per process against the number of
  processes, ours and bare -> relay_scaling.png
- soak: each server's RSS over time -> soak_memory.png; each operation's p50/p99 per
  minute -> soak_latency.png

`--note` is written under every title (say whether the machine was idle or shared).
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parent.parent
Result = dict[str, Any]


def _figure(title: str, note: str, machine: str, ncols: int = 1) -> tuple[Figure, list[Axes]]:
    fig, axes = plt.subplots(1, ncols, figsize=(6.4 * ncols, 4.2), squeeze=False)
    sub = textwrap.fill(", ".join(x for x in (note, machine) if x), 70 * ncols)
    fig.suptitle(f"{title}\n{sub}" if sub else title, fontsize=9)
    return fig, list(axes[0])


def _save(fig: Figure, out: Path, name: str) -> Path:
    fig.tight_layout()
    path = out / name
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def fanout(r: Result, out: Path, note: str) -> list[Path]:
    fig, (ax,) = _figure("Party fan-out: delivery latency against party size", note, r["machine"])
    for system, style in (("ours", "-o"), ("bare", "--s")):
        rows = sorted((x for x in r["rows"] if x["system"] == system), key=lambda x: x["members"])
        members = [x["members"] for x in rows]
        label = "ours (party:seek)" if system == "ours" else "bare python-socketio"
        (line,) = ax.plot(members, [x["p50_ms"] for x in rows], style, label=f"{label} p50")
        ax.plot(
            members,
            [x["p99_ms"] for x in rows],
            style,
            color=line.get_color(),
            alpha=0.45,
            label=f"{label} p99",
        )
    ax.set_xlabel("members (two server processes)")
    ax.set_ylabel("host send to member receipt, ms")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return [_save(fig, out, "fanout_latency.png")]


def dm(r: Result, out: Path, note: str) -> list[Path]:
    fig, (ax,) = _figure("Direct messages: latency against send rate", note, r["machine"])
    rows = sorted(r["rows"], key=lambda x: x["rate"])
    rates = [x["achieved_rate"] for x in rows]
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        ax.plot(rates, [x.get(key, float("nan")) for x in rows], "-o", label=key[:3])
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("messages per second (achieved)")
    ax.set_ylabel("dm:send to receipt on the other process, ms")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return [_save(fig, out, "dm_latency.png")]


def search(r: Result, out: Path, note: str) -> list[Path]:
    fig, (ax,) = _figure("Search (uncached): latency against load", note, r.get("machine", ""))
    rows = sorted(r["rows"], key=lambda x: x["clients"])
    rate = [x["per_s"] for x in rows]
    for key in ("p50_ms", "p95_ms", "p99_ms"):
        ax.plot(rate, [x[key] for x in rows], "-o", label=key[:3])
    for x in rows:
        ax.annotate(f"{x['clients']} at once", (x["per_s"], x["p95_ms"]), fontsize=7)
    ax.set_xlabel("searches per second (one server process)")
    ax.set_ylabel("ms")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return [_save(fig, out, "search_latency.png")]


def relay(r: Result, out: Path, note: str) -> list[Path]:
    fig, (a, b) = _figure(
        "Cross-process delivery: cost of one process, same load per process",
        note,
        r["machine"],
        ncols=2,
    )
    for system, style in (("ours", "-o"), ("bare", "--s")):
        rows = sorted((x for x in r["rows"] if x["system"] == system), key=lambda x: x["processes"])
        procs = [x["processes"] for x in rows]
        label = "ours (room channels)" if system == "ours" else "bare (one channel)"
        inbound = [sum(x["inbound_per_process"]) / len(x["inbound_per_process"]) for x in rows]
        cpu = [sum(x["cpu_s_per_process"]) / len(x["cpu_s_per_process"]) for x in rows]
        a.plot(procs, inbound, style, label=label)
        b.plot(procs, cpu, style, label=label)
    a.set_ylabel("pub/sub messages read per process")
    b.set_ylabel("server CPU s per process")
    ticks = sorted({x["processes"] for x in r["rows"]})
    for ax in (a, b):
        ax.set_xlabel("server processes")
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    return [_save(fig, out, "relay_scaling.png")]


def soak(r: Result, out: Path, note: str) -> list[Path]:
    title = f"Soak, {r['minutes']:g} min of mixed traffic, {r['sockets']} sockets"
    fig, (ax,) = _figure(f"{title}: server memory", note, r["machine"])
    samples = r["samples"]
    t = [s["t_s"] / 60 for s in samples]
    for i in range(len(samples[0]["rss_mib"]) if samples else 0):
        ax.plot(t, [s["rss_mib"][i] for s in samples], label=f"process {'AB'[i]}")
    ax.set_xlabel("minutes")
    ax.set_ylabel("RSS, MiB")
    top = max((max(s["rss_mib"]) for s in samples), default=1.0)
    ax.set_ylim(0, top * 1.2)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3)
    paths = [_save(fig, out, "soak_memory.png")]
    fig, (ax,) = _figure(f"{title}: latency per minute", note, r["machine"])
    ops = sorted({op for row in r["per_minute"] for op in row["ops"]})
    for op in ops:
        rows = [row for row in r["per_minute"] if op in row["ops"]]
        minutes = [row["minute"] + 0.5 for row in rows]
        (line,) = ax.plot(minutes, [row["ops"][op]["p50_ms"] for row in rows], "-o", label=op)
        ax.plot(minutes, [row["ops"][op]["p99_ms"] for row in rows], ":", color=line.get_color())
    ax.set_xlabel("minute (solid p50, dotted p99)")
    ax.set_ylabel("ms")
    ax.set_yscale("log")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3, which="both")
    paths.append(_save(fig, out, "soak_latency.png"))
    return paths


DRAW: dict[str, Callable[[Result, Path, str], list[Path]]] = {
    "party_fanout": fanout,
    "social_dm_latency": dm,
    "search_typos": search,
    "relay_scaling": relay,
    "soak": soak,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", nargs="+", type=Path, help="JSON files written with --json")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "bench")
    ap.add_argument("--note", default="", help="e.g. 'idle machine' or 'contended machine'")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.results:
        result = json.loads(path.read_text())
        draw = DRAW.get(result.get("bench", ""))
        if draw is None:
            print(f"{path}: no plot for bench {result.get('bench')!r}")
            continue
        for png in draw(result, args.out, args.note):
            print(f"{path} -> {png}")


if __name__ == "__main__":
    main()
