"""Concurrent fetching in fetch_all: exact, ordered, bounded, rate-limited, cancellable.

Offset and page sources whose API reports a total overlap requests (up to the source's
``concurrency``); sources with ``prefetch = k`` request ``k`` pages ahead. Whatever the
overlap, the records must be those of sequential paging, in order, with no gap and no
duplicate, and the session must store exactly the page states sequential paging stores.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.engine import Engine
from mcp_paginate.paginators import State
from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.server import create_server
from mcp_paginate.streaming import page_stream
from mcp_paginate.tools import FetchAllResult, ListPageResult, fetch_all, list_page, list_pages
from tests.conftest import structured
from tests.support import ALL_IDS, ALLOY_ENV, sample_sources

HANG_GUARD = 30


def make_config(url: str, source: str, **overrides: Any) -> AppConfig:
    """The sample sources, with ``overrides`` merged into ``source`` (pagination merged too)."""
    sources = sample_sources(url)
    table = dict(sources[source])
    pagination = overrides.pop("pagination", None)
    if pagination is not None:
        table["pagination"] = {**table.get("pagination", {}), **pagination}
    table.update(overrides)
    sources[source] = table
    settings = {"backoff_base_seconds": 0.01, "max_inline_chars": 1_000_000}
    return AppConfig.model_validate({"server": settings, "sources": sources}, context={"environ": ALLOY_ENV})


@asynccontextmanager
async def running(
    config: AppConfig, transport: httpx2.AsyncBaseTransport | None = None
) -> AsyncIterator[AppContext]:
    async with open_app(config, "memory://", environ=ALLOY_ENV, transport=transport) as app:
        yield app


async def drain(api: SampleAPI, source: str, **overrides: Any) -> tuple[FetchAllResult, list[State], int]:
    """fetch_all over a fresh app: the result, the session's stored page states, requests made."""
    arguments = overrides.pop("arguments", {})
    api.stats.reset()
    async with running(make_config(api.url, source, **overrides)) as app:
        with anyio.fail_after(HANG_GUARD):
            result = await fetch_all(app, FetchAllArguments(source=source, **arguments))
        states = await stored_states(app, result)
    return result, states, api.stats.requests


async def stored_states(app: AppContext, result: FetchAllResult) -> list[State]:
    meta = await app.store.get_results(result.results_uri.rsplit("/", 1)[1])
    assert meta is not None
    states: list[State] = []
    while (state := await app.store.get_page(meta.session_id, len(states))) is not None:
        states.append(state)
    return states


def ids(result: FetchAllResult) -> list[int]:
    return [record["id"] for record in result.records]


class WatchingTransport(httpx2.AsyncBaseTransport):
    """Real loopback HTTP, counting requests in flight and requests cancelled while in flight."""

    def __init__(self, wait_for: int, hold_after: int | None = None) -> None:
        self.inner = httpx2.AsyncHTTPTransport()
        self.wait_for = wait_for
        self.hold_after = hold_after  # requests after this many never get an answer
        self.started = 0
        self.in_flight = 0
        self.cancelled = 0
        self.reached = anyio.Event()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.started += 1
        self.in_flight += 1
        if self.in_flight >= self.wait_for:
            self.reached.set()
        try:
            if self.hold_after is not None and self.started > self.hold_after:
                await anyio.sleep_forever()  # a server that never answers: only a cancel ends this
            return await self.inner.handle_async_request(request)
        except anyio.get_cancelled_exc_class():
            self.cancelled += 1
            raise
        finally:
            self.in_flight -= 1

    async def aclose(self) -> None:
        await self.inner.aclose()


@pytest.fixture
def slow_api() -> Any:
    """600 records, 20 ms per request: enough for requests to overlap visibly."""
    with SampleAPI(records=600, latency=0.02) as api:
        yield api


