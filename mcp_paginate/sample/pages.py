"""Page-number paging.

``GET /pages?page=&page_size=``
    Page numbers from 1 with a *silent* cap of 25 and no end signal: ``{"results", "page"}``;
    page ``p`` holds records ``(p-1)*25+1 .. p*25`` when 25 or more were asked for.
``GET /pages-total?page=&page_size=``
    Page numbers with totals, cap 100: ``{"results", "page", "total", "total_pages"}``.
"""

from __future__ import annotations

import math
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import page_size, query_int
from mcp_paginate.sample.records import MAX_PAGE_SIZE, SILENT_PAGE_CAP, JSONObject, SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/pages", partial(pages, data)),
        Route("/pages-total", partial(pages_total, data)),
    ]


async def pages(data: SampleData, request: Request) -> Response:
    return _numbered_page(data, request, cap=SILENT_PAGE_CAP, with_total=False)


async def pages_total(data: SampleData, request: Request) -> Response:
    return _numbered_page(data, request, cap=MAX_PAGE_SIZE, with_total=True)


def _numbered_page(data: SampleData, request: Request, *, cap: int, with_total: bool) -> Response:
    size = page_size(request, "page_size", cap)
    number = query_int(request, "page", 1, minimum=1)
    page = data.slice((number - 1) * size, size)
    body: JSONObject = {"results": page.records, "page": number}
    if with_total:
        body |= {"total": data.total, "total_pages": math.ceil(data.total / size)}
    return JSONResponse(body)
