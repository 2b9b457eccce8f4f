"""The Starlette application: every route group, one error shape, request logging."""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response

from http_api import (
    account_security,
    accounts,
    catalog,
    family,
    media,
    moderation,
    notifications,
    oauth,
    parties,
    privacy,
    recommendations,
    social_friends,
    social_lists,
    social_messages,
    social_reviews,
    system,
)
from http_api.middleware import RequestLogMiddleware
from http_api.openapi import build_openapi
from http_api.routing import Api, IndexedRouter, JSONResponse
from http_api.routing import routes as api_routes
from http_api.security_headers import SecurityHeadersMiddleware
from models.core.errors import DomainError, Unavailable, from_backend
from models.core.settings import Settings

log = logging.getLogger("cinema.http")

# Each aggregate's route group; add yours here.
API_GROUPS: list[Api] = [
    accounts.api,
    account_security.api,
    catalog.api,
    parties.api,
    parties.assets,
    media.api,
    media.files,
    notifications.api,
    privacy.api,
    social_friends.api,
    social_messages.api,
    social_messages.files,
    social_lists.api,
    social_reviews.api,
    recommendations.api,
    oauth.api,
    family.api,
    oauth.well_known,
    moderation.api,
]

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
}


async def _domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)
    return JSONResponse(exc.to_dict(), status_code=exc.status, headers=exc.headers)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code
    if exc.status_code == 404:
        message = f"No route for {request.method} {request.url.path}"
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _unexpected(request: Request, exc: Exception) -> Response:
    request_id = request.scope.get("state", {}).get("request_id")
    translated = from_backend(exc)
    if translated is not None:
        if isinstance(translated, Unavailable):
            log.warning(
                "%s %s: a backing service is unavailable: %s",
                request.method,
                request.url.path,
                exc,
                extra={"event": "http_unavailable", "request_id": request_id},
            )
        return await _domain_error(request, translated)
    log.error(
        "unhandled error on %s %s",
        request.method,
        request.url.path,
        exc_info=exc,
        extra={"event": "http_error", "request_id": request_id},
    )
    return JSONResponse(
        {
            "error": {
                "code": "internal",
                "message": f"Internal server error (request id {request_id})",
            }
        },
        status_code=500,
    )


def all_endpoints(groups: list[Api] | None = None) -> list[Any]:
    return [e for group in (groups or API_GROUPS) for e in group.endpoints]


def create_http_app(
    settings: Settings,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[None]] | None = None,
) -> Starlette:
    routes: list[Any] = [*system.routes(settings), *api_routes(all_endpoints())]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLogMiddleware),
            Middleware(SecurityHeadersMiddleware, settings=settings),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-Request-ID",
                    "If-None-Match",
                    "Range",  # web video players fetch segments by byte range
                ],
                expose_headers=[
                    "X-Request-ID",
                    "ETag",
                    "Retry-After",
                    "Content-Range",
                    "Content-Length",
                    "Accept-Ranges",
                ],
                max_age=600,
            ),
        ],
        exception_handlers={
            DomainError: _domain_error,
            HTTPException: _http_error,
            Exception: _unexpected,
        },
        lifespan=lifespan,
    )
    app.router = IndexedRouter(routes=app.router.routes, lifespan=lifespan)
    app.state.openapi = build_openapi(all_endpoints(), title="Cinema API", version="1")
    return app
