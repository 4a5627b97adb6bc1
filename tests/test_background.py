"""fetch_all by a tool-call deadline, one drain across calls, the drain going on in the background
(within its bounds), and read_results over what it stored, against a slow sample API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from mcp_paginate import tools
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import FetchAllArguments
from mcp_paginate.errors import CursorError, InputError
from mcp_paginate.results import read_results
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import ALL_IDS, ALLOY_ENV, block_text, sample_config

pytestmark = pytest.mark.anyio

HANG_GUARD = 30
DEADLINE = 0.4
"""The tool-call deadline of these tests: body_token's 8 pages at 0.15 s take about 1.2 s."""


@pytest.fixture
def slow_api() -> Iterator[SampleAPI]:
    with SampleAPI(latency=0.15) as api:
        yield api


@asynccontextmanager
async def slow_app(api: SampleAPI, **server: Any) -> AsyncIterator[AppContext]:
    config = sample_config(api.url, tool_deadline_seconds=DEADLINE, **server)
    async with open_app(config, "memory://", environ=ALLOY_ENV) as app:
        yield app


def ids(records: list[Any]) -> list[int]:
    return [record["id"] for record in records]


def results_id(result: tools.FetchAllResult) -> str:
    return result.results_uri.rsplit("/", 1)[1]


async def drain_to_the_end(app: AppContext, first: tools.FetchAllResult) -> list[tools.FetchAllResult]:
    """fetch_all(cursor=next_cursor) until complete; every result, the first included."""
    results = [first]
    while not results[-1].complete:
        assert results[-1].next_cursor is not None, results[-1]
        results.append(await tools.fetch_all(app, FetchAllArguments(cursor=results[-1].next_cursor)))
        assert len(results) < 50
    return results


