"""The MCP layer through the real `mcp.Client`, in memory: tool listing, result shapes, progress,
errors, the results resource and cancellation."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import PROGRESS_INTERVAL, create_server
from tests.conftest import structured
from tests.support import ALL_IDS, block_text, resource_text, sample_sources

LIST_PAGE_FIELDS = {"records", "page", "has_more", "total", "cursor", "next_cursor", "seen", "notes"}
FETCH_ALL_FIELDS = {
    "records",
    "returned",
    "count",
    "pages",
    "complete",
    "stop_reason",
    "error",
    "next_cursor",
    "results_uri",
    "notes",
}
EXTRA_FIELDS = {"detected", "total"}
"""Fields beyond SPEC's that the results may carry (auto-detection, totals)."""


def error_text(result: Any) -> str:
    assert result.is_error, "expected a tool error"
    text = " ".join(block.text for block in result.content if getattr(block, "text", None))
    assert "Traceback" not in text
    assert 'File "' not in text
    return text


async def tool(client: Client, name: str) -> Any:
    listed = await client.list_tools()
    return next(t for t in listed.tools if t.name == name)


# --------------------------------------------------------------------------------------------
# Listing
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_tools_shows_the_three_tools_read_only_and_open_world(client: Client) -> None:
    listed = await client.list_tools()
    assert {t.name for t in listed.tools} == {"list_sources", "list_page", "fetch_all", "read_results"}
    for listed_tool in listed.tools:
        assert listed_tool.annotations is not None
        assert listed_tool.annotations.read_only_hint is True
        assert listed_tool.annotations.open_world_hint is True
        assert listed_tool.annotations.destructive_hint is not True
        assert listed_tool.output_schema is not None
        assert listed_tool.description and len(listed_tool.description) > 40


@pytest.mark.anyio
async def test_output_schemas_carry_the_spec_field_names(client: Client) -> None:
    list_page = await tool(client, "list_page")
    fetch_all = await tool(client, "fetch_all")
    assert set(list_page.output_schema["properties"]) >= LIST_PAGE_FIELDS
    assert set(fetch_all.output_schema["properties"]) >= FETCH_ALL_FIELDS
    sources = await tool(client, "list_sources")
    assert {"sources", "ad_hoc"} <= set(sources.output_schema["properties"])


@pytest.mark.anyio
async def test_output_schemas_are_flat_and_still_strict(client: Client) -> None:
    """Clients validate every result: no $ref to resolve, no anyOf to try, no titles to read."""
    listed = await client.list_tools()
    for listed_tool in listed.tools:
        text = json.dumps(listed_tool.output_schema)
        assert "$ref" not in text and "$defs" not in text and "anyOf" not in text, listed_tool.name
        assert '"title"' not in text, listed_tool.name
    schema = (await tool(client, "list_page")).output_schema
    assert schema["properties"]["total"]["type"] == ["integer", "null"]
    assert schema["properties"]["page"]["required"] == ["number", "size", "request"]
    good = structured(await client.call_tool("list_page", {"source": "offset_total"}))
    jsonschema.validate(good, schema)
    for field, wrong in (("total", "237"), ("next_cursor", 5), ("page", {"number": 1})):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate({**good, field: wrong}, schema)


@pytest.mark.anyio
async def test_input_schemas_teach_the_modes_and_the_cursor(client: Client) -> None:
    list_page = (await tool(client, "list_page")).input_schema
    fetch_all = (await tool(client, "fetch_all")).input_schema
    shared = {"source", "params", "request", "pagination", "cursor", "page_size", "fields"}
    assert shared <= set(list_page["properties"]) and shared <= set(fetch_all["properties"])
    properties = list_page["properties"]
    assert "next_cursor" in properties["cursor"]["description"]
    assert "clamp" in properties["page_size"]["description"]
    assert "dotted" in properties["fields"]["description"]
    # The modes are typed in the schema: one object, its mode an enum saying which fields apply.
    pagination = properties["pagination"]
    assert pagination["type"] == "object" and pagination["required"] == ["mode"]
    mode = pagination["properties"]["mode"]
    assert mode["enum"] == ["offset", "page", "cursor", "none", "auto"]
    for name in mode["enum"]:
        assert f"{name}: " in mode["description"]
    assert "last_record" in pagination["properties"]["next"]["properties"]
    assert {"stop_condition", "start_page", "limit_param", "cursor_param"} <= set(pagination["properties"])
    # fetch_all takes them alike and says so instead of repeating them; its own are described.
    assert fetch_all["properties"]["pagination"] == {"type": "object", "description": "As in list_page."}
    assert "next_cursor" in fetch_all["properties"]["cursor"]["description"]
    for name in ("max_records", "max_pages", "dedupe_key"):
        assert fetch_all["properties"][name]["description"], name


