"""Free TCP ports on loopback, for the services `cinema run` starts beside itself (and for
tests and benchmarks that start real servers)."""

from __future__ import annotations

import socket


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now. Another process may take it before the caller binds
    it, which on a developer's machine is rare enough; servers report a clear bind error."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])
