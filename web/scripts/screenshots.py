"""The README's screenshots (docs/screenshots/*.webp) of a running demo cinema.

    make run                                            # in one terminal: the seeded demo
    .venv/bin/python web/scripts/screenshots.py [--url http://127.0.0.1:8000]

Signs in as the demo user ann (`cinema seed`), opens the main pages in headless Chromium at a
desktop (1280 x 800) and a phone (390 x 844 at 2x) size, and writes each view as WebP
(ffmpeg's libwebp) into docs/screenshots. Needs chromium (or CHROMIUM=/path) and ffmpeg.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import async_playwright

WEBP = ("-c:v", "libwebp", "-quality", "78")
OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# name: (path, what shows the page is ready, viewport, scale); {film} and {series} filled in.
SHOTS: dict[str, tuple[str, str, tuple[int, int], int]] = {
    "home": ("/", ".cards .card img", (1280, 800), 1),
    "title": ("/titles/{film}", "#social", (1280, 800), 1),
    "browse": ("/browse?genre=sci-fi", ".grid .card img", (1280, 800), 1),
    "phone-home": ("/", ".card img", (390, 844), 2),
    "phone-title": ("/titles/{series}", ".episodes li", (390, 844), 2),
}


async def _id(api: httpx.AsyncClient, name: str) -> int:
    found = await api.get("/api/v1/titles", params={"q": name, "limit": 1})
    return int(found.json()["items"][0]["id"])


async def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8000")
    args = ap.parse_args()
    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if chromium is None or shutil.which("ffmpeg") is None:
        raise SystemExit("needs chromium and ffmpeg on PATH")
    async with httpx.AsyncClient(base_url=args.url) as api:
        signed = await api.post(
            "/api/v1/auth/token",
            data={"username": "ann@cinema.local", "password": "demo-ann-pass"},
        )
        tokens = signed.json()
        ids = {"film": await _id(api, "Spirited Away"), "series": await _id(api, "Night Signals")}
    kept = {
        "access": tokens["access_token"],
        "refresh": tokens["refresh_token"],
        "expiresAt": int(time.time() * 1000) + tokens["expires_in"] * 1000,
    }
    seed = f"localStorage.setItem('cinema.tokens', {json.dumps(json.dumps(kept))})"
    OUT.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=chromium)
        for name, (path, ready, (width, height), scale) in SHOTS.items():
            context: Any = await browser.new_context(
                viewport={"width": width, "height": height}, device_scale_factor=scale
            )
            await context.add_init_script(seed)
            page = await context.new_page()
            await page.goto(args.url + path.format(**ids))
            await page.wait_for_selector(ready)
            await page.wait_for_load_state("networkidle")
            await page.evaluate("document.activeElement?.blur()")
            with tempfile.TemporaryDirectory() as tmp:
                png = Path(tmp) / f"{name}.png"
                await page.screenshot(path=str(png))
                webp = OUT / f"{name}.webp"
                await asyncio.to_thread(
                    subprocess.run,
                    [*("ffmpeg", "-loglevel", "error", "-y", "-i", str(png)), *WEBP, str(webp)],
                    check=True,
                )
            print(f"{webp.relative_to(OUT.parents[1])}: {webp.stat().st_size // 1024} KB")
            await context.close()
        await browser.close()


if __name__ == "__main__":
    asyncio.run(main())
