"""MCP wiring: the only module that imports ``mcp``.

`create_server` builds an `MCPServer` whose lifespan opens one `AppContext`, and
registers `list_sources`, `list_page`, `fetch_all` and the results resource. Our
errors become `ToolError`s here (the only text an assistant sees of a failure),
redacted and with what to do next.
"""

from __future__ import annotations

import difflib
import hashlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any

import httpx2
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from mcp_paginate import __version__
from mcp_paginate import tools as core
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.config import AppConfig
from mcp_paginate.errors import PaginateError, UpstreamStatusError
from mcp_paginate.paginators import Pagination
from mcp_paginate.sessions import AdHocRequest

__all__ = ["create_server"]

INSTRUCTIONS = """\
Page through REST APIs. Call list_sources first to see the configured sources and their params.
Read one page at a time with list_page(source=..., params={...}); continue with
list_page(cursor=<next_cursor>) until next_cursor is null. Passing the same cursor again re-reads
that page (safe to retry). To get everything at once use fetch_all(source=..., params={...});
it returns what fits inline plus results_uri (an MCP resource with every record), and on failure a
next_cursor to resume from. Use fields=[...] to keep only the fields you need.
"""

PROGRESS_INTERVAL = 0.1
"""Seconds between fetch_all progress notifications (the first and the last are always sent)."""

READ_ONLY = ToolAnnotations(
    read_only_hint=True, open_world_hint=True, idempotent_hint=True, destructive_hint=False
)

SourceArg = Annotated[
    str | None,
    Field(
        description="Name of a configured source from list_sources, e.g. 'alloy'. Omit when passing cursor."
    ),
]
ParamsArg = Annotated[
    dict[str, Any] | None,
    Field(
        description="Values for the source's params, e.g. {'connector': 'hubspot', 'action': 'listContacts'}."
    ),
]
RequestArg = Annotated[
    AdHocRequest | None,
    Field(
        description=(
            "Ad-hoc request instead of a source: {url, method, headers, query, body, records}; method is "
            "GET (default), POST or QUERY. Only hosts in the server's allowed_hosts "
            "(see list_sources.ad_hoc) can be reached."
        )
    ),
]
PaginationArg = Annotated[
    Pagination | None,
    Field(
        description=(
            "How the API paginates, chosen by 'mode'. offset: {mode:'offset', limit_param, offset_param, "
            "next_offset, has_more, total}; page: {mode:'page', page_param, size_param, start_page, "
            "total_pages}; "
            "cursor: {mode:'cursor', next:{body:'meta.next_token'} or {header:'X-Next'} or {link:'next'} or "
            "{last_record:'id'}, cursor_param:{in:'query', name:'cursor'} or {in:'url'}}; none: one page; "
            "auto: detect from the first response. Defaults to the source's, or auto for ad-hoc requests."
        )
    ),
]
CursorArg = Annotated[
    str | None,
    Field(description="cursor or next_cursor from an earlier result: re-reads or continues that session."),
]
PageSizeArg = Annotated[
    int | None,
    Field(
        ge=1, description="Records per request; above the source's max_page_size it is clamped (with a note)."
    ),
]
FieldsArg = Annotated[
    list[str] | None,
    Field(description="Keep only these (dotted) fields of each record, e.g. ['id', 'name', 'owner.email']."),
]


