"""Pages in order for fetch_all: `page_stream` yields every page from a position to the end.

A cursor chain is sequential: each request needs what the previous response handed out.
Offset and page modes can overlap requests, because where page ``n + k`` is follows from
page ``n``: the same state with the offset advanced by ``k`` full pages (and the page number
by ``k``). Requests are overlapped in two cases, always within the source's throttle
(``concurrency`` requests in flight, ``rate_limit`` per second, halved on 429):

- the API reported a ``total``: up to ``concurrency`` pages are in flight, never past the total;
- the source opts in with ``prefetch = k`` (APIs that only say ``has_more``, like Alloy):
  ``k`` pages beyond the next one are requested as if every page were full. The cost is at
  most ``k + 1`` wasted requests when the data ends (the pages guessed beyond the last one, and the
  guess that follows a short page, whose records-so-far no longer match).

Correctness comes first. A page requested ahead is delivered only once its predicted state
(and records-so-far) equals the state the page before it actually led to, i.e. it is exactly
the request sequential paging would have made; its next state is written to the session only
then, in order (``add_page`` is insert-if-absent: a guessed state stored early would fork the
session, or look like a loop). The first mismatch (a short page, a server-given next offset
that skips) cancels everything requested ahead and paging continues sequentially from the
real state. Leaving the context cancels requests still in flight.

One page at a time (a cursor chain, or an API that says only ``has_more``), the chain's speed
is its turnaround from one response to the next request, so the producer requests the next
page before the page it has is stored: the consumer stores where the next page is once that
request is on the wire, and the producer uses the answer only if what was stored is what it
requested (not a loop, and not a state another caller stored first).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from mcp_paginate.engine import Engine, Page, Plan
from mcp_paginate.errors import PaginateError
from mcp_paginate.paginators import AutoPagination, OffsetPagination, PagePagination, State

__all__ = ["page_stream"]


@asynccontextmanager
async def page_stream(
    engine: Engine,
    plan: Plan,
    number: int,
    state: State,
    *,
    max_pages: int | None = None,
    max_records: int | None = None,
) -> AsyncIterator[AsyncIterator[Page]]:
    """An iterator over pages ``number``, ``number + 1``, … until the last one (or a loop).

    A producer task fetches the pages, one ahead of the consumer even for cursor chains (the
    next request overlaps the consumer's work on the current page, storing its state included).
    Leaving the context cancels whatever is still in flight: one page's request, or the window
    requested ahead.

    With ``max_pages`` (pages to deliver) or ``max_records`` (records to deliver, counted as
    the API sent them), the stream ends at the page that reaches the limit, with that page's
    next state stored so paging can resume there; nothing is requested past it, neither by
    the chain nor ahead.

    Example::

        async with page_stream(engine, plan, 0, first_state) as pages:
            async for page in pages:
                ...

    Raises (from the iterator, in page order):
        PaginateError: the next page failed (a page requested ahead that fails is only
            reported if it turns out to be the next page).
    """
    # One page may wait here while the consumer is busy, so a chain's next request never waits
    # for the consumer.
    send, receive = anyio.create_memory_object_stream[_Item](1)
    failure: BaseException | None = None
    try:
        async with anyio.create_task_group() as task_group:
            stream = _Stream(engine, plan, task_group, max_pages, max_records)
            task_group.start_soon(stream.produce, number, state, send)
            pages = _delivered(receive, stream)
            try:
                yield pages
            except BaseException as exc:  # re-raised below, outside the task group (not as a group)
                failure = exc
            finally:
                await pages.aclose()
                task_group.cancel_scope.cancel()
    finally:
        receive.close()
    if failure is not None:
        raise failure


async def _delivered(
    receive: MemoryObjectReceiveStream[_Item], stream: _Stream
) -> AsyncGenerator[Page, None]:
    async for item in receive:
        if isinstance(item, PaginateError):
            raise item
        if isinstance(item, _Unstored):
            # Store where the next page is once the producer's request for it is on the wire.
            try:
                await item.sent.wait()
                try:
                    await stream.engine.commit(stream.plan, item.page)
                except PaginateError:
                    item.failed = True
                    raise
            finally:
                item.stored.set()
            yield item.page
            continue
        # Let the producer, woken by this hand-over, send the next request before the consumer
        # stores this page and reports progress: that work then overlaps the round trip instead
        # of delaying it (a cursor chain is as fast as its turnaround between pages).
        await anyio.lowlevel.checkpoint()
        yield item


@dataclasses.dataclass(eq=False)
class _Unstored:
    """A page of a chain whose next state the consumer stores (`Engine.commit`) before using it."""

    page: Page
    sent: anyio.Event = dataclasses.field(default_factory=anyio.Event)
    """Set once the request for the next page is on the wire (or failed, or was never made)."""
    stored: anyio.Event = dataclasses.field(default_factory=anyio.Event)
    failed: bool = False


_Item = Page | PaginateError | _Unstored


@dataclasses.dataclass(eq=False)
class _Ahead:
    """A page requested ahead with a predicted state, and what came back."""

    number: int
    state: State
    records_so_far: int
    scope: anyio.CancelScope = dataclasses.field(default_factory=anyio.CancelScope)
    done: anyio.Event = dataclasses.field(default_factory=anyio.Event)
    page: Page | None = None
    error: PaginateError | None = None


class _Stream:
    """The ordered pages of one fetch_all, with requests made ahead where that is safe."""

    def __init__(
        self,
        engine: Engine,
        plan: Plan,
        task_group: TaskGroup,
        max_pages: int | None = None,
        max_records: int | None = None,
    ) -> None:
        self.engine = engine
        self.plan = plan
        self.task_group = task_group
        # Pages are fetched uncommitted (`Engine.fetch`); each is committed once it is known to be
        # the page sequential paging reads, in order.
        self.ahead: dict[int, _Ahead] = {}
        self.predicting = True  # until a prediction turns out wrong
        self.prefetch = plan.source.prefetch if plan.source is not None else 0
        self.visited: set[str] = set()  # positions requested by this stream
        self.pages_left, self.records_left = max_pages, max_records  # None: no limit

    async def produce(self, number: int, state: State, send: MemoryObjectSendStream[_Item]) -> None:
        """Send the pages in order, then close ``send``; an error is sent in place of its page."""
        with send:
            records_so_far = state.offset or 0
            self.visited.add(state.position())
            ready: Page | None = None  # the next page, fetched already by `_chain`
            while True:
                try:
                    if ready is not None:
                        page, stored, ready = ready, False, None
                    else:
                        page, stored = await self._page(number, state, records_so_far)
                    following = page.next_state
                    if self._spend(page) == 0 and following is not None:
                        # The last page the limits allow: no request after it, its successor stored.
                        if not stored:
                            page = await self.engine.commit(self.plan, page)
                        self._cancel_ahead()
                        await send.send(page)
                        return
                    if following is not None and not stored:
                        if self._chains(page, following):
                            ready, error, go_on = await self._chain(page, records_so_far, send)
                            if not go_on:
                                self._cancel_ahead()
                                return
                            if error is not None:
                                await send.send(error)
                                return
                            records_so_far += len(page.records)
                            assert page.next_state is not None
                            number, state = number + 1, page.next_state
                            continue
                        page = await self.engine.commit(self.plan, page)
                        self.visited.add(following.position())
                except PaginateError as exc:
                    self._cancel_ahead()
                    await send.send(exc)
                    return
                if page.next_state is None:
                    self._cancel_ahead()
                    await send.send(page)
                    return
                records_so_far += len(page.records)
                number, state = number + 1, page.next_state
                self._request_ahead(page, number, state, records_so_far)
                await send.send(page)

    def _spend(self, page: Page) -> int | None:
        """Count ``page`` against the limits; how many more pages they allow (None: no limit)."""
        if self.pages_left is not None:
            self.pages_left -= 1
        if self.records_left is not None:
            self.records_left -= len(page.records)
        return self._allowed(len(page.records))

    def _allowed(self, per_page: int) -> int | None:
        """How many more pages the limits allow, for pages of ``per_page`` records."""
        allowed = self.pages_left
        if self.records_left is not None and per_page > 0:
            by_records = max(0, math.ceil(self.records_left / per_page))
            allowed = by_records if allowed is None else min(allowed, by_records)
        return None if allowed is None else max(0, allowed)

    def _chains(self, page: Page, following: State) -> bool:
        """Whether the page after ``page`` is requested alone, right away (a chain of requests)."""
        return (
            page.number + 1 not in self.ahead
            and following.position() not in self.visited  # else storing it first finds the loop
            and self._window(page, following) <= 1
        )

    async def _chain(
        self, page: Page, records_so_far: int, send: MemoryObjectSendStream[_Item]
    ) -> tuple[Page | None, PaginateError | None, bool]:
        """Hand ``page`` to the consumer and request the next page at once.

        The consumer stores where the next page is (`Engine.commit`) while that request is on the
        wire, which takes the store's round trip off the chain's critical path. Returns the
        next page (None if its request cannot be used: storing found a loop, or another caller
        had stored a different next state, which is then requested instead), the error the
        request ended in, and whether the stream goes on.
        """
        following = page.next_state
        assert following is not None
        item = _Unstored(page)
        try:
            send.send_nowait(item)  # no trip through the event loop before the next request
        except anyio.WouldBlock:
            await send.send(item)
        fetched: Page | None = None
        error: PaginateError | None = None
        try:
            fetched = await self.engine.fetch(
                self.plan, page.number + 1, following, records_so_far + len(page.records), sent=item.sent
            )
        except PaginateError as exc:
            error = exc
        finally:
            item.sent.set()
        if not item.stored.is_set():  # it almost always is; waiting on a set anyio Event still
            await item.stored.wait()  # yields to the event loop, which delays the next request
        if item.failed or page.next_state is None:
            return None, None, False  # the consumer reports the store's error, or the loop
        self.visited.add(following.position())
        if page.next_state is not following and page.next_state != following:  # (usually the same object)
            return None, None, True
        return fetched, error, True

    async def _page(self, number: int, state: State, records_so_far: int) -> tuple[Page, bool]:
        """Page ``number``, and whether its next state is stored already."""
        ahead = self.ahead.pop(number, None)
        if ahead is not None:
            if _same_place(ahead.state, state) and ahead.records_so_far == records_so_far:
                await ahead.done.wait()
                if ahead.error is not None:
                    raise ahead.error
                if ahead.page is not None:
                    return ahead.page, False
            # The guess was wrong (or its request was cancelled): from here on, one page at a time.
            self.predicting = False
            self._cancel_ahead()
        page = await self.engine.fetch(self.plan, number, state, records_so_far)
        if isinstance(self.plan.pagination, AutoPagination):
            # The detected pagination is committed at once: every page after this one follows it.
            return await self.engine.commit(self.plan, page), True
        return page, False

    def _request_ahead(self, page: Page, number: int, state: State, records_so_far: int) -> None:
        """Request pages ``number …`` with predicted states, as many as the window allows."""
        window = self._window(page, state)
        if window <= 1:
            return
        assert state.offset is not None and page.state.offset is not None
        step = state.offset - page.state.offset
        count = len(page.records)
        for distance in range(window):
            if number + distance in self.ahead:
                continue
            ahead = _Ahead(
                number=number + distance,
                state=_advanced(state, distance, step),
                records_so_far=records_so_far + distance * count,
            )
            self.ahead[ahead.number] = ahead
            self.task_group.start_soon(self._fetch_ahead, ahead)

    def _window(self, page: Page, following: State) -> int:
        """How many pages from the next one on may be in flight (0 or 1: none ahead)."""
        # Read now, not at the start: auto mode knows its concrete mode after the first page.
        if not self.predicting or not isinstance(self.plan.pagination, OffsetPagination | PagePagination):
            return 0
        if self.plan.session.probe is not None:
            return 0  # the second page checks the pagination guessed from the first: nothing ahead
        if (page.total is None and not self.prefetch) or not _plain_advance(page.state, following):
            return 0
        assert following.offset is not None and page.state.offset is not None
        step = following.offset - page.state.offset
        if step <= 0:
            return 0
        if page.total is not None:
            remaining = math.ceil((page.total - following.offset) / step)
            window = min(self.plan.throttle.current_concurrency, remaining)
        else:
            window = self.prefetch + 1 if self.prefetch else 0
        allowed = self._allowed(len(page.records))  # never request past max_pages / max_records
        return window if allowed is None else min(window, allowed)

    async def _fetch_ahead(self, ahead: _Ahead) -> None:
        with ahead.scope:
            try:
                ahead.page = await self.engine.fetch(
                    self.plan, ahead.number, ahead.state, ahead.records_so_far
                )
            except PaginateError as exc:
                ahead.error = exc
        ahead.done.set()

    def _cancel_ahead(self) -> None:
        for ahead in self.ahead.values():
            ahead.scope.cancel()
        self.ahead.clear()


def _plain_advance(state: State, following: State) -> bool:
    """Whether the step from ``state`` to ``following`` moved the position and changed nothing else.

    Only then is the step worth repeating as a prediction: while an API's page size is still
    being learned (a silent cap), or after empty pages, the states change in other ways too.
    """
    if state.offset is None or following.offset is None:
        return False
    return _same_place(following.model_copy(update={"offset": state.offset, "page": state.page}), state)


def _same_place(state: State, other: State) -> bool:
    """Whether two states ask for the same thing, whatever pages came before them (``after``)."""
    return state.model_copy(update={"after": other.after}) == other


def _advanced(state: State, distance: int, step: int) -> State:
    if distance == 0:
        return state
    assert state.offset is not None
    update: dict[str, Any] = {"offset": state.offset + distance * step}
    if state.page is not None:
        update["page"] = state.page + distance
    return state.model_copy(update=update)
