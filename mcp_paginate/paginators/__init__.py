"""Pagination modes, one per module, joined into one discriminated union on ``mode``."""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, TypeAdapter

from mcp_paginate.paginators.alloy import AlloyPagination
from mcp_paginate.paginators.auto import AutoPagination
from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption, State, Step
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = [
    "AlloyPagination",
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
    "SourcePagination",
    "State",
    "Step",
    "pagination_adapter",
]

ConcretePagination: TypeAlias = (
    OffsetPagination | PagePagination | CursorPagination | NoPagination | AlloyPagination
)
"""A mode that can page by itself (everything but auto)."""

Pagination: TypeAlias = Annotated[
    OffsetPagination | PagePagination | CursorPagination | NoPagination | AutoPagination,
    Field(discriminator="mode"),
]

SourcePagination: TypeAlias = Annotated[
    OffsetPagination | PagePagination | CursorPagination | NoPagination | AutoPagination | AlloyPagination,
    Field(discriminator="mode"),
]
"""A configured source's pagination: the tool argument's modes, and Alloy's (``preset = "alloy"``),
which a source sets and a tool argument does not (its fields stay out of the tool definitions)."""

pagination_adapter: TypeAdapter[Pagination] = TypeAdapter(Pagination)