@pytest.mark.anyio
async def test_list_sources_lists_every_configured_source(client: Client) -> None:
    data = structured(await client.call_tool("list_sources", {}))
    by_name = {source["name"]: source for source in data["sources"]}
    assert {"alloy_style", "offset_total", "body_token", "link_header"} <= set(by_name)
    assert by_name["alloy_style"]["max_page_size"] == 50
    assert by_name["alloy_style"]["pagination"] == "alloy"
    assert by_name["link_header"]["pagination"] == "cursor"
    assert {p["name"] for p in by_name["alloy_style"]["params"]} >= {"connector", "action", "credential_id"}
    assert data["ad_hoc"] == {"allowed": False, "hosts": []}


@pytest.mark.anyio
async def test_results_resource_templates_are_listed(client: Client) -> None:
    templates = await client.list_resource_templates()
    uris = {t.uri_template for t in templates.resource_templates}
    assert uris == {"mcp-paginate://results/{results_id}", "mcp-paginate://results/{results_id}/{chunk}"}


# --------------------------------------------------------------------------------------------
# Result shapes
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_page_result_has_exactly_the_spec_fields(client: Client) -> None:
    result = await client.call_tool("list_page", {"source": "alloy_style"})
    data = structured(result)
    assert LIST_PAGE_FIELDS <= set(data) <= LIST_PAGE_FIELDS | EXTRA_FIELDS
    assert set(data["page"]) == {"number", "size", "request"}
    assert set(data["seen"]) == {"pages", "records"}
    assert data["page"] == {"number": 1, "size": 50, "request": {"offset": 0, "limit": 50}}
    assert data["seen"] == {"pages": 1, "records": 50}
    assert data["has_more"] is True and isinstance(data["next_cursor"], str)
    assert [r["id"] for r in data["records"]] == list(range(1, 51))
    jsonschema.validate(data, (await tool(client, "list_page")).output_schema)
    # The text content says the same thing to a host that ignores structured content.
    text = block_text(result.content[0])
    assert "Page 1" in text and "next_cursor" in text


@pytest.mark.anyio
async def test_fetch_all_result_has_exactly_the_spec_fields(client: Client) -> None:
    data = structured(await client.call_tool("fetch_all", {"source": "pages_total"}))
    assert FETCH_ALL_FIELDS <= set(data) <= FETCH_ALL_FIELDS | EXTRA_FIELDS
    assert data["count"] == data["returned"] == 237
    assert data["complete"] is True and data["stop_reason"] == "exhausted"
    assert data["error"] is None and data["next_cursor"] is None
    assert data["pages"] == 8
    assert data["results_uri"].startswith("mcp-paginate://results/")
    jsonschema.validate(data, (await tool(client, "fetch_all")).output_schema)


@pytest.mark.anyio
async def test_list_page_via_mcp_continues_and_rereads(client: Client) -> None:
    first = structured(await client.call_tool("list_page", {"source": "body_token", "fields": ["id"]}))
    assert first["records"][0] == {"id": 1}
    second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    again = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    assert second == again
    assert second["records"][0] == {"id": 31}
    assert second["page"]["number"] == 2 and second["seen"] == {"pages": 2, "records": 60}


@pytest.mark.anyio
async def test_alloy_page_size_100_is_clamped_with_a_note_via_mcp(client: Client) -> None:
    data = structured(await client.call_tool("fetch_all", {"source": "alloy_style", "page_size": 100}))
    assert [r["id"] for r in data["records"]] == ALL_IDS
    assert data["complete"] is True
    assert any("cap of 50" in note for note in data["notes"])


# --------------------------------------------------------------------------------------------
# Progress
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "total", "pages", "first"), [("offset_total", 237, 6, 40), ("body_token", None, 8, 30)]
)
async def test_fetch_all_sends_progress_notifications(
    client: Client, source: str, total: int | None, pages: int, first: int
) -> None:
    updates: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        updates.append((progress, total, message))  # named as ProgressFnT names them

    with anyio.fail_after(30):
        data = structured(
            await client.call_tool("fetch_all", {"source": source}, progress_callback=on_progress)
        )
    assert data["count"] == 237
    counts = [progress for progress, _, _ in updates]
    # The first page is reported at once and the last count always; pages in between at most
    # every PROGRESS_INTERVAL (on loopback, most of them fall inside one interval).
    assert 2 <= len(updates) <= pages
    assert counts[0] == first
    assert counts == sorted(counts) and len(set(counts)) == len(counts)  # strictly increasing
    assert counts[-1] == 237
    assert all(reported == total for _, reported, _ in updates)
    assert all(message and "records" in message for _, _, message in updates)


