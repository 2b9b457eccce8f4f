"""Declarative routes: one declaration validates the request, serializes the response and
feeds the OpenAPI document, so the docs cannot drift from the code."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route, Router
from starlette.types import Receive, Scope, Send

from models.accounts.service import Principal, access_principal
from models.accounts.tables import Role
from models.core.context import Context
from models.core.db import transaction
from models.core.errors import (
    DomainError,
    Forbidden,
    InvalidInput,
    Unauthorized,
    check_storable,
    validation_details,
)
from models.core.events import Outbox

AuthMode = Literal["required", "optional", "none"]
MAX_JSON_BODY = 1024 * 1024


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def is_trusted(address: str, trusted: list[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in trusted)


def client_ip(request: Request, trusted: list[str]) -> str:
    """The client's address, believing X-Forwarded-For only from trusted proxies."""
    peer = request.client.host if request.client else "unknown"
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded and is_trusted(peer, trusted):
        # The right-most address that is not a proxy of ours is the one they saw.
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            if not is_trusted(hop, trusted):
                return hop[:64]
    return peer


@dataclass
class Call:
    """What a handler gets: the parsed request and the process's context."""

    request: Request
    ctx: Context
    user: Principal | None
    params: dict[str, Any]
    body: Any
    query: Any
    outbox: Outbox = field(default_factory=Outbox)

    def require_user(self) -> Principal:
        if self.user is None:
            raise Unauthorized("Authentication required", code="unauthorized")
        return self.user

    def require_role(self, role: Role | str) -> Principal:
        user = self.require_user()
        if not user.has_role(Role(role)):
            raise Forbidden(f"This needs the {Role(role).value} role", code="forbidden")
        return user

    def transaction(self) -> Any:
        return transaction(self.ctx.sessions)

    @property
    def ip(self) -> str:
        return client_ip(self.request, self.ctx.settings.trusted_proxies)

    @property
    def user_agent(self) -> str:
        return self.request.headers.get("user-agent", "")[:256]


Handler = Callable[[Call], Awaitable[Any]]


@dataclass
class Endpoint:
    method: str
    path: str
    handler: Handler
    body: type[BaseModel] | None
    form: type[BaseModel] | None
    query: type[BaseModel] | None
    response: Any
    status: int
    auth: AuthMode
    summary: str
    tags: list[str]
    errors: tuple[int, ...]
    raw_response: str | None
    # OAuth's own endpoints answer errors in OAuth's shape (RFC 6749 §5.2), which client
    # libraries read: {"error": "<code>", "error_description": "..."}.
    oauth: bool = False
    # A body that is a file, not JSON (an image upload): the media types it may have, for the
    # OpenAPI document; the handler reads the stream itself.
    raw_body: tuple[str, ...] = ()

    @property
    def path_params(self) -> list[tuple[str, str]]:
        return re.findall(r"{(\w+)(?::(\w+))?}", self.path)


