"""Session stores: ``memory://``, ``sqlite:///PATH`` (default) and ``redis://HOST:PORT/DB``.

Store URL options (query parameters): ``sqlite:///PATH?busy_timeout=SECONDS`` (how long a write
waits for another process's lock, default 10) and ``redis://…/DB?max_connections=N&pool_timeout=SECONDS``
(connections per server process, default 64, and how long a call waits for a free one, default 10).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import parse_qsl

from platformdirs import user_state_dir

from mcp_paginate.errors import ConfigError
from mcp_paginate.store.base import PageSlot, Store, number_option, take_options
from mcp_paginate.store.memory import MemoryStore

__all__ = ["MemoryStore", "PageSlot", "Store", "default_store_url", "open_store"]

_SQLITE_OPTIONS = frozenset({"busy_timeout"})


def default_store_url(environ: Mapping[str, str] | None = None) -> str:
    """``$MCP_PAGINATE_STORE``, else a SQLite file under the user's state directory."""
    environment = os.environ if environ is None else environ
    if environment.get("MCP_PAGINATE_STORE"):
        return environment["MCP_PAGINATE_STORE"]
    return f"sqlite:///{Path(user_state_dir('mcp-paginate')) / 'state.db'}"


def open_store(url: str, *, max_sessions: int = 10000, max_results: int = 200) -> Store:
    """Open the store a URL names.

    Raises:
        ConfigError: an unknown scheme, or ``redis://`` without the redis extra.
    """
    if url.startswith("memory://"):
        return MemoryStore(max_sessions=max_sessions, max_results=max_results)
    if url.startswith("sqlite:///"):
        from mcp_paginate.store.sqlite import DEFAULT_BUSY_TIMEOUT_SECONDS, SqliteStore

        path, options = take_options(url.removeprefix("sqlite:///"), _SQLITE_OPTIONS)
        if "?" in path:
            unknown = ", ".join(sorted(name for name, _ in parse_qsl(path.partition("?")[2])))
            raise ConfigError(f"unknown sqlite store URL option(s) {unknown}; known: busy_timeout")
        return SqliteStore(
            Path(path).expanduser(),
            max_sessions=max_sessions,
            max_results=max_results,
            busy_timeout=number_option(options, "busy_timeout", DEFAULT_BUSY_TIMEOUT_SECONDS),
        )
    if url.startswith(("redis://", "rediss://")):
        try:
            from mcp_paginate.store.redis import RedisStore
        except ImportError as exc:
            raise ConfigError(
                "the redis store needs the redis extra: pip install 'mcp-paginate[redis]'"
            ) from exc
        return RedisStore(url, max_sessions=max_sessions, max_results=max_results)
    raise ConfigError(f"unknown store URL {url!r}; use memory://, sqlite:///PATH or redis://HOST:PORT/DB")
