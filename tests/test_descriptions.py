"""What the tools tell an assistant: descriptions with examples, every field described, and
results that start with a short human-readable summary for hosts that show only text."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from mcp_paginate import paginators
from tests.conftest import structured
from tests.support import block_text

MODES = ("offset", "page", "cursor", "none", "auto")
MODE_MODELS = ("OffsetPagination", "PagePagination", "CursorPagination", "NoPagination", "AutoPagination")


async def tools_by_name(client: Client) -> dict[str, Any]:
    return {tool.name: tool for tool in (await client.list_tools()).tools}


@pytest.mark.anyio
async def test_every_tool_description_has_an_example(client: Client) -> None:
    tools = await tools_by_name(client)
    assert set(tools) == {"list_sources", "list_page", "fetch_all", "read_results"}
    for name, tool in tools.items():
        assert tool.description, name
        assert re.search(rf"Example: {name}\(", tool.description), name


@pytest.mark.anyio
async def test_continuing_is_explained_where_paging_happens(client: Client) -> None:
    tools = await tools_by_name(client)
    assert "cursor=next_cursor" in tools["list_page"].description
    assert "next_cursor" in tools["fetch_all"].description and "results_uri" in tools["fetch_all"].description


def described_properties(schema: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property at any depth of an input schema, with its dotted path."""
    for name, spec in schema.get("properties", {}).items():
        yield f"{path}{name}", spec
        yield from described_properties(spec, f"{path}{name}.")


@pytest.mark.anyio
async def test_every_argument_and_every_mode_field_is_described(client: Client) -> None:
    tools = await tools_by_name(client)
    for name in ("list_page", "fetch_all"):
        for argument, spec in described_properties(tools[name].input_schema):
            assert spec.get("description"), f"{name}.{argument} has no description"
    pagination = tools["list_page"].input_schema["properties"]["pagination"]["properties"]
    assert pagination["mode"]["enum"] == list(MODES)
    for model in MODE_MODELS:
        for field, info in getattr(paginators, model).model_fields.items():
            assert (info.alias or field) in pagination, f"{model}.{field} missing from the input schema"


@pytest.mark.anyio
async def test_pagination_mode_says_which_fields_each_mode_takes(client: Client) -> None:
    tools = await tools_by_name(client)
    text = tools["list_page"].input_schema["properties"]["pagination"]["properties"]["mode"]["description"]
    clauses = dict(re.findall(r"(\w+): ([^;]*)", text.split(": ", 1)[1].removesuffix(".")))
    for mode, model in zip(MODES, MODE_MODELS, strict=True):
        fields = [name for name in getattr(paginators, model).model_fields if name != "mode"]
        listed = [name.rstrip("*") for name in clauses[mode].split(", ")] if fields else []
        assert listed == fields, mode
    assert "next*" in clauses["cursor"]  # the one field a mode requires is marked


@pytest.mark.anyio
async def test_tools_are_annotated_read_only_and_open_world(client: Client) -> None:
    for tool in (await tools_by_name(client)).values():
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is True
        assert tool.annotations.open_world_hint is True
        assert tool.output_schema is not None


@pytest.mark.anyio
async def test_tool_descriptions_are_not_indented_like_source_code(client: Client) -> None:
    for tool in (await tools_by_name(client)).values():
        assert "\n        " not in (tool.description or ""), tool.name


@pytest.mark.anyio
async def test_list_page_result_starts_with_a_summary_then_the_json(client: Client) -> None:
    result = await client.call_tool("list_page", {"source": "offset_total"})
    data = structured(result)
    assert [block.type for block in result.content] == ["text", "text"]
    assert block_text(result.content[0]) == (
        "Page 1 · 40 records (40 of 237 so far) · more available — pass next_cursor to continue"
    )
    assert json.loads(block_text(result.content[1])) == data
    last = await client.call_tool("list_page", {"source": "offset_total", "page_size": 100})
    for _ in range(2):
        last = await client.call_tool("list_page", {"cursor": structured(last)["next_cursor"]})
    assert block_text(last.content[0]) == "Page 3 · 37 records (237 of 237 so far) · no more pages"


@pytest.mark.anyio
async def test_fetch_all_result_starts_with_a_summary(client: Client) -> None:
    result = await client.call_tool("fetch_all", {"source": "pages_total"})
    data = structured(result)
    summary = block_text(result.content[0])
    assert re.fullmatch(
        r"Fetched 237 records in 8 pages · complete · 237 inline, all at mcp-paginate://results/\S+", summary
    )
    assert data["results_uri"] in summary
    assert json.loads(block_text(result.content[1])) == data


@pytest.mark.anyio
async def test_tool_errors_say_what_to_do(client: Client) -> None:
    result = await client.call_tool("list_page", {"source": "nope"})
    assert result.is_error
    text = block_text(result.content[0])
    assert "available sources:" in text and "see list_sources" in text


@pytest.mark.anyio
async def test_list_sources_result_starts_with_a_summary(client: Client) -> None:
    result = await client.call_tool("list_sources", {})
    structured(result)
    assert len(result.content) == 2
    assert not block_text(result.content[0]).lstrip().startswith("{")
