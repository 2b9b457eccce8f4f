"""Free TCP ports on loopback, for the services `cinema run` starts beside itself, and
waiting for a started server to be ready (for tests and benchmarks that start real ones)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now. Another process may take it before the caller binds
    it, which on a developer's machine is rare enough; servers report a clear bind error."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServerExited(RuntimeError):
    """The server's process ended before it was ready."""


def wait_ready(url: str, proc: subprocess.Popen[bytes], *, timeout: float, every_s: float) -> None:
    """Until the `cinema serve` at `url` (run by `proc`) answers /readyz with 200.
    `ServerExited` if its process ends first, RuntimeError if the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerExited(f"server {url} exited with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:  # refused, reset, timed out, or an HTTP error status
            pass
        time.sleep(every_s)
    raise RuntimeError(f"server {url} not ready in {timeout} s")
