"""An ASGI app served by uvicorn on 127.0.0.1 inside the test's own event loop.

The socket is bound and listening before the server task starts, so a client may connect at
once (the connection waits in the backlog until the server accepts it): no readiness polling.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

import anyio
import uvicorn
from starlette.types import ASGIApp

from mcp_paginate.sample.runner import base_url, listening_socket

__all__ = ["serving"]


@asynccontextmanager
async def serving(app: ASGIApp, *, lifespan: Literal["auto", "on", "off"] = "off") -> AsyncIterator[str]:
    """Serve ``app`` on a free loopback port for the duration of the block; yields its base URL."""
    sock = listening_socket("127.0.0.1", 0)
    config = uvicorn.Config(app, lifespan=lifespan, log_level="warning", access_log=False, ws="none")
    server = uvicorn.Server(config)
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [sock])
            try:
                yield base_url("127.0.0.1", sock.getsockname()[1])
            finally:
                server.should_exit = True
    finally:
        sock.close()
