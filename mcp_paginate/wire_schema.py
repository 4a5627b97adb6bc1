"""What a host receives of the tools: plain JSON Schema for their arguments and their results.

Hosts differ in the JSON Schema they accept (Gemini CLI and Copilot CLI refuse ``$ref`` and
``$defs``, strict validators refuse ``discriminator``), and a model pays for every character of a
tool definition on every turn. So the schemas here are generated from the pydantic models into
the subset every host takes:

- `InputSchemas` writes the tools' input schemas: no ``$ref``, ``$defs``, ``anyOf``, ``oneOf``,
  ``allOf``, ``not`` or ``discriminator``; every property typed (``X | None`` is just ``X``: an
  optional argument is one left out); a union of models tagged by ``mode`` (the pagination)
  merged into one object whose ``mode`` says which fields each mode takes; and the fields of a
  nested model described the first time the tool list shows it only (later tools get its typed
  shape). The server then validates as strictly as the models would
  (`mcp_paginate.arguments.parse_arguments`).
- `output_schema` flattens a result model's schema: nested models inlined, ``X | None`` as
  ``"type": [X, "null"]``, no titles. Every client validates every result against it, and a
  validator resolving references and trying branches costs more than the checks themselves.

Descriptions come from the models' fields, so a field added to a model appears here by itself.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

__all__ = ["ANY_JSON", "FORBIDDEN_KEYWORDS", "InputSchemas", "JsonSchema", "output_schema"]

JsonSchema = dict[str, Any]

FORBIDDEN_KEYWORDS = frozenset({"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "discriminator"})
"""JSON Schema keywords an input schema must not use: some host refuses each of them."""

ANY_JSON = ["object", "array", "string", "number", "boolean"]
"""The type of a property that takes any JSON value (a request body)."""

_DEFS = "#/$defs/"
_VERBATIM = frozenset({"default", "const", "enum", "examples"})
"""Keywords whose values are data, not schemas: copied as they are."""


def output_schema(schema: JsonSchema) -> JsonSchema:
    """``schema`` (pydantic's, of a result model) flat: ``$ref``s inlined, ``X | None`` as
    ``"type": [X, "null"]``, titles dropped. A flat schema comes back unchanged."""
    definitions = schema.get("$defs", {})

    def resolve(reference: str) -> JsonSchema:
        return copy.deepcopy(definitions[reference.removeprefix(_DEFS)])

    flat: JsonSchema = _flat_output({key: value for key, value in schema.items() if key != "$defs"}, resolve)
    return flat


def _flat_output(node: Any, resolve: Callable[[str], JsonSchema]) -> Any:
    if isinstance(node, list):
        return [_flat_output(item, resolve) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = resolve(node["$ref"])
        return _flat_output({**target, **{k: v for k, v in node.items() if k != "$ref"}}, resolve)
    flat = {
        key: value if key in _VERBATIM else _flat_output(value, resolve)
        for key, value in node.items()
        if key != "title"
    }
    branches = flat.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = next(branch for branch in branches if branch != {"type": "null"})
        if isinstance(other.get("type"), str):
            del flat["anyOf"]
            flat = {**other, **flat, "type": [other["type"], "null"]}
    return flat


class InputSchemas:
    """The input schemas of one tool list, each field described once in it.

    An argument that an earlier tool of the list takes alike (same name, type and description)
    is written as its type and "As in <that tool>." instead of again in full; a nested model
    shown twice in one schema is described the first time and referred to the second.

    Example::

        schemas = InputSchemas()
        schemas.of("list_page", PagingArguments)   # pagination described in full
        schemas.of("fetch_all", FetchAllArguments)  # pagination: "As in list_page."
    """

    def __init__(self) -> None:
        self._first_tool: dict[tuple[str, str], str] = {}

    def of(self, tool: str, model: type[BaseModel]) -> JsonSchema:
        """The plain input schema of a tool's arguments model."""
        schema = model.model_json_schema(by_alias=True)
        writer = _Writer(schema.get("$defs", {}))
        properties: JsonSchema = {}
        for name, spec in schema.get("properties", {}).items():
            key = (name, json.dumps(spec, sort_keys=True))
            written = writer.property(name, spec)
            earlier = self._first_tool.setdefault(key, tool)
            if earlier != tool:
                written = {"type": written["type"], "description": f"As in {earlier}."}
            properties[name] = written
        result: JsonSchema = {"type": "object", "properties": properties}
        if schema.get("required"):
            result["required"] = list(schema["required"])
        result["additionalProperties"] = False
        return result


class _Writer:
    """One arguments model's schema rewritten into the plain subset."""

    def __init__(self, definitions: Mapping[str, JsonSchema]) -> None:
        self.definitions = definitions
        self.shown_at: dict[str, str] = {}
        """Where each nested model was first shown in this schema: model name -> property name."""

    def property(self, name: str, node: JsonSchema) -> JsonSchema:
        """A property: its type (a nested model in full the first time), description and default."""
        written = self.typed(name, node)
        description = node.get("description")
        shown_at = written.pop("shown_at", None)
        if shown_at is not None:
            description = f"{description or ''} Same fields as {shown_at}.".lstrip()
        if description:
            written["description"] = description
        default = node.get("default")
        if default is not None and not isinstance(default, dict | list):
            written["default"] = default  # a scalar; an object default costs more than it tells
        if "type" not in written:
            written["type"] = ANY_JSON
        return written

    def typed(self, name: str, node: JsonSchema) -> JsonSchema:
        """What a value must be (type, enum, items, properties), without the forbidden keywords."""
        if "$ref" in node:
            return self.nested(name, node["$ref"].removeprefix(_DEFS))
        branches = node.get("anyOf") or node.get("oneOf")
        if branches is not None:
            return self.union(name, [branch for branch in branches if branch != {"type": "null"}])
        if node.get("type") == "object":
            return self.model(node)
        written: JsonSchema = {}
        for key in ("type", "enum", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength"):
            if key in node:
                written[key] = node[key]
        if isinstance(written.get("type"), list) and "null" in written["type"]:
            # An optional field is one left out: null says nothing more, on every turn.
            kinds = [kind for kind in written["type"] if kind != "null"]
            written["type"] = kinds[0] if len(kinds) == 1 else kinds
        if "const" in node:
            written["enum"] = [node["const"]]
        if isinstance(node.get("items"), dict):
            written["items"] = self.typed(name, node["items"])
        return written

    def model(self, node: JsonSchema) -> JsonSchema:
        """An object: its properties (if it declares any) and its required ones. A model's own
        description (its docstring) is left out: the property holding it says what it is for."""
        written: JsonSchema = {"type": "object"}
        properties = node.get("properties", {})
        if properties:
            written["properties"] = {name: self.property(name, spec) for name, spec in properties.items()}
        if node.get("required"):
            written["required"] = list(node["required"])
        return written

    def nested(self, name: str, model: str) -> JsonSchema:
        if model in self.shown_at:
            return {"type": "object", "shown_at": self.shown_at[model]}
        self.shown_at[model] = name
        return self.model(self.definitions[model])

    def union(self, name: str, branches: list[JsonSchema]) -> JsonSchema:
        if len(branches) == 1:
            return self.typed(name, branches[0])
        models = [branch["$ref"].removeprefix(_DEFS) for branch in branches if "$ref" in branch]
        if len(models) == len(branches) and all(self.tag(model) is not None for model in models):
            return self.merged(models)
        types: list[str] = []
        for branch in branches:
            kind = self.typed(name, branch).get("type", ANY_JSON)
            types.extend(item for item in (kind if isinstance(kind, list) else [kind]) if item not in types)
        return {"type": types}

    def tag(self, model: str) -> str | None:
        """The ``mode`` constant of a model in a tagged union, or None."""
        value = self.definitions[model].get("properties", {}).get("mode", {}).get("const")
        return value if isinstance(value, str) else None

    def merged(self, models: list[str]) -> JsonSchema:
        """Models tagged by ``mode`` as one object: every field once, ``mode`` an enum whose
        description says which fields each mode takes (``*``: required in that mode)."""
        fields: dict[str, JsonSchema] = {}
        defaults: dict[str, list[Any]] = {}
        takes: dict[str, list[str]] = {}
        for model in models:
            definition = self.definitions[model]
            required = set(definition.get("required", ()))
            own = [field for field in definition.get("properties", {}) if field != "mode"]
            takes[model] = [field + ("*" if field in required else "") for field in own]
            for field in own:
                spec = definition["properties"][field]
                defaults.setdefault(field, []).append(spec.get("default"))
                fields.setdefault(field, spec)
        mode = {
            "type": "string",
            "enum": [self.tag(model) for model in models],
            "description": "Fields per mode (* required): " + self.fields_per_mode(models, takes),
        }
        properties: JsonSchema = {"mode": mode}
        for field, spec in fields.items():
            # A default is shown only when every mode with the field agrees on it.
            agreed = (
                spec.get("default")
                if all(value == spec.get("default") for value in defaults[field])
                else None
            )
            properties[field] = self.property(field, {**spec, "default": agreed})
        return {"type": "object", "properties": properties, "required": ["mode"]}

    def fields_per_mode(self, models: list[str], takes: dict[str, list[str]]) -> str:
        """``offset: a, b; page: c; none: one request, one page.`` (a docstring for no fields)."""
        return (
            "; ".join(
                f"{self.tag(model)}: {', '.join(takes[model]) or _first_sentence(self.definitions[model])}"
                for model in models
            )
            + "."
        )


def _first_sentence(definition: JsonSchema) -> str:
    """A model's docstring to its first full stop, lower-cased: what a mode with no fields does."""
    text = str(definition.get("description", "")).split(". ")[0].rstrip(".").replace("``", "")
    return text[:1].lower() + text[1:]
