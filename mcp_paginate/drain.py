"""One drain: a session's pages read in order, cut at the limits, deduplicated, and kept by a sink.

`Drain.run` reads pages from a `Position` (`page_stream`, so requests overlap where the API
allows it) and hands each page's records to a `Sink`: the store (`StoreSink`: fetch_all's
result chunks and its inline records) or a JSON Lines file (`JsonLinesSink`: ``mcp-paginate
fetch``). Where it got is a `DrainState`, plain data updated page by page, right after a
page's records are kept: the sink persists it (`Sink.close`), and a later run continues from
its ``cursor`` into the same sink, counting on from its ``count``::

    plan, start = await engine.open(args, owner)
    sink = await StoreSink.create(app, plan.session.id, owner=owner)
    drain = Drain(engine, plan, limits=Limits(max_records=1000))
    try:
        await drain.run(sink, start)
    except PaginateError as exc:
        drain.fail(str(exc))
    await sink.close(drain.state)

    # later, from the stored results: the same drain, continued
    plan, start = await engine.resume(meta.cursor, owner)
    drain = Drain(engine, plan, state=DrainState(cursor=meta.cursor, count=meta.count))
    await drain.run(StoreSink(app.store, meta, budget), start)
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TextIO

from mcp_paginate.app import AppContext
from mcp_paginate.engine import Engine, Page, Plan, Position
from mcp_paginate.http import RequestLog
from mcp_paginate.inline import fit
from mcp_paginate.records import project
from mcp_paginate.sessions import ResultsMeta, new_id
from mcp_paginate.store.base import Store
from mcp_paginate.streaming import page_stream

__all__ = [
    "Drain",
    "DrainState",
    "JsonLinesSink",
    "Limits",
    "ProgressCallback",
    "Sink",
    "StopReason",
    "StoreSink",
]

StopReason = Literal["exhausted", "max_records", "max_pages", "error", "cancelled", "deadline"]

ProgressCallback = Callable[[int, int | None, str], Awaitable[None]]
"""Called after every page with (records kept, total when the API says, a one-line summary)."""


@dataclass
class DrainState:
    """How far a drain got: plain data, updated right after each page's records are kept."""

    cursor: str | None = None
    """Where the next record is (a cursor); None once there is nothing to continue."""
    count: int = 0
    """Records kept, by this run and the runs it continues."""
    pages: int = 0
    """Pages read by this run."""
    total: int | None = None
    """Records in all, when the API says."""
    stop_reason: StopReason | None = None
    """Why the drain stopped; None while it runs."""
    error: str | None = None


@dataclass(frozen=True)
class Limits:
    """Where a drain stops (None: no limit). ``max_records`` counts the records kept in all
    (`DrainState.count`), ``max_pages`` the pages read by one run."""

    max_records: int | None = None
    max_pages: int | None = None


class Sink(Protocol):
    """Where a drain's records go, in order."""

    async def write(self, page: Page, records: list[Any]) -> None:
        """Keep ``records``: those of ``page`` the drain kept (cut, deduplicated, projected)."""

    async def checkpoint(self, state: DrainState) -> None:
        """A page's records were written and ``state`` counts them: keep where the drain got."""

    async def close(self, state: DrainState) -> None:
        """The drain stopped (``state.stop_reason``): keep where it got."""


