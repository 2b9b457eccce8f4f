"""Health, readiness, the OpenAPI document and the docs page. (The account pages mailed links
open and the TV sign-in's /device are the web app's: http_api/webapp.py.)"""

from __future__ import annotations

import asyncio
import hmac
from importlib import resources
from pathlib import Path

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from http_api import webapp
from http_api.routing import JSONResponse, client_ip, is_trusted
from models.catalog import posters
from models.core import metrics as cinema_metrics
from models.core.context import Context
from models.core.settings import Settings


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


async def metrics(request: Request) -> Response:
    """Prometheus text format, for clients in the allowlist or holding the metrics token."""
    ctx: Context = request.app.state.ctx
    settings = ctx.settings
    if not settings.metrics_enabled:
        return JSONResponse(
            {"error": {"code": "not_found", "message": "Metrics are turned off"}}, status_code=404
        )
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else ""
    sent = request.headers.get("authorization", "")
    by_token = bool(token) and hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    if not by_token and not is_trusted(
        client_ip(request, settings.trusted_proxies), settings.metrics_allow
    ):
        return JSONResponse(
            {
                "error": {
                    "code": "forbidden",
                    "message": "Metrics are served to allowed addresses or with the metrics "
                    "token only",
                }
            },
            status_code=403,
        )
    body = await cinema_metrics.exposition(ctx)
    return Response(
        body, media_type=cinema_metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"}
    )


async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


_DOCS = """<!doctype html>
<html><head><meta charset="utf-8"><title>Cinema API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><p style="margin:1rem 1.25rem;font-family:sans-serif">HTTP API below;
<a href="/docs/events">the Socket.IO events</a> (also as AsyncAPI:
<a href="/asyncapi.json">/asyncapi.json</a>).</p><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body></html>"""


async def docs(request: Request) -> Response:
    return HTMLResponse(_DOCS)


def _static(name: str) -> str:
    return resources.files("http_api").joinpath(f"static/{name}").read_text()


def _asset(name: str, media_type: str) -> Route:
    """A script or stylesheet of our own pages: same origin, so the CSP needs no inline code."""

    async def serve(request: Request) -> Response:
        return Response(
            _static(name), media_type=media_type, headers={"Cache-Control": "public, max-age=300"}
        )

    return Route(f"/static/{name}", serve)


def _swagger_assets(settings: Settings) -> Route:
    """Swagger UI 5 from the web build (it renders OpenAPI 3.1); without a build, the older
    one of the swagger-ui-bundle wheel, which lists the document but renders no operation."""
    import swagger_ui_bundle

    return webapp.files_route(
        "/docs/assets",
        lambda: webapp.docs_assets(settings) or Path(swagger_ui_bundle.swagger_ui_path),
        cache="public, max-age=3600",
    )


def routes(settings: Settings) -> list[Route]:
    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route("/openapi.json", openapi),
        Route("/docs", docs),
        _swagger_assets(settings),
        # Posters drawn for the demo catalog (cinema seed); names carry their content hash.
        webapp.files_route(
            posters.IMAGES_PATH, lambda: settings.media_dir / "images", cache=webapp.IMMUTABLE
        ),
        _asset("docs.js", "text/javascript"),
        _asset("party-demo.js", "text/javascript"),
        _asset("pages.css", "text/css"),
    ]
