"""The application context: config, store, HTTP client, redactor, throttles and the drains
running in the background, opened once.

The MCP server's lifespan opens one `AppContext`; tests and the CLI open their own
(with a `memory://` store, an httpx mock transport, or the sample API's URL).

Example::

    async with open_app(load_config(None), "memory://") as app:
        page = await list_page(app, PagingArguments(source="alloy", params={...}))
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import anyio
import httpx2

from mcp_paginate.config import AppConfig
from mcp_paginate.errors import StoreError
from mcp_paginate.http import HttpClient, RetryPolicy
from mcp_paginate.redaction import Redactor
from mcp_paginate.requests import known_secrets
from mcp_paginate.store import Store, open_store
from mcp_paginate.throttle import Throttle

if TYPE_CHECKING:
    from mcp_paginate.background import Drains
    from mcp_paginate.results import ChunkStarts

__all__ = ["AppContext", "open_app"]

logger = logging.getLogger(__name__)


@dataclass
class AppContext:
    """Everything a tool call needs; one per server process."""

    config: AppConfig
    store: Store
    http: HttpClient
    redactor: Redactor
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    throttles: dict[str, Throttle] = field(default_factory=dict)
    purged_at: float = field(default_factory=time.monotonic)
    drains: Drains = field(init=False)
    """fetch_all's drains, running in the app's task group (`open_app`) between calls."""
    chunk_starts: ChunkStarts = field(init=False)
    """Where the chunks of stored results start, for reading them at an offset."""

    def __post_init__(self) -> None:
        # Imported here: both build on modules that take an AppContext.
        from mcp_paginate.background import Drains
        from mcp_paginate.results import ChunkStarts

        self.drains = Drains(self)
        self.chunk_starts = ChunkStarts()

    async def purge_now_and_then(self, every_seconds: float = 300.0) -> None:
        """Delete expired sessions and results at most every few minutes (called as sessions start)."""
        now = time.monotonic()
        if now - self.purged_at >= every_seconds:
            self.purged_at = now
            await self.store.purge_expired()

    def throttle(self, key: str, concurrency: int, rate_limit: float | None) -> Throttle:
        """The shared throttle for a source (or an ad-hoc origin)."""
        throttle = self.throttles.get(key)
        if throttle is None or throttle.concurrency != concurrency or throttle.rate_limit != rate_limit:
            throttle = Throttle(concurrency, rate_limit)
            self.throttles[key] = throttle
        return throttle


@asynccontextmanager
async def open_app(
    config: AppConfig,
    store_url: str,
    *,
    environ: Mapping[str, str] | None = None,
    transport: httpx2.AsyncBaseTransport | None = None,
) -> AsyncIterator[AppContext]:
    """Open the store and HTTP client for a config; close both on exit."""
    settings = config.server
    environment = dict(os.environ if environ is None else environ)
    redactor = Redactor()
    for secret in known_secrets(config, environment):
        redactor.add(secret.value, name=secret.name)
    store = open_store(store_url, max_sessions=settings.max_sessions, max_results=settings.max_stored_results)
    http = HttpClient(
        RetryPolicy(
            retries=settings.retries,
            backoff_base=settings.backoff_base_seconds,
            retry_after_cap=settings.retry_after_cap_seconds,
            timeout=settings.request_timeout_seconds,
            max_response_bytes=settings.max_response_bytes,
        ),
        transport=transport,
        redactor=redactor,
    )
    try:
        try:
            await store.purge_expired()
        except StoreError as exc:
            # Best effort: a store that is down now may be back by the first tool call, which
            # then reports the problem to the assistant instead of the server failing to start.
            logger.warning("could not purge expired sessions at startup: %s", exc)
        app = AppContext(config=config, store=store, http=http, redactor=redactor, environ=environment)
        failure: Exception | None = None
        async with anyio.create_task_group() as group:
            app.drains.group = group
            try:
                yield app
            except Exception as exc:  # re-raised below as it is, not inside an ExceptionGroup
                failure = exc
            finally:
                # Drains still running in the background stop, storing where they got.
                app.drains.group = None
                group.cancel_scope.cancel()
        if failure is not None:
            raise failure
    finally:
        await http.aclose()
        await store.aclose()