async def test_fetch_all_answers_by_the_deadline_with_a_cursor(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            started = anyio.current_time()
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            took = anyio.current_time() - started
    assert took < DEADLINE + 0.3
    assert first.stop_reason == "deadline" and not first.complete and first.next_cursor is not None
    assert 0 < first.count < len(ALL_IDS)
    assert ids(first.records) == ALL_IDS[: first.count]
    assert any("goes on in the background" in note for note in first.notes)


async def test_the_drain_goes_on_and_the_next_call_answers_at_once_from_the_same_results(
    slow_api: SampleAPI,
) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            await app.drains.running[results_id(first)].done.wait()  # it finished between calls
            started = anyio.current_time()
            rest = await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
            took = anyio.current_time() - started
            stored = await read_results(app, rest.results_uri, limit=1000)
    assert took < DEADLINE / 2  # nothing left to wait for
    assert rest.complete and rest.stop_reason == "exhausted" and rest.next_cursor is None
    assert rest.results_uri == first.results_uri and rest.count == len(ALL_IDS)
    assert ids(first.records) + ids(rest.records) == ALL_IDS
    assert ids(stored.records) == ALL_IDS and stored.complete


async def test_resuming_while_it_runs_appends_with_no_gap_or_duplicate(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            results = await drain_to_the_end(app, first)
    assert len(results) >= 2
    assert {result.results_uri for result in results} == {first.results_uri}
    assert [result.count for result in results] == sorted(result.count for result in results)
    assert [record_id for result in results for record_id in ids(result.records)] == ALL_IDS
    assert results[-1].count == len(ALL_IDS)


async def test_a_handed_out_cursor_read_twice_gives_the_same_records(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            await app.drains.running[results_id(first)].done.wait()
            once = await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
            twice = await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
    assert ids(once.records) == ids(twice.records) == ALL_IDS[first.count :]


async def test_without_a_background_slot_the_drain_stops_at_the_deadline_and_resumes(
    slow_api: SampleAPI,
) -> None:
    async with slow_app(slow_api, background_drains=0) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            assert app.drains.running == {}  # stopped, not running on
            meta = await app.store.get_results(results_id(first))
            assert meta is not None and meta.stop_reason == "deadline" and meta.count == first.count
            results = await drain_to_the_end(app, first)
    assert any("stopped at the tool-call deadline" in note for note in first.notes)
    assert [record_id for result in results for record_id in ids(result.records)] == ALL_IDS


async def test_an_idle_background_drain_stops_by_itself_and_resumes_exactly() -> None:
    with SampleAPI(latency=0.3) as api:
        async with slow_app(api, drain_idle_seconds=0.5) as app:
            with anyio.fail_after(HANG_GUARD):
                first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
                await app.drains.running[results_id(first)].done.wait()  # nobody asked: it stopped
                meta = await app.store.get_results(results_id(first))
                assert meta is not None and meta.stop_reason == "deadline"
                assert first.count < meta.count < len(ALL_IDS)
                results = await drain_to_the_end(app, first)
    assert [record_id for result in results for record_id in ids(result.records)] == ALL_IDS


async def test_max_records_bounds_the_background_drain_too(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token", max_records=100))
            assert first.stop_reason == "deadline" and first.count < 100
            await app.drains.running[results_id(first)].done.wait()
            rest = await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
    assert rest.stop_reason == "max_records" and rest.count == 100
    assert ids(first.records) + ids(rest.records) == ALL_IDS[:100]


async def test_cancelling_the_call_stops_the_drain(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            async with anyio.create_task_group() as group:
                group.start_soon(tools.fetch_all, app, FetchAllArguments(source="body_token"))
                while not app.drains.running:
                    await anyio.sleep(0.01)  # the drain has not started yet
                runner = next(iter(app.drains.running.values()))
                group.cancel_scope.cancel()
            await runner.done.wait()
            meta = await app.store.get_results(runner.record.results_id)
    assert meta is not None and meta.stop_reason == "cancelled"


# -- read_results ------------------------------------------------------------------------------


@pytest.fixture
async def drained(app: AppContext) -> tools.FetchAllResult:
    with anyio.fail_after(HANG_GUARD):
        return await tools.fetch_all(app, FetchAllArguments(source="offset_total"))


async def test_read_results_pages_by_offset_and_limit_to_the_end(
    app: AppContext, drained: tools.FetchAllResult
) -> None:
    read: list[int] = []
    offset: int | None = 0
    while offset is not None:
        page = await read_results(app, drained.results_uri, offset=offset, limit=100)
        assert page.offset == offset and page.returned == len(page.records) <= 100
        assert page.count == len(ALL_IDS) and page.complete
        read.extend(ids(page.records))
        offset = page.next_offset
    assert read == ALL_IDS
    middle = await read_results(app, drained.results_uri, offset=45, limit=10)
    assert ids(middle.records) == ALL_IDS[45:55] and middle.next_offset == 55


async def test_read_results_keeps_only_the_fields_asked(
    app: AppContext, drained: tools.FetchAllResult
) -> None:
    page = await read_results(app, drained.results_uri, offset=3, limit=2, fields=["id", "group"])
    assert [set(record) for record in page.records] == [{"id", "group"}] * 2


async def test_read_results_stays_within_the_inline_budget(slow_api: SampleAPI) -> None:
    config = sample_config(slow_api.url, max_inline_chars=1000)
    async with open_app(config, "memory://", environ=ALLOY_ENV) as app:
        with anyio.fail_after(HANG_GUARD):
            result = await tools.fetch_all(app, FetchAllArguments(source="offset_total"))
            page = await read_results(app, result.results_uri, offset=0)
    assert 0 < page.returned < len(ALL_IDS) and page.next_offset == page.returned
    assert len(tools.json_text(page.records)) <= 1000


async def test_read_results_query_gives_its_value_or_pages_an_array(
    app: AppContext, drained: tools.FetchAllResult
) -> None:
    length = await read_results(app, drained.results_uri, query="length(@)")
    assert length.value == len(ALL_IDS) and length.records == []
    top = await read_results(app, drained.results_uri, query="max_by(@, &score).id")
    assert top.value is not None
    reds = await read_results(app, drained.results_uri, query="[?group=='red'].id", offset=2, limit=3)
    all_reds = await read_results(app, drained.results_uri, query="[?group=='red'].id")
    assert reds.records == all_reds.records[2:5] and reds.count == all_reds.count > 5
    with pytest.raises(InputError, match="is not a JMESPath expression"):
        await read_results(app, drained.results_uri, query="[?")


async def test_read_results_obeys_the_owner_and_refuses_what_is_not_a_results_uri(app: AppContext) -> None:
    with anyio.fail_after(HANG_GUARD):
        mine = await tools.fetch_all(app, FetchAllArguments(source="offset_total"), owner="alice")
    assert (await read_results(app, mine.results_uri, owner="alice")).count == len(ALL_IDS)
    with pytest.raises(InputError, match="no stored results"):
        await read_results(app, mine.results_uri, owner="mallory")
    with pytest.raises(InputError, match="not a results URI"):
        await read_results(app, mine.results_uri + "/0")


async def test_read_results_reads_a_drain_still_in_progress(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"))
            page = await read_results(app, first.results_uri)
            assert not page.complete and page.count >= first.count
            assert ids(page.records) == ALL_IDS[: page.count] and page.next_offset is None
            assert any("still running" in note for note in page.notes)
            await app.drains.running[results_id(first)].done.wait()
            whole = await read_results(app, first.results_uri)
    assert whole.complete and ids(whole.records) == ALL_IDS


async def test_read_results_through_the_mcp_client(sample_api: SampleAPI) -> None:
    server = create_server(sample_config(sample_api.url), "memory://", environ=ALLOY_ENV)
    async with Client(server) as client:
        with anyio.fail_after(HANG_GUARD):
            drained = structured(await client.call_tool("fetch_all", {"source": "offset_total"}))
            page = structured(
                await client.call_tool(
                    "read_results",
                    {"results_uri": drained["results_uri"], "offset": 230, "fields": ["id"], "query": ""},
                )
            )
            value = structured(
                await client.call_tool(
                    "read_results", {"results_uri": drained["results_uri"], "query": "length(@)"}
                )
            )
            wrong = await client.call_tool(
                "read_results", {"results_uri": drained["results_uri"], "offset": -1}
            )
    assert page["records"] == [{"id": record_id} for record_id in ALL_IDS[230:]]
    assert page["next_offset"] is None and page["complete"] is True
    assert value["value"] == len(ALL_IDS)
    assert wrong.is_error and "offset" in block_text(wrong.content[0])


async def test_another_callers_handed_cursor_is_refused_while_the_drain_runs(slow_api: SampleAPI) -> None:
    async with slow_app(slow_api) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await tools.fetch_all(app, FetchAllArguments(source="body_token"), owner="alice")
            with pytest.raises(CursorError, match="another caller"):
                await tools.fetch_all(app, FetchAllArguments(cursor=first.next_cursor), owner="mallory")
            runner = app.drains.running[results_id(first)]
            assert not runner.cancelled and runner.waiting == 0
            await runner.done.wait()
    assert runner.drain.state.stop_reason == "exhausted"
