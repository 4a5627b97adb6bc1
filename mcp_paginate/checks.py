"""``mcp-paginate sources --check``: fetch one page of every source and say what came back.

The fastest way to see a config work: for each source whose params all have defaults,
one `list_page` (no MCP, a throwaway ``memory://`` store) and a line saying the pagination
(declared, or what auto mode detected), the records on the page, whether more exist, and the
first record's keys. Sources that need params, or environment variables that are not set,
are skipped with the reason. Secrets are redacted from everything printed.

Example output::

    ✓ github_issues  cursor (declared) · 30 records · more available · keys: id, number, title, user
    ✓ orders         auto → offset {"limit_param": …} · 50 records of 1,204 · keys: id, total, status
    - hubspot        skipped: needs params connector, action
    ✗ billing        upstream answered 401 for https://api.example.com/invoices: bad token (check the key)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from rich.console import Console
from rich.markup import escape

from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import PagingArguments
from mcp_paginate.config import AppConfig, SourceConfig
from mcp_paginate.errors import PaginateError
from mcp_paginate.tools import ListPageResult, list_page

__all__ = ["SourceCheck", "check_source", "check_sources"]

_CONCURRENT_CHECKS = 4
_MAX_KEYS_SHOWN = 12


@dataclass
class SourceCheck:
    """The outcome of checking one source: ``ok``, ``skipped`` or ``failed``, and what to say."""

    name: str
    status: str
    detail: str


async def check_sources(
    config: AppConfig, console: Console, *, environ: Mapping[str, str] | None = None
) -> bool:
    """Check every configured source; print one line each; False if any check failed."""
    names = sorted(config.sources)
    if not names:
        console.print("no sources configured: nothing to check")
        return True
    results: dict[str, SourceCheck] = {}
    limiter = anyio.CapacityLimiter(_CONCURRENT_CHECKS)
    async with open_app(config, "memory://", environ=environ) as app:

        async def run(name: str) -> None:
            async with limiter:
                results[name] = await check_source(app, name)

        with console.status(f"checking {len(names)} source{'s' if len(names) != 1 else ''}…"):
            async with anyio.create_task_group() as group:
                for name in names:
                    group.start_soon(run, name)
        width = max(len(name) for name in names)
        for name in names:
            result = results[name]
            mark = {"ok": "[green]✓[/]", "skipped": "[yellow]-[/]", "failed": "[red]✗[/]"}[result.status]
            detail = escape(app.redactor.redact(result.detail))
            console.print(f"{mark} {escape(name):<{width}}  {detail}", highlight=False, soft_wrap=True)
    failed = [r.name for r in results.values() if r.status == "failed"]
    checked = sum(r.status == "ok" for r in results.values())
    skipped = sum(r.status == "skipped" for r in results.values())
    summary = f"{checked} ok, {len(failed)} failed, {skipped} skipped"
    console.print(f"[red]{summary}[/]" if failed else summary, highlight=False)
    return not failed


async def check_source(app: AppContext, name: str) -> SourceCheck:
    """Fetch the first page of one source (if it can run without params) and describe it."""
    source = app.config.sources[name]
    needed = _params_needed(source)
    if needed:
        return SourceCheck(name, "skipped", f"skipped: needs params {', '.join(needed)}")
    unset = sorted(variable for variable in source.env_references() if not app.environ.get(variable))
    if unset:
        return SourceCheck(name, "skipped", f"skipped: environment variables not set: {', '.join(unset)}")
    deadline = app.config.server.tool_deadline_seconds + 5
    try:
        with anyio.fail_after(deadline):
            page = await list_page(app, PagingArguments(source=name))
    except PaginateError as exc:
        return SourceCheck(name, "failed", str(exc))
    except TimeoutError:
        return SourceCheck(name, "failed", f"no answer within {deadline:g}s")
    return SourceCheck(name, "ok", _describe(source, page))


def _params_needed(source: SourceConfig) -> list[str]:
    return [key for key, spec in source.params.items() if spec.required and spec.default is None]


def _describe(source: SourceConfig, page: ListPageResult) -> str:
    declared = source.pagination.mode
    if page.detected is not None:
        detected = dict(page.detected)
        mode = detected.pop("mode", "?")
        pagination = (
            f"auto → {mode} {json.dumps(detected, separators=(',', ':'))}" if detected else f"auto → {mode}"
        )
    else:
        pagination = f"{declared} (declared)"
    count = f"{page.page.size} record{'' if page.page.size == 1 else 's'}"
    if page.total is not None:
        count += f" of {page.total:,}"
    parts = [pagination, count, "more available" if page.has_more else "single page"]
    parts.append(_keys(page.records))
    notes = [note for note in page.notes if not note.startswith("auto-detected pagination")]
    if notes:
        parts.append("notes: " + "; ".join(notes))
    return " · ".join(parts)


def _keys(records: list[Any]) -> str:
    if not records:
        return "no records on the first page"
    first = records[0]
    if not isinstance(first, dict):
        return f"records are {type(first).__name__}s"
    keys = list(first)
    shown = ", ".join(keys[:_MAX_KEYS_SHOWN])
    if len(keys) > _MAX_KEYS_SHOWN:
        shown += f", … ({len(keys)} keys)"
    return f"keys: {shown}"