# -- total known: bounded concurrency ----------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["offset_total", "pages_total"])
@pytest.mark.parametrize("concurrency", [3, 8])
async def test_total_known_overlaps_requests_within_the_bound_and_matches_sequential(
    slow_api: SampleAPI, source: str, concurrency: int
) -> None:
    sequential, sequential_states, _ = await drain(slow_api, source, concurrency=1)
    assert slow_api.stats.max_in_flight == 1

    result, states, requests = await drain(slow_api, source, concurrency=concurrency)

    assert ids(result) == ids(sequential) == list(range(1, 601))
    assert result.complete and result.stop_reason == "exhausted" and result.total == 600
    assert states == sequential_states
    assert result.pages == len(states) == requests  # nothing requested past the total
    assert 2 <= slow_api.stats.max_in_flight <= concurrency


@pytest.mark.anyio
async def test_page_size_silently_capped_on_the_first_page_is_followed_without_waste(
    sample_api: SampleAPI,
) -> None:
    # /offset caps at 100: asked 150, the first page brings 100, the offsets ahead step by 100.
    result, states, requests = await drain(
        sample_api, "offset_total", concurrency=4, pagination={"page_size": 150}
    )
    assert ids(result) == ALL_IDS
    assert [state.offset for state in states] == [0, 100, 200]
    assert result.pages == requests == 3


@pytest.mark.anyio
async def test_short_page_before_the_reported_total_falls_back_to_sequential(fresh_api: SampleAPI) -> None:
    # The total keeps growing, so the page at offset 200 (37 records) is short but not last:
    # the offset 240 requested ahead is wrong, and paging goes on from 237 as sequential does.
    fresh_api.faults = FaultPlan(growing_total=True)
    sequential, sequential_states, sequential_requests = await drain(fresh_api, "offset_total", concurrency=1)
    fresh_api.faults = FaultPlan(growing_total=True)
    result, states, requests = await drain(fresh_api, "offset_total", concurrency=4)

    assert ids(result) == ids(sequential) == ALL_IDS
    assert (result.stop_reason, result.error) == (sequential.stop_reason, sequential.error)
    assert states == sequential_states
    assert [state.offset for state in states][-2:] == [200, 237]
    assert result.next_cursor == sequential.next_cursor
    assert sequential_requests <= requests <= sequential_requests + 4


@pytest.mark.anyio
async def test_transient_faults_and_429s_under_concurrency_stay_exact(fresh_api: SampleAPI) -> None:
    fresh_api.faults = FaultPlan(
        status_every=5, status_code=429, retry_after="0", reset_every=13, truncate_every=17
    )
    config = make_config(fresh_api.url, "pages_total", concurrency=8, pagination={"page_size": 10})
    async with running(config) as app:
        with anyio.fail_after(HANG_GUARD):
            result = await fetch_all(app, FetchAllArguments(source="pages_total"))
        states = await stored_states(app, result)
        throttle = app.throttles["pages_total"]
        assert throttle.current_concurrency < 8  # 429s halved it
    assert ids(result) == ALL_IDS and result.complete
    assert [state.page for state in states] == list(range(1, 25))
    assert any("retried" in note for note in result.notes)


@pytest.mark.anyio
async def test_rate_limit_spaces_requests_even_with_concurrency(fresh_api: SampleAPI) -> None:
    rate = 10.0
    result, _, requests = await drain(fresh_api, "offset_total", concurrency=8, rate_limit=rate)
    assert ids(result) == ALL_IDS
    stamps = fresh_api.stats.timestamps
    assert len(stamps) == requests == 6
    gaps = [later - earlier for earlier, later in zip(stamps, stamps[1:], strict=False)]
    # The bucket releases one request per 1/rate s; arrival jitter is far below half of that.
    assert min(gaps) >= 0.5 / rate
    assert stamps[-1] - stamps[0] >= 0.9 * (len(stamps) - 1) / rate


