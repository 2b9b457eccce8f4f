"""Health, readiness, the OpenAPI document, the docs page and the password-reset page."""

from __future__ import annotations

import asyncio
from importlib import resources

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from http_api.routing import JSONResponse
from models.core.context import Context


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    ctx: Context = request.app.state.ctx
    checks: dict[str, str] = {}

    async def database() -> None:
        async with ctx.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await ctx.redis.ping()

    for name, check in (("database", database), ("redis", redis)):
        try:
            await asyncio.wait_for(check(), timeout=2)
            checks[name] = "ok"
        except Exception as exc:  # readiness reports any failure, whatever its kind
            checks[name] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status_code=200 if ready else 503,
    )


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


_DOCS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Cinema API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script>SwaggerUIBundle({url: "/openapi.json", dom_id: "#ui"});</script>
</body></html>"""


async def docs(request: Request) -> Response:
    return HTMLResponse(_DOCS)


async def reset_page(request: Request) -> Response:
    page = resources.files("http_api").joinpath("static/reset-password.html").read_text()
    return HTMLResponse(page)


def _swagger_assets() -> StaticFiles:
    import swagger_ui_bundle

    return StaticFiles(directory=swagger_ui_bundle.swagger_ui_path)


def routes() -> list[Route | Mount]:
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/openapi.json", openapi),
        Route("/docs", docs),
        Mount("/docs/assets", app=_swagger_assets()),
        Route("/reset-password", reset_page),
    ]
