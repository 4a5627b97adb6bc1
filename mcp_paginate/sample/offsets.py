"""Offset paging: an offset and a limit in the query, and the total.

``GET /offset?limit=&offset=``
    Offset and total, cap 100: ``{"items", "total", "limit" (effective), "offset"}``.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import page_size, query_int
from mcp_paginate.sample.records import MAX_PAGE_SIZE, SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/offset", partial(offset, data)),
    ]


async def offset(data: SampleData, request: Request) -> Response:
    limit = page_size(request, "limit", MAX_PAGE_SIZE)
    offset = query_int(request, "offset", 0)
    total = data.total
    if data.faults.growing_total:
        total += getattr(request.state, "request_number", 0) * limit
    page = data.slice(offset, limit)
    return JSONResponse({"items": page.records, "total": total, "limit": limit, "offset": offset})
