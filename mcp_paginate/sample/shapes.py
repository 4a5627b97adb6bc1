"""The answers of widely deployed APIs and frameworks whose paging a bare URL does not show, each
with the parameter names, defaults and envelope of the original (the records are the sample's).

``GET /spring?page=&size=``
    Spring Data's ``Page``: pages numbered **from 0**, 20 per page, ``{"content", "pageable":
    {"pageNumber", "pageSize", "offset", …}, "totalElements", "totalPages", "number", "size",
    "first", "last", "numberOfElements", "empty"}``. Unknown parameters are ignored.
``GET /strapi?pagination[page]=&pagination[pageSize]=``
    Strapi's REST API: 25 per page, ``{"data", "meta": {"pagination": {"page", "pageSize",
    "pageCount", "total"}}}``. Unknown parameters (``?page=``) are ignored.
``GET /search-hits?from=&size=``
    Elasticsearch / OpenSearch ``_search``: 10 per page, ``{"took", "timed_out", "hits": {"total":
    {"value", "relation"}, "max_score", "hits": [{"_index", "_id", "_score", "_source"}]}}``. An
    unknown parameter is ``400`` ("contains unrecognized parameter"), as the original answers.
``GET /odata-count?$top=&$skip=``
    An OData service with client-driven paging: 20 per page, ``{"@odata.context", "@odata.count",
    "value"}`` and no next link. Unknown (custom) query options are ignored.
``GET /classic-pages?current_page=&page_size=``
    Litestar's ``ClassicPagination`` with the handler parameters of its docs: 7 per page (not a
    round number), ``{"items", "page_size", "current_page", "total_pages"}``, no record total.
``GET /solr?start=&rows=``
    Solr's ``select``: 10 rows, ``{"responseHeader", "response": {"numFound", "start", "docs"}}``.
``GET /wp?page=&per_page=``
    The WordPress REST API: a bare list of 10, the totals only in ``X-WP-Total`` and
    ``X-WP-TotalPages``.
``GET /zero-pages?page=``
    Page numbers counting from 0, 25 per page, nothing echoed: ``{"data", "total"}``; other
    query parameters are ignored (the first page again).
``GET /p-paged?p=``
    Pages in a parameter no convention names (``p``, as shop front ends have it), 7 per page,
    ``{"results", "page_count"}``: a page count and no record total. Unknown parameters are ignored.

Every one pages its records in order, ids 1..N; a page past the end is empty.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from mcp_paginate.sample.params import BadRequest, query_int
from mcp_paginate.sample.records import MAX_PAGE_SIZE, SampleData

__all__ = ["routes"]


def routes(data: SampleData) -> list[BaseRoute]:
    """This style's endpoints, serving ``data``."""
    return [
        Route("/spring", partial(spring, data)),
        Route("/strapi", partial(strapi, data)),
        Route("/search-hits", partial(search_hits, data)),
        Route("/odata-count", partial(odata_count, data)),
        Route("/classic-pages", partial(classic_pages, data)),
        Route("/solr", partial(solr, data)),
        Route("/wp", partial(wordpress, data)),
        Route("/zero-pages", partial(zero_pages, data)),
        Route("/p-paged", partial(p_paged, data)),
    ]


def _size(request: Request, name: str, default: int) -> int:
    return min(query_int(request, name, default, minimum=1), MAX_PAGE_SIZE)


def _pages(total: int, size: int) -> int:
    return -(-total // size)


async def spring(data: SampleData, request: Request) -> Response:
    number, size = query_int(request, "page", 0), _size(request, "size", 20)
    records = data.slice(number * size, size).records
    pages = _pages(data.total, size)
    pageable = {
        "pageNumber": number,
        "pageSize": size,
        "offset": number * size,
        "paged": True,
        "unpaged": False,
        "sort": {"sorted": False, "unsorted": True, "empty": True},
    }
    body: dict[str, Any] = {
        "content": records,
        "pageable": pageable,
        "totalElements": data.total,
        "totalPages": pages,
        "last": number >= pages - 1,
        "size": size,
        "number": number,
        "sort": pageable["sort"],
        "first": number == 0,
        "numberOfElements": len(records),
        "empty": not records,
    }
    return JSONResponse(body)


async def strapi(data: SampleData, request: Request) -> Response:
    number = query_int(request, "pagination[page]", 1, minimum=1)
    size = _size(request, "pagination[pageSize]", 25)
    pagination = {
        "page": number,
        "pageSize": size,
        "pageCount": _pages(data.total, size),
        "total": data.total,
    }
    records = data.slice((number - 1) * size, size).records
    return JSONResponse({"data": records, "meta": {"pagination": pagination}})


async def search_hits(data: SampleData, request: Request) -> Response:
    unknown = sorted(set(request.query_params) - {"from", "size", "q"})
    if unknown:
        raise BadRequest(f"request [/search-hits] contains unrecognized parameter: [{unknown[0]}]")
    start, size = query_int(request, "from", 0), _size(request, "size", 10)
    hits = [
        {"_index": "sample", "_id": str(record["id"]), "_score": 1.0, "_source": record}
        for record in data.slice(start, size).records
    ]
    total = {"value": data.total, "relation": "eq"}
    return JSONResponse(
        {"took": 1, "timed_out": False, "hits": {"total": total, "max_score": 1.0, "hits": hits}}
    )


async def odata_count(data: SampleData, request: Request) -> Response:
    skip, top = query_int(request, "$skip", 0), _size(request, "$top", 20)
    body = {
        "@odata.context": str(request.base_url) + "$metadata#Records",
        "@odata.count": data.total,
        "value": data.slice(skip, top).records,
    }
    return JSONResponse(body)


async def classic_pages(data: SampleData, request: Request) -> Response:
    number, size = query_int(request, "current_page", 1, minimum=1), _size(request, "page_size", 7)
    records = data.slice((number - 1) * size, size).records
    body = {
        "items": records,
        "page_size": size,
        "current_page": number,
        "total_pages": _pages(data.total, size),
    }
    return JSONResponse(body)


async def solr(data: SampleData, request: Request) -> Response:
    start, rows = query_int(request, "start", 0), _size(request, "rows", 10)
    header = {"status": 0, "QTime": 1, "params": {"q": "*:*", "start": str(start), "rows": str(rows)}}
    found = {
        "numFound": data.total,
        "start": start,
        "numFoundExact": True,
        "docs": data.slice(start, rows).records,
    }
    return JSONResponse({"responseHeader": header, "response": found})


async def wordpress(data: SampleData, request: Request) -> Response:
    number, size = query_int(request, "page", 1, minimum=1), _size(request, "per_page", 10)
    headers = {"X-WP-Total": str(data.total), "X-WP-TotalPages": str(_pages(data.total, size))}
    return JSONResponse(data.slice((number - 1) * size, size).records, headers=headers)


async def p_paged(data: SampleData, request: Request) -> Response:
    number = query_int(request, "p", 1, minimum=1)
    records = data.slice((number - 1) * 7, 7).records
    return JSONResponse({"results": records, "page_count": _pages(data.total, 7)})


async def zero_pages(data: SampleData, request: Request) -> Response:
    number = query_int(request, "page", 0)
    return JSONResponse({"data": data.slice(number * 25, 25).records, "total": data.total})
