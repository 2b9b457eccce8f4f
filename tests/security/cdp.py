"""Headless Chromium driven over the DevTools protocol, with every Content-Security-Policy
violation a page reports collected (the CSP tests' eyes)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import websockets

from cinema.ports import free_port

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

# Installed before any page script runs; DevTools-injected code is not subject to the CSP.
_COLLECT = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) =>
  window.__csp.push(`${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


class Page:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        await self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            reply = json.loads(await self.ws.recv())
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result

    async def eval(self, expression: str) -> Any:
        reply = await self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in reply:
            raise RuntimeError(f"{expression}: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    async def open(self, url: str) -> None:
        await self.call("Page.navigate", url=url)
        await self.until(
            f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
        )

    async def until(self, expression: str, timeout: float = 30) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(RuntimeError):
                value = await self.eval(expression)
                if value:
                    return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"never true in the page: {expression}")

    async def violations(self) -> list[str]:
        found: list[str] = await self.eval("window.__csp || []")
        return found


def _spawn(port: int, profile: str) -> subprocess.Popen[bytes]:
    assert CHROMIUM is not None
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
    return subprocess.Popen(
        [
            CHROMIUM,
            *flags,
            f"--remote-debugging-port={port}",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@contextlib.asynccontextmanager
async def chromium() -> AsyncIterator[Page]:
    assert CHROMIUM is not None
    port = free_port()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        proc = _spawn(port, profile)
        try:
            target = None
            deadline = time.monotonic() + 30
            async with httpx.AsyncClient() as http:
                while target is None and time.monotonic() < deadline:
                    with contextlib.suppress(httpx.HTTPError):
                        pages = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
                        target = next((p for p in pages if p.get("type") == "page"), None)
                    await asyncio.sleep(0.2)
            assert target is not None, "chromium did not start"
            async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
                page = Page(ws)
                await page.call("Page.enable")
                await page.call("Page.addScriptToEvaluateOnNewDocument", source=_COLLECT)
                yield page
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