async def _bearer(request: Request, ctx: Context, mode: AuthMode) -> Principal | None:
    if mode == "none":
        return None
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        if mode == "required":
            raise Unauthorized(
                "Authentication required",
                code="unauthorized",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return None
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Expected 'Authorization: Bearer <token>'", code="invalid_token")
    principal = await access_principal(ctx, token=token.strip())
    request.scope.setdefault("state", {})["user_id"] = str(principal.user_id)
    return principal


def _whole_numbers(data: Any) -> Any:
    """9.0 is the integer 9 to JSON Schema (a client's JSON encoder may write it so), which
    strict validation would refuse; a float field takes the int as well."""
    if isinstance(data, float) and data.is_integer() and -(2**63) <= data < 2**63:
        return int(data)  # (larger ones stay floats: orjson writes no int past 64 bits)
    if isinstance(data, list):
        return [_whole_numbers(v) for v in data]
    if isinstance(data, dict):
        return {k: _whole_numbers(v) for k, v in data.items()}
    return data


def _parse(model: type[BaseModel], data: Any, where: str, *, json: bool = False) -> BaseModel:
    """Query and form values are text, so they are read laxly ("5" is 5); a JSON body is read
    strictly, as its schema says: 0 is no boolean, false no number, 0 no date."""
    try:
        if json:
            parsed = model.model_validate_json(orjson.dumps(_whole_numbers(data)), strict=True)
        else:
            parsed = model.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(
            f"Invalid {where}", code="invalid_input", details=validation_details(exc)
        ) from exc
    check_storable(parsed, where)
    return parsed


async def _read_json(request: Request) -> Any:
    ctype = request.headers.get("content-type", "")
    if "json" not in ctype:
        raise InvalidInput(
            "Expected a JSON body (Content-Type: application/json)", code="invalid_json"
        )
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_JSON_BODY:
            raise DomainError("Request body too large", code="payload_too_large", status=413)
    try:
        return orjson.loads(raw or b"null")
    except orjson.JSONDecodeError as exc:
        raise InvalidInput("Body is not valid JSON", code="invalid_json") from exc


def _query_dict(request: Request, model: type[BaseModel]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = request.query_params.getlist(key)
        if not values:
            continue
        origin = getattr(info.annotation, "__origin__", None)
        is_list = origin is list or "list[" in str(info.annotation)
        out[key] = values if is_list else values[-1]
    unknown = (
        set(request.query_params.keys())
        - set(out)
        - {(i.alias or n) for n, i in model.model_fields.items()}
    )
    if unknown and model.model_config.get("extra") == "forbid":
        # Names are echoed escaped where not printable: a NUL or a control character from the
        # query would otherwise land in the message, which may hold neither.
        names = sorted(
            n if n.isprintable() else n.encode("unicode_escape").decode() for n in unknown
        )
        raise InvalidInput(f"Unknown query parameter(s): {', '.join(names)}", code="invalid_input")
    return out


# Query models parsed, by model and query string. A list page is asked for with the same few
# query strings over and over (the first page has none), and parsing one (every field looked
# up, validated, checked storable) cost as much as serving the cached page itself. Parsed
# queries are never changed by handlers; a bad query is not kept (it raises every time), nor
# a long one (a client could otherwise fill the memory with huge query strings).
_QUERIES: dict[tuple[type[BaseModel], bytes], BaseModel] = {}
_QUERIES_MAX = 4096
_QUERY_KEPT_BYTES = 512


def _parsed_query(request: Request, model: type[BaseModel]) -> BaseModel:
    raw: bytes = request.scope.get("query_string", b"")
    key = (model, raw)
    parsed = _QUERIES.get(key)
    if parsed is None:
        parsed = _parse(model, _query_dict(request, model), "query")
        if len(raw) > _QUERY_KEPT_BYTES:
            return parsed
        if len(_QUERIES) >= _QUERIES_MAX:
            _QUERIES.pop(next(iter(_QUERIES)))  # the oldest
        _QUERIES[key] = parsed
    return parsed


class Api:
    """A group of endpoints; `http_api.app` mounts every group under /api/v1."""

    def __init__(self, *, tags: list[str] | None = None, prefix: str = "/api/v1") -> None:
        self.tags = tags or []
        self.prefix = prefix
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        body: type[BaseModel] | None = None,
        form: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status: int = 200,
        auth: AuthMode = "required",
        summary: str = "",
        errors: tuple[int, ...] = (),
        raw_response: str | None = None,
        oauth: bool = False,
        raw_body: tuple[str, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method,
                    path=self.prefix + path,
                    handler=handler,
                    body=body,
                    form=form,
                    query=query,
                    response=response,
                    status=status,
                    auth=auth,
                    summary=summary or (handler.__doc__ or handler.__name__).strip().split("\n")[0],
                    tags=self.tags,
                    errors=errors,
                    raw_response=raw_response,
                    oauth=oauth,
                    raw_body=raw_body,
                )
            )
            return handler

        return register

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)


def routes(endpoints: list[Endpoint]) -> list[Route]:
    """One Route per path with all its methods, in the order paths were first declared, so a
    method the path lacks is 405 with an `Allow` header naming every method it has (a Route
    per method named only its own: `Allow: GET` on a path that also takes PATCH)."""
    by_path: dict[str, dict[str, Callable[[Request], Awaitable[Response]]]] = {}
    for e in endpoints:
        by_path.setdefault(e.path, {})[e.method] = _endpoint_app(e)
    return [Route(path, _by_method(apps), methods=list(apps)) for path, apps in by_path.items()]


class IndexedRouter(Router):
    """Starlette's router, with a request's candidate routes found by one dict lookup.

    Starlette tries every route's pattern in order until one matches: with ~300 routes, a
    path such as /api/v1/titles (the 43rd) cost a fifth of a cached page's CPU in pattern
    matching, and PUT /api/v1/titles/{id}/rating (past the 200th) more. Routes are indexed
    by their path's first segments (`_KEY_SEGMENTS`) when their literal text covers them; a
    route that could match any of them (a parameter or a mount early in its path) is in
    every list. A request tries, in declaration order, only the routes of its own key, so
    the first full match is the one Starlette's scan would find; with none, Starlette
    decides as always (405 for another method, a slash redirect, 404). The index is built on
    the first request and rebuilt when routes are added.
    """

    _index: dict[str, list[Any]]
    _wild: list[Any]
    _indexed = -1

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        # (Behind a root_path, paths are matched as Starlette does.)
        if scope["type"] == "http" and not scope.get("root_path"):
            if self._indexed != len(self.routes):
                self._index, self._wild = _route_index(self.routes)
                self._indexed = len(self.routes)
            for route in self._index.get(_key(scope["path"]), self._wild):
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope["route"] = route
                    scope.update(child_scope)
                    await route.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


