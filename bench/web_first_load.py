"""First load of the web app on a cold cache: bytes over the wire and time to first content,
in headless Chromium, for the home page and a title page.

    .venv/bin/python -m bench.web_first_load [--runs 5]

Builds the app (`make web`), seeds the demo catalog (and its drawn posters) into a scratch
database, starts one `cinema serve` process and opens each page `--runs` times, each in a
fresh browser context (empty cache, no service worker), signed out. Per page, the median of:
- bytes transferred (what the server sent: gzip where the browser accepted it), in total and
  for JavaScript alone (the goal: <= 150 KB of JS before the player is needed);
- first contentful paint (the browser's `paint` entry) and time to first content: navigation
  start until the page's content is on screen (home: a title card; title: its heading and
  rating line).
Needs chromium on PATH (or CHROMIUM=/path) and Python playwright (dev extra).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from playwright.async_api import async_playwright

from bench.common import ROOT, machine, setup, teardown
from cinema.seed import DemoImages, seed_demo
from models.core.db import transaction

PAGES = {
    "home": ("/", ".card"),
    "title": ("/titles/{title_id}", "#social"),
}


async def _load(browser: Any, url: str, ready: str) -> dict[str, float]:
    context = await browser.new_context(viewport={"width": 1280, "height": 800})
    page = await context.new_page()
    sizes: list[tuple[str, int]] = []

    async def record(response: Any) -> None:
        try:
            size = (await response.request.sizes())["responseBodySize"]
        except Exception:  # a response the page abandoned: nothing was measured
            return
        sizes.append((response.request.resource_type, size))

    page.on("response", lambda r: asyncio.ensure_future(record(r)))
    await page.goto(url)
    await page.wait_for_selector(ready)
    content_ms = await page.evaluate("performance.now()")
    await page.wait_for_load_state("networkidle")
    fcp = await page.evaluate(
        "(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || 0"
    )
    await asyncio.sleep(0.2)  # the last sizes() answers
    await context.close()
    return {
        "total_kb": sum(s for _, s in sizes) / 1024,
        "js_kb": sum(s for kind, s in sizes if kind == "script") / 1024,
        "requests": len(sizes),
        "fcp_ms": fcp,
        "content_ms": content_ms,
    }


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is needed (apt-get install chromium, or CHROMIUM=/path)")
    await asyncio.to_thread(subprocess.run, ["make", "-s", "web"], cwd=ROOT, check=True)
    env = await setup(users=1)
    media_dir = Path(tempfile.mkdtemp(prefix="cinema-first-load-"))
    try:
        server = env.start_servers(1, MEDIA_DIR=str(media_dir))[0]
        async with transaction(env.ctx.sessions) as session:  # with the posters it draws
            await seed_demo(session, images=DemoImages(media_dir / "images", server.url))
        print(f"machine: {machine()}; {args.runs} cold loads per page, medians")
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=chromium)
            await _load(browser, server.url + "/", PAGES["home"][1])  # server caches warm
            for name, (path, ready) in PAGES.items():
                url = server.url + path.format(title_id=await _a_title(env))
                runs = [await _load(browser, url, ready) for _ in range(args.runs)]
                med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
                print(
                    f"{name:<6} JS {med['js_kb']:.1f} KB, all {med['total_kb']:.1f} KB"
                    f" in {med['requests']:.0f} requests; FCP {med['fcp_ms']:.0f} ms,"
                    f" first content {med['content_ms']:.0f} ms"
                )
            await browser.close()
    finally:
        await teardown(env)
        shutil.rmtree(media_dir, ignore_errors=True)


async def _a_title(env: Any) -> int:
    from sqlalchemy import text

    async with env.ctx.sessions() as session:
        found = await session.execute(
            text("SELECT id FROM titles ORDER BY popularity DESC LIMIT 1")
        )
        return int(found.scalar_one())


if __name__ == "__main__":
    asyncio.run(main())