# -- prefetch: has_more only --------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("records", [0, 37, 50, 237, 250])
async def test_prefetch_drains_a_has_more_api_exactly_and_wastes_at_most_prefetch(records: int) -> None:
    needed = max(1, -(-records // 50))
    with SampleAPI(records=records) as api:
        sequential, sequential_states, sequential_requests = await drain(api, "alloy_style")
        result, states, requests = await drain(api, "alloy_style", prefetch=4, concurrency=8)
    assert ids(result) == ids(sequential) == list(range(1, records + 1))
    assert result.complete and result.pages == needed
    assert states == sequential_states
    assert sequential_requests == needed
    assert needed <= requests <= needed + 4


@pytest.mark.anyio
async def test_prefetch_overlaps_requests_up_to_prefetch_plus_one(slow_api: SampleAPI) -> None:
    result, states, requests = await drain(slow_api, "alloy_style", prefetch=3, concurrency=8)
    assert ids(result) == list(range(1, 601))
    assert len(states) == result.pages == 12
    assert 12 <= requests <= 12 + 3
    assert 2 <= slow_api.stats.max_in_flight <= 4


@pytest.mark.anyio
async def test_prefetch_is_bounded_by_the_source_concurrency(slow_api: SampleAPI) -> None:
    result, _, _ = await drain(slow_api, "alloy_style", prefetch=6, concurrency=2)
    assert ids(result) == list(range(1, 601))
    assert slow_api.stats.max_in_flight == 2


@pytest.mark.anyio
async def test_prefetch_waits_until_a_silent_cap_is_learned(sample_api: SampleAPI) -> None:
    # /pages caps at 25 without saying so: the first two pages teach the page size, then the
    # pages ahead are requested with it; the short last page (12 records) ends paging.
    sequential, sequential_states, _ = await drain(sample_api, "pages_capped")
    result, states, requests = await drain(sample_api, "pages_capped", prefetch=3)
    assert ids(result) == ids(sequential) == ALL_IDS
    assert states == sequential_states
    assert result.pages == 10
    assert 10 <= requests <= 10 + 3


@pytest.mark.anyio
async def test_prefetch_falls_back_when_the_api_claims_more_with_empty_pages(fresh_api: SampleAPI) -> None:
    fresh_api.faults = FaultPlan(empty_forever=True)
    sequential, sequential_states, sequential_requests = await drain(fresh_api, "alloy_style")
    fresh_api.faults = FaultPlan(empty_forever=True)
    result, states, requests = await drain(fresh_api, "alloy_style", prefetch=4)
    assert ids(result) == ids(sequential) == ALL_IDS
    assert result.stop_reason == sequential.stop_reason == "error"
    assert result.error == sequential.error
    assert states == sequential_states
    # At most prefetch + 1 wasted: the 4 pages guessed past the short last page, and the guess for
    # the page after it (its offset is right but its records-so-far, 4 full pages, is not).
    assert sequential_requests <= requests <= sequential_requests + 4 + 1


@pytest.mark.anyio
async def test_prefetch_through_the_mcp_client(fresh_api: SampleAPI) -> None:
    server = create_server(
        make_config(fresh_api.url, "alloy_style", prefetch=2), "memory://", environ=ALLOY_ENV
    )
    async with Client(server) as client:
        with anyio.fail_after(HANG_GUARD):
            data = structured(await client.call_tool("fetch_all", {"source": "alloy_style"}))
    assert [record["id"] for record in data["records"]] == ALL_IDS
    assert data["complete"] is True
    assert 5 <= fresh_api.stats.requests <= 5 + 2


# -- stopping early -----------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "overrides"), [("offset_total", {"concurrency": 8}), ("alloy_style", {"prefetch": 4})]
)
async def test_stopping_at_max_records_then_resuming_has_no_gap_or_duplicate(
    sample_api: SampleAPI, source: str, overrides: dict[str, Any]
) -> None:
    config = make_config(sample_api.url, source, **overrides)
    async with running(config) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await fetch_all(app, FetchAllArguments(source=source, max_records=95))
            assert first.stop_reason == "max_records" and first.next_cursor is not None
            rest = await fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
    assert ids(first) == ALL_IDS[:95]
    assert ids(first) + ids(rest) == ALL_IDS
    assert rest.complete


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("source", "overrides"),
    [
        ("body_token", {}),  # a cursor chain: the next request normally leaves before the page is stored
        ("alloy_style", {}),
        ("offset_total", {"concurrency": 8}),  # total known: a window of requests in flight
        ("alloy_style", {"prefetch": 4}),
    ],
)
@pytest.mark.parametrize("limit", [{"max_pages": 1}, {"max_pages": 3}, {"max_records": 70}])
async def test_limits_stop_the_requests_too_and_resuming_is_exact(
    sample_api: SampleAPI, source: str, overrides: dict[str, Any], limit: dict[str, int]
) -> None:
    # Requests counted as the client starts them: one cancelled in flight counts as well.
    transport = WatchingTransport(wait_for=10**9)
    async with running(make_config(sample_api.url, source, **overrides), transport) as app:
        with anyio.fail_after(HANG_GUARD):
            first = await fetch_all(app, FetchAllArguments(source=source, **limit))
            requests, cancelled = transport.started, transport.cancelled
            assert first.next_cursor is not None
            rest = await fetch_all(app, FetchAllArguments(cursor=first.next_cursor))
    assert first.stop_reason == next(iter(limit)) and not first.complete
    assert requests == first.pages  # not one request past the limit, neither chained nor ahead
    assert cancelled == 0
    if "max_records" in limit:
        assert first.count == limit["max_records"]
    else:
        assert first.pages == limit["max_pages"]
    assert ids(first) + ids(rest) == ALL_IDS
    assert rest.complete


