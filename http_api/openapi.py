"""OpenAPI 3.1 built from the route declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

from http_api.routing import Endpoint

REF = "#/components/schemas/{model}"
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}
# OAuth's endpoints (the device grant's) answer errors in OAuth's shape (RFC 6749 §5.2).
OAUTH_ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
    },
}
_REASONS = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    410: "Gone",
    413: "Payload too large",
    422: "Invalid input",
    429: "Rate limited (see Retry-After)",
}


class _Schemas:
    """Every model of every route in one pass, so pydantic names them together: two models
    with one class name (catalog's and social's RatingSummary) get distinct components
    instead of one silently describing the other."""

    def __init__(self, endpoints: list[Endpoint]) -> None:
        inputs: list[tuple[tuple[int, str], JsonSchemaMode, TypeAdapter[Any]]] = []
        for i, e in enumerate(endpoints):
            parts: list[tuple[str, Any, JsonSchemaMode]] = [
                ("body", e.body, "validation"),
                ("form", e.form, "validation"),
                ("query", e.query, "validation"),
                ("response", e.response, "serialization"),
            ]
            inputs += [((i, part), mode, TypeAdapter(tp)) for part, tp, mode in parts if tp]
        by_key, defs = TypeAdapter.json_schemas(inputs, ref_template=REF)
        self._by_key = {key: schema for (key, _mode), schema in by_key.items()}
        self.components: dict[str, Any] = {
            "Error": ERROR_SCHEMA,
            "OAuthError": OAUTH_ERROR_SCHEMA,
            **defs.get("$defs", {}),
        }

    def of(self, index: int, part: str) -> dict[str, Any]:
        return self._by_key[(index, part)]

    def resolved(self, index: int, part: str) -> dict[str, Any]:
        schema = self.of(index, part)
        while "$ref" in schema:
            schema = self.components[schema["$ref"].rsplit("/", 1)[-1]]
        return schema


# What each path parameter is, so a client (or a generator) sends what the route takes: ids
# are bigints (models.core.errors.parse_id), users and parties UUIDs; a value outside these
# is 422 invalid_id (404 where a converter is in the path).
BIGINT_MAX = 2**63 - 1
_ID = {"type": "integer", "minimum": 0, "maximum": BIGINT_MAX}
_UUID = {"type": "string", "format": "uuid"}
_TEXT = {"type": "string"}
PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    **dict.fromkeys(
        (
            "comment_id",
            "device_id",
            "entry_id",
            "episode_id",
            "genre_id",
            "item_id",
            "message_id",
            "notification_id",
            "passkey_id",
            "person_id",
            "playlist_id",
            "report_id",
            "request_id",
            "season_id",
            "subscription_id",
            "suggestion_id",
            "term_id",
            "title_id",
            "track_id",
        ),
        _ID,
    ),
    "kind": {"type": "string", "enum": ["intro", "recap", "credits"]},
    "party_id": _UUID,
    "export_id": _UUID,
    "child_id": _UUID,
    "attachment_id": _UUID,
    "user_id": _UUID,
    # Opaque text: a session id, a collection's id or slug, an invite code, media file parts.
    **dict.fromkeys(
        ("session_id", "stream_id", "ref", "code", "token", "asset_id", "revision", "name"), _TEXT
    ),
}


def _parameters(e: Endpoint, index: int, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name, _ in e.path_params:
        if name not in PATH_PARAMETERS:
            raise KeyError(f"{e.path}: say what {{{name}}} is in http_api/openapi.py")
        params.append(
            {"name": name, "in": "path", "required": True, "schema": dict(PATH_PARAMETERS[name])}
        )
    if e.query is not None:
        full = schemas.resolved(index, "query")
        required = set(full.get("required", []))
        for name, prop in full.get("properties", {}).items():
            param: dict[str, Any] = {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": prop,
            }
            if "description" in prop:
                param["description"] = prop["description"]
            if prop.get("type") == "array" or "array" in str(prop.get("anyOf", "")):
                param["style"], param["explode"] = "form", True
            params.append(param)
    return params


_NO_NUL = {"pattern": "\u0000"}


def _storable(schema: Any) -> None:
    """Every string says it holds no NUL and every integer that it fits a bigint: PostgreSQL
    can store nothing else, and every door answers 422 invalid_input to either
    (models.core.errors.check_storable); a season named "a\x00", and an episode id of 23
    digits in a party's queue, were schema-valid and refused."""
    if isinstance(schema, dict):
        kind = schema.get("type")
        # (A file's bytes are not text: a binary body may hold NULs.)
        binary = schema.get("format") == "binary"
        if kind == "string" and "enum" not in schema and "const" not in schema and not binary:
            schema.setdefault("not", _NO_NUL)
        elif kind == "integer" and "enum" not in schema and "const" not in schema:
            schema.setdefault("minimum", -BIGINT_MAX - 1)
            schema.setdefault("maximum", BIGINT_MAX)
        for value in schema.values():
            _storable(value)
    elif isinstance(schema, list):
        for value in schema:
            _storable(value)


def build_openapi(endpoints: list[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    schemas = _Schemas(endpoints)
    paths: dict[str, Any] = {}
    for i, e in enumerate(endpoints):
        op: dict[str, Any] = {
            "operationId": f"{e.handler.__module__.split('.')[-1]}_{e.handler.__name__}",
            "summary": e.summary,
            "tags": e.tags,
        }
        params = _parameters(e, i, schemas)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas.of(i, "body")}},
            }
        elif e.raw_body:
            binary = {"schema": {"type": "string", "format": "binary"}}
            op["requestBody"] = {"required": True, "content": {t: binary for t in e.raw_body}}
        elif e.form is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": schemas.of(i, "form")}},
            }
        responses: dict[str, Any] = {}
        if e.status == 204:
            responses["204"] = {"description": "No content"}
        elif e.raw_response:
            responses[str(e.status)] = {
                "description": "OK",
                "content": {e.raw_response: {"schema": {"type": "string"}}},
            }
        else:
            content = (
                {"application/json": {"schema": schemas.of(i, "response")}}
                if e.response is not None
                else {"application/json": {"schema": {}}}
            )
            responses[str(e.status)] = {"description": "OK", "content": content}
        codes = set(e.errors) | ({400} if e.oauth else {422})
        if e.query is not None and "cursor" in e.query.model_fields:
            codes |= {404}  # a cursor that names no page (models.core.pagination)
        if e.auth == "required":
            codes |= {401}
            op["security"] = [{"bearer": []}]
        elif e.auth == "optional":
            # Without a token it answers; a revoked, expired or malformed one is still 401.
            codes |= {401}
            op["security"] = [{"bearer": []}, {}]
        for code in sorted(codes):
            error = "OAuthError" if e.oauth else "Error"
            content = {"application/json": {"schema": {"$ref": REF.format(model=error)}}}
            if e.raw_response == "text/html":
                # A page for people (an emailed link) shows its errors as a page too.
                content["text/html"] = {"schema": {"type": "string"}}
            responses[str(code)] = {"description": _REASONS.get(code, "Error"), "content": content}
        op["responses"] = responses
        openapi_path = re.sub(r":\w+}", "}", e.path)  # converters are routing, not API
        paths.setdefault(openapi_path, {})[e.method.lower()] = op
    _storable(paths)
    _storable(schemas.components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
            },
        },
    }
