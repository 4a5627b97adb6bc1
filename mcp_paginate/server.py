"""MCP wiring: the only module that imports ``mcp``.

`create_server` builds an `MCPServer` whose lifespan opens one `AppContext`, and registers the
tools (`list_sources`, `list_page`, `fetch_all`: module-level functions here, each a summary
helper away from its result), the results resource and the prompts. A tool's raw arguments are
validated once, here, into its arguments model (`mcp_paginate.arguments`); its input schema is
plain JSON Schema (`mcp_paginate.wire_schema`). Our errors become `ToolError`s here (the only
text an assistant sees of a failure), redacted and with what to do next.
"""

from __future__ import annotations

import hashlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any, TypeVar

import httpx2
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.server.mcpserver.prompts import Prompt
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase
from mcp.types import (
    CallToolResult,
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
    TextContent,
    ToolAnnotations,
)
from pydantic import BaseModel, model_validator

from mcp_paginate import __version__, prompts
from mcp_paginate import results as stored
from mcp_paginate import tools as core
from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import (
    FetchAllArguments,
    NoArguments,
    PagingArguments,
    ReadResultsArguments,
    parse_arguments,
)
from mcp_paginate.config import AppConfig
from mcp_paginate.errors import PaginateError, UpstreamStatusError
from mcp_paginate.wire_schema import InputSchemas, output_schema

__all__ = ["create_server"]

INSTRUCTIONS = """\
Page through REST APIs. Call list_sources first to see the configured sources and their params.
Read one page at a time with list_page(source=..., params={...}); continue with
list_page(cursor=<next_cursor>) until next_cursor is null. Passing the same cursor again re-reads
that page (safe to retry). To get everything at once use fetch_all(source=..., params={...});
it returns what fits inline plus results_uri (every record, readable with read_results or as an MCP
resource). Unless complete, call fetch_all(cursor=next_cursor) again: it answers within the host's
timeout, the drain goes on meanwhile, and each call adds to the same results_uri. Use fields=[...]
to keep only the fields you need.
"""

PROGRESS_INTERVAL = 0.1
"""Seconds between fetch_all progress notifications (the first and the last are always sent)."""

READ_ONLY = ToolAnnotations(
    read_only_hint=True, open_world_hint=True, idempotent_hint=True, destructive_hint=False
)

Arguments = TypeVar("Arguments", bound=BaseModel)


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

    # Hosts that honour it (Claude Code) keep results up to this size inline instead of spilling
    # them to a file; the inline budget plus the result's metadata fits under it.
    large_results = {"anthropic/maxResultSizeChars": min(500_000, config.server.max_inline_chars + 20_000)}
    schemas = InputSchemas()  # one per tool list: each field described once in it
    server: MCPServer[AppContext] = MCPServer(
        "mcp-paginate",
        title="mcp-paginate",
        instructions=INSTRUCTIONS,
        version=__version__,
        lifespan=lifespan,
        tools=[
            _tool(list_sources, NoArguments, "List sources", schemas),
            _tool(list_page, PagingArguments, "Read one page", schemas, meta=large_results),
            _tool(fetch_all, FetchAllArguments, "Fetch all pages", schemas, meta=large_results),
            _tool(read_results, ReadResultsArguments, "Read stored results", schemas, meta=large_results),
        ],
    )
    server.resource(
        "mcp-paginate://results/{results_id}",
        name="fetch_all results",
        description="Every record a fetch_all stored, as JSON {id, count, complete, records}.",
        mime_type="application/json",
    )(results)
    server.resource(
        "mcp-paginate://results/{results_id}/{chunk}",
        name="fetch_all results, one chunk",
        description="One stored page (chunk N, from 0) of a fetch_all result, as JSON.",
        mime_type="application/json",
    )(results_chunk)
    for prompt in prompts.PROMPTS:
        server.add_prompt(Prompt.from_function(prompt, description=inspect.cleandoc(prompt.__doc__ or "")))
    server.completion()(_SourceNames(config))  # type: ignore[no-untyped-call]  # the SDK's decorator
    return server


# --------------------------------------------------------------------------------------------
# The tools. Each takes the arguments as the host sent them (see `_tool`) and validates them
# once into its arguments model.
# --------------------------------------------------------------------------------------------


