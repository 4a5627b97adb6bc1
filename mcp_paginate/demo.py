"""``mcp-paginate demo``: the whole product in 20 seconds, offline.

Starts the built-in sample API on 127.0.0.1, starts ``mcp-paginate serve`` over stdio
as an MCP host would, and drives it with the real MCP client: list the sources, page
through the built-in ``alloy`` source (pointed at the sample API; asking for 100
records, clamped to Alloy's 50), re-read a page, then drain
a GitHub-style Link-header API with ``fetch_all``.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from mcp import Client, StdioServerParameters
from rich.console import Console
from rich.panel import Panel

from mcp_paginate.sample import SampleAPI

__all__ = ["run_demo"]

_DEMO_KEY = "demo-key-not-a-secret"


def _config(url: str) -> str:
    return f"""
[server]
max_inline_chars = 2000

[sources.issues]
description = "GitHub-style issues (Link: rel=next headers)"
url = "{url}/link"
headers = {{ Authorization = "Bearer ${{DEMO_API_TOKEN}}" }}
max_page_size = 100

[sources.issues.pagination]
mode = "cursor"
next = {{ link = "next" }}
cursor_param = {{ in = "url" }}
page_size = 100
size_param = {{ in = "query", name = "per_page" }}
"""


def run_demo() -> int:
    """Run the demo; returns the exit status."""
    return anyio.run(_demo)


async def _demo() -> int:
    console = Console(highlight=False)
    console.soft_wrap = not console.is_terminal  # piped: one line stays one line (rules keep the width)
    with SampleAPI(api_key=_DEMO_KEY) as api, tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "config.toml"
        config.write_text(_config(api.url), encoding="utf-8")
        parameters = StdioServerParameters(
            command=sys.executable,
            args=["-m", "mcp_paginate", "serve", "--config", str(config), "--store", "memory://"],
            env={
                "ALLOY_API_KEY": _DEMO_KEY,
                "ALLOY_BASE_URL": api.url,
                "ALLOY_CREDENTIAL_ID": "demo-credential",
                "ALLOY_USER_ID": "demo-user",
                "DEMO_API_TOKEN": _DEMO_KEY,
                "PATH": "",
            },
        )
        console.print(
            Panel.fit(
                f"Sample API on {api.url} (237 records in several pagination styles)\n"
                "MCP server: mcp-paginate serve over stdio, driven by the MCP Python client",
                title="mcp-paginate demo",
            )
        )
        async with Client(parameters) as client:
            await _walk(console, client)
        console.print(f"\nThe sample API answered {api.stats.requests} requests. Done.")
    return 0


async def _call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    if result.is_error:
        text = " ".join(getattr(block, "text", "") for block in result.content)
        raise RuntimeError(f"{tool} failed: {text}")  # pragma: no cover - demo only
    assert isinstance(result.structured_content, dict)
    return result.structured_content


def _ids(records: list[dict[str, Any]]) -> str:
    ids = [r["id"] for r in records]
    return f"ids {ids[0]}–{ids[-1]}" if ids else "no records"


async def _walk(console: Console, client: Client) -> None:
    console.rule("1. list_sources")
    sources = await _call(client, "list_sources", {})
    for source in sources["sources"]:
        console.print(f"  • [bold]{source['name']}[/] ({source['pagination']}): {source['description']}")

    console.rule("2. list_page, one page at a time")
    arguments = {"connector": "hubspot", "action": "listContacts"}
    page = await _call(
        client,
        "list_page",
        {"source": "alloy", "params": arguments, "page_size": 100, "fields": ["id", "name"]},
    )
    console.print(
        f"  list_page(source='alloy', params={arguments}, page_size=100, fields=['id', 'name'])"
        f" → page {page['page']['number']}: "
        f"{page['page']['size']} records, {_ids(page['records'])}"
    )
    for note in page["notes"]:
        console.print(f"    note: {note}")
    first_cursor = page["cursor"]
    for _ in range(2):
        page = await _call(client, "list_page", {"cursor": page["next_cursor"]})
        console.print(
            f"  list_page(cursor=next_cursor) → page {page['page']['number']}: "
            f"{_ids(page['records'])}  (request {json.dumps(page['page']['request'])})"
        )
    again = await _call(client, "list_page", {"cursor": first_cursor})
    same = "the same records" if _ids(again["records"]) == "ids 1–50" else "DIFFERENT records"
    console.print(
        f"  list_page(cursor=<page 1's cursor>) again → {same}: {_ids(again['records'])} "
        "(a retried call never skips or repeats)"
    )

    console.rule("3. fetch_all, everything at once")
    drained = await _call(client, "fetch_all", {"source": "issues", "fields": ["id", "name"]})
    console.print(
        f"  fetch_all(source='issues') → {drained['count']} records in {drained['pages']} pages, "
        f"complete={drained['complete']}, stop_reason={drained['stop_reason']}"
    )
    if drained["error"]:
        console.print(f"  error: {drained['error']}")
    console.print(
        f"  {drained['returned']} records inline (budget max_inline_chars), all of them at "
        f"{drained['results_uri']}"
    )
    resource = await client.read_resource(drained["results_uri"])
    text = resource.contents[0]
    stored = json.loads(getattr(text, "text", "{}"))
    console.print(
        f"  read_resource(results_uri) → {len(stored['records'])} records, {_ids(stored['records'])}"
    )
