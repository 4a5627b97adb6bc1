"""Opaque-cursor paging: a token in the body or a header, or the last record's id.

``GET /token?max_results=&pagination_token=``
    Twitter style, cap 100: ``{"data", "meta": {"result_count", "next_token"}}``; ``next_token``
    (opaque) is absent on the last page; a token we did not mint is a 400.
``GET /header-cursor?limit=&cursor=``
    Bare JSON list; the next cursor (opaque) is in the ``X-Next-Cursor`` response header,
    absent on the last page. Cap 100.
``GET /starting-after?limit=&starting_after=<id>``
    Stripe style, cap 100: ``{"object": "list", "url", "data", "has_more"}`` with the records
    whose id is greater than ``starting_after``.
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import decode_cursor, encode_cursor, page_size, query_int
from mcp_paginate.sample.records import MAX_PAGE_SIZE, JSONObject, SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/token", partial(token, data)),
        Route("/header-cursor", partial(header_cursor, data)),
        Route("/starting-after", partial(starting_after, data)),
    ]


async def token(data: SampleData, request: Request) -> Response:
    size = page_size(request, "max_results", MAX_PAGE_SIZE)
    raw = request.query_params.get("pagination_token")
    offset = 0 if raw is None else decode_cursor("tok_", raw, "pagination_token")
    page = data.slice(offset, size, cursor=True)
    meta: JSONObject = {"result_count": len(page.records)}
    if page.next_offset is not None:
        meta["next_token"] = encode_cursor("tok_", page.next_offset)
    return JSONResponse({"data": page.records, "meta": meta})


async def header_cursor(data: SampleData, request: Request) -> Response:
    size = page_size(request, "limit", MAX_PAGE_SIZE)
    raw = request.query_params.get("cursor")
    offset = 0 if raw is None else decode_cursor("cur_", raw, "cursor")
    page = data.slice(offset, size, cursor=True)
    headers = {} if page.next_offset is None else {"X-Next-Cursor": encode_cursor("cur_", page.next_offset)}
    return JSONResponse(page.records, headers=headers)


async def starting_after(data: SampleData, request: Request) -> Response:
    size = page_size(request, "limit", MAX_PAGE_SIZE)
    after = query_int(request, "starting_after", 0)
    page = data.slice(after, size)  # ids are 1..N, so "id > after" starts at offset `after`
    return JSONResponse(
        {
            "object": "list",
            "url": "/starting-after",
            "data": page.records,
            "has_more": page.next_offset is not None,
        }
    )