@pytest.mark.anyio
async def test_with_dedupe_key_only_max_pages_bounds_the_requests(sample_api: SampleAPI) -> None:
    # Duplicates dropped do not count towards max_records, so the chain may request one page
    # that turns out not to be needed; max_pages still stops it exactly.
    transport = WatchingTransport(wait_for=10**9)
    async with running(make_config(sample_api.url, "body_token"), transport) as app:
        with anyio.fail_after(HANG_GUARD):
            by_records = await fetch_all(
                app, FetchAllArguments(source="body_token", max_records=60, dedupe_key="id")
            )
            chained = transport.started
            by_pages = await fetch_all(
                app, FetchAllArguments(source="body_token", max_pages=2, dedupe_key="id")
            )
    assert ids(by_records) == ALL_IDS[:60] and by_records.pages == 2
    assert chained <= by_records.pages + 1
    assert transport.started - chained == by_pages.pages == 2


def _comparable(result: ListPageResult) -> dict[str, Any]:
    """A list_page result without its session id (two sessions are compared)."""
    data = result.model_dump(mode="json")
    for key in ("cursor", "next_cursor"):
        if data[key] is not None:
            data[key] = data[key].split(".", 1)[1]
    return data


@pytest.mark.anyio
@pytest.mark.parametrize("source", sorted(sample_sources("http://x")))
async def test_list_pages_gives_what_list_page_gives_call_after_call(
    sample_api: SampleAPI, source: str
) -> None:
    # The CLI's drain (list_pages) must write exactly the pages a caller paging by hand reads.
    async with running(make_config(sample_api.url, source)) as app:
        with anyio.fail_after(HANG_GUARD):
            by_hand = [await list_page(app, PagingArguments(source=source))]
            while by_hand[-1].next_cursor is not None:
                by_hand.append(await list_page(app, PagingArguments(cursor=by_hand[-1].next_cursor)))
            async with list_pages(app, PagingArguments(source=source)) as pages:
                streamed = [result async for result in pages]
            async with list_pages(app, PagingArguments(cursor=by_hand[1].cursor), max_records=1) as pages:
                resumed = [result async for result in pages]
    assert [_comparable(r) for r in streamed] == [_comparable(r) for r in by_hand]
    assert [record["id"] for r in streamed for record in r.records] == ALL_IDS
    assert [_comparable(r) for r in resumed] == [_comparable(by_hand[1])]


@pytest.mark.anyio
async def test_leaving_the_stream_cancels_requests_in_flight(fresh_api: SampleAPI) -> None:
    transport = WatchingTransport(wait_for=4, hold_after=1)  # page 0 is answered, nothing after it
    async with running(make_config(fresh_api.url, "offset_total", concurrency=4), transport) as app:
        engine = Engine(app)
        plan = await engine.start(PagingArguments(source="offset_total"))
        state = await app.store.get_page(plan.session.id, 0)
        assert state is not None
        with anyio.fail_after(HANG_GUARD):
            async with page_stream(engine, plan, 0, state) as pages:
                async for page in pages:
                    assert page.number == 0
                    await transport.reached.wait()  # pages 1-4 are in flight, never to be answered
                    break
        assert transport.cancelled == 4
        assert transport.in_flight == 0
        # Only page 0's successor was stored: nothing requested ahead reached the session.
        assert await app.store.get_page(plan.session.id, 1) is not None
        assert await app.store.get_page(plan.session.id, 2) is None


