"""The one drain (`mcp_paginate.drain`) through both sinks, against the sample API over loopback.

The store sink (fetch_all's chunks and inline records) and the JSON Lines sink (``mcp-paginate
fetch``) keep the same records; max_records cuts inside a page and a later run continues from
the drain's state into the same sink with no gap and no duplicate; dedupe_key drops records
seen before; the inline budget keeps a prefix and leaves the rest in the store.
"""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from typing import Any

import anyio
import pytest

from mcp_paginate import tools
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.drain import Drain, DrainState, JsonLinesSink, Limits, Sink, StoreSink
from mcp_paginate.engine import Engine
from mcp_paginate.errors import PaginateError
from mcp_paginate.inline import json_text
from mcp_paginate.sample import FaultPlan, SampleAPI
from tests.support import ALL_IDS, ALLOY_ENV, sample_config

HANG_GUARD = 30
SINKS = ["store", "json_lines"]


class Kept:
    """A sink of either kind over one app, and the records it holds."""

    def __init__(self, app: AppContext, kind: str) -> None:
        self.app, self.kind = app, kind
        self.text = io.StringIO()
        self.sink: Sink = JsonLinesSink(self.text)
        self.store: StoreSink | None = None

    async def open(self, session_id: str) -> Sink:
        if self.kind == "store":
            self.store = await StoreSink.create(self.app, session_id)
            self.sink = self.store
        return self.sink

    async def records(self) -> list[Any]:
        if self.store is None:
            return [json.loads(line) for line in self.text.getvalue().splitlines()]
        stored = json.loads(await tools.read_results(self.app, self.store.meta.id))
        assert stored["count"] == len(stored["records"])
        return list(stored["records"])


async def drain(app: AppContext, kept: Kept, source: str, **options: Any) -> tuple[Drain, DrainState]:
    """A fresh drain of ``source`` into ``kept``, closed; the drain and its state."""
    engine = Engine(app)
    plan, start = await engine.open(PagingArguments(source=source))
    sink = await kept.open(plan.session.id)
    drainer = Drain(engine, plan, **options)
    with anyio.fail_after(HANG_GUARD):
        state = await drainer.run(sink, start)
    await sink.close(state)
    return drainer, state


async def continued(app: AppContext, kept: Kept, state: DrainState, **options: Any) -> DrainState:
    """Continue a stopped drain from its state, into the same sink."""
    assert state.cursor is not None
    engine = Engine(app)
    plan, start = await engine.resume(state.cursor)
    resumed = DrainState(cursor=state.cursor, count=state.count)
    with anyio.fail_after(HANG_GUARD):
        after = await Drain(engine, plan, state=resumed, **options).run(kept.sink, start)
    await kept.sink.close(after)
    return after


def ids(records: list[Any]) -> list[int]:
    return [record["id"] for record in records]


@pytest.fixture
async def small_budget_app(sample_api: SampleAPI) -> AsyncIterator[AppContext]:
    async with open_app(
        sample_config(sample_api.url, max_inline_chars=1000), "memory://", environ=ALLOY_ENV
    ) as app:
        yield app


@pytest.mark.anyio
@pytest.mark.parametrize("kind", SINKS)
@pytest.mark.parametrize("source", ["offset_total", "body_token", "auto_link"])
async def test_both_sinks_keep_every_record_once_in_order(app: AppContext, kind: str, source: str) -> None:
    kept = Kept(app, kind)
    _, state = await drain(app, kept, source)
    assert ids(await kept.records()) == ALL_IDS
    assert state.stop_reason == "exhausted" and state.cursor is None
    assert state.count == len(ALL_IDS)
    if kept.store is not None:
        assert kept.store.meta.complete and kept.store.meta.cursor is None
        assert kept.store.meta.chunks == state.pages


@pytest.mark.anyio
@pytest.mark.parametrize("kind", SINKS)
async def test_max_records_cuts_inside_a_page_and_the_state_continues_into_the_same_sink(
    app: AppContext, kind: str
) -> None:
    kept = Kept(app, kind)
    _, state = await drain(app, kept, "offset_total", limits=Limits(max_records=55))
    assert state.stop_reason == "max_records" and state.count == 55
    assert state.cursor is not None and state.cursor.endswith(".1.15")  # page 2 (40 a page), record 16
    assert ids(await kept.records()) == ALL_IDS[:55]
    if kept.store is not None:
        assert kept.store.meta.cursor == state.cursor and not kept.store.meta.complete
    after = await continued(app, kept, state)
    assert after.stop_reason == "exhausted" and after.count == len(ALL_IDS)
    assert ids(await kept.records()) == ALL_IDS  # no gap, no duplicate at the cut
    if kept.store is not None:
        assert kept.store.meta.complete and kept.store.meta.count == len(ALL_IDS)


