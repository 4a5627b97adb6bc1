"""The built-in ``alloy`` source in both of Alloy's documented forms, through the MCP client.

The sample API serves the Pagination guide's form at its root and the API reference's form under
``/reference`` (five connectors, each paging its own way), strictly: a body of the wrong form, a
parameter in the wrong section or a page size above 50 is a 400 in Alloy's error shape. Every test
gives only what a user gives (key, user id and credential id in the environment; connector and
action as params) and compares ids exactly; ``/_alloy`` reports the largest page size asked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client

from mcp_paginate.alloy import MetadataCache, parse_parameters, prepare_pagination
from mcp_paginate.app import open_app
from mcp_paginate.config import AppConfig, load_config
from mcp_paginate.paginators import AlloyPagination, PageView, State
from mcp_paginate.paginators.alloy import answer_form
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import ALLOY_ENV, block_text

pytestmark = pytest.mark.anyio

RECORDS = 120
IDS = list(range(1, RECORDS + 1))

REFERENCE_ACTIONS = [
    ("hubspot", "listContacts", {}),  # after-token: paging.next.after, sent as queryParameters.after
    ("notion", "queryDatabase", {"input": {"database_id": "db-1"}}),  # start_cursor in the body
    ("shopify", "listCustomers", {}),  # GraphQL connection: edges[].node, pageInfo, after
    ("zendesk", "listTickets", {}),  # next URL: its query becomes queryParameters
    ("mailchimp", "listMembers", {}),  # offset + total_items
]


@pytest.fixture(scope="module")
def api() -> Iterator[SampleAPI]:
    with SampleAPI(records=RECORDS, api_key=ALLOY_ENV["ALLOY_API_KEY"]) as served:
        yield served


def ledger(api: SampleAPI) -> dict[str, Any]:
    answer = httpx2.get(api.url + "/_alloy", timeout=5)
    data = answer.json()
    assert isinstance(data, dict)
    return data


@asynccontextmanager
async def connected(base_url: str, **extra: Any) -> AsyncIterator[Client]:
    environ = {**ALLOY_ENV, "ALLOY_BASE_URL": base_url}
    config = load_config(None, environ=environ)
    if extra:
        config = AppConfig.model_validate(
            {"sources": {"crm": {"preset": "alloy", "base_url": base_url, **extra}}},
            context={"environ": environ},
        )
    async with Client(create_server(config, "memory://", environ=environ)) as client:
        yield client


def ids(records: list[dict[str, Any]]) -> list[int]:
    return [record["id"] for record in records]


async def stepwise(
    client: Client, params: dict[str, Any], source: str = "alloy"
) -> tuple[list[int], list[str]]:
    """Every page through list_page, cursor after cursor: the ids and the first page's notes."""
    page = structured(
        await client.call_tool("list_page", {"source": source, "params": params, "page_size": 30})
    )
    seen, notes = ids(page["records"]), page["notes"]
    for _ in range(20):
        if page["next_cursor"] is None:
            return seen, notes
        page = structured(await client.call_tool("list_page", {"cursor": page["next_cursor"]}))
        seen += ids(page["records"])
    raise AssertionError("list_page did not reach the end in 20 pages")


async def test_guide_form_with_only_connector_and_action(api: SampleAPI) -> None:
    params = {"connector": "hubspot", "action": "listContacts"}
    with anyio.fail_after(30):
        async with connected(api.url) as client:
            drained = structured(await client.call_tool("fetch_all", {"source": "alloy", "params": params}))
            seen, notes = await stepwise(client, params)
    assert ids(drained["records"]) == IDS and drained["complete"]
    assert drained["detected"] == {"mode": "alloy", "form": "guide"}
    assert seen == IDS
    assert any("Pagination guide form" in note for note in notes)
    assert 0 < ledger(api)["largest_page_size"] <= 50


STRICT = [
    pytest.param("/strict/reference", connector, action, extra, "reference", id=f"reference-{connector}")
    for connector, action, extra in REFERENCE_ACTIONS
] + [pytest.param("/strict", "hubspot", "listContacts", {}, "guide", id="guide")]


@pytest.mark.parametrize(("prefix", "connector", "action", "extra", "form"), STRICT)
async def test_an_alloy_that_refuses_the_other_forms_fields_is_asked_in_one_form(
    api: SampleAPI, prefix: str, connector: str, action: str, extra: dict[str, Any], form: str
) -> None:
    """Under ``/strict`` a body carrying both forms' fields is a 400 (unknown fields): the first
    request is sent again in each form alone, and the session keeps to the form answered."""
    params = {"connector": connector, "action": action, **extra}
    with anyio.fail_after(30):
        async with connected(api.url + prefix) as client:
            drained = structured(await client.call_tool("fetch_all", {"source": "alloy", "params": params}))
            first = structured(await client.call_tool("list_page", {"source": "alloy", "params": params}))
            again = structured(await client.call_tool("list_page", {"cursor": first["cursor"]}))
            seen, _ = await stepwise(client, params)
    assert ids(drained["records"]) == IDS and drained["complete"], drained.get("error")
    assert drained["detected"]["form"] == form  # fetch_all reports what to pin, as list_page does
    assert seen == IDS
    assert any(
        "was refused (HTTP 400)" in note and f"the {form} form alone" in note for note in first["notes"]
    )
    assert first["detected"]["mode"] == "alloy" and first["detected"]["form"] == form
    assert again["records"] == first["records"]  # the same cursor, the same (single-form) request
    assert not any("was refused" in note for note in again["notes"])  # and no refusal this time
    assert 0 < ledger(api)["largest_page_size"] <= 50


