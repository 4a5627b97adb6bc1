"""Session stores: ``memory://``, ``sqlite:///PATH`` (default) and ``redis://HOST:PORT/DB``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from platformdirs import user_state_dir

from mcp_paginate.errors import ConfigError
from mcp_paginate.store.base import PageSlot, Store
from mcp_paginate.store.memory import MemoryStore

__all__ = ["MemoryStore", "PageSlot", "Store", "default_store_url", "open_store"]


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
        from mcp_paginate.store.sqlite import SqliteStore

        return SqliteStore(
            Path(url.removeprefix("sqlite:///")).expanduser(),
            max_sessions=max_sessions,
            max_results=max_results,
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
