"""Pagination modes, one per module, joined into one discriminated union on ``mode``."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, TypeAdapter

from mcp_paginate.paginators.auto import AutoPagination
from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption, State, Step
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = [
    "AutoPagination",
    "ConcretePagination",
    "CursorPagination",
    "NextCursor",
    "NoPagination",
    "OffsetPagination",
    "PagePagination",
    "PageView",
    "Pagination",
    "PreparedRequest",
    "RequestOption",
    "State",
    "Step",
    "pagination_adapter",
]

ConcretePagination: TypeAlias = OffsetPagination | PagePagination | CursorPagination | NoPagination
"""A mode that can page by itself (everything but auto)."""

Pagination: TypeAlias = Annotated[
    OffsetPagination | PagePagination | CursorPagination | NoPagination | AutoPagination,
    Field(discriminator="mode"),
]

pagination_adapter: TypeAdapter[Pagination] = TypeAdapter(Pagination)
