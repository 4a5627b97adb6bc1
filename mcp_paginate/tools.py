"""The three tools as plain async functions over an `AppContext` (no MCP import here).

`mcp_paginate.server` registers them with MCP; tests and other programs can call
them directly. Results are pydantic models, which become the tools' output schemas.
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

import anyio
import pydantic_core
from pydantic import BaseModel, Field, GetJsonSchemaHandler, WithJsonSchema
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from mcp_paginate.app import AppContext
from mcp_paginate.engine import Engine, Page, Plan
from mcp_paginate.errors import InputError, PaginateError, TransportError
from mcp_paginate.http import RequestLog
from mcp_paginate.paginators import State
from mcp_paginate.records import project
from mcp_paginate.sessions import ResultsMeta, new_id
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

ProgressCallback = Callable[[int, int | None, str], Awaitable[None]]
RESULTS_URI = "mcp-paginate://results/{id}"


class _FlatSchema(BaseModel):
    """A result model whose JSON schema (the tool's outputSchema) is flat: nested models inlined
    instead of ``$ref``-ed, ``X | None`` as ``"type": [X, "null"]`` instead of an ``anyOf``, no
    titles. Every client validates every result against it, and a validator resolving
    references and trying branches costs more than the checks themselves (Python's jsonschema
    takes about twice as long); a host that shows the schema reads less."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler.resolve_ref_schema(handler(core_schema))
        flat = _flattened(schema, handler.resolve_ref_schema)
        schema.clear()
        schema.update(flat)
        return schema


def _flattened(node: Any, resolve: Callable[[JsonSchemaValue], JsonSchemaValue]) -> Any:
    if isinstance(node, list):
        return [_flattened(item, resolve) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = copy.deepcopy(resolve({"$ref": node["$ref"]}))
        return _flattened({**target, **{k: v for k, v in node.items() if k != "$ref"}}, resolve)
    flat = {
        key: value if key in {"default", "const", "enum", "examples"} else _flattened(value, resolve)
        for key, value in node.items()
        if key != "title"
    }
    branches = flat.get("anyOf")
    if isinstance(branches, list) and len(branches) == 2 and {"type": "null"} in branches:
        other = next(branch for branch in branches if branch != {"type": "null"})
        if isinstance(other.get("type"), str):
            del flat["anyOf"]
            flat = {**other, **flat, "type": [other["type"], "null"]}
    return flat


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


class SourcesResult(_FlatSchema):
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


class ListPageResult(_FlatSchema):
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


StopReason = Literal["exhausted", "max_records", "max_pages", "error", "cancelled"]


class FetchAllResult(_FlatSchema):
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


async def list_page(
    app: AppContext,
    *,
    source: str | None = None,
    params: Mapping[str, Any] | None = None,
    request: Mapping[str, Any] | None = None,
    pagination: Mapping[str, Any] | None = None,
    cursor: str | None = None,
    page_size: int | None = None,
    fields: list[str] | None = None,
    owner: str | None = None,
) -> ListPageResult:
    """Read one page: the first of a new session, or the one a cursor names."""
    engine = Engine(app)
    plan, number, skip, state = await _open(
        engine, source, params, request, pagination, cursor, page_size, fields, owner
    )
    deadline = app.config.server.tool_deadline_seconds
    try:
        with anyio.fail_after(deadline):
            page = await engine.fetch(plan, number, state, records_so_far=state.offset or 0)
    except TimeoutError:
        raise TransportError(
            f"page {number + 1} took longer than the tool-call deadline of {deadline:g}s; "
            "retry with the same cursor later",
            source=plan.name,
        ) from None
    fields = fields or plan.session.fields
    budget = app.config.server.max_inline_chars
    return _page_result(app, plan, page, skip, fields, budget, plan.notes, state.offset or 0)


@asynccontextmanager
async def list_pages(
    app: AppContext,
    *,
    source: str | None = None,
    params: Mapping[str, Any] | None = None,
    cursor: str | None = None,
    fields: list[str] | None = None,
    max_records: int | None = None,
) -> AsyncIterator[AsyncIterator[ListPageResult]]:
    """The results `list_page` gives call after call, from a source's start (or from ``cursor``)
    to the end, each with all of its page's records (no inline budget). The pages are fetched as
    fetch_all fetches them: overlapped where the API allows it, the next request of a chain sent
    before a page is handed on, and nothing requested past ``max_records``. Leaving the context
    early cancels what is in flight.

    Raises (on entry, or from the iterator at the page that failed):
        PaginateError: as `list_page` does.
    """
    engine = Engine(app)
    plan, number, skip, state = await _open(engine, source, params, None, None, cursor, None, fields, None)
    fields = fields or plan.session.fields
    limit = None if max_records is None else max_records + skip
    async with page_stream(engine, plan, number, state, max_records=limit) as pages:

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
        shown, cut, _ = _fit(records, budget)
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
    *,
    source: str | None = None,
    params: Mapping[str, Any] | None = None,
    request: Mapping[str, Any] | None = None,
    pagination: Mapping[str, Any] | None = None,
    cursor: str | None = None,
    page_size: int | None = None,
    fields: list[str] | None = None,
    max_records: int | None = None,
    max_pages: int | None = None,
    dedupe_key: str | None = None,
    owner: str | None = None,
    progress: ProgressCallback | None = None,
) -> FetchAllResult:
    """Drain from the start (or from cursor), keeping everything in the store."""
    settings = app.config.server
    engine = Engine(app)
    plan, number, skip, state = await _open(
        engine, source, params, request, pagination, cursor, page_size, fields, owner
    )
    notes = list(plan.notes)
    record_limit = _ceiling(max_records, settings.max_records, "max_records", notes)
    page_limit = _ceiling(max_pages, settings.max_pages, "max_pages", notes)
    fields = fields or plan.session.fields
    drain = _Drain(app, plan, record_limit, page_limit, fields, dedupe_key, progress, owner)
    await drain.begin()
    with anyio.move_on_after(settings.tool_deadline_seconds) as deadline:
        try:
            await drain.run(engine, number, skip, state)
        except PaginateError as exc:
            drain.fail(str(exc))
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                drain.stop_reason = "cancelled"
                await drain.finish()
            raise
    if deadline.cancelled_caught:
        drain.fail(
            f"stopped at the tool-call deadline of {settings.tool_deadline_seconds:g}s; "
            "call fetch_all with cursor=next_cursor to continue"
        )
    await drain.finish()
    return drain.result(_redact_notes(app, notes + drain.notes))


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


async def _open(
    engine: Engine,
    source: str | None,
    params: Mapping[str, Any] | None,
    request: Mapping[str, Any] | None,
    pagination: Mapping[str, Any] | None,
    cursor: str | None,
    page_size: int | None,
    fields: list[str] | None,
    owner: str | None,
) -> tuple[Plan, int, int, State]:
    if cursor is not None:
        extra = [
            name
            for name, value in (
                ("source", source),
                ("request", request),
                ("pagination", pagination),
                ("params", params),
            )
            if value
        ]
        if extra:
            raise InputError(
                f"pass either cursor (to continue a session) or {', '.join(extra)} (to start one), not both"
            )
        if page_size is not None:
            raise InputError("page_size is fixed when a session starts; continue with cursor alone")
        return await engine.resume(cursor, owner)
    plan = await engine.start(
        source=source,
        params=params,
        request=request,
        pagination=pagination,
        page_size=page_size,
        fields=fields,
        owner=owner,
    )
    state = await engine.app.store.get_page(plan.session.id, 0)
    assert state is not None
    return plan, 0, 0, state


def _ceiling(asked: int | None, limit: int, name: str, notes: list[str]) -> int:
    if asked is None:
        return limit
    if asked < 1:
        raise InputError(f"{name} must be at least 1")
    if asked > limit:
        notes.append(f"{name} {asked} is above the server's ceiling of {limit}; using {limit}")
        return limit
    return asked


def _fit(records: list[Any], budget: int, *, at_least_one: bool = True) -> tuple[list[Any], bool, int]:
    """The leading records whose JSON fits ``budget`` characters, whether any were cut, and the
    characters they take (each record's JSON plus a separator). ``at_least_one`` keeps the first
    record even when it alone is over the budget: a list_page result is never empty for size
    alone, as its records are nowhere else (fetch_all's are all in results_uri)."""
    if not records:
        return records, False, 0
    whole = _chars(records) - 1  # less "[]", plus ","s
    if whole <= budget:
        return records, False, whole  # the common case, in one pass
    used = 0
    for index, record in enumerate(records):
        size = _chars(record) + 1
        if used + size > budget and (index > 0 or not at_least_one):
            return records[:index], True, used
        used += size
    return records, False, used


def json_text(value: Any) -> str:
    """``value`` as the JSON text a tool result carries (UTF-8 characters, not ``\\u`` escapes);
    the inline budget is measured in the same text."""
    return pydantic_core.to_json(value, fallback=str).decode()


def _chars(value: Any) -> int:
    return len(json_text(value))


def _redact_notes(app: AppContext, notes: list[str]) -> list[str]:
    return [app.redactor.redact(note) for note in notes]


class _Drain:
    """The bookkeeping of one fetch_all: limits, dedupe, inline budget, stored chunks."""

    def __init__(
        self,
        app: AppContext,
        plan: Plan,
        record_limit: int,
        page_limit: int,
        fields: list[str] | None,
        dedupe_key: str | None,
        progress: ProgressCallback | None,
        owner: str | None,
    ) -> None:
        self.app, self.plan = app, plan
        self.record_limit, self.page_limit = record_limit, page_limit
        self.fields, self.dedupe_key = fields, dedupe_key
        self.progress = progress
        now = time.time()
        self.meta = ResultsMeta(
            id=new_id(),
            session_id=plan.session.id,
            owner=owner,
            created=now,
            expires=now + app.config.server.session_ttl_seconds,
        )
        self.inline: list[Any] = []
        self.inline_chars = 0
        self.inline_full = False
        self.pages = 0
        self.total: int | None = None
        self.stop_reason: StopReason = "exhausted"
        self.error: str | None = None
        self.next_cursor: str | None = None
        self.position: tuple[int, int] = (0, 0)
        self.seen_keys: set[str] = set()
        self.dropped_duplicates = 0
        self.notes: list[str] = []
        self.log = RequestLog()
        self.last_records: list[Any] = []

    async def begin(self) -> None:
        await self.app.store.put_results(self.meta)

    async def run(self, engine: Engine, number: int, skip: int, state: State) -> None:
        self.position = (number, skip)
        # The stream stops requesting where these limits stop the drain. With dedupe_key it cannot
        # know (dropped duplicates do not count), so only max_pages bounds its requests.
        records = None if self.dedupe_key is not None else self.record_limit + skip
        async with page_stream(
            engine, self.plan, number, state, max_pages=self.page_limit, max_records=records
        ) as pages:
            async for page in pages:
                self.pages += 1
                if page.total is not None:
                    self.total = page.total
                self.log.add(page.log)
                retries = page.log.notes()  # summed over the pages in `result`, not repeated per page
                self.notes.extend(
                    note for note in page.notes if note not in self.notes and note not in retries
                )
                if page.repeated or (page.loop_error and page.records and page.records == self.last_records):
                    # The API ignored the position it was sent and answered the same page again.
                    self.notes.append(
                        f"page {page.number + 1} repeated page {page.number} record for record (the API "
                        "ignored the position it was sent); its records were not kept twice"
                    )
                    self.stop_reason, self.error = "error", page.loop_error
                    return
                self.last_records = page.records
                cut_at = await self._take(page, skip)
                skip = 0
                if cut_at is not None:
                    self.stop_reason = "max_records"
                    self.next_cursor = self.plan.cursor(page.number, cut_at)
                    return
                if page.loop_error:
                    self.stop_reason, self.error = "error", page.loop_error
                    return
                if page.next_state is None:
                    return
                self.position = (page.number + 1, 0)
                if self.meta.count >= self.record_limit:
                    self.stop_reason = "max_records"
                    self.next_cursor = self.plan.cursor(page.number + 1)
                    return
                if self.pages >= self.page_limit:
                    self.stop_reason = "max_pages"
                    self.next_cursor = self.plan.cursor(page.number + 1)
                    return

    async def _take(self, page: Page, skip: int) -> int | None:
        """Keep a page's records; return where it was cut if max_records was reached inside it."""
        kept: list[Any] = []
        cut_at: int | None = None
        for index in range(skip, len(page.records)):
            if self.meta.count + len(kept) >= self.record_limit:
                cut_at = index
                break
            record = page.records[index]
            if self.dedupe_key is not None and isinstance(record, dict):
                key = _dotted(record, self.dedupe_key)
                if key is not None:
                    marker = json.dumps(key, sort_keys=True, default=str)
                    if marker in self.seen_keys:
                        self.dropped_duplicates += 1
                        continue
                    self.seen_keys.add(marker)
            kept.append(project(record, self.fields) if self.fields else record)
        if kept or cut_at is None:
            await self.app.store.put_chunk(self.meta.id, self.meta.chunks, kept)
            self.meta.chunks += 1
            self.meta.count += len(kept)
        self._inline(kept)
        if self.progress is not None:
            await self.progress(self.meta.count, self.total, f"{self.meta.count} records, {self.pages} pages")
        return cut_at

    def _inline(self, records: list[Any]) -> None:
        if self.inline_full:
            return
        budget = self.app.config.server.max_inline_chars - self.inline_chars
        # Every record is in results_uri: one over the budget alone is left there, not inlined.
        kept, self.inline_full, used = _fit(records, budget, at_least_one=False)
        self.inline.extend(kept)
        self.inline_chars += used

    def fail(self, message: str) -> None:
        self.stop_reason, self.error = "error", self.app.redactor.redact(message)
        number, skip = self.position
        self.next_cursor = self.plan.cursor(number, skip)

    async def finish(self) -> None:
        self.meta.complete = self.stop_reason == "exhausted"
        self.meta.stop_reason = self.stop_reason
        await self.app.store.put_results(self.meta)

    def result(self, notes: list[str]) -> FetchAllResult:
        notes.extend(self.log.notes())
        budget = self.app.config.server.max_inline_chars
        if self.inline_full and not self.inline:
            notes.append(
                f"no records are inline: the first alone is over the inline budget of {budget} chars; "
                f"read all {self.meta.count} from results_uri (or pass fields=[...] to keep fewer fields)"
            )
        elif self.inline_full:
            notes.append(
                f"{len(self.inline)} of {self.meta.count} records are inline (budget {budget} chars); "
                "read them all from results_uri"
            )
        if self.dropped_duplicates:
            notes.append(
                f"dropped {self.dropped_duplicates} records whose {self.dedupe_key} was already seen"
            )
        return FetchAllResult(
            records=self.inline,
            returned=len(self.inline),
            count=self.meta.count,
            pages=self.pages,
            total=self.total,
            complete=self.meta.complete,
            stop_reason=self.stop_reason,
            error=self.error,
            next_cursor=self.next_cursor,
            results_uri=RESULTS_URI.format(id=self.meta.id),
            detected=self.plan.session.detected,
            notes=notes,
        )


def _dotted(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value
