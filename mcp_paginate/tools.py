"""The three tools as plain async functions over an `AppContext` (no MCP import here).

`mcp_paginate.server` registers them with MCP; tests and other programs can call
them directly. Results are pydantic models, which become the tools' output schemas.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, cast

import anyio
from pydantic import BaseModel, Field, WithJsonSchema

from mcp_paginate.app import AppContext
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.background import DrainRecord, Handed, Runner
from mcp_paginate.drain import ProgressCallback, StopReason
from mcp_paginate.engine import Engine, Page, Plan
from mcp_paginate.errors import InputError, TransportError
from mcp_paginate.inline import fit, json_text
from mcp_paginate.records import project
from mcp_paginate.results import RESULTS_URI, read_slice, stored_results
from mcp_paginate.streaming import page_stream

__all__ = [
    "FetchAllResult",
    "ListPageResult",
    "PageInfo",
    "ProgressCallback",
    "SourceInfo",
    "SourcesResult",
    "fetch_all",
    "json_text",
    "list_page",
    "list_pages",
    "list_sources",
    "read_results",
]


class ParamInfo(BaseModel):
    name: str
    description: str
    required: bool


class SourceInfo(BaseModel):
    name: str
    description: str
    params: list[ParamInfo]
    pagination: str = Field(description="Pagination mode: offset, page, cursor, none or auto.")
    max_page_size: int | None = Field(description="Most records one request may ask for; larger is clamped.")


class AdHocInfo(BaseModel):
    allowed: bool = Field(description="Whether list_page/fetch_all accept an ad-hoc request={url,...}.")
    hosts: list[str] = Field(description="Hosts an ad-hoc request.url may reach.")


class SourcesResult(BaseModel):
    sources: list[SourceInfo]
    ad_hoc: AdHocInfo


class PageInfo(BaseModel):
    number: int = Field(description="1-based page number within the session.")
    size: int = Field(description="Records in this result.")
    request: dict[str, Any] = Field(description="The position requested: offset, page, cursor, limit.")


class Seen(BaseModel):
    pages: int = Field(description="Pages reached in this session so far.")
    records: int = Field(description="Records up to the end of this page.")


# A record is whatever the API returned. The schema says "array" and nothing about the items:
# an `items: {}` would have every client's validator walk each record for nothing.
Records = Annotated[
    list[Any], WithJsonSchema({"type": "array", "description": "The records, as the API sent them."})
]


class ListPageResult(BaseModel):
    records: Records
    page: PageInfo
    has_more: bool = Field(description="True if next_cursor leads to more records.")
    total: int | None = Field(default=None, description="Total records, when the API says.")
    cursor: str = Field(description="Pass as cursor to re-read exactly this page.")
    next_cursor: str | None = Field(description="Pass as cursor to read the next page; null at the end.")
    seen: Seen
    detected: dict[str, Any] | None = Field(
        default=None,
        description="The pagination auto mode (or Alloy's form) chose; pin it in config to skip detection.",
    )
    notes: list[str] = Field(default_factory=list)


class FetchAllResult(BaseModel):
    records: Annotated[
        list[Any],
        WithJsonSchema(
            {
                "type": "array",
                "description": (
                    "As many records as fit the inline budget (none if the first alone is over it); "
                    "all are in results_uri."
                ),
            }
        ),
    ]
    returned: int = Field(description="Records included inline here.")
    count: int = Field(description="Records fetched in all (readable in full at results_uri).")
    pages: int = Field(description="Pages read since the cursor (all of them when not resuming).")
    total: int | None = None
    complete: bool = Field(description="True when the source was drained to its end.")
    stop_reason: StopReason
    error: str | None = None
    next_cursor: str | None = Field(
        description="Pass to fetch_all (or list_page) to resume where this stopped."
    )
    results_uri: str = Field(description="MCP resource with every fetched record; append /N for chunk N.")
    detected: dict[str, Any] | None = None
    notes: list[str] = Field(default_factory=list)


async def list_sources(app: AppContext) -> SourcesResult:
    """The sources an assistant may use, and where ad-hoc requests may go."""
    infos = []
    for name, source in sorted(app.config.sources.items()):
        params = [
            ParamInfo(
                name=key,
                description=spec.description,
                required=spec.required and spec.default is None,
            )
            for key, spec in source.params.items()
        ]
        infos.append(
            SourceInfo(
                name=name,
                description=source.description,
                params=params,
                pagination=source.pagination.mode,
                max_page_size=source.max_page_size,
            )
        )
    hosts = list(app.config.server.allowed_hosts)
    return SourcesResult(sources=infos, ad_hoc=AdHocInfo(allowed=bool(hosts), hosts=hosts))


async def list_page(app: AppContext, args: PagingArguments, *, owner: str | None = None) -> ListPageResult:
    """Read one page: the first of a new session, or the one ``args.cursor`` names."""
    engine = Engine(app)
    plan, start = await engine.open(args, owner)
    number, state = start.number, start.state
    deadline = app.config.server.tool_deadline_seconds
    try:
        with anyio.fail_after(deadline):
            page = await engine.fetch(plan, number, state, records_so_far=state.offset or 0)
            page = await engine.commit(plan, page)
    except TimeoutError:
        raise TransportError(
            f"page {number + 1} took longer than the tool-call deadline of {deadline:g}s; "
            "retry with the same cursor later",
            source=plan.name,
        ) from None
    fields = args.fields or plan.session.fields
    budget = app.config.server.max_inline_chars
    return _page_result(app, plan, page, start.skip, fields, budget, plan.notes, state.offset or 0)


@asynccontextmanager
async def list_pages(
    app: AppContext, args: PagingArguments, *, max_records: int | None = None
) -> AsyncIterator[AsyncIterator[ListPageResult]]:
    """The results `list_page` gives call after call, from a source's start (or from
    ``args.cursor``) to the end, each with all of its page's records (no inline budget). The
    pages are fetched as fetch_all fetches them: overlapped where the API allows it, the next
    request of a chain sent before a page is handed on, and nothing requested past
    ``max_records``. Leaving the context early cancels what is in flight.

    Raises (on entry, or from the iterator at the page that failed):
        PaginateError: as `list_page` does.
    """
    engine = Engine(app)
    plan, start = await engine.open(args, None)
    fields = args.fields or plan.session.fields
    skip = start.skip
    limit = None if max_records is None else max_records + skip
    async with page_stream(engine, plan, start.number, start.state, max_records=limit) as pages:

        async def results() -> AsyncIterator[ListPageResult]:
            nonlocal skip
            notes = plan.notes
            async for page in pages:
                yield _page_result(app, plan, page, skip, fields, None, notes, page.state.offset or 0)
                skip, notes = 0, []

        yield results()


def _page_result(
    app: AppContext,
    plan: Plan,
    page: Page,
    skip: int,
    fields: list[str] | None,
    budget: int | None,
    plan_notes: list[str],
    before: int,
) -> ListPageResult:
    """What list_page returns for ``page`` (from record ``skip`` on) within an inline ``budget``
    (None: all records); ``before`` is the session's record count before the page."""
    number = page.number
    records = [project(r, fields) for r in page.records[skip:]] if fields else page.records[skip:]
    if page.repeated:
        records = []  # the previous page's records again: the caller has them already
    shown, cut = records, False
    if budget is not None:
        shown, cut, _ = fit(records, budget)
    notes = list(plan_notes) + page.notes
    if page.loop_error:
        notes.append(f"paging stopped: {page.loop_error}")
    if cut:
        next_cursor = plan.cursor(number, skip + len(shown))
        notes.append(
            f"only {len(shown)} of this page's {len(records)} records fit the inline budget; next_cursor "
            "continues inside this page (or pass fields=[...] / a smaller page_size)"
        )
    elif page.next_state is not None:
        next_cursor = plan.cursor(number + 1)
    else:
        next_cursor = None
    if skip:
        notes.append(f"continued inside page {number + 1}, after its first {skip} records")
    return ListPageResult(
        records=shown,
        page=PageInfo(number=number + 1, size=len(shown), request=page.requested),
        has_more=next_cursor is not None,
        total=page.total,
        cursor=plan.cursor(number, skip),
        next_cursor=next_cursor,
        seen=Seen(pages=number + 1, records=before + len(page.records)),
        detected=plan.session.detected or page.found,
        notes=_redact_notes(app, notes),
    )


