"""The router's index of fixed paths answers exactly as Starlette's in-order matching would."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from http_api.routing import IndexedRouter


def _named(name: str) -> Callable[[Request], Awaitable[PlainTextResponse]]:
    async def endpoint(request: Request) -> PlainTextResponse:
        return PlainTextResponse(f"{name} {dict(request.path_params)}")

    return endpoint


def _app(routes: list[Route]) -> Starlette:
    app = Starlette()
    app.router = IndexedRouter(routes=routes)
    return app


async def _get(app: Starlette, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.request(method, path)


async def test_a_fixed_path_declared_after_a_pattern_that_matches_it_keeps_its_place() -> None:
    app = _app(
        [
            Route("/items/{name}", _named("pattern")),
            Route("/items/new", _named("fixed")),
            Route("/other", _named("other")),
        ]
    )
    assert (await _get(app, "/items/new")).text == "pattern {'name': 'new'}"
    assert (await _get(app, "/other")).text == "other {}"
    assert (await _get(app, "/items/x")).text == "pattern {'name': 'x'}"


async def test_methods_and_routes_added_later_are_matched_as_before() -> None:
    app = _app([Route("/a", _named("get a"), methods=["GET"])])
    assert (await _get(app, "/a")).text == "get a {}"
    refused = await _get(app, "/a", "POST")
    assert refused.status_code == 405 and refused.headers["allow"]
    app.router.routes.append(Route("/b", _named("b")))  # as cinema.app adds the web app's
    assert (await _get(app, "/b")).text == "b {}"
    assert (await _get(app, "/nothing")).status_code == 404


async def test_routes_with_parameters_answer_as_in_order_matching_would() -> None:
    app = _app(
        [
            Route("/api/v1/titles", _named("titles")),
            Route("/api/v1/{anything}/rating", _named("early pattern")),
            Route("/api/v1/titles/{title_id:int}/rating", _named("rating"), methods=["PUT"]),
            Route("/api/v1/titles/{title_id}/social", _named("social")),
            Route("/api/v1/people/{person_id:int}", _named("person")),
            Route("/{rest:path}", _named("catch-all")),
        ]
    )
    assert (await _get(app, "/api/v1/titles/7/rating", "PUT")).text == "rating {'title_id': 7}"
    # The earlier route that can match any resource keeps precedence over the indexed one.
    assert (await _get(app, "/api/v1/x/rating")).text == "early pattern {'anything': 'x'}"
    assert (await _get(app, "/api/v1/titles/7/social")).text == "social {'title_id': '7'}"
    assert (await _get(app, "/api/v1/people/3")).text == "person {'person_id': 3}"
    assert (await _get(app, "/api/v1/titles")).text == "titles {}"
    # Not an int: no indexed route matches, the catch-all declared last does.
    assert (await _get(app, "/api/v1/people/x")).text == "catch-all {'rest': 'api/v1/people/x'}"
    assert (await _get(app, "/elsewhere/a/b/c")).text == "catch-all {'rest': 'elsewhere/a/b/c'}"


async def test_a_method_the_indexed_route_lacks_is_405_as_before() -> None:
    app = _app(
        [
            Route("/api/v1/titles/{title_id:int}/rating", _named("rating"), methods=["PUT"]),
            Route("/api/v1/titles", _named("titles")),
        ]
    )
    refused = await _get(app, "/api/v1/titles/7/rating", "POST")
    assert refused.status_code == 405 and refused.headers["allow"] == "PUT"
    assert (await _get(app, "/api/v1/titles/7/nothing")).status_code == 404
