"""The web app in headless Chromium (Playwright driving the system browser, no download)
against real server processes. Every page records its Content-Security-Policy violations and
uncaught errors; the tests check there are none."""

from __future__ import annotations

import asyncio
import functools
import json
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from cinema.ports import free_port
from models.accounts.tables import Role
from models.core.context import Context
from models.core.settings import Settings
from tests.conftest import LiveServer
from tests.factories import Account, make_account

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright_api = pytest.importorskip("playwright.async_api")
expect = playwright_api.expect
# The same patience as a page's actions (new_page): Playwright's 5 s default for expect() is
# short on this loaded 2-core machine, where a page can take longer to answer. A passing
# expect() returns as soon as it holds, so only a failure waits longer.
expect.set_options(timeout=20_000)

# Before any page script: DevTools-injected code is not subject to the page's CSP.
WATCH = """
window.__problems = [];
const note = (what) => window.__problems.push(what);
document.addEventListener("securitypolicyviolation", (e) =>
  note(`CSP ${e.effectiveDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
window.addEventListener("error", (e) => note(`error ${e.message}`));
window.addEventListener("unhandledrejection", (e) => note(`rejection ${e.reason}`));
"""


@pytest.fixture(scope="session")
async def _chromium() -> AsyncIterator[Any]:
    """One Chromium for the run's browser tests: launching one per module cost seconds each
    on a loaded machine."""
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


@pytest.fixture(scope="module")
async def browser(_chromium: Any) -> AsyncIterator[Any]:
    """The run's Chromium; what a test module opened in it (contexts, their pages, sockets and
    players) is closed after the module, as a browser of its own would have been."""
    assert _chromium.is_connected(), "Chromium went away in an earlier module"
    yield _chromium
    for context in list(_chromium.contexts):
        await context.close()


@pytest.fixture
async def site(web_app: Path, live_server: LiveServer) -> str:
    """The live server's address, once the web app it serves is built."""
    return live_server.url


# How long the access tokens the restarted server signs live (test_reconnect watches them
# refreshed and refused).
RESTARTED_TTL_S = 5


@pytest.fixture(scope="session")
def _restartable(settings: Settings, web_app: Path) -> Iterator[LiveServer]:
    server = LiveServer(settings, free_port(), {"ACCESS_TOKEN_TTL_S": str(RESTARTED_TTL_S)})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture
def restarted(_restartable: LiveServer) -> LiveServer:
    """A server process apart from the pair (same PostgreSQL and Redis) which a test stops
    and starts again under an open page; one for the run, running when each test starts,
    whatever the test before left it."""
    if _restartable.proc.poll() is not None:
        _restartable.restart()
        _restartable.wait_ready()
    return _restartable


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


# Serious or critical axe-core violations under `within` (a CSS selector; the whole document
# when null), a line each with the first few elements at fault.
SCAN = """async (within) => {
  const result = await axe.run(within ?? document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ` +
      v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", "));
}"""


@functools.cache
def _axe_script(web_app: Path) -> str:
    return (web_app.parent / "node_modules" / "axe-core" / "axe.min.js").read_text()


async def axe_problems(page: Any, web_app: Path, within: str | None = None) -> list[str]:
    """The accessibility scan (axe-core from the web app's npm dev dependencies, evaluated
    over DevTools, so the page's CSP is untouched) of the page as it is now: its serious or
    critical violations. axe is loaded once per document (again after a navigation)."""
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(_axe_script(web_app))
    found: list[str] = await page.evaluate(SCAN, within)
    return found


async def problems(page: Any) -> list[str]:
    found: list[str] = await page.evaluate("window.__problems")
    return found


async def shot(page: Any, name: str, folder: Path) -> None:
    """A screenshot kept with the run's logs (artifacts of the browser tests); playwright
    makes the folder."""
    await page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


@pytest.fixture(scope="session")
def film(transcoded_film: int) -> int:
    """The run's transcoded 20 s film (tests/conftest.py), which the web app plays."""
    return transcoded_film


async def catalog_film(ctx: Context, client: httpx.AsyncClient, name: str) -> int:
    """A film as an editor makes it (so the catalog's search finds it by name)."""
    editor = await make_account(ctx, client, role=Role.editor)
    made = await client.post(
        "/api/v1/titles", json={"kind": "film", "title": name}, headers=editor.headers
    )
    assert made.status_code == 201, made.text
    title_id: int = made.json()["id"]
    return title_id


async def signed_in_page(browser: Any, site: str, account: Account) -> Any:
    """A page whose app holds the account's tokens (as after signing in), on the home page."""
    tokens = {
        "access_token": account.access_token,
        "refresh_token": account.refresh_token,
        "expires_in": 600,
    }
    page = await new_page(browser, tokens)
    await page.goto(site + "/")
    return page


async def until(page: Any, expression: str, timeout: float = 30) -> Any:
    """Wait until a script expression is truthy in the page; its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await page.evaluate(expression)
        if value:
            return value
        assert time.monotonic() < deadline, f"{expression!r} never held"
        await asyncio.sleep(0.2)