def create_server(
    config: AppConfig,
    store_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> MCPServer[AppContext]:
    """The MCP server for a config and store URL."""
    # The HTTP client logs every URL at INFO; query strings can carry keys.
    for name in ("httpx2", "httpcore2", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.WARNING)

    @asynccontextmanager
    async def lifespan(server: MCPServer[AppContext]) -> AsyncIterator[AppContext]:
        async with open_app(config, store_url, environ=environ, transport=transport) as app:
            yield app

    async def list_sources(ctx: Context[AppContext, Any]) -> Annotated[CallToolResult, core.SourcesResult]:
        """List the API sources this server can page through: name, description, params (required or
        not), pagination mode and max page size; and whether ad-hoc requests are allowed, to which hosts.

        Example: list_sources() -> {"sources": [{"name": "alloy", "params": [...]}], "ad_hoc": {...}}
        """
        _check_arguments(ctx, "list_sources", accepted)
        result = await core.list_sources(_app(ctx))
        names = ", ".join(source.name for source in result.sources) or "none configured"
        ad_hoc = (
            f"ad-hoc requests allowed to {', '.join(result.ad_hoc.hosts)}"
            if result.ad_hoc.allowed
            else "ad-hoc requests disabled"
        )
        return _respond(f"{len(result.sources)} sources: {names} · {ad_hoc}", result)

    async def list_page(
        ctx: Context[AppContext, Any],
        source: SourceArg = None,
        params: ParamsArg = None,
        request: RequestArg = None,
        pagination: PaginationArg = None,
        cursor: CursorArg = None,
        page_size: PageSizeArg = None,
        fields: FieldsArg = None,
    ) -> Annotated[CallToolResult, core.ListPageResult]:
        """Read one page of records. Start with source (+params) or request; continue with
        cursor=next_cursor from the previous result until next_cursor is null. Passing the same cursor
        twice returns the same page, so a retried call never skips or repeats records.

        Example: list_page(source="alloy", params={"connector": "hubspot", "action": "listContacts"},
        page_size=50), then list_page(cursor="<next_cursor>").
        """
        _check_arguments(ctx, "list_page", accepted)
        app = _app(ctx)
        result = await _call(
            app,
            core.list_page(
                app,
                PagingArguments(
                    source=source,
                    params=params,
                    request=request,
                    pagination=pagination,
                    cursor=cursor,
                    page_size=page_size,
                    fields=fields,
                ),
                owner=_caller(ctx),
            ),
        )
        more = "more available — pass next_cursor to continue" if result.has_more else "no more pages"
        total = f" of {result.total}" if result.total is not None else ""
        summary = (
            f"Page {result.page.number} · {result.page.size} records "
            f"({result.seen.records}{total} so far) · {more}"
        )
        return _respond(summary, result)

    async def fetch_all(
        ctx: Context[AppContext, Any],
        source: SourceArg = None,
        params: ParamsArg = None,
        request: RequestArg = None,
        pagination: PaginationArg = None,
        cursor: Annotated[
            str | None, Field(description="next_cursor of an earlier result: resume draining from there.")
        ] = None,
        page_size: PageSizeArg = None,
        fields: FieldsArg = None,
        max_records: Annotated[
            int | None, Field(ge=1, description="Stop after this many records (server ceiling applies).")
        ] = None,
        max_pages: Annotated[int | None, Field(ge=1, description="Stop after this many pages.")] = None,
        dedupe_key: Annotated[
            str | None,
            Field(
                description="Dotted field identifying a record, e.g. 'id'; records already seen are dropped."
            ),
        ] = None,
    ) -> Annotated[CallToolResult, core.FetchAllResult]:
        """Fetch every page (from the start, or from cursor) and return the records: as many inline as
        fit, all of them in the MCP resource results_uri. Reports progress; stops at max_records /
        max_pages; on an error it keeps what it fetched and returns next_cursor to resume from.

        Example: fetch_all(source="alloy", params={"connector": "hubspot", "action": "listContacts"},
        fields=["id", "email"]) -> {"count": 237, "complete": true, "results_uri": "mcp-paginate://results/…"}
        """
        _check_arguments(ctx, "fetch_all", accepted)
        app = _app(ctx)

        sent: int | None = None  # the count last reported
        sent_at = 0.0
        latest: tuple[int, int | None, str] | None = None

        async def progress(count: int, total: int | None, message: str) -> None:
            # The first page at once, then at most one update per PROGRESS_INTERVAL: a host gains
            # nothing from a notification per page, and both ends pay for each one.
            nonlocal sent, sent_at, latest
            latest = (count, total, message)
            now = time.monotonic()
            if sent is None or now - sent_at >= PROGRESS_INTERVAL:
                sent, sent_at = count, now
                await ctx.report_progress(count, total, message)

        result = await _call(
            app,
            core.fetch_all(
                app,
                FetchAllArguments(
                    source=source,
                    params=params,
                    request=request,
                    pagination=pagination,
                    cursor=cursor,
                    page_size=page_size,
                    fields=fields,
                    max_records=max_records,
                    max_pages=max_pages,
                    dedupe_key=dedupe_key,
                ),
                owner=_caller(ctx),
                progress=progress,
            ),
        )
        if latest is not None and latest[0] != sent:
            await ctx.report_progress(*latest)  # the last count, whenever it came
        state = "complete" if result.complete else f"stopped ({result.stop_reason})"
        summary = (
            f"Fetched {result.count} records in {result.pages} pages · {state} · {result.returned} inline, "
            f"all at {result.results_uri}"
        )
        if result.error:
            summary += f" · error: {result.error}"
            if result.next_cursor:
                summary += " · resume with next_cursor"
        return _respond(summary, result)

    # Hosts that honour it (Claude Code) keep results up to this size inline instead of spilling
    # them to a file; the inline budget plus the result's metadata fits under it.
    large_results = {"anthropic/maxResultSizeChars": min(500_000, config.server.max_inline_chars + 20_000)}
    tools = [
        _read_only_tool(list_sources, "List sources"),
        _read_only_tool(list_page, "Read one page", meta=large_results),
        _read_only_tool(fetch_all, "Fetch all pages", meta=large_results),
    ]
    # The arguments each tool takes, for its _check_arguments (the tools read it when called).
    accepted = {tool.name: tuple(tool.parameters["properties"]) for tool in tools}

    server: MCPServer[AppContext] = MCPServer(
        "mcp-paginate",
        title="mcp-paginate",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        tools=tools,
    )

    @server.resource(
        "mcp-paginate://results/{results_id}",
        name="fetch_all results",
        description="Every record a fetch_all stored, as JSON {id, count, complete, records}.",
        mime_type="application/json",
    )
    async def results(results_id: str, ctx: Context[AppContext, Any]) -> str:
        return await _read(ctx, results_id, None)

    @server.resource(
        "mcp-paginate://results/{results_id}/{chunk}",
        name="fetch_all results, one chunk",
        description="One stored page (chunk N, from 0) of a fetch_all result, as JSON.",
        mime_type="application/json",
    )
    async def results_chunk(results_id: str, chunk: str, ctx: Context[AppContext, Any]) -> str:
        if not chunk.isdigit():
            raise ResourceError("chunk must be a number: mcp-paginate://results/{id}/{chunk}")
        return await _read(ctx, results_id, int(chunk))

    return server


def _read_only_tool(function: Callable[..., Any], title: str, *, meta: dict[str, Any] | None = None) -> Tool:
    """``function`` as a read-only tool described by its docstring (without the source-code
    indentation), whose input schema admits only its own arguments (``additionalProperties:
    false``; the function refuses others with `_check_arguments`)."""
    tool = Tool.from_function(
        function,
        title=title,
        description=inspect.cleandoc(function.__doc__ or ""),
        annotations=READ_ONLY,
        meta=meta,
    )
    return tool.model_copy(update={"parameters": {**tool.parameters, "additionalProperties": False}})


def _check_arguments(ctx: Context[AppContext, Any], tool: str, accepted: Mapping[str, Sequence[str]]) -> None:
    """Refuse arguments ``tool`` does not take, suggesting the closest name it does. The SDK's
    argument model drops unknown arguments silently, so a misspelt ``max_record=5`` would
    drain the whole source; the raw arguments of the request are checked here instead.

    Raises:
        ToolError: an argument that is not among ``accepted[tool]``.
    """
    try:
        params = ctx.request_context.params or {}
    except ValueError:  # called in-process, outside any request: no raw arguments to check
        return
    arguments = params.get("arguments")
    known = accepted[tool]
    unknown = [name for name in arguments if name not in known] if isinstance(arguments, Mapping) else []
    if not unknown:
        return
    takes = f"{tool} takes: {', '.join(known)}" if known else f"{tool} takes no arguments"
    guesses = {name: difflib.get_close_matches(name, known, n=1) for name in unknown}
    if len(unknown) == 1:
        name = unknown[0]
        guess = f"; did you mean {guesses[name][0]!r}? " if guesses[name] else "; "
        raise ToolError(f"unknown argument {name!r}{guess}{takes}")
    named = [
        f"{name!r} (did you mean {guesses[name][0]!r}?)" if guesses[name] else repr(name) for name in unknown
    ]
    raise ToolError(f"unknown arguments {', '.join(named[:-1])} and {named[-1]}; {takes}")


def _app(ctx: Context[AppContext, Any]) -> AppContext:
    return ctx.request_context.lifespan_context


def _caller(ctx: Context[AppContext, Any]) -> str | None:
    """Who is calling, over HTTP with a bearer token: a hash of the token. None on stdio."""
    try:
        headers = ctx.headers
    except ValueError:
        return None
    if not headers:
        return None
    authorization = headers.get("authorization") or headers.get("Authorization")
    if not authorization:
        return None
    return hashlib.sha256(authorization.encode()).hexdigest()[:32]


async def _call(app: AppContext, call: Any) -> Any:
    """Await a core call, turning our errors into actionable, redacted ToolErrors."""
    try:
        return await call
    except PaginateError as exc:
        raise ToolError(app.redactor.redact(_explain(exc))) from None


def _explain(exc: PaginateError) -> str:
    message = str(exc)
    if isinstance(exc, UpstreamStatusError):
        hint = {
            401: "check the API key / token configured for this source",
            403: "the credentials lack permission for this resource",
            404: "check the source's params (ids, names) and URL",
            429: "the API is rate limiting; wait and retry with the same cursor",
        }.get(exc.status, "retry with the same cursor" if exc.status >= 500 else "check the params")
        return f"{message} ({hint})"
    return message


async def _read(ctx: Context[AppContext, Any], results_id: str, chunk: int | None) -> str:
    app = _app(ctx)
    try:
        return await core.read_results(app, results_id, chunk, owner=_caller(ctx))
    except PaginateError as exc:
        raise ResourceError(app.redactor.redact(str(exc))) from None


def _respond(summary: str, result: BaseModel) -> CallToolResult:
    if isinstance(result, core.ListPageResult | core.FetchAllResult):
        # Records are parsed JSON already: only the rest goes through pydantic's JSON-mode dump.
        data = {"records": result.records, **result.model_dump(mode="json", exclude={"records"})}
    else:
        data = result.model_dump(mode="json")
    text = core.json_text(data)
    return CallToolResult(
        content=[TextContent(type="text", text=summary), TextContent(type="text", text=text)],
        structured_content=data,
    )