# -- a chain: the next request goes out before the page's next state is stored -------------------


@pytest.mark.anyio
async def test_chain_follows_the_state_another_caller_stored_first(fresh_api: SampleAPI) -> None:
    """The chain requests offset 50 before storing it; the session already holds offset 100 for
    that page (stored by another caller), so the chain's request is discarded and paging follows
    the stored state: exactly what sequential paging of this session returns."""
    async with running(make_config(fresh_api.url, "alloy_style")) as app:
        engine = Engine(app)
        plan = await engine.start(PagingArguments(source="alloy_style"))
        first = await app.store.get_page(plan.session.id, 0)
        assert first is not None and first.offset == 0
        other = first.model_copy(update={"offset": 100})
        assert (await app.store.add_page(plan.session.id, 1, other)).state == other
        fresh_api.stats.reset()
        with anyio.fail_after(HANG_GUARD):
            result = await fetch_all(app, FetchAllArguments(cursor=plan.cursor(0)))
    assert ids(result) == ALL_IDS[:50] + ALL_IDS[100:]
    assert result.complete and result.pages == 4  # offsets 0, 100, 150, 200
    assert fresh_api.stats.requests == 5  # and the discarded request for offset 50


@pytest.mark.anyio
async def test_chain_sends_the_next_request_before_storing_where_it_is(fresh_api: SampleAPI) -> None:
    """Storing a page's next state (the store's round trip) happens while the request for that
    page is on the wire, not between the response and the next request."""
    events: list[str] = []

    class Watching(httpx2.AsyncBaseTransport):
        def __init__(self) -> None:
            self.inner = httpx2.AsyncHTTPTransport()

        async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
            events.append(f"request {request.url.params.get('pagination_token', '-')}")
            return await self.inner.handle_async_request(request)

        async def aclose(self) -> None:
            await self.inner.aclose()

    async with running(make_config(fresh_api.url, "body_token"), Watching()) as app:
        real_add_page = app.store.add_page

        async def add_page(session_id: str, number: int, state: State) -> Any:
            events.append(f"store {state.cursor}")
            return await real_add_page(session_id, number, state)

        app.store.add_page = add_page  # type: ignore[method-assign]
        with anyio.fail_after(HANG_GUARD):
            result = await fetch_all(app, FetchAllArguments(source="body_token"))
    assert ids(result) == ALL_IDS
    stored = [event.split(" ", 1)[1] for event in events if event.startswith("store ")]
    assert stored[0] == "None"  # the first page's state, stored when the session starts
    tokens = stored[1:]
    assert len(tokens) == 7  # pages of 30: 8 pages, 7 next states
    for token in tokens:
        assert events.index(f"request {token}") < events.index(f"store {token}"), events


class _PortRecorder(SampleAPI):
    """The sample API's server thread, serving 200 offset-paged records at ``/wide`` (with a
    total) and ``/chain`` (has_more only), and recording the client port of every request."""

    def __init__(self) -> None:
        super().__init__()
        self.ports: dict[str, list[int]] = {"wide": [], "chain": []}

        async def items(request: Request) -> JSONResponse:
            where = request.url.path.strip("/")
            assert request.client is not None
            self.ports[where].append(request.client.port)
            offset, limit = int(request.query_params["offset"]), int(request.query_params["limit"])
            await anyio.sleep(0.01)  # so the wide drain really has requests in flight together
            ids = list(range(offset + 1, min(offset + limit, 200) + 1))
            return JSONResponse(
                {"items": [{"id": i} for i in ids], "total": 200, "more": offset + limit < 200}
            )

        self.app = Starlette(routes=[Route("/wide", items), Route("/chain", items)])  # type: ignore[assignment]  # a test server in place of the sample app