async def list_sources(
    ctx: Context[AppContext, Any], arguments: dict[str, Any]
) -> Annotated[CallToolResult, core.SourcesResult]:
    """List the sources (name, params, pagination mode, max page size) and ad-hoc hosts.

    Example: list_sources()
    """
    app = _app(ctx)
    _parse(app, NoArguments, arguments, "list_sources")
    result = await core.list_sources(app)
    return _respond(_sources_summary(result), result)


async def list_page(
    ctx: Context[AppContext, Any], arguments: dict[str, Any]
) -> Annotated[CallToolResult, core.ListPageResult]:
    """Read one page. Start with source (+params) or request; continue with
    cursor=next_cursor until it is null. A cursor re-read gives the same page.

    Example: list_page(source="alloy", params={"connector": "hubspot"})
    """
    app = _app(ctx)
    args = _parse(app, PagingArguments, arguments, "list_page")
    result = await _call(app, core.list_page(app, args, owner=_caller(ctx)))
    return _respond(_page_summary(result), result)


async def fetch_all(
    ctx: Context[AppContext, Any], arguments: dict[str, Any]
) -> Annotated[CallToolResult, core.FetchAllResult]:
    """Fetch every page into results_uri; inline what fits. Answers within the host's timeout:
    until complete, call again with cursor=next_cursor (the drain goes on meanwhile).

    Example: fetch_all(source="alloy", fields=["id"])
    """
    app = _app(ctx)
    args = _parse(app, FetchAllArguments, arguments, "fetch_all")
    progress = _Progress(ctx)
    result = await _call(app, core.fetch_all(app, args, owner=_caller(ctx), progress=progress))
    await progress.finish()
    return _respond(_fetch_summary(result), result)


async def read_results(
    ctx: Context[AppContext, Any], arguments: dict[str, Any]
) -> Annotated[CallToolResult, stored.ReadResultsResult]:
    """Read a fetch_all's stored records; continue with offset=next_offset until null.

    Example: read_results(results_uri="mcp-paginate://results/…", offset=200)
    """
    app = _app(ctx)
    args = _parse(app, ReadResultsArguments, arguments, "read_results")
    result = await _call(
        app,
        stored.read_results(
            app,
            args.results_uri,
            offset=args.offset,
            limit=args.limit,
            fields=args.fields,
            query=args.query,
            owner=_caller(ctx),
        ),
    )
    return _respond(_read_summary(result), result)


# --------------------------------------------------------------------------------------------
# What each result says in one line, for hosts that show only text
# --------------------------------------------------------------------------------------------


def _sources_summary(result: core.SourcesResult) -> str:
    names = ", ".join(source.name for source in result.sources) or "none configured"
    ad_hoc = (
        f"ad-hoc requests allowed to {', '.join(result.ad_hoc.hosts)}"
        if result.ad_hoc.allowed
        else "ad-hoc requests disabled"
    )
    return f"{len(result.sources)} sources: {names} · {ad_hoc}"


def _page_summary(result: core.ListPageResult) -> str:
    more = "more available — pass next_cursor to continue" if result.has_more else "no more pages"
    total = f" of {result.total}" if result.total is not None else ""
    seen = f"({result.seen.records}{total} so far)"
    return f"Page {result.page.number} · {result.page.size} records {seen} · {more}"


def _fetch_summary(result: core.FetchAllResult) -> str:
    state = "complete" if result.complete else f"stopped ({result.stop_reason})"
    summary = (
        f"Fetched {result.count} records in {result.pages} pages · {state} · {result.returned} inline, "
        f"all at {result.results_uri}"
    )
    if result.error:
        summary += f" · error: {result.error}"
        if result.next_cursor:
            summary += " · resume with next_cursor"
    return summary


def _read_summary(result: stored.ReadResultsResult) -> str:
    if result.value is not None:
        return "The query's value"
    more = f"next_offset {result.next_offset}" if result.next_offset is not None else "the end"
    return f"Records {result.offset}–{result.offset + result.returned} of {result.count} · {more}"


