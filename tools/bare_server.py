"""A bare MCP SDK server, the yardstick of tools/load.py: one tool, one upstream GET per call.

``get_page(token, max_results)`` GETs ``{upstream}/token`` of the sample API (the request
mcp-paginate's ``list_page`` makes for a cursor source) and returns the records and the next
token. No session store, no validation beyond the SDK's, an HTTP client with an unbounded
connection pool. Served like ``mcp-paginate serve --transport http``: the SDK's stateless
streamable HTTP app under uvicorn, on 127.0.0.1.

    python tools/bare_server.py --port 8100 --upstream http://127.0.0.1:8000

``GET /health`` answers ``{"status": "ok"}`` once it serves.
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from starlette.requests import Request
from starlette.responses import JSONResponse, Response


def create_bare_server(upstream: str) -> MCPServer[httpx2.AsyncClient]:
    """The bare server for a sample API at ``upstream``."""

    @asynccontextmanager
    async def lifespan(server: MCPServer[httpx2.AsyncClient]) -> AsyncIterator[httpx2.AsyncClient]:
        limits = httpx2.Limits(max_connections=None, max_keepalive_connections=None)
        async with httpx2.AsyncClient(base_url=upstream, limits=limits, timeout=30.0) as http:
            yield http

    server: MCPServer[httpx2.AsyncClient] = MCPServer("bare", lifespan=lifespan)

    @server.tool()
    async def get_page(
        ctx: Context[httpx2.AsyncClient, Any], token: str | None = None, max_results: int = 10
    ) -> dict[str, Any]:
        """One page of the sample API's /token endpoint: its records and the next token (null at the end)."""
        params: dict[str, str | int] = {"max_results": max_results}
        if token:
            params["pagination_token"] = token
        response = await ctx.request_context.lifespan_context.get("/token", params=params)
        response.raise_for_status()
        body = response.json()
        return {"records": body["data"], "next_token": body["meta"].get("next_token")}

    @server.custom_route("/health", methods=["GET"])  # type: ignore[untyped-decorator]
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the sample API's base URL")
    args = parser.parse_args()
    app = create_bare_server(args.upstream).streamable_http_app(stateless_http=True, host="127.0.0.1")
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", ws="none")


if __name__ == "__main__":
    main()