@pytest.mark.anyio
async def test_each_source_has_its_own_connection_pool() -> None:
    # A pool checks each of its idle connections on every request, so a chain must not share a
    # pool with the connections another source's concurrent drain left idle.
    with _PortRecorder() as api:
        sources = {
            "wide": {"url": f"{api.url}/wide", "records": "items", "concurrency": 8,
                     "pagination": {"mode": "offset", "total": "total", "page_size": 10}},
            "chain": {"url": f"{api.url}/chain", "records": "items",
                      "pagination": {"mode": "offset", "has_more": "more", "page_size": 10}},
        }  # fmt: skip
        config = AppConfig.model_validate({"sources": sources})
        async with running(config) as app:
            with anyio.fail_after(HANG_GUARD):
                wide = await fetch_all(app, FetchAllArguments(source="wide"))
                chain = await fetch_all(app, FetchAllArguments(source="chain"))
    assert ids(wide) == ids(chain) == list(range(1, 201))
    assert 1 < len(set(api.ports["wide"])) <= 8
    assert len(set(api.ports["chain"])) == 1  # one kept-alive connection, page after page
    assert not set(api.ports["chain"]) & set(api.ports["wide"])  # and not one of the wide drain's


# -- an API that ignores the position it is sent -------------------------------------------------

IGNORED_POSITION = {
    # The offset and page are sent under names the API does not know: it answers page 1 each time.
    "offset_total": {"offset_param": {"in": "query", "name": "skip"}},
    "pages_total": {"page_param": {"in": "query", "name": "p"}},
    "pages_capped": {"page_param": {"in": "query", "name": "p"}},
}


@pytest.mark.anyio
@pytest.mark.parametrize("source", sorted(IGNORED_POSITION))
@pytest.mark.parametrize("concurrency", [1, 4])
async def test_a_drain_stops_when_the_api_answers_the_same_page_again(
    sample_api: SampleAPI, source: str, concurrency: int
) -> None:
    # Before, offsets and pages always looked new: the first page came back again and again,
    # kept each time (up to max_records), and the drain said it was complete.
    result, _, _ = await drain(
        sample_api, source, concurrency=concurrency, pagination=IGNORED_POSITION[source]
    )
    first = len(result.records)
    assert ids(result) == list(range(1, first + 1))  # page 1 once, nothing repeated
    assert not result.complete and result.stop_reason == "error"
    assert result.error is not None and "ignored the position it was sent" in result.error
    assert "page 2 came back with exactly the records of page 1" in result.error


@pytest.mark.anyio
async def test_list_page_does_not_hand_out_a_repeated_page(sample_api: SampleAPI) -> None:
    config = make_config(sample_api.url, "offset_total", pagination=IGNORED_POSITION["offset_total"])
    async with running(config) as app:
        first = await list_page(app, PagingArguments(source="offset_total"))
        assert [record["id"] for record in first.records] == list(range(1, 41))
        assert first.next_cursor is not None
        second = await list_page(app, PagingArguments(cursor=first.next_cursor))
    assert second.records == [] and second.next_cursor is None and not second.has_more
    assert any("ignored the position it was sent (offset 40)" in note for note in second.notes)


class _SameRecords(SampleAPI):
    """The sample API's server thread, answering ``/same`` with the same records at every offset,
    ``size`` records a page, 5 records in all."""

    def __init__(self, size: int) -> None:
        super().__init__()

        async def same(request: Request) -> JSONResponse:
            return JSONResponse({"items": [{"status": "ok"}] * size, "total": 5})

        self.app = Starlette(routes=[Route("/same", same)])  # type: ignore[assignment]  # a test server in place of the sample app


@pytest.mark.anyio
@pytest.mark.parametrize(("size", "repeat_found"), [(1, False), (2, True)])
async def test_only_pages_of_several_equal_records_count_as_a_repeat(size: int, repeat_found: bool) -> None:
    # One record equal to the one before is likelier real data than an API ignoring its
    # parameter, so single-record pages are never taken for a repeat.
    with _SameRecords(size) as api:
        source = {"url": f"{api.url}/same", "records": "items",
                  "pagination": {"mode": "offset", "total": "total", "page_size": size}}  # fmt: skip
        async with running(AppConfig.model_validate({"sources": {"same": source}})) as app:
            with anyio.fail_after(HANG_GUARD):
                result = await fetch_all(app, FetchAllArguments(source="same"))
    if repeat_found:
        assert result.count == 2 and result.stop_reason == "error"
    else:
        assert result.count == 5 and result.complete