class _Progress:
    """fetch_all's progress notifications: the first page at once, then at most one per
    PROGRESS_INTERVAL (a host gains nothing from one per page, and both ends pay for each),
    and `finish` sends the last count whenever it came."""

    def __init__(self, ctx: Context[AppContext, Any]) -> None:
        self.ctx = ctx
        self.sent: int | None = None  # the count last reported
        self.sent_at = 0.0
        self.latest: tuple[int, int | None, str] | None = None

    async def __call__(self, count: int, total: int | None, message: str) -> None:
        self.latest = (count, total, message)
        now = time.monotonic()
        if self.sent is None or now - self.sent_at >= PROGRESS_INTERVAL:
            self.sent, self.sent_at = count, now
            await self.ctx.report_progress(count, total, message)

    async def finish(self) -> None:
        if self.latest is not None and self.latest[0] != self.sent:
            await self.ctx.report_progress(*self.latest)


# --------------------------------------------------------------------------------------------
# Registration: tools whose arguments reach them raw, resources, completion
# --------------------------------------------------------------------------------------------


class _RawArguments(ArgModelBase):
    """A call's arguments as the host sent them, handed whole to the tool (as ``arguments``) for
    `parse_arguments`: the SDK's own argument model would answer a wrong type with a pydantic
    dump, and drop an unknown argument silently (a misspelt max_record=5 would drain it all)."""

    arguments: dict[str, Any]

    @model_validator(mode="before")
    @classmethod
    def _whole(cls, data: Any) -> Any:
        return {"arguments": data}


def _tool(
    function: Callable[..., Any],
    model: type[BaseModel],
    title: str,
    schemas: InputSchemas,
    *,
    meta: dict[str, Any] | None = None,
) -> Tool:
    """``function`` as a read-only tool described by its docstring (without the source-code
    indentation), taking ``model``'s arguments: the plain input schema of ``model`` (which admits
    no other arguments), the arguments passed raw, and a flat output schema."""
    tool = Tool.from_function(
        function,
        title=title,
        description=inspect.cleandoc(function.__doc__ or ""),
        annotations=READ_ONLY,
        meta=meta,
    )
    flat = output_schema(tool.fn_metadata.output_schema or {})
    metadata = tool.fn_metadata.model_copy(update={"arg_model": _RawArguments, "output_schema": flat})
    return tool.model_copy(update={"parameters": schemas.of(tool.name, model), "fn_metadata": metadata})


def _parse(app: AppContext, model: type[Arguments], arguments: dict[str, Any], tool: str) -> Arguments:
    try:
        return parse_arguments(model, arguments, tool)
    except PaginateError as exc:
        raise ToolError(app.redactor.redact(str(exc))) from None


class _SourceNames:
    """Completion of the prompts' ``source`` argument: the configured names starting with what
    the user typed."""

    def __init__(self, config: AppConfig) -> None:
        self.names = sorted(config.sources)
        self.prompts = {prompt.__name__ for prompt in prompts.PROMPTS}

    async def __call__(
        self,
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        if not isinstance(ref, PromptReference) or ref.name not in self.prompts:
            return None
        if argument.name != prompts.SOURCE_ARGUMENT:
            return None
        typed = argument.value.lower()
        return Completion(values=[name for name in self.names if name.lower().startswith(typed)][:100])


async def results(results_id: str, ctx: Context[AppContext, Any]) -> str:
    return await _read(ctx, results_id, None)


async def results_chunk(results_id: str, chunk: str, ctx: Context[AppContext, Any]) -> str:
    if not chunk.isdigit():
        raise ResourceError("chunk must be a number: mcp-paginate://results/{id}/{chunk}")
    return await _read(ctx, results_id, int(chunk))


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
    if isinstance(result, core.ListPageResult | core.FetchAllResult | stored.ReadResultsResult):
        # Records are parsed JSON already: only the rest goes through pydantic's JSON-mode dump.
        data = {"records": result.records, **result.model_dump(mode="json", exclude={"records"})}
    else:
        data = result.model_dump(mode="json")
    text = core.json_text(data)
    return CallToolResult(
        content=[TextContent(type="text", text=summary), TextContent(type="text", text=text)],
        structured_content=data,
    )