@pytest.mark.anyio
async def test_slow_pages_are_each_reported() -> None:
    """Pages further apart than PROGRESS_INTERVAL each get their own notification."""
    with SampleAPI(records=100, latency=PROGRESS_INTERVAL * 1.5) as api:
        config = AppConfig.model_validate(
            {
                "sources": {
                    "slow": {
                        "url": api.url + "/token",
                        "pagination": {
                            "mode": "cursor",
                            "next": {"body": "meta.next_token"},
                            "cursor_param": {"in": "query", "name": "pagination_token"},
                            "size_param": {"in": "query", "name": "max_results"},
                            "page_size": 25,
                        },
                    }
                }
            }
        )
        counts: list[float] = []

        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            counts.append(progress)

        async with Client(create_server(config, "memory://", environ={})) as connected:
            with anyio.fail_after(30):
                await connected.call_tool("fetch_all", {"source": "slow"}, progress_callback=on_progress)
    assert counts == [25, 50, 75, 100]


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_unknown_source_is_a_tool_error_listing_the_sources(client: Client) -> None:
    text = error_text(await client.call_tool("list_page", {"source": "nope"}))
    assert "unknown source 'nope'" in text and "offset_total" in text and "list_sources" in text


@pytest.mark.anyio
async def test_bad_cursor_is_a_tool_error_saying_how_to_start_again(client: Client) -> None:
    text = error_text(await client.call_tool("list_page", {"cursor": "not-a-cursor"}))
    assert "cursor" in text and "source=" in text
    text = error_text(await client.call_tool("fetch_all", {"cursor": "A" * 24 + ".3"}))
    assert "expired" in text


@pytest.mark.anyio
async def test_cursor_and_source_together_is_a_tool_error(client: Client) -> None:
    first = structured(await client.call_tool("list_page", {"source": "offset_total"}))
    text = error_text(
        await client.call_tool("list_page", {"source": "offset_total", "cursor": first["cursor"]})
    )
    assert "not both" in text


@pytest.mark.anyio
async def test_unknown_param_is_a_tool_error(client: Client) -> None:
    text = error_text(await client.call_tool("list_page", {"source": "offset_total", "params": {"x": 1}}))
    assert "offset_total" in text and "'x'" in text


@pytest.mark.anyio
async def test_invalid_arguments_are_tool_errors(client: Client) -> None:
    text = error_text(await client.call_tool("list_page", {"source": "offset_total", "page_size": 0}))
    assert "page_size" in text
    spec = {"mode": "cursor", "next": {"body": "a", "header": "b"}}
    text = error_text(await client.call_tool("list_page", {"source": "offset_total", "pagination": spec}))
    assert "exactly one" in text


@pytest.mark.anyio
@pytest.mark.parametrize("name", ["list_page", "fetch_all"])
async def test_an_invalid_ad_hoc_records_path_is_a_tool_error_naming_the_field(
    fresh_api: SampleAPI, name: str
) -> None:
    config = AppConfig.model_validate({"server": {"allowed_hosts": [f"127.0.0.1:{fresh_api.port}"]}})
    async with Client(create_server(config, "memory://", environ={})) as connected:
        request = {"url": fresh_api.url + "/offset", "records": "items[?"}
        text = error_text(await connected.call_tool(name, {"request": request}))
    assert "request.records" in text and "invalid JMESPath expression 'items[?'" in text
    assert fresh_api.stats.requests == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        (
            "fetch_all",
            {"source": "offset_total", "max_record": 5},
            "unknown argument 'max_record'; did you mean 'max_records'?",
        ),
        (
            "list_page",
            {"source": "offset_total", "pagesize": 5, "feilds": ["id"]},
            "unknown arguments 'pagesize' (did you mean 'page_size'?) and 'feilds' (did you mean 'fields'?)",
        ),
        ("list_page", {"next_cursor": "abc"}, "unknown argument 'next_cursor'; did you mean 'cursor'?"),
        ("list_sources", {"verbose": True}, "unknown argument 'verbose'; list_sources takes no arguments"),
    ],
)
async def test_unknown_arguments_are_a_tool_error_suggesting_the_known_name(
    client: Client, name: str, arguments: dict[str, Any], expected: str
) -> None:
    text = error_text(await client.call_tool(name, arguments))
    assert expected in text, text


