"""APIs that auto mode has to probe, and APIs whose end signals are easy to misread.

``GET /skip-echo?$skip=&$top=``
    OData-style paging whose body echoes ``skip`` and ``top`` without the ``$``: ``{"data",
    "total", "skip", "top"}``, 10 per page by default, cap 100. Any other query parameter is a
    filter on the records' fields (``?skip=10`` matches nothing: ``total: 0, data: []``); an empty
    one (``?skip=``) filters nothing.
``GET /counted?page=``
    Page numbers, 25 per page, nothing echoed: ``{"data", "total"}``; any other query parameter is
    ignored (the first page again).
``GET /filtering?start=&limit=``
    Offset paging by ``start`` (default limit 100, cap 100), nothing echoed: ``{"items", "total"}``.
    Any other query parameter is a filter on the records' fields: ``?offset=100`` matches nothing
    and answers ``total: 0`` (a total contradicting the first page's 237).
``GET /repeat-last?page=&per_page=``
    Page numbers (default 25, cap 100) with no end signal: any page past the last answers the
    last page again, as json-server 1.x does: ``{"items"}``.
``GET /bare-first?cursor=``
    A cursor API whose first answer, without a cursor, is a bare list of the first 10 records; with
    ``?cursor=<offset>`` it answers ``{"items", "next_cursor"}`` (an offset as text, null at the end).
"""

from __future__ import annotations

from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import BadRequest, page_size, query_int
from mcp_paginate.sample.records import MAX_PAGE_SIZE, JSONObject, SampleData, make_record

__all__ = ["routes"]

COUNTED_PAGE_SIZE = 25


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/skip-echo", partial(skip_echo, data)),
        Route("/counted", partial(counted, data)),
        Route("/filtering", partial(filtering, data)),
        Route("/repeat-last", partial(repeat_last, data)),
        Route("/bare-first", partial(bare_first, data)),
    ]


async def skip_echo(data: SampleData, request: Request) -> Response:
    top = page_size(request, "$top", MAX_PAGE_SIZE)
    skip = query_int(request, "$skip", 0)
    matching = _filtered(data, request, {"$top", "$skip"})
    body: JSONObject = {"data": matching[skip : skip + top], "total": len(matching)}
    return JSONResponse(body | {"skip": skip, "top": top})


async def counted(data: SampleData, request: Request) -> Response:
    number = query_int(request, "page", 1, minimum=1)
    page = data.slice((number - 1) * COUNTED_PAGE_SIZE, COUNTED_PAGE_SIZE)
    return JSONResponse({"data": page.records, "total": data.total})


async def filtering(data: SampleData, request: Request) -> Response:
    limit = page_size_or(request, "limit", MAX_PAGE_SIZE)
    start = query_int(request, "start", 0)
    matching = _filtered(data, request, {"start", "limit"})
    return JSONResponse({"items": matching[start : start + limit], "total": len(matching)})


async def repeat_last(data: SampleData, request: Request) -> Response:
    size = page_size(request, "per_page", MAX_PAGE_SIZE) if "per_page" in request.query_params else 25
    number = query_int(request, "page", 1, minimum=1)
    last = max(1, -(-data.total // size))
    page = data.slice((min(number, last) - 1) * size, size)
    return JSONResponse({"items": page.records})


async def bare_first(data: SampleData, request: Request) -> Response:
    cursor = request.query_params.get("cursor")
    if cursor is None:
        return JSONResponse(data.slice(0, 10).records)
    if not cursor.isdigit():
        raise BadRequest("invalid cursor")
    page = data.slice(int(cursor), 10)
    following = None if page.next_offset is None else str(page.next_offset)
    return JSONResponse({"items": page.records, "next_cursor": following})


def page_size_or(request: Request, name: str, cap: int) -> int:
    """The page size asked for (default: the cap)."""
    return min(query_int(request, name, cap, minimum=1), cap)


def _filtered(data: SampleData, request: Request, paging: set[str]) -> list[JSONObject]:
    """The records whose fields equal every non-empty query parameter but the paging ones."""
    filters = {key: value for key, value in request.query_params.items() if key not in paging and value}
    if not filters:
        return data.slice(0, data.total).records
    return [
        record
        for record in (make_record(i) for i in range(1, data.total + 1))
        if all(str(record.get(key)) == value for key, value in filters.items())
    ]
