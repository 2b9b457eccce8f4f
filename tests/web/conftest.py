"""The web app in headless Chromium (Playwright driving the system browser, no download)
against real server processes. Every page records its Content-Security-Policy violations and
uncaught errors; the tests check there are none."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect

# Before any page script: DevTools-injected code is not subject to the page's CSP.
WATCH = """
window.__problems = [];
const note = (what) => window.__problems.push(what);
document.addEventListener("securitypolicyviolation", (e) =>
  note(`CSP ${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
window.addEventListener("error", (e) => note(`error ${e.message}`));
window.addEventListener("unhandledrejection", (e) => note(`rejection ${e.reason}`));
"""


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Any]:
    if CHROMIUM is None:
        pytest.skip("needs chromium")
    async with playwright_api.async_playwright() as pw:
        b = await pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--autoplay-policy=no-user-gesture-required", "--mute-audio"],
        )
        try:
            yield b
        finally:
            await b.close()


@pytest.fixture
async def site(web_app: Path, live_server: LiveServer) -> str:
    """The live server's address, once the web app it serves is built."""
    return live_server.url


async def new_page(browser: Any, tokens: dict[str, Any] | None = None, **options: Any) -> Any:
    """A page in a fresh context (its own storage: a person of their own), signed in with
    `tokens` (an /auth/token answer) as the app keeps them, when given."""
    context = await browser.new_context(**{"viewport": {"width": 1280, "height": 800}, **options})
    await context.add_init_script(WATCH)
    if tokens is not None:
        kept = {
            "access": tokens["access_token"],
            "refresh": tokens["refresh_token"],
            "expiresAt": int(time.time() * 1000) + tokens["expires_in"] * 1000,
        }
        await context.add_init_script(
            f"if (!sessionStorage.getItem('seeded')) {{ sessionStorage.setItem('seeded', '1');"
            f" localStorage.setItem('cinema.tokens', {json.dumps(json.dumps(kept))}); }}"
        )
    page = await context.new_page()
    page.set_default_timeout(20_000)
    return page


async def problems(page: Any) -> list[str]:
    found: list[str] = await page.evaluate("window.__problems")
    return found


async def shot(page: Any, name: str, folder: Path) -> None:
    """A screenshot kept with the run's logs (artifacts of the browser tests); playwright
    makes the folder."""
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
