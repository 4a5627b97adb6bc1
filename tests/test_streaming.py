"""`page_stream` and the engine step it is built on, against the sample API over loopback.

Pages come in order whatever the overlap; a page is fetched uncommitted (`Engine.fetch`) and
its next state is stored only by `Engine.commit`, which the stream calls once a page is the one
sequential paging reads; a position seen before is found by `commit` alone, whoever calls it.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from mcp_paginate import tools
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.engine import Engine, Page
from mcp_paginate.paginators import AutoPagination
from mcp_paginate.sample import FaultPlan, SampleAPI
from mcp_paginate.streaming import page_stream
from tests.support import ALL_IDS, ALLOY_ENV, sample_sources

HANG_GUARD = 30


def config(url: str, **overrides: Any) -> AppConfig:
    sources = sample_sources(url)
    for name in ("offset_total", "alloy_style"):
        sources[name] = {**sources[name], **overrides}
    return AppConfig.model_validate({"sources": sources}, context={"environ": ALLOY_ENV})


async def streamed(app: AppContext, source: str, **limits: Any) -> tuple[Engine, Any, list[Page]]:
    engine = Engine(app)
    plan, start = await engine.open(PagingArguments(source=source))
    with anyio.fail_after(HANG_GUARD):
        async with page_stream(engine, plan, start.number, start.state, **limits) as pages:
            return engine, plan, [page async for page in pages]


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "overrides"), [
    ("offset_total", {"concurrency": 4}),  # a total: pages overlap
    ("alloy_style", {"prefetch": 3}),  # has_more only: pages guessed ahead
    ("body_token", {}),  # a chain
    ("auto_link", {}),  # detected on the first page
])  # fmt: skip
async def test_pages_come_in_order_and_the_session_stores_what_sequential_paging_stores(
    sample_api: SampleAPI, source: str, overrides: dict[str, Any]
) -> None:
    async with open_app(config(sample_api.url, **overrides), "memory://", environ=ALLOY_ENV) as app:
        _, plan, pages = await streamed(app, source)
        assert [page.number for page in pages] == list(range(len(pages)))
        assert [record["id"] for page in pages for record in page.records] == ALL_IDS
        for page in pages[:-1]:
            stored = await app.store.get_page(plan.session.id, page.number + 1)
            assert stored is not None and stored == page.next_state
            # A page requested ahead asked for the same position (its ``after`` digest was a guess).
            assert pages[page.number + 1].state.position() == stored.position()
        assert pages[-1].next_state is None
        assert await app.store.get_page(plan.session.id, len(pages)) is None  # nothing guessed stored


@pytest.mark.anyio
async def test_a_limited_stream_stores_the_next_state_of_its_last_page_and_nothing_past_it(
    sample_api: SampleAPI,
) -> None:
    async with open_app(config(sample_api.url, concurrency=4), "memory://", environ=ALLOY_ENV) as app:
        _, plan, pages = await streamed(app, "offset_total", max_records=90)
        assert [page.number for page in pages] == [0, 1, 2]  # 40 a page: the third reaches 90
        assert await app.store.get_page(plan.session.id, 3) == pages[-1].next_state is not None
        assert await app.store.get_page(plan.session.id, 4) is None


@pytest.mark.anyio
async def test_fetch_stores_nothing_and_commit_stores_the_next_state(app: AppContext) -> None:
    engine = Engine(app)
    plan, start = await engine.open(PagingArguments(source="body_token"))
    page = await engine.fetch(plan, start.number, start.state)
    assert page.next_state is not None and page.next_state.cursor is not None
    assert await app.store.get_page(plan.session.id, 1) is None
    committed = await engine.commit(plan, page)
    assert committed.loop_error is None
    assert await app.store.get_page(plan.session.id, 1) == committed.next_state == page.next_state


@pytest.mark.anyio
async def test_auto_detection_is_stored_only_at_commit(app: AppContext) -> None:
    engine = Engine(app)
    plan, start = await engine.open(PagingArguments(source="auto_link"))
    page = await engine.fetch(plan, start.number, start.state)
    assert page.detected is not None and page.detected.detected is not None
    stored = await app.store.get_session(plan.session.id)
    assert stored is not None and isinstance(stored.pagination, AutoPagination)  # interpret wrote nothing
    assert isinstance(plan.pagination, AutoPagination)
    await engine.commit(plan, page)
    stored = await app.store.get_session(plan.session.id)
    assert stored is not None and stored.detected == page.detected.detected
    assert not isinstance(plan.pagination, AutoPagination)


@pytest.mark.anyio
async def test_commit_ends_paging_at_a_position_the_session_has_visited(app: AppContext) -> None:
    engine = Engine(app)
    plan, start = await engine.open(PagingArguments(source="body_token"))
    first = await engine.commit(plan, await engine.fetch(plan, start.number, start.state))
    assert first.next_state is not None
    second = await engine.fetch(plan, 1, first.next_state)
    second.next_state = start.state  # as if the API led back to the first page
    looped = await engine.commit(plan, second)
    assert looped.next_state is None
    assert looped.loop_error is not None and "already visited (page 1 of this session)" in looped.loop_error
    assert await app.store.get_page(plan.session.id, 2) is None


@pytest.mark.anyio
async def test_a_loop_ends_the_stream_and_list_page_with_the_same_message(fresh_api: SampleAPI) -> None:
    fresh_api.faults = FaultPlan(loop=True)  # cursors lead A -> B -> A
    async with open_app(config(fresh_api.url), "memory://", environ=ALLOY_ENV) as app:
        _, _, pages = await streamed(app, "body_token")
        by_hand = [await tools.list_page(app, PagingArguments(source="body_token"))]
        with anyio.fail_after(HANG_GUARD):
            while by_hand[-1].next_cursor is not None and len(by_hand) < 10:
                by_hand.append(await tools.list_page(app, PagingArguments(cursor=by_hand[-1].next_cursor)))
    assert len(pages) == len(by_hand) == 3
    assert pages[-1].next_state is None and pages[-1].loop_error is not None
    assert f"paging stopped: {pages[-1].loop_error}" in by_hand[-1].notes