@pytest.mark.anyio
async def test_an_unknown_argument_without_a_close_name_lists_the_known_ones(client: Client) -> None:
    text = error_text(await client.call_tool("fetch_all", {"source": "offset_total", "limit": 5}))
    assert "unknown argument 'limit'" in text and "did you mean" not in text
    assert "max_records" in text and "page_size" in text and "dedupe_key" in text


@pytest.mark.anyio
async def test_input_schemas_admit_no_other_arguments(client: Client) -> None:
    for listed_tool in (await client.list_tools()).tools:
        assert listed_tool.input_schema["additionalProperties"] is False, listed_tool.name


@pytest.mark.anyio
async def test_upstream_error_carries_status_and_trimmed_message(client: Client) -> None:
    # A pagination_token the sample API did not mint is a 400 with {"error": ...}.
    spec = {
        "mode": "cursor",
        "next": {"body": "meta.next_token"},
        "cursor_param": {"in": "query", "name": "pagination_token"},
        "start_cursor": "forged-token",
    }
    text = error_text(await client.call_tool("list_page", {"source": "body_token", "pagination": spec}))
    assert "400" in text
    assert "pagination_token" in text
    assert len(text) < 1500


@pytest.mark.anyio
async def test_ad_hoc_request_to_an_unlisted_host_is_a_tool_error(client: Client) -> None:
    text = error_text(await client.call_tool("list_page", {"request": {"url": "https://api.example.test/x"}}))
    assert "allowed" in text


@pytest.mark.anyio
async def test_a_cursor_template_over_a_missing_field_is_an_error_naming_it(client: Client) -> None:
    # Issue 14: it rendered empty and paging ended after page 1 with nothing said.
    spec = {"mode": "cursor", "next": {"template": "{{ response.no_such_field }}"}}
    text = error_text(await client.call_tool("list_page", {"source": "body_token", "pagination": spec}))
    assert "no key 'no_such_field'" in text and "response.no_such_field" in text
    optional = {"mode": "cursor", "next": {"template": "{{ response.get('no_such_field') }}"}}
    data = structured(await client.call_tool("list_page", {"source": "body_token", "pagination": optional}))
    assert data["next_cursor"] is None and len(data["records"]) == 10


@pytest.mark.anyio
async def test_a_value_template_that_cannot_render_is_an_actionable_tool_error(client: Client) -> None:
    spec = {"mode": "offset", "offset_param": {"in": "query", "name": "offset", "template": "{{ nope }}"}}
    text = error_text(await client.call_tool("list_page", {"source": "offset_total", "pagination": spec}))
    assert "template" in text and "nope" in text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "spec",
    [
        {"mode": "cursor", "next": {"template": "{{ response.data + 1 }}"}},
        {"mode": "cursor", "next": {"body": "meta.next_token"}, "stop_condition": "{{ response.data + 1 }}"},
        {
            "mode": "offset",
            "offset_param": {"in": "query", "name": "offset", "template": "{{ offset + 'a' }}"},
        },
    ],
)
async def test_a_template_that_raises_is_an_actionable_tool_error(
    client: Client, spec: dict[str, Any]
) -> None:
    text = error_text(await client.call_tool("list_page", {"source": "body_token", "pagination": spec}))
    assert "template" in text or "stop_condition" in text


# --------------------------------------------------------------------------------------------
# The results resource
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_results_resource_reads_whole_and_per_chunk(client: Client) -> None:
    data = structured(await client.call_tool("fetch_all", {"source": "offset_total", "fields": ["id"]}))
    uri = data["results_uri"]
    whole = json.loads(resource_text(await client.read_resource(uri)))
    assert whole["count"] == 237 and whole["complete"] is True
    assert whole["records"] == [{"id": i} for i in ALL_IDS]
    chunk = json.loads(resource_text(await client.read_resource(uri + "/0")))
    assert chunk["chunk"] == 0 and chunk["chunks"] == 6
    assert chunk["records"] == [{"id": i} for i in range(1, 41)]
    last = json.loads(resource_text(await client.read_resource(uri + "/5")))
    assert last["records"][-1] == {"id": 237}