async def fetch_all(
    app: AppContext,
    args: FetchAllArguments,
    *,
    owner: str | None = None,
    progress: ProgressCallback | None = None,
) -> FetchAllResult:
    """Drain from the start (or from ``args.cursor``), keeping everything in the store; answer
    by the tool-call deadline, the drain going on in the background (`mcp_paginate.background`).
    A ``next_cursor`` this returned continues the same results, from where it was handed out."""
    settings = app.config.server
    deadline = anyio.current_time() + settings.tool_deadline_seconds
    handed = await app.drains.handed(args.cursor, owner) if args.cursor else None
    notes: list[str] = []
    if handed is None:
        engine = Engine(app)
        plan, start = await engine.open(args, owner)
        notes.extend(plan.notes)
        record = DrainRecord(
            session_id=plan.session.id,
            fields=args.fields,
            dedupe_key=args.dedupe_key,
            max_records=_ceiling(args.max_records, settings.max_records, "max_records", notes),
            max_pages=_ceiling(args.max_pages, settings.max_pages, "max_pages", notes),
        )
        runner: Runner | None = await app.drains.begin(engine, plan, start, record, owner)
        assert runner is not None
        handed = Handed(results_id=runner.record.results_id, offset=0)
    else:
        runner = await app.drains.pick_up(handed, args, owner, deadline, notes)
    if runner is not None:
        await app.drains.follow(runner, progress, deadline)
    return await _drain_result(app, handed, runner, owner, notes)


