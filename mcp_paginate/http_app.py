"""Serving over streamable HTTP: bearer-token auth, a health endpoint, loopback by default.

Nothing a later request needs is kept in process memory (sessions live in the store),
so several replicas can sit behind one load balancer with a shared ``redis://`` store.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_paginate import __version__
from mcp_paginate.app import AppContext
from mcp_paginate.config import AppConfig
from mcp_paginate.credentials import expand_env
from mcp_paginate.errors import StoreError

__all__ = ["auth_tokens", "build_http_app", "run_http"]

_OPEN_PATHS = frozenset({"/health", "/ready"})


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def auth_tokens(config: AppConfig, environ: dict[str, str] | None = None) -> list[str]:
    """Accepted bearer tokens: ``server.auth_token`` (``${ENV}`` allowed) and ``$MCP_PAGINATE_AUTH_TOKEN``."""
    environment = dict(os.environ if environ is None else environ)
    tokens: list[str] = []
    configured = config.server.auth_token
    if configured:
        configured = expand_env(configured, environment, default="")
        tokens.extend(t.strip() for t in configured.split(",") if t.strip())
    if environment.get("MCP_PAGINATE_AUTH_TOKEN"):
        tokens.extend(t.strip() for t in environment["MCP_PAGINATE_AUTH_TOKEN"].split(",") if t.strip())
    return tokens


class BearerAuth:
    """Refuse requests to the MCP endpoint without one of the accepted bearer tokens."""

    def __init__(self, app: ASGIApp, tokens: list[str]) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.tokens and scope.get("path") not in _OPEN_PATHS:
            given = b""
            for name, value in scope.get("headers", []):
                if name == b"authorization" and value[:7].lower() == b"bearer ":
                    given = value[7:].strip()
            if not any(hmac.compare_digest(given, token) for token in self.tokens):
                body = json.dumps({"error": "missing or invalid bearer token"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


def build_http_app(
    server: MCPServer[Any], config: AppConfig, *, store_url: str, host: str = "127.0.0.1"
) -> ASGIApp:
    """The ASGI app: ``/mcp`` (stateless streamable HTTP), ``/health`` (liveness) and ``/ready``.

    ``/health`` never touches the store, so a store outage does not restart every replica;
    ``/ready`` answers 503 while the store (the one the tools use) is unreachable, or before the
    server has opened it.
    """
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response

    shown_store = _without_password(store_url)

    @server.custom_route("/health", methods=["GET"])  # type: ignore[untyped-decorator]
    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    @server.custom_route("/ready", methods=["GET"])  # type: ignore[untyped-decorator]
    async def ready(request: Request) -> Response:
        if opened.app is None:
            return JSONResponse({"status": "starting", "store": shown_store}, 503)
        try:
            with anyio.fail_after(2):
                counts = await opened.app.store.counts()
        except (StoreError, TimeoutError) as exc:
            message = str(exc) or "the store did not answer within 2 s"
            return JSONResponse({"status": "unavailable", "store": shown_store, "error": message}, 503)
        return JSONResponse({"status": "ok", "store": shown_store, **counts})

    app = server.streamable_http_app(stateless_http=True, host=host)
    opened = _OpenedApp()
    _remember_app(server, opened)
    return BearerAuth(app, auth_tokens(config))


@dataclass
class _OpenedApp:
    """The `AppContext` the server's lifespan opened, while it is open."""

    app: AppContext | None = None


def _remember_app(server: MCPServer[Any], opened: _OpenedApp) -> None:
    """Keep the `AppContext` the server opens in ``opened`` while it is open, so ``/ready`` probes
    the store the tools use instead of opening one per probe (with ``memory://``, another store
    would be an empty one).

    The session manager enters the server's lifespan once, when the ASGI app starts; the lifespan
    it enters is the low-level server's public ``lifespan`` attribute, wrapped here.
    """
    lowlevel = server.session_manager.app
    lifespan = lowlevel.lifespan

    @asynccontextmanager
    async def remembering(owner: Any) -> AsyncIterator[Any]:
        async with lifespan(owner) as context:
            opened.app = context if isinstance(context, AppContext) else None
            try:
                yield context
            finally:
                opened.app = None

    lowlevel.lifespan = remembering


def run_http(server: MCPServer[Any], config: AppConfig, *, store_url: str, host: str, port: int) -> None:
    import uvicorn

    app = build_http_app(server, config, store_url=store_url, host=host)
    uvicorn.run(app, host=host, port=port, log_level="warning", ws="none")