@pytest.mark.anyio
async def test_results_resource_unknown_id_or_chunk_is_an_error(client: Client) -> None:
    with pytest.raises(MCPError, match="fetch_all again"):
        await client.read_resource("mcp-paginate://results/unknown-id")
    data = structured(await client.call_tool("fetch_all", {"source": "pages_total", "max_records": 5}))
    with pytest.raises(MCPError, match="chunks 0..0"):
        await client.read_resource(data["results_uri"] + "/9")


@pytest.mark.anyio
async def test_inline_records_are_bounded_and_the_rest_is_in_the_resource(sample_api: SampleAPI) -> None:
    config = AppConfig.model_validate(
        {
            "server": {"max_inline_chars": 2000},
            "sources": {"items": {"url": sample_api.url + "/offset", "records": "items"}},
        }
    )
    async with Client(create_server(config, "memory://", environ={})) as connected:
        data = structured(await connected.call_tool("fetch_all", {"source": "items", "page_size": 100}))
        assert data["count"] == 237 and 0 < data["returned"] < 237
        assert len(json.dumps(data["records"], separators=(",", ":"))) <= 2000
        stored = json.loads(resource_text(await connected.read_resource(data["results_uri"])))
        assert [r["id"] for r in stored["records"]] == ALL_IDS


@pytest.mark.anyio
async def test_fetch_all_returns_no_record_inline_when_the_first_alone_is_over_the_budget(
    sample_api: SampleAPI,
) -> None:
    # Two records: the whole response (about 9,000 characters, over the 1,000 budget), then a small one.
    source = {
        "url": sample_api.url + "/offset",
        "query": {"limit": "100"},
        "records": "[@, items[0]]",
        "pagination": {"mode": "none"},
    }
    config = AppConfig.model_validate({"server": {"max_inline_chars": 1000}, "sources": {"big": source}})
    async with Client(create_server(config, "memory://", environ={})) as connected:
        result = await connected.call_tool("fetch_all", {"source": "big"})
        data = structured(result)
        assert data["count"] == 2 and data["returned"] == 0 and data["records"] == []
        assert sum(len(block_text(block)) for block in result.content) < 3000  # the text copy is small too
        assert data["results_uri"] in block_text(result.content[0])
        assert any("results_uri" in note and "over the inline budget" in note for note in data["notes"])
        stored = json.loads(resource_text(await connected.read_resource(data["results_uri"])))
        assert stored["records"][0]["total"] == 237 and stored["records"][1]["id"] == 1
        # list_page still shows it: a page's records are nowhere else.
        page = structured(await connected.call_tool("list_page", {"source": "big"}))
        assert page["page"]["size"] == 1 and page["records"][0]["total"] == 237


# --------------------------------------------------------------------------------------------
# Cancellation
# --------------------------------------------------------------------------------------------


def stop_reasons(database: Path) -> list[str | None]:
    """stop_reason of every stored result set (read straight from the server's SQLite file)."""
    if not database.exists():
        return []
    with sqlite3.connect(database, timeout=5) as connection:
        rows = connection.execute("SELECT data FROM results").fetchall()
    return [json.loads(data).get("stop_reason") for (data,) in rows]