async def test_a_refusal_that_is_not_about_the_form_stays_the_error(api: SampleAPI) -> None:
    params = {"connector": "hubspot", "action": "listContacts", "input": {"no_such_param": 1}}
    async with connected(api.url + "/strict/reference") as client:
        result = await client.call_tool("list_page", {"source": "alloy", "params": params})
    assert result.is_error
    text = block_text(result.content[0])
    assert "unknown field(s) in the request body: actionId, input" in text  # both forms' fields
    assert "the reference form alone" in text and "has no parameter 'no_such_param'" in text  # the cause
    assert "the guide form alone" in text


async def test_list_page_reports_the_form_it_met_in_detected(api: SampleAPI) -> None:
    params = {"connector": "hubspot", "action": "listContacts"}
    async with connected(api.url) as client:
        guide = structured(await client.call_tool("list_page", {"source": "alloy", "params": params}))
        pinned_guide = await client.call_tool(
            "list_page", {"cursor": guide["next_cursor"]}
        )  # a later page reports it too
    assert guide["detected"] == {"mode": "alloy", "form": "guide"}
    assert structured(pinned_guide)["detected"] == {"mode": "alloy", "form": "guide"}
    async with connected(api.url, connector="hubspot", action="listContacts", form="guide") as client:
        pinned = structured(await client.call_tool("list_page", {"source": "crm"}))
    assert pinned["detected"] is None  # nothing left to pin


@pytest.mark.parametrize(("connector", "action", "extra"), REFERENCE_ACTIONS)
async def test_reference_form_with_only_connector_and_action(
    api: SampleAPI, connector: str, action: str, extra: dict[str, Any]
) -> None:
    params = {"connector": connector, "action": action, **extra}
    before = ledger(api)["executions"]["reference"]
    with anyio.fail_after(30):
        async with connected(api.url + "/reference") as client:
            drained = structured(
                await client.call_tool("fetch_all", {"source": "alloy", "params": params, "page_size": 100})
            )
            seen, notes = await stepwise(client, params)
    assert ids(drained["records"]) == IDS and drained["complete"], drained["notes"]
    assert drained["detected"]["form"] == "reference" and "scheme" in drained["detected"]
    assert any("above this source's cap of 50" in note for note in drained["notes"])
    assert seen == IDS
    assert any("API reference form (responseData)" in note for note in notes), notes
    after = ledger(api)
    assert after["executions"]["reference"] - before == 3 + 4  # 50+50+20, then 30 a page
    assert after["largest_page_size"] <= 50


async def test_the_found_scheme_can_be_pinned(api: SampleAPI) -> None:
    async with connected(api.url + "/reference") as client:
        first = structured(
            await client.call_tool(
                "list_page", {"source": "alloy", "params": {"connector": "hubspot", "action": "listContacts"}}
            )
        )
    note = next(note for note in first["notes"] if note.startswith("alloy: API reference form"))
    scheme = json.loads(note.split("there: ", 1)[1].split("; page size", 1)[0])
    # list_page's detected carries the same form and scheme, ready to pin
    assert first["detected"] == {"mode": "alloy", "form": "reference", "scheme": scheme}
    assert scheme["mode"] == "cursor" and scheme["next"] == {"body": "paging.next.after"}
    pinned = {**first["detected"], "parameters": {"limit": "query", "after": "query"}}
    async with connected(
        api.url + "/reference", connector="hubspot", action="listContacts", pagination=pinned
    ) as client:
        seen, notes = await stepwise(client, {}, source="crm")
    assert seen == IDS


async def test_a_pinned_form_that_the_answer_contradicts_says_which_to_set(api: SampleAPI) -> None:
    async with connected(
        api.url + "/reference", connector="hubspot", action="listContacts", form="guide"
    ) as client:
        result = await client.call_tool("list_page", {"source": "crm"})
    assert result.is_error
    text = block_text(result.content[0])
    # the strict reference API refuses a guide-only body, in Alloy's error shape
    assert "400" in text and "not in input" in text


async def test_guide_pinned_sends_exactly_the_guide_body(api: SampleAPI) -> None:
    async with connected(api.url, connector="hubspot", action="listContacts", form="guide") as client:
        seen, notes = await stepwise(client, {}, source="crm")
    assert seen == IDS
    assert not any(note.startswith("alloy:") for note in notes)  # pinned: nothing to report