_KEY_SEGMENTS = 3  # /api/v1/<resource>


def _key(path: str) -> str:
    return "/".join(path.split("/", _KEY_SEGMENTS + 1)[: _KEY_SEGMENTS + 1])


def _route_key(route: Any) -> str | None:
    """The key of every path the route can match, or None when it may match paths of
    several keys."""
    if not isinstance(route, Route):
        return None  # a mount or a kind of route we cannot see into
    literal, brace, _ = route.path.partition("{")
    if not brace:
        return _key(literal)
    complete = literal.rpartition("/")[0]  # the segments before the first parameter's
    if complete.count("/") < _KEY_SEGMENTS:
        return None
    return _key(complete)


def _route_index(candidates: list[Any]) -> tuple[dict[str, list[Any]], list[Any]]:
    """Routes by key, each list in declaration order with the routes of no key among them;
    and those alone (for a key no route has)."""
    index: dict[str, list[Any]] = {}
    wild: list[Any] = []
    for route in candidates:
        key = _route_key(route)
        if key is None:
            wild.append(route)
            for routes in index.values():
                routes.append(route)
        else:
            index.setdefault(key, list(wild)).append(route)
    return index, wild


def _by_method(
    apps: dict[str, Callable[[Request], Awaitable[Response]]],
) -> Callable[[Request], Awaitable[Response]]:
    async def app(request: Request) -> Response:
        # The Route let only its methods through; HEAD is answered as GET.
        return await apps["GET" if request.method == "HEAD" else request.method](request)

    return app


# Our errors at an OAuth endpoint, as OAuth names them (RFC 6749 §5.2).
_OAUTH_CODES = {422: "invalid_request", 400: "invalid_request", 401: "invalid_client"}
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


def _oauth_error(exc: DomainError) -> Response:
    if exc.status >= 500:
        code = "temporarily_unavailable" if exc.status == 503 else "server_error"
        status = exc.status
    elif exc.status in _OAUTH_CODES and exc.code not in _OAUTH_ERROR_CODES:
        code, status = _OAUTH_CODES[exc.status], 400 if exc.status == 422 else exc.status
    else:
        code, status = exc.code, exc.status
    return JSONResponse(
        {"error": code, "error_description": exc.message},
        status_code=status,
        headers={**exc.headers, **_NO_STORE},
    )


_OAUTH_ERROR_CODES = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "authorization_pending",
        "slow_down",
        "access_denied",
        "expired_token",
        "temporarily_unavailable",
    }
)


def _endpoint_app(e: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    answer = _answer(e)
    if not e.oauth:
        return answer

    async def oauth_app(request: Request) -> Response:
        try:
            response = await answer(request)
        except DomainError as exc:
            return _oauth_error(exc)
        response.headers.update(_NO_STORE)
        return response

    return oauth_app


def _answer(e: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    adapter = TypeAdapter(e.response) if e.response is not None else None

    async def app(request: Request) -> Response:
        ctx: Context = request.app.state.ctx
        user = await _bearer(request, ctx, e.auth)
        body = query = None
        if e.body is not None:
            body = _parse(e.body, await _read_json(request), "body", json=True)
        elif e.form is not None:
            async with request.form(max_files=0, max_fields=50) as form:
                body = _parse(e.form, dict(form), "form")
        if e.query is not None:
            query = _parsed_query(request, e.query)
        if request.path_params:
            check_storable(request.path_params, "path")
        call = Call(request, ctx, user, dict(request.path_params), body, query)
        result = await e.handler(call)
        await ctx.flush(call.outbox)
        if isinstance(result, Response):
            return result
        if e.status == 204:
            return Response(status_code=204)
        content = adapter.dump_python(result, mode="json") if adapter else result
        return JSONResponse(content, status_code=e.status)

    return app


async def in_transaction(call: Call, fn: Callable[[AsyncSession], Awaitable[Any]]) -> Any:
    """Run fn in one transaction; events in call.outbox leave after the commit."""
    async with call.transaction() as session:
        return await fn(session)
