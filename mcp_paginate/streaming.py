"""Pages in order for fetch_all: `page_stream` yields every page from a position to the end.

Sequential for now: each page's request is built from the state the previous page
produced, which is the only safe order for cursor chains.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from mcp_paginate.engine import Engine, Page, Plan
from mcp_paginate.paginators import State

__all__ = ["page_stream"]


@asynccontextmanager
async def page_stream(engine: Engine, plan: Plan, number: int, state: State) -> AsyncIterator[AsyncIterator[Page]]:
    """An iterator over pages ``number``, ``number + 1``, … until the last one (or a loop).

    A context manager, so that concurrent variants can own a task group whose
    in-flight requests are cancelled when the consumer stops early.
    """

    async def sequential() -> AsyncIterator[Page]:
        current_number, current_state = number, state
        records_so_far = state.offset or 0
        while True:
            page = await engine.fetch(plan, current_number, current_state, records_so_far)
            yield page
            if page.next_state is None:
                return
            records_so_far += len(page.records)
            current_number, current_state = current_number + 1, page.next_state

    yield sequential()
