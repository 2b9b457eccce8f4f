"""The event catalogue: an AsyncAPI 3 document built from the socket registry, so every
declared event and payload is documented in one place (`/asyncapi.json`, `docs/events.md`)."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from realtime.registry import EventSpec, Registry

REF = "#/components/schemas/{model}"
ACK_ERROR = {
    "type": "object",
    "required": ["ok", "error"],
    "properties": {
        "ok": {"const": False},
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {},
            },
        },
    },
}


def _schema(tp: Any, components: dict[str, Any], mode: str) -> dict[str, Any]:
    if tp is None:
        return {}
    schema = TypeAdapter(tp).json_schema(ref_template=REF, mode=mode)  # type: ignore[arg-type]
    components.update(schema.pop("$defs", {}))
    return schema


def _key(name: str) -> str:
    return name.replace(":", "_").replace("*", "any")


def build_asyncapi(registry: Registry) -> dict[str, Any]:
    components: dict[str, Any] = {"AckError": ACK_ERROR}
    messages: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    specs: list[EventSpec] = registry.all_specs()
    for spec in specs:
        key = _key(spec.name)
        if spec.direction == "server" and spec.name in registry.specs:
            key += "_broadcast"  # the same name also travels client to server
        payload = _schema(
            spec.payload,
            components,
            "validation" if spec.direction == "client" else "serialization",
        )
        message: dict[str, Any] = {"name": spec.name, "summary": spec.doc, "payload": payload}
        if spec.direction == "client":
            ack = _schema(spec.ack, components, "serialization")
            message["x-ack"] = {
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["ok", "data"],
                        "properties": {"ok": {"const": True}, "data": ack},
                    },
                    {"$ref": REF.format(model="AckError")},
                ]
            }
        messages[key] = message
        operations[key] = {
            "action": "receive" if spec.direction == "client" else "send",
            "channel": {"$ref": "#/channels/root"},
            "messages": [{"$ref": f"#/channels/root/messages/{key}"}],
            "summary": spec.doc,
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Cinema Socket.IO events",
            "version": "1",
            "description": (
                "Socket.IO at /socket.io/, namespace '/'. Connect with auth {token}. Every "
                "client event is acknowledged with {ok: true, data} or {ok: false, error}."
            ),
        },
        "channels": {"root": {"address": "/", "messages": {k: v for k, v in messages.items()}}},
        "operations": operations,
        "components": {"schemas": components},
    }


def render_markdown(registry: Registry) -> str:
    lines = [
        "# Socket.IO event catalogue",
        "",
        "Generated from `realtime/registry.py` declarations (`cinema events-doc`); the same",
        "data is served as AsyncAPI 3 at `/asyncapi.json`. Every client event is answered with",
        '`{"ok": true, "data": ...}` or `{"ok": false, "error": {"code", "message"}}`.',
        "",
    ]
    for direction, title in (("client", "Client to server"), ("server", "Server to client")):
        lines += [f"## {title}", ""]
        for spec in registry.all_specs():
            if spec.direction != direction:
                continue
            lines.append(f"### `{spec.name}`")
            lines.append("")
            if spec.doc:
                lines += [spec.doc, ""]
            for label, tp in (("payload", spec.payload), ("ack data", spec.ack)):
                if tp is None or (label == "ack data" and direction == "server"):
                    continue
                schema = TypeAdapter(tp).json_schema()
                props = schema.get("properties", {})
                required = set(schema.get("required", []))
                if props:
                    fields = ", ".join(
                        f"`{n}`{'' if n in required else '?'}: {_type(p)}" for n, p in props.items()
                    )
                    lines.append(f"- {label}: {fields}")
                else:
                    lines.append(f"- {label}: `{schema.get('title', schema.get('type', 'any'))}`")
            lines.append("")
    return "\n".join(lines)


def _type(prop: dict[str, Any]) -> str:
    if "$ref" in prop:
        return str(prop["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in prop:
        return " | ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list[{_type(prop.get('items', {}))}]"
    if "enum" in prop:
        return " | ".join(repr(v) for v in prop["enum"])
    if "const" in prop:
        return repr(prop["const"])
    return str(prop.get("type", "any"))
