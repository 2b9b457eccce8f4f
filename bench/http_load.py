"""What the HTTP throughput benchmarks share: an ASGI app served by uvicorn the same way for
every contender, and wrk over a rotating list of paths."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from cinema.ports import free_port


def serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    """`uvicorn --factory target` on a free port (one process, no access log); its URL once
    the port accepts connections."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", target, "--port", str(port),
         "--log-level", "warning", "--no-access-log"],
        env=env,
    )  # fmt: skip
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port}"


def wrk(
    url: str, paths: list[str], *, duration: int, connections: int, tmp: Path, headers: str = "nil"
) -> str:
    """wrk's report for GETs cycling through `paths` (`headers`: a Lua table, or nil); any
    non-2xx answer ends the benchmark."""
    script = tmp / "paths.lua"
    items = ",".join(f'"{p}"' for p in paths)
    script.write_text(
        f"local paths = {{{items}}}\nlocal i = 0\n"
        "request = function()\n  i = i % #paths + 1\n"
        f"  return wrk.format('GET', paths[i], {headers})\nend\n"
    )
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    return out


def requests_per_s(report: str) -> float:
    found = re.search(r"Requests/sec:\s+([\d.]+)", report)
    assert found, report
    return float(found.group(1))


def requests_done(report: str) -> int:
    """The number of requests wrk completed (its "N requests in ..." line)."""
    found = re.search(r"(\d+) requests in", report)
    assert found, report
    return int(found.group(1))


def cpu_seconds(pid: int) -> float:
    """User+system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
