"""Issue 14, items 1, 2 and 6, against the sample API on loopback, through the MCP client.

Auto mode never calls partial data complete: the total an API reports is kept, a later total
that contradicts it stops paging with an error, and when the first page does not show how to
page, the second page probes and adopts only a scheme whose records continue the first page.
The same cursor always sends the same request. And hints: a repeated last page past a short
one ends the data, a bare first list of a cursor source suggests ``start_cursor``, ``fields``
that match nothing say so.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured

pytestmark = pytest.mark.anyio

TOTAL = 237
EVERY_ID = list(range(1, TOTAL + 1))
TIMEOUT = 30


def _config(api: SampleAPI) -> AppConfig:
    base = api.url
    return AppConfig.model_validate(
        {
            "server": {"allowed_hosts": [base.removeprefix("http://")]},
            "sources": {
                "wrong_offset_name": {  # the mistake, pinned: ?skip= where the API takes $skip
                    "url": base + "/skip-echo",
                    "records": "data",
                    "pagination": {
                        "mode": "offset",
                        # page 1 sends ?skip= (empty: no filter), page 2 ?skip=10 (a filter: total 0)
                        "offset_param": {"in": "query", "name": "skip", "template": "{{ offset or '' }}"},
                        "limit_param": None,
                        "total": "total",
                    },
                },
                "repeat_last": {
                    "url": base + "/repeat-last",
                    "records": "items",
                    "pagination": {
                        "mode": "page",
                        "page_size": 79,  # 237 = 3 full pages: page 4 answers page 3 again
                        "size_param": {"in": "query", "name": "per_page"},
                    },
                },
                "bare_first": {
                    "url": base + "/bare-first",
                    "pagination": {"mode": "cursor", "next": {"body": "next_cursor"}},
                },
                "bare_first_started": {
                    "url": base + "/bare-first",
                    "pagination": {"mode": "cursor", "next": {"body": "next_cursor"}, "start_cursor": "0"},
                },
            },
        }
    )


@pytest.fixture
async def client(sample_api: SampleAPI) -> AsyncIterator[Client]:
    async with Client(create_server(_config(sample_api), "memory://", environ={})) as connected:
        yield connected


async def _call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    with anyio.fail_after(TIMEOUT):
        return structured(await client.call_tool(tool, arguments))


async def _ids(client: Client, data: dict[str, Any]) -> list[int]:
    ids = [record["id"] for record in data["records"]]
    while len(ids) < data["count"]:
        chunk = await _call(
            client, "read_results", {"results_uri": data["results_uri"], "offset": len(ids), "limit": 500}
        )
        ids += [record["id"] for record in chunk["records"]]
    return ids


def _ids_of(page: dict[str, Any]) -> list[int]:
    return [record["id"] for record in page["records"]]


# -- item 2: probe and verify ----------------------------------------------------------------


async def test_an_echoed_skip_that_is_really_dollar_skip_is_verified_not_called_complete(
    client: Client, sample_api: SampleAPI
) -> None:
    """The body echoes ``skip``, the parameter is ``$skip``: ``?skip=10`` is a filter (total 0)."""
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + "/skip-echo"}})
    requests = sample_api.stats.requests - before
    assert await _ids(client, data) == EVERY_ID
    assert data["complete"] is True and data["stop_reason"] == "exhausted"
    assert data["total"] == TOTAL
    assert data["detected"]["offset_param"] == {"in": "query", "name": "$skip"}
    assert requests == 24 + 1  # 24 pages of 10, and the one probe of ?skip= that did not verify
    assert any("answered no records" in note or "contradicting" in note for note in data["notes"])


async def test_stepwise_probe_keeps_every_cursor_repeatable(client: Client, sample_api: SampleAPI) -> None:
    url = sample_api.url + "/skip-echo"
    first = await _call(client, "list_page", {"request": {"url": url}})
    assert _ids_of(first) == list(range(1, 11)) and first["total"] == TOTAL and first["has_more"] is True
    second = await _call(client, "list_page", {"cursor": first["next_cursor"]})
    assert _ids_of(second) == list(range(11, 21))
    assert second["detected"]["offset_param"]["name"] == "$skip"
    # The same cursor, the same request: page 1 is the bare URL again (not ?skip=0, a filter).
    before = sample_api.stats.requests
    again_first = await _call(client, "list_page", {"cursor": first["cursor"]})
    again_second = await _call(client, "list_page", {"cursor": second["cursor"]})
    assert sample_api.stats.requests - before == 2  # one request each: nothing probed again
    assert again_first["records"] == first["records"] and again_second["records"] == second["records"]
    third = await _call(client, "list_page", {"cursor": second["next_cursor"]})
    assert _ids_of(third) == list(range(21, 31))


async def test_a_reported_total_is_kept_and_page_numbers_are_probed(
    client: Client, sample_api: SampleAPI
) -> None:
    """``{"data": [25 records], "total": 237}``, paged by ``?page=``, which nothing shows."""
    url = sample_api.url + "/counted"
    first = await _call(client, "list_page", {"request": {"url": url}})
    assert first["total"] == TOTAL  # the API's total, not the 25 received
    assert first["has_more"] is True and first["detected"] is None
    assert any("tries, in order" in note and "237" in note for note in first["notes"])
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": url}})
    assert await _ids(client, data) == EVERY_ID
    assert data["complete"] is True and data["total"] == TOTAL
    assert data["detected"] == {"mode": "page", "size_param": None, "total": "total"}  # ?page=, from 1
    # 10 pages, and two that answer page 1 again: ?offset=25, which the API ignores, and ?page=1
    # (sent first in case pages count from 0; this API counts from 1): at most two extra.
    assert sample_api.stats.requests - before == 10 + 2


async def test_nothing_verifies_so_the_result_is_incomplete_and_says_why(
    client: Client, sample_api: SampleAPI
) -> None:
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + "/filtering"}})
    assert data["complete"] is False and data["stop_reason"] == "error"
    assert await _ids(client, data) == list(range(1, 101))  # the records read are kept
    assert data["total"] == TOTAL
    assert "'total' says 237, received 100" in data["error"]
    assert "offset in query 'offset'" in data["error"] and "page numbers" in data["error"]
    assert "Pin the pagination" in data["error"]


# -- item 1: complete only on an end signal ----------------------------------------------------


async def test_a_total_that_contradicts_the_first_stops_with_an_error(client: Client) -> None:
    data = await _call(client, "fetch_all", {"source": "wrong_offset_name"})
    assert data["complete"] is False and data["stop_reason"] == "error"
    assert await _ids(client, data) == list(range(1, 11))
    assert "total of 0" in data["error"] and "contradicts" in data["error"]


async def test_a_total_reached_on_the_first_page_is_complete(client: Client, sample_api: SampleAPI) -> None:
    url = sample_api.url + "/counted?page=1"  # a page param in the URL: page mode, total 237
    data = await _call(client, "fetch_all", {"request": {"url": url}})
    assert await _ids(client, data) == EVERY_ID and data["complete"] is True


# -- item 6: hints -----------------------------------------------------------------------------


async def test_a_last_page_repeated_past_the_end_is_the_end(client: Client, sample_api: SampleAPI) -> None:
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"source": "repeat_last"})
    assert await _ids(client, data) == EVERY_ID
    assert data["complete"] is True and data["stop_reason"] == "exhausted"
    assert sample_api.stats.requests - before == 4  # 3 pages, then page 4 repeats page 3
    assert any("taken as the end of the data" in note for note in data["notes"])


async def test_a_cursor_source_whose_first_answer_is_a_bare_list_suggests_start_cursor(
    client: Client,
) -> None:
    first = await _call(client, "list_page", {"source": "bare_first"})
    assert _ids_of(first) == list(range(1, 11)) and first["has_more"] is False
    assert any("start_cursor" in note for note in first["notes"])
    data = await _call(client, "fetch_all", {"source": "bare_first_started"})
    assert await _ids(client, data) == EVERY_ID and data["complete"] is True


async def test_fields_that_match_nothing_say_so(client: Client, sample_api: SampleAPI) -> None:
    url = sample_api.url + "/counted?page=1"
    page = await _call(client, "list_page", {"request": {"url": url}, "fields": ["nmae"]})
    assert page["records"] == [{}] * 25
    assert any("match nothing" in note and "name" in note for note in page["notes"])
    good = await _call(client, "list_page", {"request": {"url": url}, "fields": ["name"]})
    assert not any("match nothing" in note for note in good["notes"])


async def test_an_api_that_ignores_every_probe_has_one_page(client: Client, sample_api: SampleAPI) -> None:
    """A bare list of 10 (a round count, so maybe a page) from an API that ignores ?offset= and
    ?page=: every probe (?offset=10, ?page=1, ?page=2) answers page 1 again, and with no total
    reported that is all there is."""
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + "/bare-first"}})
    assert await _ids(client, data) == list(range(1, 11))
    assert data["complete"] is True and data["stop_reason"] == "exhausted"
    assert sample_api.stats.requests - before == 4  # the page, and three probes (MAX_PROBES)
    assert any("page 1 is all there is" in note for note in data["notes"])


# -- the field: envelopes of widely deployed APIs whose paging a bare URL does not show ------------

FIELD_SHAPES = [
    # path, what auto must pin, requests for 237 records (pages + probes that did not verify)
    pytest.param(
        "/spring", {"mode": "page", "start_page": 0, "has_more": "!last"}, 12, id="spring-page-0-based"
    ),
    pytest.param("/strapi", {"page_param": {"in": "query", "name": "pagination[page]"}}, 10 + 1, id="strapi"),
    pytest.param("/search-hits", {"offset_param": {"in": "query", "name": "from"}}, 24, id="elasticsearch"),
    pytest.param("/odata-count", {"offset_param": {"in": "query", "name": "$skip"}}, 12, id="odata-count"),
    pytest.param(
        "/classic-pages",
        {"page_param": {"in": "query", "name": "current_page"}},
        34 + 1,
        id="litestar-classic",
    ),
    pytest.param("/solr", {"offset_param": {"in": "query", "name": "start"}}, 24, id="solr"),
    pytest.param("/wp", {"mode": "page", "total": {"header": "X-WP-Total"}}, 24 + 2, id="wordpress"),
]


def _record_id(record: dict[str, Any]) -> int:
    return int(record["_id"]) if "_source" in record else int(record["id"])


@pytest.mark.parametrize(("path", "pinned", "requests"), FIELD_SHAPES)
async def test_field_shapes_drain_exactly_from_a_bare_url(
    client: Client, sample_api: SampleAPI, path: str, pinned: dict[str, Any], requests: int
) -> None:
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + path}})
    assert data["complete"] is True and data["stop_reason"] == "exhausted", data.get("error")
    ids = [_record_id(record) for record in data["records"]]
    while len(ids) < data["count"]:
        chunk = await _call(client, "read_results", {"results_uri": data["results_uri"], "offset": len(ids)})
        ids += [_record_id(record) for record in chunk["records"]]
    assert ids == EVERY_ID
    assert pinned.items() <= data["detected"].items()
    assert sample_api.stats.requests - before == requests


async def test_a_page_count_is_not_one_page_when_every_probe_is_ignored(
    client: Client, sample_api: SampleAPI
) -> None:
    """``page_count: 34`` and no record total, paged by ``?p=``: probes that all answer page 1
    again do not make page 1 all there is (that was a complete result of 7 records of 237)."""
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + "/p-paged"}})
    assert data["complete"] is False and data["stop_reason"] == "error"
    assert [record["id"] for record in data["records"]] == list(range(1, 8))  # kept
    assert "'page_count' says 34 pages, received 7 records" in data["error"]
    assert "Pin the pagination" in data["error"]
    assert sample_api.stats.requests - before == 4  # the page and three probes
    pinned = {"mode": "page", "page_param": {"in": "query", "name": "p"}, "total_pages": "page_count"}
    data = await _call(
        client, "fetch_all", {"request": {"url": sample_api.url + "/p-paged"}, "pagination": pinned}
    )
    assert await _ids(client, data) == EVERY_ID and data["complete"] is True


async def test_page_numbers_nothing_echoes_that_count_from_zero_lose_no_page(
    client: Client, sample_api: SampleAPI
) -> None:
    """``{"data": [25], "total": 237}`` paged by ``?page=`` from 0: sending ``?page=2`` as the
    second page read the third and skipped 25 records (complete at 212 of 237)."""
    before = sample_api.stats.requests
    data = await _call(client, "fetch_all", {"request": {"url": sample_api.url + "/zero-pages"}})
    assert await _ids(client, data) == EVERY_ID
    assert data["complete"] is True and data["detected"]["start_page"] == 0
    assert sample_api.stats.requests - before == 10 + 1  # ?offset=25 ignored, then ?page=1 verified
    first = await _call(client, "list_page", {"request": {"url": sample_api.url + "/zero-pages"}})
    second = await _call(client, "list_page", {"cursor": first["next_cursor"]})
    third = await _call(client, "list_page", {"cursor": second["next_cursor"]})
    again = await _call(client, "list_page", {"cursor": second["cursor"]})  # the same request again
    assert [_ids_of(page) for page in (first, second, third)] == [
        list(range(1, 26)),
        list(range(26, 51)),
        list(range(51, 76)),
    ]
    assert again["records"] == second["records"]
