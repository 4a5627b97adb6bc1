"""The three tools as plain async functions over an `AppContext` (no MCP import here).

`mcp_paginate.server` registers them with MCP; tests and other programs can call
them directly. Results are pydantic models, which become the tools' output schemas.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, Field, WithJsonSchema

from mcp_paginate.app import AppContext
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.drain import Drain, Limits, ProgressCallback, StopReason, StoreSink
from mcp_paginate.engine import Engine, Page, Plan
from mcp_paginate.errors import InputError, PaginateError, TransportError
from mcp_paginate.inline import fit, json_text
from mcp_paginate.records import project
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

RESULTS_URI = "mcp-paginate://results/{id}"


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
        default=None, description="The pagination auto mode chose; pin it in config to skip detection."
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
    pages: int
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
        detected=plan.session.detected,
        notes=_redact_notes(app, notes),
    )


async def fetch_all(
    app: AppContext,
    args: FetchAllArguments,
    *,
    owner: str | None = None,
    progress: ProgressCallback | None = None,
) -> FetchAllResult:
    """Drain from the start (or from ``args.cursor``), keeping everything in the store."""
    settings = app.config.server
    engine = Engine(app)
    plan, start = await engine.open(args, owner)
    notes = list(plan.notes)
    limits = Limits(
        max_records=_ceiling(args.max_records, settings.max_records, "max_records", notes),
        max_pages=_ceiling(args.max_pages, settings.max_pages, "max_pages", notes),
    )
    drain = Drain(
        engine, plan, limits=limits, fields=args.fields, dedupe_key=args.dedupe_key, progress=progress
    )
    sink = await StoreSink.create(app, plan.session.id, owner=owner)
    with anyio.move_on_after(settings.tool_deadline_seconds) as deadline:
        try:
            await drain.run(sink, start)
        except PaginateError as exc:
            drain.fail(app.redactor.redact(str(exc)))
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                drain.state.stop_reason = "cancelled"
                await sink.close(drain.state)
            raise
    if deadline.cancelled_caught:
        drain.fail(
            f"stopped at the tool-call deadline of {settings.tool_deadline_seconds:g}s; "
            "call fetch_all with cursor=next_cursor to continue"
        )
    await sink.close(drain.state)
    return _drain_result(app, drain, sink, notes + drain.notes)


def _drain_result(app: AppContext, drain: Drain, sink: StoreSink, notes: list[str]) -> FetchAllResult:
    """What fetch_all returns for a drain into the store that has stopped."""
    state = drain.state
    notes.extend(drain.log.notes())
    if sink.inline_full and not sink.inline:
        notes.append(
            f"no records are inline: the first alone is over the inline budget of {sink.budget} chars; "
            f"read all {state.count} from results_uri (or pass fields=[...] to keep fewer fields)"
        )
    elif sink.inline_full:
        notes.append(
            f"{len(sink.inline)} of {state.count} records are inline (budget {sink.budget} chars); "
            "read them all from results_uri"
        )
    if drain.dropped_duplicates:
        notes.append(f"dropped {drain.dropped_duplicates} records whose {drain.dedupe_key} was already seen")
    stop_reason: StopReason = state.stop_reason or "exhausted"
    return FetchAllResult(
        records=sink.inline,
        returned=len(sink.inline),
        count=state.count,
        pages=state.pages,
        total=state.total,
        complete=sink.meta.complete,
        stop_reason=stop_reason,
        error=state.error,
        next_cursor=state.cursor if stop_reason != "exhausted" else None,
        results_uri=RESULTS_URI.format(id=sink.meta.id),
        detected=drain.plan.session.detected,
        notes=_redact_notes(app, notes),
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
