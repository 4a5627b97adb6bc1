"""Odd bodies, end to end: an upstream on loopback serves them, the server reads them through
the real `mcp.Client`, and every record reaches the result, its text and the stored results.

- bodies only Python's ``json`` accepts (nothing is lost to a serialization error);
- a negative total, how some APIs say "unknown" (paging goes on to the real end);
- a body nested deeper than a tool result can carry (a clear error, not a crash);
- ``Link`` headers written every way RFC 8288 allows (paging follows them all to the end);
- a cursor template over a null next token (paging ends; no ``?cursor=None``);
- a numeric cursor written into a JSON body (it stays a number);
- an object cursor (JSON text in a query, the object itself in a JSON body);
- an API that answers past its end with 400/404/416 (the probe after a short page ends paging);
- an Alloy action that silently caps its pages but reports ``nextOffset`` as if it had not
  (paging follows the records received, with a note; nothing is skipped).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from mcp import Client
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from mcp_paginate.config import AppConfig
from mcp_paginate.sample import SampleAPI
from mcp_paginate.server import create_server
from tests.conftest import structured
from tests.support import ALLOY_ENV, block_text, text_of

BODIES = {
    # A lone surrogate escape is valid JSON but not text: it arrives as U+FFFD.
    "lone": (
        b'{"items": [{"id": 1, "name": "a\\ud800b", "k\\udc00": ["\\udfff", {"x": "\\ud83d"}]}]}',
        [{"id": 1, "name": "a\ufffdb", "k\ufffd": ["\ufffd", {"x": "\ufffd"}]}],
    ),
    # A proper pair is one character, untouched.
    "pair": (b'{"items": [{"id": 2, "name": "\\ud83d\\ude00"}]}', [{"id": 2, "name": "\U0001f600"}]),
    "bom": (b"\xef\xbb\xbf" + b'{"items": [{"id": 3, "name": "caf\xc3\xa9"}]}', [{"id": 3, "name": "café"}]),
}


UNKNOWN_TOTAL_RECORDS = 120
CURSOR_RECORDS = 7
SHORT_RECORDS = 3
CAPPED_RECORDS, ALLOY_CAP = 120, 20
PAST_END_STATUSES = [400, 404, 416, 403]

ODD_LINKS = [  # page N's Link header, for pages of 10 records; {next} is page N + 1's URL
    '<{next}>; REL="Next"',  # names and relation types are case-insensitive
    '<{first}>; rel="first", <{next}>; rel="next last"',  # one link, two relations
    '<{next}>; title="a, b; <c>"; rel=next',  # a quoted comma, semicolon and brackets; a bare token
    "",  # the last page: no next
]


class _Upstream(SampleAPI):
    """The sample API's server thread, serving ``BODIES[name]`` at ``/name`` instead, and
    offset pages (``/unknown-total``) and page numbers (``/unknown-pages``) of 120 records whose
    ``total`` and ``total_pages`` are -1."""

    def __init__(self) -> None:
        super().__init__()

        async def body(request: Request) -> Response:
            return Response(BODIES[request.path_params["name"]][0], media_type="application/json")

        async def deep(request: Request) -> Response:
            # Page 1 is plain; page 2 holds a record nested 300 levels deep.
            if request.query_params.get("offset", "0") == "0":
                return JSONResponse({"items": [{"id": 1}, {"id": 2}], "total": 3})
            return Response(b'{"items": [{"id": 3, "x": ' + b"[" * 300 + b"]" * 300 + b'}], "total": 3}')

        async def unknown_total(request: Request) -> JSONResponse:
            limit = int(request.query_params.get("limit", "50"))
            if "page" in request.query_params:
                offset = (int(request.query_params["page"]) - 1) * limit
            else:
                offset = int(request.query_params.get("offset", "0"))
            ids = range(offset + 1, min(offset + limit, UNKNOWN_TOTAL_RECORDS) + 1)
            return JSONResponse({"items": [{"id": i} for i in ids], "total": -1, "total_pages": -1})

        async def odd_links(request: Request) -> JSONResponse:
            number = int(request.query_params.get("page", "1"))
            url = f"{self.url}/odd-links"
            link = ODD_LINKS[number - 1].format(next=f"{url}?page={number + 1}", first=f"{url}?page=1")
            ids = range((number - 1) * 10 + 1, number * 10 + 1)
            headers = {"Link": link} if link else {}
            return JSONResponse({"items": [{"id": i} for i in ids]}, headers=headers)

        async def null_token(request: Request) -> JSONResponse:
            # Twitter-style meta.next_token, null on the last page; an unknown cursor is a 400.
            cursor = request.query_params.get("cursor", "t0")
            if not (cursor.startswith("t") and cursor[1:].isdigit()):
                return JSONResponse({"error": f"invalid cursor {cursor!r}"}, status_code=400)
            start = int(cursor[1:])
            end = min(start + 3, CURSOR_RECORDS)
            token = f"t{end}" if end < CURSOR_RECORDS else None
            return JSONResponse(
                {"data": [{"id": i} for i in range(start + 1, end + 1)], "meta": {"next_token": token}}
            )

        async def search(request: Request) -> JSONResponse:
            # A POST search whose starting_after must be the integer id it handed out.
            after = (await request.json()).get("starting_after", 0)
            if type(after) is not int:
                return JSONResponse(
                    {"error": f"starting_after must be an integer, not {after!r}"}, status_code=400
                )
            ids = list(range(after + 1, min(after + 3, CURSOR_RECORDS) + 1))
            next_id = ids[-1] if ids and ids[-1] < CURSOR_RECORDS else None
            return JSONResponse({"data": [{"id": i} for i in ids], "next_id": next_id})

        async def object_cursor(request: Request) -> JSONResponse:
            # The next cursor is an object; it must come back as JSON text in ?cursor= (GET) or
            # as the same object in the body's "after" (POST).
            if request.method == "GET":
                text = request.query_params.get("cursor")
                try:
                    after = None if text is None else json.loads(text)
                except ValueError:
                    return JSONResponse({"error": f"cursor is not JSON: {text!r}"}, status_code=400)
            else:
                after = (await request.json()).get("after")
            if after is not None and (not isinstance(after, dict) or type(after.get("id")) is not int):
                return JSONResponse({"error": f"bad cursor {after!r}"}, status_code=400)
            start = 0 if after is None else after["id"]
            ids = list(range(start + 1, min(start + 3, CURSOR_RECORDS) + 1))
            following = {"id": ids[-1], "order": ["id", "asc"]} if ids[-1] < CURSOR_RECORDS else None
            return JSONResponse({"data": [{"id": i} for i in ids], "next": following})

        async def past_end(request: Request) -> JSONResponse:
            # SHORT_RECORDS records; asking past them is answered with the status in the path
            # (Django REST Framework: 404 "Invalid page."; others 400 or 416).
            status = int(request.path_params["status"])
            size = int(request.query_params.get("limit", request.query_params.get("page_size", "10")))
            if "page" in request.query_params:
                offset = (int(request.query_params["page"]) - 1) * size
            else:
                offset = int(request.query_params.get("offset", "0"))
            if offset >= SHORT_RECORDS:
                return JSONResponse({"detail": "Invalid page."}, status_code=status)
            ids = range(offset + 1, min(offset + size, SHORT_RECORDS) + 1)
            return JSONResponse({"items": [{"id": i} for i in ids]})

        async def alloy_capped(request: Request) -> JSONResponse:
            # Alloy's shape, capped at ALLOY_CAP records, but nextOffset is offset + the limit asked.
            given = (await request.json())["input"]
            offset, limit = given["offset"], given["limit"]
            ids = range(offset + 1, min(offset + limit, offset + ALLOY_CAP, CAPPED_RECORDS) + 1)
            more = offset + limit < CAPPED_RECORDS
            return JSONResponse(
                {
                    "data": [{"id": i} for i in ids],
                    "pagination": {"hasMore": more, "nextOffset": offset + limit},
                }
            )

        self.app = Starlette(  # type: ignore[assignment]  # a test server in place of the sample app
            routes=[
                Route(
                    "/alloy-capped/connectors/{connector}/actions/{action}/execute",
                    alloy_capped,
                    methods=["POST"],
                ),
                Route("/null-token", null_token),
                Route("/search", search, methods=["POST"]),
                Route("/object-cursor", object_cursor, methods=["GET", "POST"]),
                Route("/past-end/{status:int}/{mode}", past_end),
                Route("/odd-links", odd_links),
                Route("/unknown-total", unknown_total),
                Route("/unknown-pages", unknown_total),
                Route("/deep", deep),
                Route("/{name}", body),
            ]
        )


@pytest.fixture(scope="module")
def upstream() -> Iterator[_Upstream]:
    with _Upstream() as api:
        yield api


@pytest.fixture
async def client(upstream: _Upstream) -> AsyncIterator[Client]:
    config = AppConfig.model_validate(
        {
            "sources": {
                name: {"url": f"{upstream.url}/{name}", "records": "items", "pagination": {"mode": "none"}}
                for name in BODIES
            }
            | {
                "unknown_total": {
                    "url": f"{upstream.url}/unknown-total",
                    "records": "items",
                    "pagination": {"mode": "offset", "total": "total", "page_size": 50},
                },
                "odd_links": {
                    "url": f"{upstream.url}/odd-links",
                    "records": "items",
                    "pagination": {"mode": "cursor", "next": {"link": "Next"}, "cursor_param": {"in": "url"}},
                },
                "odd_links_auto": {"url": f"{upstream.url}/odd-links", "records": "items"},
                "deep": {
                    "url": f"{upstream.url}/deep",
                    "records": "items",
                    "pagination": {"mode": "offset", "total": "total", "page_size": 2},
                },
                "unknown_pages": {
                    "url": f"{upstream.url}/unknown-pages",
                    "records": "items",
                    "pagination": {
                        "mode": "page",
                        "size_param": {"in": "query", "name": "limit"},
                        "total": "total",
                        "total_pages": "total_pages",
                        "page_size": 50,
                    },
                },
                "null_token": {
                    "url": f"{upstream.url}/null-token",
                    "pagination": {"mode": "cursor", "next": {"template": "{{ response.meta.next_token }}"}},
                },
                "search_next_id": {
                    "url": f"{upstream.url}/search",
                    "method": "POST",
                    "body": {"q": "x"},
                    "pagination": {
                        "mode": "cursor",
                        "next": {"body": "next_id"},
                        "cursor_param": {"in": "body", "name": "starting_after"},
                    },
                },
                "object_cursor_query": {
                    "url": f"{upstream.url}/object-cursor",
                    "pagination": {"mode": "cursor", "next": {"body": "next"}},
                },
                "object_cursor_body": {
                    "url": f"{upstream.url}/object-cursor",
                    "method": "POST",
                    "body": {"q": "x"},
                    "pagination": {
                        "mode": "cursor",
                        "next": {"body": "next"},
                        "cursor_param": {"in": "body", "name": "after"},
                    },
                },
                "search_last_record": {
                    "url": f"{upstream.url}/search",
                    "method": "POST",
                    "body": {"q": "x"},
                    "pagination": {
                        "mode": "cursor",
                        "next": {"last_record": "id"},
                        "cursor_param": {"in": "body", "name": "starting_after"},
                    },
                },
            }
            | {
                f"past_end_{status}_{mode}": {
                    "url": f"{upstream.url}/past-end/{status}/{mode}",
                    "records": "items",
                    "pagination": {"mode": mode, "page_size": 10},
                }
                for status in PAST_END_STATUSES
                for mode in ("offset", "page")
            }
        }
    )
    async with Client(create_server(config, "memory://")) as connected:
        yield connected


@pytest.mark.anyio
@pytest.mark.parametrize("name", sorted(BODIES))
async def test_bodies_only_json_accepts_reach_every_part_of_the_result(client: Client, name: str) -> None:
    expected: list[Any] = BODIES[name][1]

    page = await client.call_tool("list_page", {"source": name})
    assert structured(page)["records"] == expected
    assert json.loads(block_text(page.content[1]))["records"] == expected

    drained = await client.call_tool("fetch_all", {"source": name})
    data = structured(drained)
    assert data["records"] == expected and data["count"] == len(expected)
    stored = await client.read_resource(data["results_uri"])
    assert json.loads(stored.contents[0].text)["records"] == expected  # type: ignore[union-attr]


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["unknown_total", "unknown_pages"])
async def test_a_negative_total_is_unknown_and_paging_goes_on_to_the_end(client: Client, source: str) -> None:
    drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in drained["records"]] == list(range(1, UNKNOWN_TOTAL_RECORDS + 1))
    assert drained["complete"] is True and drained["total"] is None
    assert any("negative total (-1); ignored it as unknown" in note for note in drained["notes"])

    first = structured(await client.call_tool("list_page", {"source": source}))
    assert first["has_more"] is True and first["next_cursor"] and first["total"] is None


@pytest.mark.anyio
async def test_a_body_nested_too_deep_is_a_clear_error_and_the_drain_keeps_what_it_had(
    client: Client,
) -> None:
    drained = structured(await client.call_tool("fetch_all", {"source": "deep"}))
    assert [record["id"] for record in drained["records"]] == [1, 2]
    assert drained["stop_reason"] == "error" and "nested more than 201 levels deep" in drained["error"]
    assert drained["next_cursor"]  # resumable from the page that failed

    first = structured(await client.call_tool("list_page", {"source": "deep"}))
    second = await client.call_tool("list_page", {"cursor": first["next_cursor"]})
    assert second.is_error and "nested more than 201 levels deep" in text_of(second)


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["odd_links", "odd_links_auto"])
async def test_link_headers_written_every_way_the_rfc_allows_are_followed_to_the_end(
    client: Client, source: str
) -> None:
    # httpx2's parser keyed rel="next last" as one relation and ignored REL=: paging stopped
    # after page 1 and called the drain complete, 30 records short.
    drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in drained["records"]] == list(range(1, 10 * len(ODD_LINKS) + 1))
    assert drained["pages"] == len(ODD_LINKS) and drained["complete"] is True


@pytest.mark.anyio
async def test_a_template_cursor_over_a_null_next_token_ends_paging(client: Client) -> None:
    # The null rendered as "None" and was sent as ?cursor=None: a 400 here, repeated records
    # on an API that starts over at an unknown cursor.
    drained = structured(await client.call_tool("fetch_all", {"source": "null_token"}))
    assert [record["id"] for record in drained["records"]] == list(range(1, CURSOR_RECORDS + 1))
    assert drained["complete"] is True and drained["error"] is None and drained["pages"] == 3

    page = structured(await client.call_tool("list_page", {"source": "null_token"}))
    while page["next_cursor"]:
        page = structured(await client.call_tool("list_page", {"cursor": page["next_cursor"]}))
    assert page["page"]["number"] == 3 and page["has_more"] is False


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["search_next_id", "search_last_record"])
async def test_a_numeric_cursor_goes_into_a_json_body_as_a_number(client: Client, source: str) -> None:
    drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in drained["records"]] == list(range(1, CURSOR_RECORDS + 1))
    assert drained["complete"] is True and drained["error"] is None

    first = structured(await client.call_tool("list_page", {"source": source}))
    second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    assert [record["id"] for record in second["records"]] == [4, 5, 6]
    assert second["page"]["request"]["cursor"] == 3


@pytest.mark.anyio
@pytest.mark.parametrize("source", ["object_cursor_query", "object_cursor_body"])
async def test_an_object_cursor_is_json_text_in_a_query_and_an_object_in_a_body(
    client: Client, source: str
) -> None:
    # The query got Python's spelling ({'id': 3, ...}), which no API parses.
    drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in drained["records"]] == list(range(1, CURSOR_RECORDS + 1))
    assert drained["complete"] is True and drained["error"] is None and drained["pages"] == 3

    first = structured(await client.call_tool("list_page", {"source": source}))
    second = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    assert [record["id"] for record in second["records"]] == [4, 5, 6]
    assert second["page"]["request"]["cursor"] == {"id": 3, "order": ["id", "asc"]}


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["offset", "page"])
@pytest.mark.parametrize("status", [400, 404, 416])
async def test_a_refused_probe_after_a_short_page_is_the_end_of_the_data(
    client: Client, status: int, mode: str
) -> None:
    # Asked 10, got 3: the next page is asked for in case the API caps its page size. An API
    # that answers past its end with 404 (DRF's "Invalid page."), 400 or 416 has said it ended.
    source = f"past_end_{status}_{mode}"
    drained = structured(await client.call_tool("fetch_all", {"source": source}))
    assert [record["id"] for record in drained["records"]] == list(range(1, SHORT_RECORDS + 1))
    assert drained["complete"] is True and drained["stop_reason"] == "exhausted"
    assert drained["error"] is None and drained["next_cursor"] is None
    assert any(f"answered {status}" in note and "last page" in note for note in drained["notes"])

    first = structured(await client.call_tool("list_page", {"source": source}))
    assert len(first["records"]) == SHORT_RECORDS and first["has_more"] is True
    probe = structured(await client.call_tool("list_page", {"cursor": first["next_cursor"]}))
    assert probe["records"] == [] and probe["has_more"] is False and probe["next_cursor"] is None
    assert any(f"answered {status}" in note for note in probe["notes"])


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["offset", "page"])
async def test_a_probe_refused_for_another_reason_is_still_an_error(client: Client, mode: str) -> None:
    drained = structured(await client.call_tool("fetch_all", {"source": f"past_end_403_{mode}"}))
    assert drained["complete"] is False and drained["stop_reason"] == "error"
    assert "403" in drained["error"]


@pytest.mark.anyio
async def test_an_alloy_next_offset_past_the_records_of_a_short_page_skips_none_of_them(
    upstream: _Upstream,
) -> None:
    # Asked for 50, got 20, told "next offset 50": following it would skip 30 records a page.
    alloy = {"preset": "alloy", "base_url": f"{upstream.url}/alloy-capped", "connector": "c", "action": "a"}
    source = alloy | {"credential_id": "cred", "user_id": "user"}
    config = AppConfig.model_validate({"sources": {"alloy": source}}, context={"environ": ALLOY_ENV})
    async with Client(create_server(config, "memory://", environ=ALLOY_ENV)) as connected:
        data = structured(await connected.call_tool("fetch_all", {"source": "alloy"}))
    assert [record["id"] for record in data["records"]] == list(range(1, CAPPED_RECORDS + 1))
    assert data["complete"]
    assert "next offset 50 skips 30 records after 20 received at offset 0" in data["notes"][0]
