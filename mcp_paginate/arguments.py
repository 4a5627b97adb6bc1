"""The paging tools' arguments: one model per tool, validated once at the boundary.

The MCP wiring validates a call's raw arguments into `PagingArguments` (list_page) or
`FetchAllArguments` (fetch_all) and hands the model to `mcp_paginate.tools`; nothing below
re-validates them. Library callers build the models directly::

    await list_page(app, PagingArguments(source="alloy", params={"connector": "hubspot"}))
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.paginators import Pagination
from mcp_paginate.sessions import AdHocRequest

__all__ = ["FetchAllArguments", "PagingArguments"]


class PagingArguments(BaseModel):
    """Where to read: a source (+ params), an ad-hoc request, or a cursor; and how much of each record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = None
    params: dict[str, Any] | None = None
    request: AdHocRequest | None = None
    pagination: Pagination | None = None
    cursor: str | None = None
    page_size: int | None = Field(default=None, ge=1)
    fields: list[str] | None = None


class FetchAllArguments(PagingArguments):
    """`PagingArguments` plus the limits of a drain."""

    max_records: int | None = Field(default=None, ge=1)
    max_pages: int | None = Field(default=None, ge=1)
    dedupe_key: str | None = None
