"""The engine through the core tool functions (no MCP), against the sample API over loopback HTTP.

Every style pages stepwise with exactly the right records; cursors re-read and resume; page sizes
are clamped; the inline budget and max_records cut inside a page without losing a record; loops end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx2
import pytest
from pydantic import ValidationError

from mcp_paginate import tools
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.errors import CursorError, InputError
from mcp_paginate.http import build_request as _build_request
from mcp_paginate.http import parse_links as _links
from mcp_paginate.records import project
from mcp_paginate.sample import FaultPlan, SampleAPI
from tests.support import ALL_IDS, ALLOY_ENV, sample_config

STYLES = [
    "alloy_style",
    "offset_total",
    "pages_capped",
    "pages_total",
    "body_token",
    "header_cursor",
    "link_header",
    "link_relative",
    "starting_after",
    "next_url",
    "auto_next_url",
    "auto_link",
]

SIZED_STYLES = [
    "alloy_style",
    "offset_total",
    "pages_capped",
    "pages_total",
    "body_token",
    "header_cursor",
    "link_header",
    "starting_after",
]
"""Styles whose pagination sends a page size, so page_size changes the requests."""

ALLOY_PARAMS: dict[str, Any] = {}  # the alloy_style source fixes connector/action; env gives the rest


def ids(records: list[Any]) -> list[int]:
    return [record["id"] for record in records]


async def page_through(
    app: AppContext, first: tools.ListPageResult, limit: int = 200
) -> tuple[list[Any], list[tools.ListPageResult]]:
    """Follow next_cursor from a first result to the end; all records and every result."""
    results = [first]
    records = list(first.records)
    with anyio.fail_after(30):
        while results[-1].next_cursor is not None:
            assert len(results) < limit, "paging did not end"
            results.append(await tools.list_page(app, PagingArguments(cursor=results[-1].next_cursor)))
            records.extend(results[-1].records)
    return records, results


@pytest.fixture
async def small_budget_app(sample_api: SampleAPI) -> AsyncIterator[AppContext]:
    config = sample_config(sample_api.url, max_inline_chars=1000)
    async with open_app(config, "memory://", environ=ALLOY_ENV) as context:
        yield context


@pytest.fixture
async def loop_app(fresh_api: SampleAPI) -> AsyncIterator[AppContext]:
    fresh_api.faults = FaultPlan(loop=True)
    async with open_app(sample_config(fresh_api.url), "memory://", environ=ALLOY_ENV) as context:
        yield context


# --------------------------------------------------------------------------------------------
# Every style, stepwise
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("source", STYLES)
async def test_list_page_stepwise_collects_every_record_exactly_once(app: AppContext, source: str) -> None:
    first = await tools.list_page(app, PagingArguments(source=source))
    records, results = await page_through(app, first)
    assert ids(records) == ALL_IDS
    # seen counts pages and records up to the end of each page.
    running = 0
    for number, result in enumerate(results, start=1):
        running += len(result.records)
        assert result.page.number == number
        assert result.seen.pages == number
        assert result.seen.records == running
        assert result.page.size == len(result.records)
        assert result.has_more is (result.next_cursor is not None)
    assert results[-1].has_more is False
    assert len({result.cursor for result in results}) == len(results)


@pytest.mark.anyio
@pytest.mark.parametrize("source", SIZED_STYLES)
async def test_fetch_all_with_an_odd_page_size_drains_exactly(app: AppContext, source: str) -> None:
    with anyio.fail_after(30):
        result = await tools.fetch_all(app, FetchAllArguments(source=source, page_size=7))
    assert ids(result.records) == ALL_IDS
    assert result.complete is True and result.stop_reason == "exhausted"
    assert result.pages == 34  # ceil(237 / 7): no page skipped, none read twice


@pytest.mark.anyio
async def test_silent_cap_over_http_is_learned_and_drains_exactly(app: AppContext) -> None:
    # /pages silently caps at 25 and gives no end signal; asked 50.
    first = await tools.list_page(app, PagingArguments(source="pages_capped"))
    assert len(first.records) == 25
    assert first.next_cursor is not None
    assert any("asked for 50" in note for note in first.notes)
    records, results = await page_through(app, first)
    assert ids(records) == ALL_IDS
    assert len(results) == 10  # 9 pages of 25, the 10th has 12: a real short page ends


@pytest.mark.anyio
async def test_auto_mode_reports_what_it_detected(app: AppContext) -> None:
    first = await tools.list_page(app, PagingArguments(source="auto_link"))
    assert first.detected is not None
    assert first.detected["mode"] == "cursor"
    assert first.detected["next"] == {"link": "next"}
    following = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    assert following.detected == first.detected


# --------------------------------------------------------------------------------------------
# Cursors: re-reading, resuming
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "source", ["alloy_style", "pages_capped", "body_token", "link_header", "starting_after"]
)
async def test_the_same_cursor_twice_returns_the_same_page(app: AppContext, source: str) -> None:
    first = await tools.list_page(app, PagingArguments(source=source))
    assert first.next_cursor is not None
    once = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    twice = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    assert once.records == twice.records
    assert once.next_cursor == twice.next_cursor
    assert once.cursor == twice.cursor == first.next_cursor
    assert once.page == twice.page
    # and the chain still continues exactly from there
    records, _ = await page_through(app, twice)
    assert ids(first.records + records) == ALL_IDS


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["offset_total", "header_cursor", "next_url"])
async def test_an_early_page_can_be_reread_after_later_pages(app: AppContext, source: str) -> None:
    first = await tools.list_page(app, PagingArguments(source=source))
    second = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    third = await tools.list_page(app, PagingArguments(cursor=second.next_cursor))
    fourth = await tools.list_page(app, PagingArguments(cursor=third.next_cursor))
    again_first = await tools.list_page(app, PagingArguments(cursor=first.cursor))
    again_second = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    assert again_first.records == first.records and again_first.next_cursor == first.next_cursor
    assert again_second.records == second.records and again_second.next_cursor == second.next_cursor
    # Continuing from the re-read page leads to the same later pages, not a fork.
    assert (
        await tools.list_page(app, PagingArguments(cursor=again_second.next_cursor))
    ).records == third.records
    assert fourth.page.number == 4


@pytest.mark.anyio
async def test_page_request_shows_the_position_asked_for(app: AppContext) -> None:
    alloy = await tools.list_page(app, PagingArguments(source="alloy_style"))
    assert alloy.page.request == {"offset": 0, "limit": 50}
    alloy2 = await tools.list_page(app, PagingArguments(cursor=alloy.next_cursor))
    assert alloy2.page.request == {"offset": 50, "limit": 50}

    pages = await tools.list_page(app, PagingArguments(source="pages_total"))
    pages2 = await tools.list_page(app, PagingArguments(cursor=pages.next_cursor))
    assert pages.page.request["page"] == 1 and pages2.page.request["page"] == 2
    assert pages2.page.request["limit"] == 30

    token = await tools.list_page(app, PagingArguments(source="body_token"))
    assert "cursor" not in token.page.request
    token2 = await tools.list_page(app, PagingArguments(cursor=token.next_cursor))
    assert isinstance(token2.page.request["cursor"], str) and token2.page.request["cursor"]

    link = await tools.list_page(app, PagingArguments(source="link_header"))
    link2 = await tools.list_page(app, PagingArguments(cursor=link.next_cursor))
    assert link2.page.request["cursor"].startswith(app.config.sources["link_header"].url)
    assert "page=2" in link2.page.request["cursor"]


@pytest.mark.anyio
async def test_fetch_all_resumes_from_a_list_page_next_cursor(app: AppContext) -> None:
    first = await tools.list_page(app, PagingArguments(source="header_cursor"))
    rest = await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
    assert ids(first.records + rest.records) == ALL_IDS
    assert rest.complete is True


@pytest.mark.anyio
async def test_list_page_continues_from_a_fetch_all_next_cursor(app: AppContext) -> None:
    part = await tools.fetch_all(app, FetchAllArguments(source="starting_after", max_pages=2))
    assert part.stop_reason == "max_pages" and part.next_cursor is not None
    following = await tools.list_page(app, PagingArguments(cursor=part.next_cursor))
    records, _ = await page_through(app, following)
    assert ids(part.records + records) == ALL_IDS


# --------------------------------------------------------------------------------------------
# Page size clamping
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_page_size_above_the_alloy_cap_is_clamped_with_a_note(app: AppContext) -> None:
    first = await tools.list_page(app, PagingArguments(source="alloy_style", page_size=100))
    assert ids(first.records) == list(range(1, 51))
    assert first.page.request["limit"] == 50
    assert any("100" in note and "50" in note for note in first.notes)
    drained = await tools.fetch_all(app, FetchAllArguments(source="alloy_style", page_size=100))
    assert ids(drained.records) == ALL_IDS
    assert drained.complete is True and drained.error is None
    assert any("cap of 50" in note for note in drained.notes)


@pytest.mark.anyio
async def test_the_sample_alloy_api_really_rejects_a_limit_above_50(sample_api: SampleAPI) -> None:
    # Proves the clamp matters: without it the upstream answers 400.
    url = f"{sample_api.url}/connectors/hubspot/actions/listContacts/execute"
    headers = {"x-api-version": "2025-09", "x-alloy-userid": "user-1"}
    async with httpx2.AsyncClient() as client:
        for limit, status in ((50, 200), (51, 400)):
            body = {"credentialId": "cred-1", "actionId": "listContacts", "input": {"limit": limit}}
            response = await client.post(url, json=body, headers=headers)
            assert response.status_code == status


@pytest.mark.anyio
async def test_page_size_above_a_sources_cap_is_clamped(app: AppContext) -> None:
    result = await tools.list_page(app, PagingArguments(source="offset_total", page_size=500))
    assert len(result.records) == 100
    assert any("cap of 100" in note for note in result.notes)


@pytest.mark.anyio
async def test_page_size_on_a_source_that_sends_none_says_it_has_no_effect(app: AppContext) -> None:
    result = await tools.list_page(app, PagingArguments(source="link_relative", page_size=10))
    assert len(result.records) == 50
    assert any("no effect" in note for note in result.notes)


# --------------------------------------------------------------------------------------------
# fields, inline budget, max_records, max_pages
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fields_keeps_only_those_fields(app: AppContext) -> None:
    first = await tools.list_page(
        app, PagingArguments(source="offset_total", fields=["id", "email", "no.such.field"])
    )
    assert first.records[0] == {"id": 1, "email": "user1@example.test"}
    # The session remembers its fields.
    second = await tools.list_page(app, PagingArguments(cursor=first.next_cursor))
    assert set(second.records[0]) == {"id", "email"}
    drained = await tools.fetch_all(app, FetchAllArguments(source="pages_total", fields=["id"]))
    assert drained.records == [{"id": i} for i in ALL_IDS]


def test_dotted_fields_keep_nested_values_in_their_shape() -> None:
    record = {"id": 1, "owner": {"email": "o@x.test", "name": "O"}, "tags": ["a"]}
    assert project(record, ["id", "owner.email", "owner.phone", "tags"]) == {
        "id": 1,
        "owner": {"email": "o@x.test"},
        "tags": ["a"],
    }


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["offset_total", "body_token", "link_header"])
async def test_inline_budget_cuts_inside_a_page_and_next_cursor_continues_there(
    small_budget_app: AppContext, source: str
) -> None:
    first = await tools.list_page(small_budget_app, PagingArguments(source=source))
    assert 0 < len(first.records) < 20  # the page holds more than fits in 1000 chars
    assert any("inline budget" in note for note in first.notes)
    assert first.next_cursor is not None
    records, results = await page_through(small_budget_app, first, limit=400)
    assert ids(records) == ALL_IDS
    assert all(len(json.dumps(r.records, separators=(",", ":"))) <= 1000 for r in results)
    assert any("continued inside page" in note for result in results for note in result.notes)


@pytest.mark.anyio
async def test_reread_of_a_cursor_inside_a_page_returns_the_same_records(
    small_budget_app: AppContext,
) -> None:
    first = await tools.list_page(small_budget_app, PagingArguments(source="offset_total"))
    inside = await tools.list_page(small_budget_app, PagingArguments(cursor=first.next_cursor))
    again = await tools.list_page(small_budget_app, PagingArguments(cursor=first.next_cursor))
    assert inside.records == again.records
    assert inside.records[0]["id"] == first.records[-1]["id"] + 1
    assert inside.page.number == first.page.number == 1


@pytest.mark.anyio
async def test_fetch_all_inline_budget_keeps_everything_in_the_store(small_budget_app: AppContext) -> None:
    result = await tools.fetch_all(small_budget_app, FetchAllArguments(source="offset_total"))
    assert result.count == 237 and result.complete is True
    assert 0 < result.returned == len(result.records) < 237
    assert any("results_uri" in note for note in result.notes)
    stored = json.loads(await tools.read_results(small_budget_app, result.results_uri.rsplit("/", 1)[1]))
    assert ids(stored["records"]) == ALL_IDS


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "cut"), [("offset_total", 55), ("body_token", 31), ("alloy_style", 1)])
async def test_fetch_all_max_records_cut_inside_a_page_resumes_exactly(
    app: AppContext, source: str, cut: int
) -> None:
    part = await tools.fetch_all(app, FetchAllArguments(source=source, max_records=cut))
    assert part.count == cut == len(part.records)
    assert part.stop_reason == "max_records" and part.complete is False
    assert part.next_cursor is not None
    rest = await tools.fetch_all(app, FetchAllArguments(cursor=part.next_cursor))
    assert ids(part.records + rest.records) == ALL_IDS
    assert rest.complete is True


@pytest.mark.anyio
async def test_fetch_all_max_records_at_a_page_boundary_resumes_exactly(app: AppContext) -> None:
    part = await tools.fetch_all(app, FetchAllArguments(source="offset_total", max_records=80))
    assert part.count == 80 and part.stop_reason == "max_records"
    rest = await tools.fetch_all(app, FetchAllArguments(cursor=part.next_cursor))
    assert ids(part.records + rest.records) == ALL_IDS


@pytest.mark.anyio
async def test_fetch_all_max_pages_stops_and_resumes(app: AppContext) -> None:
    part = await tools.fetch_all(app, FetchAllArguments(source="offset_total", max_pages=2))
    assert part.pages == 2 and part.count == 80
    assert part.stop_reason == "max_pages" and part.complete is False
    rest = await tools.fetch_all(app, FetchAllArguments(cursor=part.next_cursor, max_pages=100))
    assert ids(part.records + rest.records) == ALL_IDS
    assert rest.pages == 4


@pytest.mark.anyio
async def test_fetch_all_limits_below_one_are_refused_by_the_arguments(app: AppContext) -> None:
    # Validated once, where the arguments become a model (the MCP boundary); nothing is fetched.
    with pytest.raises(ValidationError, match="max_records"):
        await tools.fetch_all(app, FetchAllArguments(source="offset_total", max_records=0))


@pytest.mark.anyio
async def test_fetch_all_dedupe_key_drops_records_seen_before(app: AppContext) -> None:
    first = await tools.list_page(app, PagingArguments(source="offset_total"))
    result = await tools.fetch_all(app, FetchAllArguments(cursor=first.cursor, dedupe_key="id"))
    assert ids(result.records) == ALL_IDS
    assert not any("dropped" in note for note in result.notes)


# --------------------------------------------------------------------------------------------
# Loops end with a clear message
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["body_token", "header_cursor", "link_header", "next_url"])
async def test_a_to_b_to_a_cursor_loop_stops_fetch_all_with_a_loop_message(
    loop_app: AppContext, fresh_api: SampleAPI, source: str
) -> None:
    with anyio.fail_after(20):
        # max_pages is only a backstop: the loop itself must end paging after 3 pages.
        result = await tools.fetch_all(loop_app, FetchAllArguments(source=source, max_pages=12))
    assert result.stop_reason == "error" and result.complete is False
    assert result.error is not None and "already visited" in result.error
    assert result.pages == 3
    assert fresh_api.stats.requests == 3


@pytest.mark.anyio
async def test_a_to_b_to_a_loop_ends_stepwise_paging_with_a_note(
    loop_app: AppContext, fresh_api: SampleAPI
) -> None:
    first = await tools.list_page(loop_app, PagingArguments(source="body_token"))
    records, results = await page_through(loop_app, first, limit=12)
    assert len(results) == 3
    assert results[-1].next_cursor is None
    assert any("already visited" in note for note in results[-1].notes)
    assert ids(records) == list(range(1, 91))
    assert fresh_api.stats.requests == 3


@pytest.mark.anyio
async def test_a_looping_api_is_still_bounded_by_max_pages(
    loop_app: AppContext, fresh_api: SampleAPI
) -> None:
    with anyio.fail_after(20):
        result = await tools.fetch_all(loop_app, FetchAllArguments(source="body_token", max_pages=6))
    assert result.pages <= 6
    assert fresh_api.stats.requests <= 6


@pytest.mark.anyio
@pytest.mark.parametrize(("records", "page_size"), [(237, 79), (12, 50)])
async def test_offset_source_without_end_signal_ends_cleanly_on_an_empty_page(
    records: int, page_size: int
) -> None:
    with SampleAPI(records=records) as api:
        config = AppConfig.model_validate(
            {
                "sources": {
                    "plain_offset": {
                        "url": api.url + "/offset",
                        "records": "items",
                        "pagination": {"mode": "offset", "page_size": page_size},
                    }
                }
            }
        )
        async with open_app(config, "memory://", environ={}) as app:
            result = await tools.fetch_all(app, FetchAllArguments(source="plain_offset", max_pages=10))
    assert ids(result.records) == list(range(1, records + 1))
    assert result.error is None
    assert result.complete is True and result.stop_reason == "exhausted"


# --------------------------------------------------------------------------------------------
# Input errors say what to do
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_unknown_source_lists_the_available_ones(app: AppContext) -> None:
    with pytest.raises(InputError) as caught:
        await tools.list_page(app, PagingArguments(source="nope"))
    message = str(caught.value)
    assert "'nope'" in message and "offset_total" in message and "list_sources" in message


@pytest.mark.anyio
async def test_unknown_param_is_an_input_error_naming_the_source(app: AppContext) -> None:
    with pytest.raises(InputError, match="offset_total") as caught:
        await tools.list_page(app, PagingArguments(source="offset_total", params={"color": "red"}))
    assert "color" in str(caught.value)


@pytest.mark.anyio
async def test_cursor_together_with_source_is_refused(app: AppContext) -> None:
    first = await tools.list_page(app, PagingArguments(source="offset_total"))
    with pytest.raises(InputError, match="not both") as caught:
        await tools.list_page(app, PagingArguments(source="offset_total", cursor=first.next_cursor))
    assert "cursor" in str(caught.value) and "source" in str(caught.value)
    with pytest.raises(InputError, match="page_size"):
        await tools.list_page(app, PagingArguments(cursor=first.next_cursor, page_size=10))


@pytest.mark.anyio
async def test_neither_source_nor_request_nor_cursor_is_refused(app: AppContext) -> None:
    with pytest.raises(InputError, match="exactly one of source"):
        await tools.list_page(app, PagingArguments())


@pytest.mark.anyio
async def test_invalid_pagination_spec_is_refused_by_the_arguments(app: AppContext) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        await tools.list_page(
            app,
            PagingArguments(
                source="offset_total", pagination={"mode": "cursor", "next": {"body": "a", "header": "b"}}
            ),
        )


@pytest.mark.anyio
async def test_a_pagination_argument_with_an_offset_in_the_url_is_refused_by_the_arguments(
    app: AppContext,
) -> None:
    with pytest.raises(ValidationError, match="offset_param cannot be in='url'"):
        await tools.list_page(
            app,
            PagingArguments(
                source="offset_total", pagination={"mode": "offset", "offset_param": {"in": "url"}}
            ),
        )


@pytest.mark.anyio
async def test_ad_hoc_request_to_a_host_not_allowed_is_refused(app: AppContext) -> None:
    with pytest.raises(InputError, match="allowed"):
        await tools.list_page(app, PagingArguments(request={"url": "https://api.example.test/items"}))


@pytest.mark.anyio
@pytest.mark.parametrize("cursor", ["garbage", "abc.1", "x" * 24 + ".1.2.3"])
async def test_malformed_cursor_is_a_cursor_error(app: AppContext, cursor: str) -> None:
    with pytest.raises(CursorError, match="not one this server minted"):
        await tools.list_page(app, PagingArguments(cursor=cursor))


@pytest.mark.anyio
async def test_unknown_session_and_unreached_page_are_cursor_errors(app: AppContext) -> None:
    with pytest.raises(CursorError, match="expired or is unknown"):
        await tools.list_page(app, PagingArguments(cursor="A" * 24 + ".0"))
    first = await tools.list_page(app, PagingArguments(source="offset_total"))
    session = first.cursor.split(".")[0]
    with pytest.raises(CursorError, match="not been reached"):
        await tools.list_page(app, PagingArguments(cursor=f"{session}.5"))


@pytest.mark.anyio
async def test_a_cursor_is_unknown_to_another_server_with_its_own_memory_store(
    app: AppContext, sample_api: SampleAPI
) -> None:
    first = await tools.list_page(app, PagingArguments(source="offset_total"))
    async with open_app(sample_config(sample_api.url), "memory://", environ=ALLOY_ENV) as other:
        with pytest.raises(CursorError):
            await tools.list_page(other, PagingArguments(cursor=first.next_cursor))


# --------------------------------------------------------------------------------------------
# Stored results
# --------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_fetch_all_results_are_readable_whole_and_per_chunk(app: AppContext) -> None:
    result = await tools.fetch_all(app, FetchAllArguments(source="offset_total"))
    assert result.results_uri.startswith("mcp-paginate://results/")
    results_id = result.results_uri.removeprefix("mcp-paginate://results/")
    whole = json.loads(await tools.read_results(app, results_id))
    assert whole["count"] == 237 and whole["complete"] is True
    assert ids(whole["records"]) == ALL_IDS
    assert whole["chunks"] == 6  # 40 records per page: 5 full pages and one of 37
    chunks = [
        json.loads(await tools.read_results(app, results_id, index)) for index in range(whole["chunks"])
    ]
    assert [len(c["records"]) for c in chunks] == [40, 40, 40, 40, 40, 37]
    assert [r for c in chunks for r in c["records"]] == whole["records"]
    with pytest.raises(InputError, match="chunks 0..5"):
        await tools.read_results(app, results_id, 6)
    with pytest.raises(InputError, match="fetch_all again"):
        await tools.read_results(app, "no-such-results-id")


@pytest.mark.anyio
async def test_stored_results_keep_projected_fields_and_the_stop_reason(app: AppContext) -> None:
    result = await tools.fetch_all(
        app, FetchAllArguments(source="pages_total", fields=["id"], max_records=45)
    )
    stored = json.loads(await tools.read_results(app, result.results_uri.rsplit("/", 1)[1]))
    assert stored["records"] == [{"id": i} for i in range(1, 46)]
    assert stored["complete"] is False and stored["stop_reason"] == "max_records"


@pytest.mark.anyio
async def test_list_sources_describes_every_source(app: AppContext) -> None:
    listed = await tools.list_sources(app)
    by_name = {source.name: source for source in listed.sources}
    assert set(STYLES) <= set(by_name)
    assert by_name["alloy_style"].max_page_size == 50
    assert by_name["alloy_style"].pagination == "alloy"
    assert by_name["body_token"].pagination == "cursor"
    assert listed.ad_hoc.allowed is False and listed.ad_hoc.hosts == []


@pytest.mark.parametrize(
    "body",
    [
        b'{"items": [{"id": 1, "name": "caf\\u00e9"}], "total": 1}',
        '{"name": "café", "n": 12345678901234567890123, "x": 1.5e300, "d": 1, "d": 2}'.encode(),
        b"\xef\xbb\xbf" + b'{"bom": true}',  # a byte-order mark: only json accepts it
        b'{"lone": "\\ud800"}',  # a lone surrogate escape: only json accepts it
        b"[" * 150 + b"]" * 150,
        b'{"nan": NaN}',
    ],
)
def test_json_bodies_parse_exactly_as_json_loads_parses_them(body: bytes) -> None:
    from mcp_paginate.http import load_json as _loads

    parsed, expected = _loads(body), json.loads(body)
    if body == b'{"lone": "\\ud800"}':
        expected = {"lone": "\ufffd"}  # not text: replaced (see test_bodies.py)
    assert json.dumps(parsed) == json.dumps(expected)  # NaN != NaN, but its JSON text is equal


@pytest.mark.parametrize("depth", [202, 400, 5000])
def test_bodies_nested_deeper_than_a_tool_result_can_carry_are_refused(depth: int) -> None:
    from mcp_paginate.http import TooDeepError
    from mcp_paginate.http import load_json as _loads

    with pytest.raises((TooDeepError, RecursionError)):
        _loads(b"[" * depth + b"]" * depth)
    assert _loads(b"[" * 201 + b"]" * 201) is not None


@pytest.mark.parametrize("body", [b"{", b"not json", b'{"a": 1,}', b"[1, 2"])
def test_bodies_json_rejects_are_rejected(body: bytes) -> None:
    from mcp_paginate.http import load_json as _loads

    with pytest.raises(ValueError):
        _loads(body)


# -- building a request: the same as httpx2's build_request, faster --------------------------------

BUILD_CASES: list[tuple[str, str, dict[str, str], dict[str, str] | None, Any]] = [
    (
        "POST",
        "http://127.0.0.1:9/connectors/hubspot/actions/listContacts/execute",
        {"Authorization": "Bearer k", "x-api-version": "2025-09", "Content-Type": "application/json"},
        None,
        {"credentialId": "c", "input": {"limit": 50, "offset": 100}},
    ),
    ("GET", "http://127.0.0.1:9/token", {}, {"max_results": "50", "pagination_token": "ab/c d"}, None),
    (
        "GET",
        "http://127.0.0.1:9/token?a=1&b=2",
        {"Accept": "application/json", "user-agent": "me"},
        {"b": "3", "ü": "ß x&y=z"},
        None,
    ),
    ("GET", "https://user:pw@[::1]:8443/p%20q?x=%2F#frag", {"X-Trace": "1"}, None, None),
    ("POST", "http://127.0.0.1:9/empty", {}, None, None),
    (
        "put",
        "http://127.0.0.1:9/put",
        {"Host": "api.example", "content-type": "application/vnd.x+json"},
        None,
        {"name": "é", "list": [1, 2.5, None, True]},
    ),
    ("PATCH", "http://127.0.0.1:9/chunked", {"Transfer-Encoding": "chunked"}, None, {"a": 1}),
    ("DELETE", "http://127.0.0.1:9/d", {"Content-Length": "0"}, {"q": ""}, None),
    ("GET", "http://example.com", {"accept": "a", "ACCEPT-ENCODING": "identity"}, {"k": "v"}, None),
]


@pytest.mark.parametrize(("method", "url", "headers", "params", "body"), BUILD_CASES)
def test_requests_are_built_exactly_as_httpx2_builds_them(
    method: str, url: str, headers: dict[str, str], params: dict[str, str] | None, body: Any
) -> None:
    client = httpx2.AsyncClient(headers={"User-Agent": "mcp-paginate"}, timeout=7)
    trace = {"trace": object()}
    # The one difference: params join the URL's own query (httpx2 would replace it).
    merged = httpx2.URL(url).copy_merge_params(params) if params else url
    for extensions in (None, trace):
        expected = client.build_request(method, merged, headers=headers, json=body, extensions=extensions)
        built = _build_request(client, method, url, headers, params, body, extensions)
        assert built.method == expected.method
        assert str(built.url) == str(expected.url)
        assert built.headers.raw == expected.headers.raw
        assert built.content == expected.read()
        assert built.extensions == expected.extensions


@pytest.mark.parametrize(
    ("headers", "body", "url", "error"),
    [
        ({"X-Name": "café"}, None, "http://127.0.0.1:9/", UnicodeEncodeError),
        ({}, {"n": float("nan")}, "http://127.0.0.1:9/", ValueError),
        ({}, {"when": object()}, "http://127.0.0.1:9/", TypeError),
        ({}, None, "http://[::1/", httpx2.InvalidURL),
    ],
)
def test_requests_that_cannot_be_built_fail_as_with_httpx2(
    headers: dict[str, str], body: Any, url: str, error: type[Exception]
) -> None:
    client = httpx2.AsyncClient(headers={"User-Agent": "mcp-paginate"})
    with pytest.raises(error):
        client.build_request("POST", url, headers=headers, json=body)
    with pytest.raises(error):
        _build_request(client, "POST", url, headers, None, body, None)


@pytest.mark.anyio
async def test_a_query_written_into_the_source_url_is_sent_with_every_page(sample_api: SampleAPI) -> None:
    # httpx2 replaces a URL's query when given params: page 2's cursor used to drop max_results=7
    # (and a real API's filter, say ?state=open, with it).
    sources = {
        "filtered": {
            "url": sample_api.url + "/token?max_results=7",
            "pagination": {
                "mode": "cursor",
                "next": {"body": "meta.next_token"},
                "cursor_param": {"in": "query", "name": "pagination_token"},
            },
        }
    }
    config = AppConfig.model_validate({"sources": sources})
    async with open_app(config, "memory://") as app:
        result = await tools.fetch_all(app, FetchAllArguments(source="filtered"))
    assert [record["id"] for record in result.records] == ALL_IDS
    assert result.pages == 34  # 237 records, 7 a page: max_results reached every request


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ('<http://a/2>; rel="next last"', {"next": "http://a/2", "last": "http://a/2"}),
        ('<http://a/2>; REL="Next"', {"next": "http://a/2"}),
        ("<http://a/2>;rel=next", {"next": "http://a/2"}),
        ('<http://a/1>; rel="prev", <http://a/3>; rel="next"', {"prev": "http://a/1", "next": "http://a/3"}),
        ('<http://a/x?a=1,2>; rel="next"', {"next": "http://a/x?a=1,2"}),
        ('<http://a/3>; title="a, b; <c> \\"d\\""; rel="next"', {"next": "http://a/3"}),
        ("<four>; rel=next, <http://a/5>; rel=next", {"next": "http://a/base/four"}),  # the first one wins
        ("<http://a/6>, junk, <http://a/7>; rel=last", {"last": "http://a/7"}),  # no rel: unusable
        ("", {}),
        ("not a link header", {}),
    ],
)
def test_link_header_relations_as_rfc_8288_writes_them(header: str, expected: dict[str, str]) -> None:
    assert _links({"link": header}, "http://a/base/page") == expected
