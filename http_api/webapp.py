"""The web app at `/`: the files `make web` builds into web/dist, and the app's page for every
other path a person may open (its client-side routes, bookmarked or mailed).

Routes of their own (/api/v1, /socket.io/, /media/, /docs, /openapi.json, /asyncapi.json,
/healthz, ...) are matched before this one, which comes last; unknown paths under the server's
prefixes stay JSON 404s, never the app. Hashed files under /assets/ are cached for a year
(their name changes with their content); index.html is revalidated on every load, so a
deploy reaches everyone at their next navigation. Files the build gzipped (`name.gz` beside
`name`) are sent compressed to browsers that accept it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.routing import Match, Route
from starlette.types import Scope

from models.core.settings import Settings

# Paths that belong to the server: a miss there is the server's 404, not an app page.
SERVER_PREFIXES = (
    "/api/",
    "/socket.io/",
    "/media/",
    "/static/",
    "/images/",
    "/docs/",
    "/parties/demo",
)
# The app's pages under those prefixes: the Socket.IO event catalogue sits beside /docs.
APP_PAGES = frozenset({"/docs/events"})
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
NOT_BUILT = """<!doctype html><meta charset=utf-8><title>Cinema</title>
<link rel=stylesheet href=/static/pages.css>
<h1>The web app is not built</h1>
<p>Run <code>make web</code> (or <code>make run</code>, which builds it) and reload. The API works
meanwhile: <a href="/docs">/docs</a>.</p>"""


def _inside(root: Path, rel: str) -> Path | None:
    """The file `rel` names under root, or None (a path that climbs out names nothing)."""
    if not rel or "\\" in rel or "\x00" in rel:
        return None
    path = (root / rel).resolve()
    if not path.is_relative_to(root) or not path.is_file():
        return None
    return path


def _send(request: Request, path: Path, cache: str) -> Response:
    headers = {"Cache-Control": cache, "Vary": "Accept-Encoding"}
    packed = path.with_name(path.name + ".gz")
    if "gzip" in request.headers.get("accept-encoding", "") and packed.is_file():
        headers["Content-Encoding"] = "gzip"
        return FileResponse(packed, headers=headers, media_type=_media_type(path))
    return FileResponse(path, headers=headers, media_type=_media_type(path))


def _media_type(path: Path) -> str | None:
    return {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}.get(path.suffix)


class _AppRoute(Route):
    """Matches only what may be an app page: a GET or HEAD outside the server's prefixes.
    Anything else matches nothing here, so a path of the API keeps its 405 with Allow and an
    unknown one its JSON 404."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            return Match.NONE, {}
        if scope["path"].startswith(SERVER_PREFIXES) and scope["path"] not in APP_PAGES:
            return Match.NONE, {}
        return super().matches(scope)


def routes(settings: Settings) -> list[Route]:
    root = settings.web_dir.resolve()

    async def app(request: Request) -> Response:
        rel = request.url.path.lstrip("/")
        found = _inside(root, rel)
        if found is not None:
            return _send(request, found, IMMUTABLE if rel.startswith("assets/") else "no-cache")
        if rel.startswith("assets/"):  # a file of an older build: not the app's page
            raise HTTPException(404)
        index = root / "index.html"
        if not index.is_file():
            return HTMLResponse(NOT_BUILT, status_code=503, headers={"Cache-Control": "no-store"})
        return _send(request, index, REVALIDATE)

    return [_AppRoute("/{path:path}", app, methods=["GET", "HEAD"])]


def docs_assets(settings: Settings) -> Path | None:
    """Swagger UI 5 as the web build copies it (it reads OpenAPI 3.1), if built."""
    folder = settings.web_dir / "docs"
    return folder if (folder / "swagger-ui-bundle.js").is_file() else None


def files_route(prefix: str, folder: Callable[[], Path], *, cache: str) -> Route:
    """The files of one folder at prefix/{name} (gzipped where the build packed them); the
    folder is asked for at each request (a build may appear while the server runs)."""

    async def serve(request: Request) -> Response:
        found = _inside(folder().resolve(), request.path_params["name"])
        if found is None:
            raise HTTPException(404)
        return _send(request, found, cache)

    return Route(prefix + "/{name:path}", serve, methods=["GET", "HEAD"])
