"""Paging values in the URL path (request options with ``in = "path"``), end to end.

An upstream on loopback serves ``/items/page/{n}``, ``/offsets/{offset}/{limit}`` and
``/after/{cursor}`` and records the raw path and query of every request it gets; the server
reads it through the real `mcp.Client`. Each page's value goes into its ``{placeholder}``,
percent-encoded, while the source's query and the page size stay in the query string;
sequential, concurrent (a total) and prefetched drains get the same records.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import text_of

RECORDS = 20
PAGE_SIZE = 3
PAGES = -(-RECORDS // PAGE_SIZE)
HANG_GUARD = 30


class _Upstream(SampleAPI):
    """``RECORDS`` records served with the position in the path; every request is recorded as
    (raw path, query). The page routes want ``state=open`` in the query, as the sources send."""

    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

        def rows(start: int, size: int) -> dict[str, Any]:
            ids = range(start + 1, min(start + size, RECORDS) + 1)
            return {"data": [{"id": i} for i in ids], "total": RECORDS, "has_more": start + size < RECORDS}

        async def page(request: Request) -> JSONResponse:
            if request.query_params.get("state") != "open":
                return JSONResponse({"error": "state=open is required"}, status_code=400)
            text = request.path_params["number"].removeprefix("p")
            if not text.isdigit():
                return JSONResponse({"error": f"no page {text!r}"}, status_code=404)
            size = int(request.query_params.get("per_page", "2"))
            await anyio.sleep(0.02)  # long enough for concurrent requests to overlap
            return JSONResponse(rows((int(text) - 1) * size, size))

        async def offsets(request: Request) -> JSONResponse:
            return JSONResponse(rows(request.path_params["offset"], request.path_params["limit"]))

        async def after(request: Request) -> JSONResponse:
            # The cursor is "k <id>/x": a space and a slash, so it must arrive percent-encoded.
            cursor = request.path_params["cursor"]
            start = int(cursor.removeprefix("k ").removesuffix("/x")) if cursor else 0
            size = int(request.query_params.get("limit", "2"))
            body = rows(start, size)
            body["next"] = f"k {start + size}/x" if body["has_more"] else None
            return JSONResponse(body)

        inner = Starlette(
            routes=[
                Route("/items/page/{number}", page),
                Route("/offsets/{offset:int}/{limit:int}", offsets),
                Route("/after/{cursor:path}", after),
            ]
        )

        async def recording(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                self.received.append((scope["raw_path"].decode(), dict(Request(scope).query_params)))
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
                try:
                    await inner(scope, receive, send)
                finally:
                    self.in_flight -= 1
            else:
                await inner(scope, receive, send)

        self.app = recording  # type: ignore[assignment]  # a test server in place of the sample app

    def reset(self) -> None:
        self.received.clear()
        self.max_in_flight = 0


PAGE_PAGINATION = {
    "mode": "page",
    "page_size": PAGE_SIZE,
    "size_param": {"in": "query", "name": "per_page"},
    "page_param": {"in": "path", "name": "page"},
}


def _sources(url: str) -> dict[str, dict[str, Any]]:
    pages = {"url": f"{url}/items/page/{{page}}", "query": {"state": "open"}, "pagination": PAGE_PAGINATION}
    return {
        "pages": pages,
        "pages_total": {**pages, "concurrency": 4, "pagination": {**PAGE_PAGINATION, "total": "total"}},
        "pages_prefetch": {
            **pages,
            "prefetch": 2,
            "pagination": {**PAGE_PAGINATION, "has_more": "has_more"},
        },
        "pages_templated": {
            **pages,
            "pagination": {
                **PAGE_PAGINATION,
                "page_param": {"in": "path", "name": "n", "template": "p{{ page }}"},
            },
            "url": f"{url}/items/page/{{n}}",
        },
        "offsets": {
            "url": f"{url}/offsets/{{offset}}/{{limit}}",
            "concurrency": 4,
            "pagination": {
                "mode": "offset",
                "page_size": PAGE_SIZE,
                "total": "total",
                "offset_param": {"in": "path", "name": "offset"},
                "limit_param": {"in": "path", "name": "limit"},
            },
        },
        "after": {
            "url": f"{url}/after/{{cursor}}",
            "pagination": {
                "mode": "cursor",
                "page_size": PAGE_SIZE,
                "next": {"body": "next"},
                "cursor_param": {"in": "path", "name": "cursor"},
                "size_param": {"in": "query", "name": "limit"},
            },
        },
    }


@pytest.fixture(scope="module")
def upstream() -> Iterator[_Upstream]:
    with _Upstream() as api:
        yield api


@pytest.fixture
async def client(upstream: _Upstream) -> AsyncIterator[Client]:
    host = upstream.url.removeprefix("http://")
    config = AppConfig.model_validate(
        {
            "server": {"allowed_hosts": [host], "allow_private_networks": True, "max_inline_chars": 100_000},
            "sources": _sources(upstream.url),
        }
    )
    upstream.reset()
    async with Client(create_server(config, "memory://")) as connected:
        yield connected


def _ids(result: dict[str, Any]) -> list[int]:
    return [record["id"] for record in result["records"]]


def _page_requests(number_prefix: str = "") -> list[tuple[str, dict[str, str]]]:
    query = {"state": "open", "per_page": str(PAGE_SIZE)}
    return [(f"/items/page/{number_prefix}{n}", query) for n in range(1, PAGES + 1)]


@pytest.mark.anyio
@pytest.mark.parametrize(("source", "prefix"), [("pages", ""), ("pages_templated", "p")])
async def test_page_numbers_go_into_the_path_and_the_query_is_kept(
    client: Client, upstream: _Upstream, source: str, prefix: str
) -> None:
    with anyio.fail_after(HANG_GUARD):
        drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert _ids(drained) == list(range(1, RECORDS + 1))
    assert drained["complete"] is True and drained["stop_reason"] == "exhausted"
    assert drained["pages"] == PAGES  # the short last page ends it: no request past it
    assert upstream.received == _page_requests(prefix)


@pytest.mark.anyio
async def test_list_page_steps_through_path_pages_and_re_reads_them(
    client: Client, upstream: _Upstream
) -> None:
    first = structured(await client.call_tool("list_page", {"source": "pages"}))
    second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    again = structured(await client.call_tool("list_page", {"cursor": second["cursor"]}))
    assert _ids(first) == [1, 2, 3] and _ids(second) == _ids(again) == [4, 5, 6]
    assert second["page"]["request"] == {"page": 2, "offset": 3, "limit": PAGE_SIZE}
    assert upstream.received == [_page_requests()[0], _page_requests()[1], _page_requests()[1]]


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["pages_total", "pages_prefetch"])
async def test_concurrent_and_prefetched_drains_fill_the_path_of_every_page(
    client: Client, upstream: _Upstream, source: str
) -> None:
    with anyio.fail_after(HANG_GUARD):
        drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert _ids(drained) == list(range(1, RECORDS + 1))
    assert drained["complete"] is True and drained["pages"] == PAGES
    received = sorted(upstream.received, key=lambda request: int(request[0].rsplit("/", 1)[1]))
    asked = _page_requests()
    # Each page once; a prefetch may ask up to 2 pages past the end, each in its own path.
    assert received[:PAGES] == asked and len(received) <= PAGES + 2
    assert all(path == f"/items/page/{n}" for n, (path, _) in enumerate(received, start=1))
    assert upstream.max_in_flight >= 2


@pytest.mark.anyio
async def test_offset_and_limit_both_go_into_the_path(client: Client, upstream: _Upstream) -> None:
    with anyio.fail_after(HANG_GUARD):
        drained = structured(await client.call_tool("fetch_all", {"source": "offsets"}))
    assert _ids(drained) == list(range(1, RECORDS + 1)) and drained["complete"] is True
    assert sorted(upstream.received) == sorted(
        (f"/offsets/{offset}/{PAGE_SIZE}", {}) for offset in range(0, RECORDS, PAGE_SIZE)
    )


@pytest.mark.anyio
async def test_a_cursor_goes_into_the_path_percent_encoded(client: Client, upstream: _Upstream) -> None:
    with anyio.fail_after(HANG_GUARD):
        drained = structured(await client.call_tool("fetch_all", {"source": "after"}))
    assert _ids(drained) == list(range(1, RECORDS + 1)) and drained["complete"] is True
    expected = [("/after/", {"limit": str(PAGE_SIZE)})]  # no cursor yet: an empty segment
    expected += [(f"/after/k%20{start}%2Fx", {"limit": str(PAGE_SIZE)}) for start in range(3, RECORDS, 3)]
    assert upstream.received == expected


@pytest.mark.anyio
async def test_an_ad_hoc_request_takes_a_path_option_too(client: Client, upstream: _Upstream) -> None:
    arguments = {
        "request": {"url": f"{upstream.url}/items/page/{{page}}", "query": {"state": "open"}},
        "pagination": PAGE_PAGINATION,
    }
    with anyio.fail_after(HANG_GUARD):
        drained = structured(await client.call_tool("fetch_all", arguments))
    assert _ids(drained) == list(range(1, RECORDS + 1)) and drained["complete"] is True
    assert upstream.received == _page_requests()


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (  # an ad-hoc url without the placeholder the pagination names
            {"request": {"url": "http://127.0.0.1:9/items"}, "pagination": PAGE_PAGINATION},
            "pagination.page_param is in='path' with name 'page', but the url has no {page}",
        ),
        (  # a source's pagination replaced by one that leaves its {page} unfilled
            {"source": "pages", "pagination": {"mode": "page", "page_size": 3}},
            "the url's {page} is filled by no request option with in='path'",
        ),
        (  # ... or by auto mode, which fills no path
            {"source": "pages", "pagination": {"mode": "auto"}},
            "the url's {page} is filled by no request option with in='path'",
        ),
    ],
)
async def test_path_options_that_do_not_fit_the_url_are_input_errors(
    client: Client, upstream: _Upstream, arguments: dict[str, Any], message: str
) -> None:
    result = await client.call_tool("list_page", arguments)
    assert result.is_error and message in text_of(result)
    assert upstream.received == []