async def _drain_result(
    app: AppContext, handed: Handed, runner: Runner | None, owner: str | None, notes: list[str]
) -> FetchAllResult:
    """What fetch_all returns: the results as stored now, inline from where the call's cursor
    was handed out (the start, for a new drain)."""
    results_id, offset = handed.results_id, handed.offset
    settings = app.config.server
    meta = await stored_results(app, results_id, owner)
    budget = settings.max_inline_chars
    inline, cut = await read_slice(app, meta, offset, budget=budget, at_least_one=False)
    record = await app.drains.record(results_id) if runner is None else runner.record
    if runner is not None:
        drain = runner.drain
        notes.extend(drain.notes)
        notes.extend(drain.log.notes())
        if drain.dropped_duplicates:
            notes.append(
                f"dropped {drain.dropped_duplicates} records whose {drain.dedupe_key} was already seen"
            )
        pages, total, error = runner.pages, drain.state.total, drain.state.error
    else:
        # Another replica's drain: its record is written when a run ends, chunks as pages are.
        pages = max(record.pages if record is not None else 0, meta.chunks)
        total = record.total if record is not None else None
        error = record.error if record is not None else None
    new = meta.count - offset
    if cut and not inline:
        notes.append(
            f"no records are inline: the first alone is over the inline budget of {budget} chars; "
            f"read all {new} with read_results(results_uri, offset={offset}) (or pass fields=[...])"
        )
    elif cut:
        notes.append(
            f"{len(inline)} of {new} records are inline (budget {budget} chars); read the rest with "
            f"read_results(results_uri, offset={offset + len(inline)})"
        )
    if offset:
        notes.append(f"records from {offset} on (the drain's first {offset} were returned before)")
    stop_reason = cast(StopReason, meta.stop_reason or "deadline")
    next_cursor = meta.cursor if stop_reason != "exhausted" else None
    if next_cursor is not None:
        await app.drains.hand(next_cursor, meta, pages)
    if stop_reason == "deadline":
        notes.append(_deadline_note(settings.tool_deadline_seconds, running=meta.stop_reason is None))
    return FetchAllResult(
        records=inline,
        returned=len(inline),
        count=meta.count,
        pages=max(0, pages - handed.pages),
        total=total,
        complete=meta.complete,
        stop_reason=stop_reason,
        error=error if stop_reason == "error" else None,
        next_cursor=next_cursor,
        results_uri=RESULTS_URI.format(id=results_id),
        detected=(runner.drain.plan.session.detected or runner.drain.found) if runner is not None else None,
        notes=_redact_notes(app, notes),
    )


def _deadline_note(seconds: float, *, running: bool) -> str:
    if running:
        return (
            f"answered at the tool-call deadline of {seconds:g}s; the drain goes on in the background: "
            "call fetch_all(cursor=next_cursor) for what it fetched since (same results_uri)"
        )
    return (
        f"stopped at the tool-call deadline of {seconds:g}s; call fetch_all(cursor=next_cursor) to continue"
    )


async def read_results(
    app: AppContext, results_id: str, chunk: int | None = None, owner: str | None = None
) -> str:
    """The JSON text of a stored result set (or one chunk of it) for the results resource."""
    meta = await app.store.get_results(results_id)
    if meta is None or (meta.owner is not None and meta.owner != owner):
        raise InputError(f"no stored results {results_id!r}; they may have expired. Run fetch_all again.")
    if chunk is not None:
        records = await app.store.get_chunk(results_id, chunk)
        if records is None:
            raise InputError(f"results {results_id!r} have chunks 0..{meta.chunks - 1}, not {chunk}")
        return json.dumps({"id": results_id, "chunk": chunk, "chunks": meta.chunks, "records": records})
    parts = []
    for index in range(meta.chunks):
        records = await app.store.get_chunk(results_id, index) or []
        parts.extend(records)
    header = meta.model_dump(include={"id", "count", "chunks", "complete", "stop_reason"})
    return json.dumps({**header, "records": parts})


def _ceiling(asked: int | None, limit: int, name: str, notes: list[str]) -> int:
    if asked is None:
        return limit
    if asked > limit:
        notes.append(f"{name} {asked} is above the server's ceiling of {limit}; using {limit}")
        return limit
    return asked


def _redact_notes(app: AppContext, notes: list[str]) -> list[str]:
    return [app.redactor.redact(note) for note in notes]
