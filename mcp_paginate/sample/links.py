"""Next-link paging: the next page's URL in a ``Link`` header or in the body.

``GET /link?per_page=&page=[&relative=1]``
    GitHub style, cap 100: bare JSON list and an RFC 8288 ``Link`` header with ``next`` and
    ``last`` (while there is a next page) and ``first``/``prev`` (after page 1). Links are absolute
    URLs built from the request, or paths such as ``/link?page=3&per_page=10&relative=1`` with
    ``relative=1``.
``GET /next-url?limit=&offset=``
    Django REST Framework style, cap 100: ``{"count", "next", "previous", "results"}`` where
    ``next``/``previous`` are absolute URLs or null.
``GET /odata?$top=&$skip=``
    OData style, cap 100: ``{"value", "@odata.nextLink"}``, the link absent on the last page.
``GET /hal?page=&size=``
    HAL (Spring Data REST) style, pages from **0**, cap 100: ``{"_embedded": {"items"},
    "_links": {"self", "next"}, "page": {"size", "totalElements", "totalPages", "number"}}``;
    ``_links.next`` is absent on the last page.
"""

from __future__ import annotations

import math
from functools import partial

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import link_header, page_size, query_int, with_query
from mcp_paginate.sample.records import MAX_PAGE_SIZE, JSONObject, SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/link", partial(link, data)),
        Route("/next-url", partial(next_url, data)),
        Route("/odata", partial(odata, data)),
        Route("/hal", partial(hal, data)),
    ]


async def link(data: SampleData, request: Request) -> Response:
    size = page_size(request, "per_page", MAX_PAGE_SIZE)
    number = query_int(request, "page", 1, minimum=1)
    page = data.slice((number - 1) * size, size, cursor=True)
    relative = request.query_params.get("relative") == "1"

    def page_url(target: int) -> str:
        url = with_query(request.url, page=target, per_page=size)
        return f"{url.path}?{url.query}" if relative else str(url)

    links: dict[str, str] = {}
    if page.next_offset is not None:
        links["next"] = data.next_link(page, page_url(page.next_offset // size + 1))
        links["last"] = page_url(max(1, math.ceil(data.total / size)))
    if number > 1:
        links["first"] = page_url(1)
        links["prev"] = page_url(number - 1)
    return JSONResponse(page.records, headers={"Link": link_header(links)} if links else {})


async def next_url(data: SampleData, request: Request) -> Response:
    size = page_size(request, "limit", MAX_PAGE_SIZE)
    offset = query_int(request, "offset", 0)
    page = data.slice(offset, size, cursor=True)
    next_url = None
    if page.next_offset is not None:
        next_url = data.next_link(page, with_query(request.url, limit=size, offset=page.next_offset))
    previous = str(with_query(request.url, limit=size, offset=max(0, offset - size))) if offset else None
    return JSONResponse(
        {"count": data.total, "next": next_url, "previous": previous, "results": page.records}
    )


async def odata(data: SampleData, request: Request) -> Response:
    size = page_size(request, "$top", MAX_PAGE_SIZE)
    skip = query_int(request, "$skip", 0)
    page = data.slice(skip, size, cursor=True)
    body: JSONObject = {"value": page.records}
    if page.next_offset is not None:
        next_url = with_query(request.url, **{"$top": size, "$skip": page.next_offset})
        body["@odata.nextLink"] = data.next_link(page, next_url)
    return JSONResponse(body)


async def hal(data: SampleData, request: Request) -> Response:
    size = page_size(request, "size", MAX_PAGE_SIZE)
    number = query_int(request, "page", 0)
    page = data.slice(number * size, size, cursor=True)
    links: JSONObject = {"self": {"href": str(with_query(request.url, page=number, size=size))}}
    if page.next_offset is not None:
        next_url = with_query(request.url, page=page.next_offset // size, size=size)
        links["next"] = {"href": data.next_link(page, next_url)}
    page_info = {
        "size": size,
        "totalElements": data.total,
        "totalPages": math.ceil(data.total / size),
        "number": number,
    }
    return JSONResponse({"_embedded": {"items": page.records}, "_links": links, "page": page_info})


# -- control ---------------------------------------------------------------------------
