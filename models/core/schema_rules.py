"""Rules a model's validators or its service enforce, said in its JSON Schema too, so a client
(or a generator) knows them: a patch's fields that may be left out but not set to null, a
patch that must change something, exactly one of two fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

JsonSchema = dict[str, Any]


def patch_schema(*not_null: str, change_something: bool = False) -> Callable[[JsonSchema], None]:
    """A `json_schema_extra` for a patch model (validation stays the service's)."""

    def extra(schema: JsonSchema) -> None:
        props = schema["properties"]
        for name in not_null:
            prop = props[name]
            prop.pop("default", None)
            kept = [s for s in prop.pop("anyOf", []) if s.get("type") != "null"]
            if len(kept) == 1:
                prop.update(kept[0])
            elif kept:
                prop["anyOf"] = kept
        if change_something:
            schema["minProperties"] = 1

    return extra


def exactly_one_of(*fields: str) -> JsonSchema:
    """A `json_schema_extra` for a model whose validator wants exactly one of `fields` given
    and not null."""
    return {
        "oneOf": [{"required": [f], "properties": {f: {"not": {"type": "null"}}}} for f in fields]
    }
