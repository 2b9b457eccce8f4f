"""A real SMTP server (aiosmtpd) that keeps what it receives, for tests and benchmarks."""

from __future__ import annotations

import asyncio
import re
import threading
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from aiosmtpd.controller import Controller

from cinema.ports import free_port


class _Handler:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.box.lock:
            for rcpt in envelope.rcpt_tos:
                self.box.messages.append((rcpt.lower(), msg))
        return "250 OK"


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, EmailMessage]] = []
        self.lock = threading.Lock()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=free_port())

    @property
    def port(self) -> int:
        return int(self.controller.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [m for rcpt, m in self.messages if rcpt == address.lower()]

    async def wait_for(
        self, address: str, *, subject: str = "", timeout: float = 15
    ) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.to(address):
                if subject.lower() in str(m["Subject"]).lower():
                    return m
            await asyncio.sleep(0.05)
        raise AssertionError(f"no mail to {address} with subject containing {subject!r}")


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


async def confirm(http: httpx.AsyncClient, link: str) -> httpx.Response:
    """What the web app's confirm page (the mailed link, /confirm-email?token=) does: it posts
    the link's token. Opening the link alone confirms nothing (a mail scanner's GET)."""
    token = parse_qs(urlsplit(link).query)["token"][0]
    return await http.post("/api/v1/auth/confirm", json={"token": token})


def link_in(message: EmailMessage) -> str:
    found = re.search(r"https?://\S+", body_of(message))
    assert found, "no link in mail"
    return found.group(0)
