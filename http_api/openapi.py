"""OpenAPI 3.1 built from the route declarations and their pydantic models."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, TypeAdapter

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
    def __init__(self) -> None:
        self.components: dict[str, Any] = {"Error": ERROR_SCHEMA}

    def of(self, tp: Any, mode: str) -> dict[str, Any]:
        schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
        self.components.update(schema.pop("$defs", {}))
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            # Generic models (Page[ItemOut]) get names OpenAPI accepts: Page_ItemOut_.
            name = re.sub(r"[^a-zA-Z0-9._-]", "_", tp.__name__)
            self.components.setdefault(name, schema)
            return {"$ref": REF.format(model=name)}
        return schema


def _parameters(e: Endpoint, schemas: _Schemas) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer" if conv == "int" else "string"},
        }
        for name, conv in e.path_params
    ]
    if e.query is not None:
        full = TypeAdapter(e.query).json_schema(ref_template=REF)
        schemas.components.update(full.pop("$defs", {}))
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


def build_openapi(endpoints: list[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "operationId": f"{e.handler.__module__.split('.')[-1]}_{e.handler.__name__}",
            "summary": e.summary,
            "tags": e.tags,
        }
        params = _parameters(e, schemas)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": schemas.of(e.body, "validation")}},
            }
        elif e.form is not None:
            op["requestBody"] = {
                "required": True,
                "content": {
                    "application/x-www-form-urlencoded": {
                        "schema": schemas.of(e.form, "validation")
                    }
                },
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
                {"application/json": {"schema": schemas.of(e.response, "serialization")}}
                if e.response is not None
                else {"application/json": {"schema": {}}}
            )
            responses[str(e.status)] = {"description": "OK", "content": content}
        codes = set(e.errors) | {422}
        if e.auth == "required":
            codes |= {401}
            op["security"] = [{"bearer": []}]
        elif e.auth == "optional":
            op["security"] = [{"bearer": []}, {}]
        for code in sorted(codes):
            responses[str(code)] = {
                "description": _REASONS.get(code, "Error"),
                "content": {"application/json": {"schema": {"$ref": REF.format(model="Error")}}},
            }
        op["responses"] = responses
        openapi_path = e.path.replace(":int}", "}").replace(":str}", "}").replace(":path}", "}")
        paths.setdefault(openapi_path, {})[e.method.lower()] = op
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
