"""mcp-paginate: an MCP server that pages through REST APIs, one page at a time or all at once.

The core is usable without MCP::

    from mcp_paginate import PagingArguments, load_config, open_app, list_page

    async with open_app(load_config(None), "memory://") as app:
        page = await list_page(app, PagingArguments(request={"url": "https://api.example.com/items"}))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    __version__: str
    from mcp_paginate.app import AppContext, open_app
    from mcp_paginate.arguments import FetchAllArguments, PagingArguments
    from mcp_paginate.config import AppConfig, SourceConfig, load_config
    from mcp_paginate.errors import PaginateError
    from mcp_paginate.tools import fetch_all, list_page, list_sources

_PUBLIC = {
    "AppContext": "app",
    "open_app": "app",
    "FetchAllArguments": "arguments",
    "PagingArguments": "arguments",
    "AppConfig": "config",
    "SourceConfig": "config",
    "load_config": "config",
    "PaginateError": "errors",
    "fetch_all": "tools",
    "list_page": "tools",
    "list_sources": "tools",
}
"""Where each public name lives: imported on first use, so that the command starts (and a Ctrl-C
during its start is caught) before the server's dependencies load."""


def __getattr__(name: str) -> Any:
    if name == "__version__":
        globals()[name] = _version()
        return globals()[name]
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'mcp_paginate' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"mcp_paginate.{module}"), name)
    globals()[name] = value
    return value


__all__ = [
    "AppConfig",
    "AppContext",
    "FetchAllArguments",
    "PaginateError",
    "PagingArguments",
    "SourceConfig",
    "__version__",
    "fetch_all",
    "list_page",
    "list_sources",
    "load_config",
    "open_app",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mcp-paginate")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "0.0.0"
