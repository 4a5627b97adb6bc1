"""mcp-paginate: an MCP server that pages through REST APIs, one page at a time or all at once.

The core is usable without MCP::

    from mcp_paginate import PagingArguments, load_config, open_app, list_page

    async with open_app(load_config(None), "memory://") as app:
        page = await list_page(app, PagingArguments(request={"url": "https://api.example.com/items"}))
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("mcp-paginate")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

from mcp_paginate.app import AppContext, open_app
from mcp_paginate.arguments import FetchAllArguments, PagingArguments
from mcp_paginate.config import AppConfig, SourceConfig, load_config
from mcp_paginate.errors import PaginateError
from mcp_paginate.tools import fetch_all, list_page, list_sources

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
