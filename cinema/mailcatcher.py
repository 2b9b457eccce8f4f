"""A local SMTP server for `make run`: keeps each mail under .data/mail and prints its links,
so confirmation and reset links work on a machine with no mail setup."""

from __future__ import annotations

import re
import time
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from cinema.ports import free_port


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.folder.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = self.folder / f"{stamp}-{abs(hash(envelope.content)) % 10**8}.eml"
        path.write_bytes(envelope.content)
        msg = message_from_bytes(envelope.content, policy=policy.default)
        body = msg.get_body(preferencelist=("plain", "html")) if msg.is_multipart() else msg
        text = str(body.get_content()) if body is not None else ""
        links = re.findall(r"https?://[^\s\"'<>]+", text)
        print(f"[mail] to {', '.join(envelope.rcpt_tos)}: {msg['Subject']}", flush=True)
        for link in links:
            print(f"[mail]   {link}", flush=True)
        return "250 OK"


def start(folder: Path) -> tuple[Controller, int]:
    port = free_port()
    controller = Controller(_Keep(folder), hostname="127.0.0.1", port=port)
    controller.start()
    return controller, port
