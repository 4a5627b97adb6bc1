"""Print what a model receives of each tool per turn: name + description + input schema (JSON).

    python tools/tool_sizes.py            # the server with built-in defaults
    python tools/tool_sizes.py --json     # the same as JSON

The figures are characters of ``name``, ``description`` and ``json.dumps(inputSchema)`` (default
separators), as listed by a real MCP client in memory; tests/test_tool_schema.py holds the limits.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

import anyio
from mcp import Client

from mcp_paginate.config import AppConfig
from mcp_paginate.server import create_server


def definition_size(tool: Any) -> int:
    """Characters of one tool definition as a model receives it."""
    return len(tool.name) + len(tool.description or "") + len(json.dumps(tool.input_schema))


async def sizes() -> dict[str, int]:
    server = create_server(AppConfig.model_validate({}), "memory://", environ={})
    async with Client(server) as client:
        return {tool.name: definition_size(tool) for tool in (await client.list_tools()).tools}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args()
    measured = anyio.run(sizes)
    if args.json:
        print(json.dumps({"tools": measured, "total": sum(measured.values())}))
        return 0
    for name, size in measured.items():
        print(f"{name:14} {size:6,}")
    print(f"{'total':14} {sum(measured.values()):6,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