@pytest.mark.anyio
async def test_max_records_counts_what_the_continued_results_hold_already(app: AppContext) -> None:
    kept = Kept(app, "store")
    _, state = await drain(app, kept, "pages_total", limits=Limits(max_records=45))
    after = await continued(app, kept, state, limits=Limits(max_records=100))
    assert after.stop_reason == "max_records" and after.count == 100
    assert ids(await kept.records()) == ALL_IDS[:100]


@pytest.mark.anyio
@pytest.mark.parametrize("kind", SINKS)
async def test_dedupe_key_drops_records_seen_before_on_any_page(app: AppContext, kind: str) -> None:
    # A record's score is (id * 37) % 101: ids 1-101 have every score once, the rest repeat them.
    kept = Kept(app, kind)
    drainer, state = await drain(app, kept, "offset_total", dedupe_key="score")
    assert ids(await kept.records()) == list(range(1, 102))
    assert drainer.dropped_duplicates == len(ALL_IDS) - 101
    assert state.count == 101 and state.stop_reason == "exhausted"


@pytest.mark.anyio
async def test_dedupe_with_max_records_counts_only_the_records_kept(app: AppContext) -> None:
    kept = Kept(app, "json_lines")
    drainer, state = await drain(
        app, kept, "offset_total", dedupe_key="group", limits=Limits(max_records=3, max_pages=2)
    )
    # Three groups: ids 1, 2, 3 are kept; nothing after them is new, so max_pages ends the drain.
    assert ids(await kept.records()) == [1, 2, 3]
    assert state.stop_reason == "max_records" and state.pages == 1
    assert drainer.dropped_duplicates == 0  # the cut came first


@pytest.mark.anyio
async def test_fields_keep_only_those_in_both_sinks(app: AppContext) -> None:
    for kind in SINKS:
        kept = Kept(app, kind)
        await drain(app, kept, "pages_total", fields=["id"], limits=Limits(max_records=45))
        assert await kept.records() == [{"id": i} for i in range(1, 46)]


@pytest.mark.anyio
async def test_the_store_sink_inlines_a_prefix_within_the_budget(small_budget_app: AppContext) -> None:
    kept = Kept(small_budget_app, "store")
    await drain(small_budget_app, kept, "offset_total")
    store = kept.store
    assert store is not None and store.inline_full
    assert 0 < len(store.inline) < len(ALL_IDS)
    assert ids(store.inline) == ALL_IDS[: len(store.inline)]
    assert len(json_text(store.inline)) - 2 <= store.budget  # the records' JSON, less "[]"
    assert ids(await kept.records()) == ALL_IDS  # every record is in the store all the same


@pytest.mark.anyio
async def test_a_failed_page_leaves_a_state_that_resumes_exactly(fresh_api: SampleAPI) -> None:
    async with open_app(sample_config(fresh_api.url), "memory://", environ=ALLOY_ENV) as app:
        kept = Kept(app, "json_lines")
        engine = Engine(app)
        plan, start = await engine.open(PagingArguments(source="offset_total"))
        drainer = Drain(engine, plan)
        fresh_api.faults = FaultPlan(status_every=3, status_code=400)  # the third request fails
        with anyio.fail_after(HANG_GUARD), pytest.raises(PaginateError):
            await drainer.run(kept.sink, start)
        state = drainer.state
        written = ids(await kept.records())
        # Requests overlap (the API gives a total), so which page the third request was varies;
        # whole pages before it were kept, and the state names the page that failed.
        assert written == ALL_IDS[: len(written)] and state.count == len(written)
        assert 0 < len(written) < len(ALL_IDS) and len(written) % 40 == 0
        assert state.cursor == plan.cursor(len(written) // 40)
        fresh_api.faults = FaultPlan()
        after = await continued(app, kept, state)
    assert after.stop_reason == "exhausted"
    assert ids(await kept.records()) == ALL_IDS