async def test_discovery_sources_list_connectors_actions_and_parameters(api: SampleAPI) -> None:
    async with connected(api.url + "/reference") as client:
        listed = structured(await client.call_tool("list_sources", {}))
        names = {source["name"] for source in listed["sources"]}
        connectors = structured(await client.call_tool("list_page", {"source": "alloy_connectors"}))
        actions = structured(
            await client.call_tool(
                "list_page", {"source": "alloy_actions", "params": {"connector": "notion"}}
            )
        )
        parameters = structured(
            await client.call_tool(
                "list_page",
                {"source": "alloy_action", "params": {"connector": "notion", "action": "queryDatabase"}},
            )
        )
    assert {"alloy", "alloy_connectors", "alloy_actions", "alloy_action"} <= names
    assert {c["id"] for c in connectors["records"]} == {
        "hubspot",
        "notion",
        "shopify",
        "zendesk",
        "mailchimp",
    }
    assert [a["id"] for a in actions["records"]] == ["queryDatabase"]
    assert {(p["name"], p["in"]) for p in parameters["records"]} == {
        ("database_id", "path"),
        ("page_size", "body"),
        ("start_cursor", "body"),
        ("filter", "body"),
    }


async def test_an_unknown_action_says_how_to_list_the_actions(api: SampleAPI) -> None:
    async with connected(api.url + "/reference") as client:
        result = await client.call_tool(
            "list_page", {"source": "alloy", "params": {"connector": "hubspot", "action": "listContact"}}
        )
    assert result.is_error
    text = block_text(result.content[0])
    assert "no action 'listContact'" in text and "listContacts" in text
    assert "alloy_actions" in text


async def test_a_refused_key_is_reported_by_the_execution_in_alloys_words() -> None:
    with SampleAPI(records=5, api_key="another-key") as other:
        async with connected(other.url + "/reference") as client:
            result = await client.call_tool(
                "list_page", {"source": "alloy", "params": {"connector": "hubspot", "action": "listContacts"}}
            )
    assert result.is_error
    text = block_text(result.content[0])
    assert "401" in text and "invalid api key" in text
    assert "check ALLOY_API_KEY" in text  # the next step, by the variable's name
    assert ALLOY_ENV["ALLOY_API_KEY"] not in text


async def test_metadata_is_fetched_once_per_action_and_cached(api: SampleAPI) -> None:
    environ = {**ALLOY_ENV, "ALLOY_BASE_URL": api.url + "/reference"}
    config = load_config(None, environ=environ)
    cache = MetadataCache()
    params = {"connector": "notion", "action": "queryDatabase"}
    async with open_app(config, "memory://", environ=environ) as app:
        source = config.sources["alloy"]
        specs = [
            await prepare_pagination(
                app, source, {**params, **dict(source.check_params(params))}, source.pagination, cache
            )
            for _ in range(3)
        ]
    assert cache.fetches == 1
    assert all(isinstance(spec, AlloyPagination) for spec in specs)
    first = specs[0]
    assert isinstance(first, AlloyPagination)  # for mypy: the line above does not narrow
    assert first.parameters == {
        "database_id": "path",
        "page_size": "body",
        "start_cursor": "body",
        "filter": "body",
    }


def test_metadata_parsing_is_bounded_and_skips_what_is_not_a_parameter() -> None:
    body = {
        "action": {
            "parameters": [
                {"name": "limit", "in": "query"},
                {"name": "x" * 500, "in": "query"},
                {"name": "odd", "in": "cookie"},
                "not an object",
                *({"name": f"p{i}", "in": "body"} for i in range(1000)),
            ]
        }
    }
    parsed = parse_parameters(body)
    assert parsed["limit"] == "query" and "odd" not in parsed
    assert len(parsed) <= 500
    assert parse_parameters({"unexpected": True}) == {} and parse_parameters([1]) == {}


def test_the_first_answer_decides_the_form() -> None:
    assert answer_form({"data": [], "pagination": {"hasMore": False}}) == "guide"
    assert (
        answer_form({"responseData": {"results": []}, "executionId": "e", "status": "success"}) == "reference"
    )
    assert answer_form({"other": 1}) is None


def test_an_answer_in_neither_form_is_a_clear_error() -> None:
    from mcp_paginate.errors import ResponseShapeError

    view = PageView(
        body={"other": 1}, headers={}, records=[], url="https://x.test/", page_number=0, records_so_far=0
    )
    with pytest.raises(ResponseShapeError, match="neither responseData"):
        AlloyPagination().next_state(view, State(offset=0, page_size=50))


def test_a_pinned_form_the_answer_contradicts_names_the_form_to_set() -> None:
    from mcp_paginate.errors import ResponseShapeError

    guide_answer = {"data": [{"id": 1}], "pagination": {"hasMore": False, "nextOffset": 1}}
    view = PageView(
        body=guide_answer,
        headers={},
        records=[{"id": 1}],
        url="https://x.test/",
        page_number=0,
        records_so_far=0,
    )
    with pytest.raises(ResponseShapeError, match="set form = 'guide' or 'auto'"):
        AlloyPagination(form="reference").next_state(view, State(offset=0, page_size=50))