class Drain:
    """One run over a plan's pages into a sink, within limits; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        plan: Plan,
        *,
        limits: Limits | None = None,
        fields: list[str] | None = None,
        dedupe_key: str | None = None,
        progress: ProgressCallback | None = None,
        state: DrainState | None = None,
    ) -> None:
        self.engine, self.plan, self.limits = engine, plan, limits or Limits()
        self.fields = fields or plan.session.fields
        self.dedupe_key, self.progress = dedupe_key, progress
        self.state = state or DrainState()
        self.notes: list[str] = []
        """The pages' notes, each once (retries are summed in `log` instead)."""
        self.log = RequestLog()
        self.dropped_duplicates = 0
        self.found: dict[str, Any] | None = None
        """What a page found to pin (Alloy's form and scheme), from the first that found one."""
        self._seen_keys: set[str] = set()
        self._last_records: list[Any] = []

    async def run(self, sink: Sink, start: Position) -> DrainState:
        """Read from ``start`` until the end, a limit or a loop, keeping records in ``sink``.

        Raises:
            PaginateError: a page failed; ``state.cursor`` continues from the first record not kept.
        """
        state, skip = self.state, start.skip
        state.cursor = self.plan.cursor(start.number, skip)
        limit = self.limits.max_records
        # The stream stops requesting where these limits stop the drain. With dedupe_key it cannot
        # know (dropped duplicates do not count), so only max_pages bounds its requests.
        records = None if limit is None or self.dedupe_key is not None else limit - state.count + skip
        async with page_stream(
            self.engine,
            self.plan,
            start.number,
            start.state,
            max_pages=self.limits.max_pages,
            max_records=records,
        ) as pages:
            async for page in pages:
                if await self._page(sink, page, skip):
                    return state
                skip = 0
        state.stop_reason = state.stop_reason or "exhausted"
        return state

    async def _page(self, sink: Sink, page: Page, skip: int) -> bool:
        """Take one page (from record ``skip``); whether the drain stops here."""
        state = self.state
        state.pages += 1
        self.found = self.found or page.found
        if page.total is not None:
            state.total = page.total
        self._note(page)
        if page.repeated or (page.loop_error and page.records and page.records == self._last_records):
            # The API ignored the position it was sent and answered the same page again.
            self.notes.append(
                f"page {page.number + 1} repeated page {page.number} record for record (the API "
                "ignored the position it was sent); its records were not kept twice"
            )
            return self._stop("error", None, page.loop_error)
        self._last_records = page.records
        kept, cut_at = self._kept(page, skip)
        if kept or cut_at is None:
            await sink.write(page, kept)
        # No checkpoint between keeping the records and saying so: an interrupted run's state
        # names exactly the first record not kept.
        state.count += len(kept)
        if cut_at is not None:
            state.cursor = self.plan.cursor(page.number, cut_at)
        elif page.next_state is not None:
            state.cursor = self.plan.cursor(page.number + 1)
        await sink.checkpoint(state)
        if self.progress is not None:
            await self.progress(state.count, state.total, f"{state.count} records, {state.pages} pages")
        if cut_at is not None:
            return self._stop("max_records", state.cursor)
        if page.loop_error:
            return self._stop("error", None, page.loop_error)
        if page.next_state is None:
            return self._stop("exhausted", None)
        limits = self.limits
        if limits.max_records is not None and state.count >= limits.max_records:
            return self._stop("max_records", state.cursor)
        if limits.max_pages is not None and state.pages >= limits.max_pages:
            return self._stop("max_pages", state.cursor)
        return False

    def _kept(self, page: Page, skip: int) -> tuple[list[Any], int | None]:
        """A page's records from ``skip`` on, deduplicated and projected, up to max_records; and
        where the page was cut if that limit was reached inside it."""
        kept: list[Any] = []
        limit = self.limits.max_records
        for index in range(skip, len(page.records)):
            if limit is not None and self.state.count + len(kept) >= limit:
                return kept, index
            record = page.records[index]
            if self.dedupe_key is not None and isinstance(record, dict):
                key = _dotted(record, self.dedupe_key)
                if key is not None:
                    marker = json.dumps(key, sort_keys=True, default=str)
                    if marker in self._seen_keys:
                        self.dropped_duplicates += 1
                        continue
                    self._seen_keys.add(marker)
            kept.append(project(record, self.fields) if self.fields else record)
        return kept, None

    def _note(self, page: Page) -> None:
        self.log.add(page.log)
        retries = page.log.notes()  # summed over the pages in `log`, not repeated per page
        self.notes.extend(note for note in page.notes if note not in self.notes and note not in retries)

    def _stop(self, reason: StopReason, cursor: str | None, error: str | None = None) -> bool:
        self.state.stop_reason, self.state.cursor, self.state.error = reason, cursor, error
        return True

    def fail(self, message: str) -> None:
        """Stop with an error (already redacted); ``state.cursor`` still continues the drain."""
        self.state.stop_reason, self.state.error = "error", message


class StoreSink:
    """A drain's records in the store, a chunk per page under one `ResultsMeta`, and the first
    of them in memory, as many as fit the inline budget (fetch_all's inline records)."""

    def __init__(self, app: AppContext, meta: ResultsMeta) -> None:
        self.store: Store = app.store
        self.meta = meta
        self.budget = app.config.server.max_inline_chars
        self.inline: list[Any] = []
        self.inline_chars = 0
        self.inline_full = False
        """Whether a record did not fit (it, and all after it, are only in the store)."""

    @classmethod
    async def create(cls, app: AppContext, session_id: str, *, owner: str | None = None) -> StoreSink:
        """A new, empty result set for a session's records, stored at once."""
        now = time.time()
        meta = ResultsMeta(
            id=new_id(),
            session_id=session_id,
            owner=owner,
            created=now,
            expires=now + app.config.server.session_ttl_seconds,
        )
        await app.store.put_results(meta)
        return cls(app, meta)

    async def write(self, page: Page, records: list[Any]) -> None:
        await self.store.put_chunk(self.meta.id, self.meta.chunks, records)
        self.meta.chunks += 1
        self.meta.count += len(records)
        if self.inline_full:
            return
        # Every record is in the store: one over the budget alone is left there, not inlined.
        kept, self.inline_full, used = fit(records, self.budget - self.inline_chars, at_least_one=False)
        self.inline.extend(kept)
        self.inline_chars += used

    async def checkpoint(self, state: DrainState) -> None:
        # Stored with every page, so a drain still running can be read, and one whose replica
        # died resumes from its last stored page: the cursor and the chunks written agree.
        self.meta.stop_reason = None
        self.meta.cursor = state.cursor
        await self.store.put_results(self.meta)

    async def close(self, state: DrainState) -> None:
        self.meta.complete = state.stop_reason == "exhausted"
        self.meta.stop_reason = state.stop_reason
        self.meta.cursor = state.cursor
        await self.store.put_results(self.meta)


class JsonLinesSink:
    """A drain's records as JSON Lines, written and flushed page by page (memory stays flat)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    async def write(self, page: Page, records: list[Any]) -> None:
        if records:
            self.stream.write("".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records))
        self.stream.flush()

    async def checkpoint(self, state: DrainState) -> None:
        pass  # each write is flushed already

    async def close(self, state: DrainState) -> None:
        self.stream.flush()


def _dotted(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
