"""What a host receives of the tools: their size per turn, plain JSON Schema only, and arguments
validated on the server as strictly as the models, with one-line errors."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Annotated, Any, Literal

import pytest
from mcp import Client
from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.arguments import FetchAllArguments, NoArguments, PagingArguments, parse_arguments
from mcp_paginate.errors import InputError
from mcp_paginate.wire_schema import FORBIDDEN_KEYWORDS, InputSchemas, output_schema

TOTAL_LIMIT = 8_000
"""Characters of every tool definition together (name + description + JSON input schema)."""


def definition_sizes(tools: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Characters of each tool definition as a model receives it: name + description + the
    input schema as JSON (default separators)."""
    return {
        tool["name"]: len(tool["name"])
        + len(tool.get("description") or "")
        + len(json.dumps(tool["inputSchema"]))
        for tool in tools
    }


def schema_nodes(schema: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node under ``schema`` (properties, items, additionalProperties, and whatever
    a combinator would hold), with a path; property *names* are not keywords, so they are skipped."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for name, spec in (schema.get("properties") or {}).items():
        yield from schema_nodes(spec, f"{path}.{name}")
    for key in ("items", "additionalProperties", "not", "$defs", "definitions"):
        value = schema.get(key)
        if isinstance(value, dict):
            nested = value.values() if key in ("$defs", "definitions") else [value]
            for item in nested:
                yield from schema_nodes(item, f"{path}/{key}")
    for key in ("anyOf", "oneOf", "allOf"):
        for index, item in enumerate(schema.get(key) or []):
            yield from schema_nodes(item, f"{path}/{key}/{index}")


def check_tool_definitions(tools: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Assert what every host needs of the tool definitions (as some client listed them):
    within the size limit, no forbidden keyword anywhere, every property typed. Returns the sizes."""
    sizes = definition_sizes(tools)
    assert sum(sizes.values()) <= TOTAL_LIMIT, sizes
    for tool in tools:
        for path, node in schema_nodes(tool["inputSchema"]):
            used = FORBIDDEN_KEYWORDS & set(node)
            assert not used, f"{tool['name']} {path} uses {sorted(used)}"
        for path, node in schema_nodes(tool["inputSchema"]):
            if path != "$":
                assert "type" in node, f"{tool['name']} {path} has no type"
    return sizes


async def listed_tools(client: Client) -> list[dict[str, Any]]:
    return [
        {"name": tool.name, "description": tool.description, "inputSchema": tool.input_schema}
        for tool in (await client.list_tools()).tools
    ]


# --------------------------------------------------------------------------------------------
# The definitions as the Python client lists them
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_tool_definitions_fit_the_limit_in_plain_json_schema(client: Client) -> None:
    sizes = check_tool_definitions(await listed_tools(client))
    assert set(sizes) == {"list_sources", "list_page", "fetch_all", "read_results"}


@pytest.mark.anyio
async def test_all_four_tools_with_read_results_fit_the_limit_and_every_mode_is_described(
    client: Client,
) -> None:
    tools = await listed_tools(client)
    sizes = definition_sizes(tools)
    assert "read_results" in sizes and len(sizes) == 4
    assert sum(sizes.values()) <= TOTAL_LIMIT, sizes
    list_page = next(tool for tool in tools if tool["name"] == "list_page")
    mode = list_page["inputSchema"]["properties"]["pagination"]["properties"]["mode"]
    for name in ("offset:", "page:", "cursor:", "none:", "auto:"):
        assert name in mode["description"], name


def test_the_checks_catch_a_forbidden_keyword_an_untyped_property_and_an_oversized_list() -> None:
    good = {"name": "t", "description": "d", "inputSchema": {"type": "object", "properties": {}}}
    for schema in (
        {"type": "object", "properties": {"a": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
        {
            "type": "object",
            "properties": {"a": {"type": "object", "properties": {"b": {"$ref": "#/$defs/B"}}}},
        },
        {"type": "object", "properties": {"a": {"description": "untyped"}}},
    ):
        with pytest.raises(AssertionError):
            check_tool_definitions([good, {**good, "name": "u", "inputSchema": schema}])
    with pytest.raises(AssertionError):
        check_tool_definitions([{**good, "description": "x" * TOTAL_LIMIT}])
    # A property may be named like a keyword: only keywords count.
    named = {"type": "object", "properties": {"not": {"type": "string"}}}
    check_tool_definitions([{**good, "inputSchema": named}])


# --------------------------------------------------------------------------------------------
# Generation from the models: new fields appear by themselves
# --------------------------------------------------------------------------------------------


class _Option(BaseModel):
    model_config = ConfigDict(extra="forbid")

    where: Literal["query", "header"] = Field(description="Where it goes.")
    name: str | None = Field(default=None, description="Its name.")


class _Red(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: Literal["red"] = "red"
    shade: int = Field(default=1, ge=0, description="How red.")
    option: _Option | None = Field(default=None, description="An option.")
    other: _Option = Field(description="Another option.")


class _Blue(BaseModel):
    """Nothing to set."""

    model_config = ConfigDict(extra="forbid")

    mode: Literal["blue"] = "blue"


class _Arguments(BaseModel):
    model_config = ConfigDict(extra="forbid")

    colour: Annotated[_Red | _Blue, Field(discriminator="mode")] | None = Field(
        default=None, description="A colour."
    )
    names: list[str] | None = Field(default=None, description="Names.")
    anything: Any = Field(default=None, description="Any JSON.")


def test_a_tagged_union_becomes_one_object_whose_mode_lists_each_modes_fields() -> None:
    schema = InputSchemas().of("tool", _Arguments)
    assert not [path for path, node in schema_nodes(schema) if FORBIDDEN_KEYWORDS & set(node)]
    colour = schema["properties"]["colour"]
    assert colour["required"] == ["mode"] and colour["description"] == "A colour."
    assert colour["properties"]["mode"] == {
        "type": "string",
        "enum": ["red", "blue"],
        "description": "Fields per mode (* required): red: shade, option, other*; blue: nothing to set.",
    }
    assert colour["properties"]["shade"] == {
        "type": "integer",
        "minimum": 0,
        "description": "How red.",
        "default": 1,
    }
    # A nested model is described the first time, and referred to the second.
    option = colour["properties"]["option"]
    assert option["properties"]["where"] == {
        "type": "string",
        "enum": ["query", "header"],
        "description": "Where it goes.",
    }
    assert colour["properties"]["other"] == {
        "type": "object",
        "description": "Another option. Same fields as option.",
    }
    assert schema["properties"]["names"] == {
        "type": "array",
        "items": {"type": "string"},
        "description": "Names.",
    }
    assert schema["properties"]["anything"]["type"] == ["object", "array", "string", "number", "boolean"]


def test_a_later_tool_refers_to_the_arguments_an_earlier_one_described() -> None:
    schemas = InputSchemas()
    first = schemas.of("list_page", PagingArguments)
    second = schemas.of("fetch_all", FetchAllArguments)
    for name in ("source", "params", "request", "pagination", "page_size", "fields"):
        assert second["properties"][name] == {
            "type": first["properties"][name]["type"],
            "description": "As in list_page.",
        }
    assert second["properties"]["cursor"]["description"] != first["properties"]["cursor"]["description"]
    assert second["additionalProperties"] is False


def test_output_schemas_are_flattened_and_a_flat_one_stays_as_it_is() -> None:
    class Inner(BaseModel):
        number: int

    class Result(BaseModel):
        inner: Inner
        total: int | None = None

    flat = output_schema(Result.model_json_schema())
    assert flat == {
        "type": "object",
        "properties": {
            "inner": {
                "type": "object",
                "properties": {"number": {"type": "integer"}},
                "required": ["number"],
            },
            "total": {"type": ["integer", "null"], "default": None},
        },
        "required": ["inner"],
    }
    assert output_schema(flat) == flat


# --------------------------------------------------------------------------------------------
# Validation on the server: as strict as the models, one line naming the field
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"source": "x", "page_size": "abc"}, "page_size must be an integer, not a string"),
        ({"source": "x", "page_size": 0}, "page_size: input should be greater than or equal to 1"),
        ({"source": 5}, "source must be a string, not a number"),
        ({"fields": "id"}, "fields must be an array, not a string"),
        ({"fields": ["id", 3]}, "fields[1] must be a string, not a number"),
        (
            {"pagination": {"mode": "cursor", "start_page": 2, "next": {"link": "next"}}},
            "pagination.start_page is not a field of mode 'cursor' (it belongs to 'page'); 'cursor' takes: ",
        ),
        ({"pagination": {"mode": "cursor"}}, "pagination.next is required"),
        (
            {"pagination": {"mode": "bogus"}},
            "pagination has mode 'bogus'; mode must be one of offset, page, cursor",
        ),
        ({"pagination": {"page_size": 5}}, "pagination has no mode; mode must be one of"),
        ({"pagination": {"mode": ["page"]}}, "pagination has mode ['page']; mode must be one of"),
        (
            {"pagination": {"mode": "cursor", "next": {"bdy": "a"}}},
            "unknown field 'bdy' in pagination.next; did you mean 'body'? pagination.next takes: body,",
        ),
        (
            {"pagination": {"mode": "page", "pge_param": {"in": "query", "name": "p"}}},
            "unknown field 'pge_param' in pagination; did you mean 'page_param'? pagination mode 'page'",
        ),
        (
            {"pagination": {"mode": "offset", "limit_param": {"in": "cookie", "name": "x"}}},
            "pagination.limit_param.in: input should be 'query', 'header', 'body', 'url' or 'path'",
        ),
        (
            {"pagination": {"mode": "cursor", "next": {"body": "a", "header": "b"}}},
            "pagination.next: next needs exactly one of body, header, link, last_record, template (got",
        ),
        (
            {"request": {"url": "http://h/x", "query": {"k": [1]}}},
            "request.query.k must be a string, an integer, a number or a boolean, not an array",
        ),
        ({"request": {"method": "GET"}}, "request.url is required"),
        ({"request": {"url": "http://h/x", "verb": "GET"}}, "unknown field 'verb' in request"),
        ({"pagesize": 5}, "unknown argument 'pagesize'; did you mean 'page_size'? list_page takes: source,"),
    ],
)
def test_wrong_arguments_get_one_line_naming_the_field(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_arguments(PagingArguments, arguments, "list_page")
    text = str(caught.value)
    assert text.startswith(message), text
    assert "\n" not in text and "pydantic" not in text


def test_a_jmespath_error_is_one_line_too() -> None:
    with pytest.raises(InputError) as caught:
        parse_arguments(
            PagingArguments, {"request": {"url": "http://h/x", "records": "items[?"}}, "list_page"
        )
    assert str(caught.value).startswith("request.records: invalid JMESPath expression 'items[?'")
    assert "\n" not in str(caught.value)


def test_empty_strings_and_nulls_are_absent_and_json_text_is_read() -> None:
    parsed = parse_arguments(
        FetchAllArguments,
        {
            "source": "x",
            "cursor": "",
            "request": "",
            "max_records": None,
            "fields": '["id"]',
            "params": '{"owner": "me"}',
            "pagination": {
                "mode": "offset",
                "limit_param": None,
                "offset_param": {"in": "query", "name": "o"},
            },
        },
        "fetch_all",
    )
    assert parsed.cursor is None and parsed.request is None and parsed.max_records is None
    assert parsed.fields == ["id"] and parsed.params == {"owner": "me"}
    assert parsed.pagination is not None
    dumped = parsed.pagination.model_dump(by_alias=True)
    assert dumped["limit_param"] is None  # inside an argument, null keeps its meaning: not sent
    assert dumped["offset_param"] == {"in": "query", "name": "o", "template": None}
    # Inside an argument "" is a value: an empty method is refused, not taken for GET.
    with pytest.raises(InputError, match="request.method: method '' is not allowed"):
        parse_arguments(PagingArguments, {"request": {"url": "http://h/x", "method": ""}}, "list_page")
    # A string argument is never read as JSON: it is the text given.
    assert parse_arguments(PagingArguments, {"cursor": "[1]"}, "list_page").cursor == "[1]"


def test_a_tool_without_arguments_refuses_any() -> None:
    assert parse_arguments(NoArguments, {}, "list_sources") == NoArguments()
    with pytest.raises(InputError, match="unknown argument 'verbose'; list_sources takes no arguments"):
        parse_arguments(NoArguments, {"verbose": True}, "list_sources")


def test_an_empty_cursor_with_nothing_else_is_refused_as_a_cursor() -> None:
    with pytest.raises(InputError, match=r"^cursor '' is not one this server minted: pass the cursor"):
        parse_arguments(PagingArguments, {"cursor": "", "page_size": 5}, "list_page")
    assert parse_arguments(PagingArguments, {"source": "x", "cursor": ""}, "list_page").cursor is None
