"""Security headers on every HTTP answer: the one place that defines the Content Security
Policy and its companions.

The policy is written for the pages we serve (`/docs`, the account pages mailed links open,
the party demo) and for the web app at `/`: a Vite-built single-page app whose scripts are
files of its own origin (no inline script), with hls.js / dash.js players feeding <video> from
`blob:` URLs, workers from `blob:` and a service worker, Socket.IO over WebSockets to the same
origin, and posters from the catalog's https URLs anywhere. Serve a page that needs more? Widen
`content_security_policy` here, with a comment why, never per route.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from models.accounts.links import TOKEN_PAGES
from models.core.settings import Settings

HSTS = "max-age=31536000; includeSubDomains"
# Query parameters that carry a secret: a page opened with one must not leak its URL to the
# sites it loads from (the Referer header).
_TOKEN_PARAMS = frozenset({"token", "access_token", "refresh_token"})


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else None


def _ws_origin(origin: str) -> str:
    return origin.replace("https://", "wss://", 1).replace("http://", "ws://", 1)


def content_security_policy(settings: Settings) -> str:
    public = _origin(settings.public_url)
    media = _origin(settings.media_public_url) if settings.media_public_url else None
    # 'self' covers same-origin WebSockets in current browsers; older Safari needs ws(s):.
    sockets = [_ws_origin(public)] if public else []
    elsewhere_media = [media] if media and media != public else []  # a CDN for /media/
    # Images and a <video src> may come from anywhere (posters, a trailer, the party demo's
    # video URL): neither runs code. Over plain http (a laptop, tests) http: too; an https
    # site's browser refuses mixed content anyway.
    anywhere = ["https:"] if settings.public_url.startswith("https://") else ["https:", "http:"]
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],  # no inline script: our pages load theirs from /static/
        # Swagger UI, the players and the party demo set style attributes.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *anywhere],
        # MSE players play blob: URLs; hls.js gives each subtitle <track> an empty
        # `data:,WEBVTT` source (Chrome's captions menu, Safari keeping cues).
        "media-src": ["'self'", "blob:", "data:", *anywhere],
        # What scripts may fetch stays narrow (an injected script cannot post data anywhere):
        # the API, the sockets, and the media origin's playlists and segments.
        "connect-src": ["'self'", *sockets, *elsewhere_media],
        "worker-src": ["'self'", "blob:"],  # the service worker; hls.js's blob: worker
        "font-src": ["'self'", "data:"],
        "manifest-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],  # no one frames us (clickjacking)
    }
    if settings.public_url.startswith("https://"):
        directives["upgrade-insecure-requests"] = []
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def _carries_token(scope: Scope) -> bool:
    if scope["path"] in TOKEN_PAGES:
        return True
    query = scope.get("query_string", b"").decode("latin-1")
    return any(key.lower() in _TOKEN_PARAMS for key, _ in parse_qsl(query))


class SecurityHeadersMiddleware:
    """Adds the headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.https_public = settings.public_url.startswith("https://")
        self.common = [
            ("Content-Security-Policy", content_security_policy(settings)),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers without CSP 2
            ("Cross-Origin-Opener-Policy", "same-origin"),
            ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        referrer = "no-referrer" if _carries_token(scope) else "strict-origin-when-cross-origin"
        # uvicorn sets the scheme from X-Forwarded-Proto only for TRUSTED_PROXIES.
        hsts = self.https_public or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.common:
                    headers.setdefault(name, value)
                headers.setdefault("Referrer-Policy", referrer)
                if hsts:
                    headers.setdefault("Strict-Transport-Security", HSTS)
            await send(message)

        await self.app(scope, receive, send_with_headers)
