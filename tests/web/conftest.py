"""The web app in headless Chromium (Playwright driving the system browser, no download)
against real server processes. Every page records its Content-Security-Policy violations and
uncaught errors; the tests check there are none."""

from __future__ import annotations

import shutil
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


async def new_page(browser: Any) -> Any:
    """A page in a fresh context (its own storage: a person of their own)."""
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    await context.add_init_script(WATCH)
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