SLOW_SOURCES: dict[str, dict[str, Any]] = {
    # An offset API with a total: the engine may keep `concurrency` pages in flight.
    "offset_total": {
        "path": "/offset",
        "records": "items",
        "concurrency": 4,
        "pagination": {"mode": "offset", "total": "total", "page_size": 50},
    },
    # A cursor chain: strictly one request after another.
    "token": {
        "path": "/token",
        "concurrency": 1,
        "pagination": {
            "mode": "cursor",
            "next": {"body": "meta.next_token"},
            "cursor_param": {"in": "query", "name": "pagination_token"},
            "size_param": {"in": "query", "name": "max_results"},
            "page_size": 50,
        },
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize("style", list(SLOW_SOURCES))
async def test_cancelling_fetch_all_stops_upstream_requests_promptly(tmp_path: Path, style: str) -> None:
    database = tmp_path / "store.db"
    table = dict(SLOW_SOURCES[style])
    concurrency = table["concurrency"]
    with SampleAPI(records=2000, latency=0.05) as api:
        table["url"] = api.url + table.pop("path")
        config = AppConfig.model_validate({"sources": {"slow": table}})
        server = create_server(config, f"sqlite:///{database}", environ={})
        async with Client(server) as connected:
            first_progress = anyio.Event()
            seen: list[float] = []

            async def on_progress(progress: float, total: float | None, message: str | None) -> None:
                seen.append(progress)
                first_progress.set()

            with anyio.fail_after(20):
                async with anyio.create_task_group() as group:

                    async def call() -> None:
                        await connected.call_tool(
                            "fetch_all", {"source": "slow"}, progress_callback=on_progress
                        )

                    group.start_soon(call)
                    await first_progress.wait()
                    group.cancel_scope.cancel()
                at_cancel = api.stats.requests

                # The server marks the stored result 'cancelled' once its fetch_all has stopped.
                while "cancelled" not in stop_reasons(database):
                    await anyio.sleep(0.01)
                # A request written to the socket just before the cancel may reach the sample API
                # (a thread of this process) a moment later: let those land before counting.
                await anyio.sleep(0.2)
                stopped_at = api.stats.requests
                # Another round trip through the same server, then several API latencies: a drain
                # still running would have made more requests by now.
                structured(await connected.call_tool("list_sources", {}))
                await anyio.sleep(0.3)
                assert api.stats.requests == stopped_at
        assert seen and seen[0] == 50
        # 2000 records at 50 per page would be 40 requests. At the first progress notification at most
        # the first page plus the window fetched ahead were asked for; after the cancel, nothing new
        # beyond what was already being scheduled.
        assert at_cancel <= 2 * concurrency + 2
        assert stopped_at <= at_cancel + concurrency + 1
        assert stopped_at < 40 // 3


@pytest.mark.anyio
async def test_a_stop_condition_reads_the_items_field_not_the_dict_method(client: Client) -> None:
    # The sample API's /offset answers {"items": [...], "total": 237}; without the total, only the
    # stop condition on response.items ends paging, at the first short page.
    pagination = {"mode": "offset", "page_size": 40, "stop_condition": "{{ response.items | length < 40 }}"}
    drained = structured(
        await client.call_tool("fetch_all", {"source": "offset_total", "pagination": pagination})
    )
    assert [record["id"] for record in drained["records"]] == ALL_IDS
    assert drained["complete"] is True and drained["pages"] == 6


# --------------------------------------------------------------------------------------------
# Prompts
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_prompts_are_listed_with_their_arguments(client: Client) -> None:
    listed = {prompt.name: prompt for prompt in (await client.list_prompts()).prompts}
    assert set(listed) == {"browse_source", "export_source", "answer_from_results"}
    for prompt in listed.values():
        assert prompt.description and "\n    " not in prompt.description
        for argument in prompt.arguments or []:
            assert argument.description, f"{prompt.name}.{argument.name}"
    required = {argument.name for argument in listed["browse_source"].arguments or [] if argument.required}
    assert required == {"source"}


@pytest.mark.anyio
async def test_a_prompt_tells_the_assistant_which_tools_to_call_with_what(client: Client) -> None:
    browse = await client.get_prompt(
        "browse_source", {"source": "offset_total", "params": '{"owner": "me"}', "fields": "id, name"}
    )
    text = block_text(browse.messages[0].content)
    assert browse.messages[0].role == "user"
    assert "list_page with source='offset_total', params={\"owner\": \"me\"}, fields=['id', 'name']" in text
    assert "cursor=<next_cursor>" in text
    export = block_text(
        (await client.get_prompt("export_source", {"source": "pages_total"})).messages[0].content
    )
    assert "fetch_all with source='pages_total'." in export and "results_uri" in export
    answer = await client.get_prompt(
        "answer_from_results", {"results_uri": "mcp-paginate://results/abc", "question": "How many are open?"}
    )
    text = block_text(answer.messages[0].content)
    assert "How many are open?" in text and "read_results" in text and "mcp-paginate://results/abc/0" in text


@pytest.mark.anyio
async def test_the_source_argument_of_a_prompt_completes_with_configured_names(client: Client) -> None:
    for prompt in ("browse_source", "export_source"):
        reference = PromptReference(type="ref/prompt", name=prompt)
        found = await client.complete(reference, {"name": "source", "value": "pages"})
        assert found.completion.values == ["pages_capped", "pages_total"]
        everything = await client.complete(reference, {"name": "source", "value": ""})
        assert everything.completion.values == sorted(sample_sources("x"))  # what list_sources lists
    other = await client.complete(
        PromptReference(type="ref/prompt", name="answer_from_results"), {"name": "question", "value": "x"}
    )
    assert other.completion.values == []
