"""A deterministic sample REST API that serves the same records in every pagination style.

Tests, ``mcp-paginate demo`` and the benchmark talk to it over real loopback HTTP. It serves
``N`` records (default 237, deliberately not a multiple of common page sizes)::

    {"id": i, "name": f"Record {i}", "email": f"user{i}@example.test",
     "group": ["red", "green", "blue"][i % 3], "score": (i * 37) % 101}      # i = 1..N

Page-size parameters default to 10; a value that is not an integer, or is out of range, gets
``400 {"error": "..."}``. "Cap" means a larger page size is silently reduced to the cap.

Endpoints
---------
``POST /connectors/{connector}/actions/{action}/execute``
    Alloy Connectivity API. Headers ``x-api-version`` and ``x-alloy-userid`` required; body
    ``{"credentialId", "actionId" (== action), "input": {"limit", "offset", ...}}``; strict cap:
    ``limit > 50`` is a 400. Returns ``{"data": [...], "pagination": {"hasMore", "nextOffset"}}``.
``GET /offset?limit=&offset=``
    Offset and total, cap 100: ``{"items", "total", "limit" (effective), "offset"}``.
``GET /pages?page=&page_size=``
    Page numbers from 1 with a *silent* cap of 25 and no end signal: ``{"results", "page"}``;
    page ``p`` holds records ``(p-1)*25+1 .. p*25`` when 25 or more were asked for.
``GET /pages-total?page=&page_size=``
    Page numbers with totals, cap 100: ``{"results", "page", "total", "total_pages"}``.
``GET /token?max_results=&pagination_token=``
    Twitter style, cap 100: ``{"data", "meta": {"result_count", "next_token"}}``; ``next_token``
    (opaque) is absent on the last page; a token we did not mint is a 400.
``GET /header-cursor?limit=&cursor=``
    Bare JSON list; the next cursor (opaque) is in the ``X-Next-Cursor`` response header,
    absent on the last page. Cap 100.
``GET /link?per_page=&page=[&relative=1]``
    GitHub style, cap 100: bare JSON list and an RFC 8288 ``Link`` header with ``next`` and
    ``last`` (while there is a next page) and ``first``/``prev`` (after page 1). Links are absolute
    URLs built from the request, or paths such as ``/link?page=3&per_page=10&relative=1`` with
    ``relative=1``.
``GET /starting-after?limit=&starting_after=<id>``
    Stripe style, cap 100: ``{"object": "list", "url", "data", "has_more"}`` with the records
    whose id is greater than ``starting_after``.
``GET /next-url?limit=&offset=``
    Django REST Framework style, cap 100: ``{"count", "next", "previous", "results"}`` where
    ``next``/``previous`` are absolute URLs or null.
``GET /odata?$top=&$skip=``
    OData style, cap 100: ``{"value", "@odata.nextLink"}``, the link absent on the last page.
``GET /hal?page=&size=``
    HAL (Spring Data REST) style, pages from **0**, cap 100: ``{"_embedded": {"items"},
    "_links": {"self", "next"}, "page": {"size", "totalElements", "totalPages", "number"}}``;
    ``_links.next`` is absent on the last page.
``GET /_stats`` / ``POST /_stats/reset``
    The :class:`Stats` as JSON / start counting afresh.
``GET /_faults`` / ``POST /_faults`` / ``DELETE /_faults``
    Show, replace (JSON body with :class:`FaultPlan` fields; unknown fields are a 400) or clear
    the fault plan.

Paths under ``/_`` are control endpoints; every other path is a *data request*. Only data
requests are counted in the stats, delayed by ``latency``, checked against ``api_key``
(``401 {"error": "invalid api key"}`` unless ``Authorization: Bearer <api_key>``) and subject to
faults.

Faults
------
A :class:`FaultPlan` is deterministic: authorised data requests are numbered 1, 2, 3... from
the moment the plan was installed (app start, ``SampleAPI.faults = ...``, ``POST``/``DELETE
/_faults``), and ``*_every=k`` fires on the requests whose number is a multiple of ``k``. So a
client that retries drains everything exactly. When several fire on the same request, the first
in this list wins (``slow`` adds to any of them):

``reset_every``
    The connection is closed without a response (the client sees a transport error such as
    ``RemoteProtocolError: Server disconnected without sending a response``).
``truncate_every``
    The headers promise the full ``Content-Length``, half of the JSON body is sent, then the
    connection is closed (the client sees ``RemoteProtocolError: peer closed connection without
    sending complete message body``).
``status_every`` (+ ``status_code`` = 503, ``retry_after``)
    Answers ``status_code`` with ``{"error": ...}``, and a ``Retry-After`` header (verbatim: "1"
    or an HTTP-date) when ``retry_after`` is set.
``bad_json_every``
    Answers 200 with ``text/html`` body ``<html>oops</html>``.
``huge_body_bytes``
    Every data request answers 200 with a streamed JSON body of exactly this many bytes
    (``{"data": "xxx..."}``, chunked, no ``Content-Length``).
``slow_every`` (+ ``slow_seconds`` = 1.0)
    Delays that request by ``slow_seconds`` before answering.
``loop``
    Cursor styles (token, header-cursor, link, next-url, odata, hal): the 3rd page (offset
    ``2 * size``) hands out the same next cursor/link as the 1st page, so pages go 1, 2, 3, 2...
``evil_next_url``
    The next link of the first page (``/link``, ``/next-url``, ``/odata``, ``/hal``) points to
    this origin instead (path and query kept), to check credentials are not sent elsewhere.
``empty_forever``
    Styles with a has-more flag or a next cursor/link keep claiming more past the end, with
    empty pages and an advancing offset/cursor (never a repeated one).
``growing_total``
    ``/offset`` reports ``total = N + request_number * limit``; the data stays N records.

Usage::

    with SampleAPI(records=100, api_key="secret") as api:
        httpx2.get(f"{api.url}/offset", headers={"Authorization": "Bearer secret"})
        api.faults.status_every = 3
        api.stats.max_in_flight

or in a terminal (the URL is printed on one line)::

    python -m mcp_paginate.sample_api --port 8000 --records 1000 --latency 20 --api-key K
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import json
import math
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import anyio
import pydantic
import uvicorn
from starlette.applications import Starlette
from starlette.datastructures import URL, Headers
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.config import LOGGING_CONFIG

__all__ = ["DEFAULT_RECORDS", "FaultPlan", "SampleAPI", "Stats", "create_app", "main", "make_record"]

DEFAULT_RECORDS = 237
DEFAULT_PAGE_SIZE = 10
ALLOY_MAX_LIMIT = 50
SILENT_PAGE_CAP = 25
MAX_PAGE_SIZE = 100

JSONObject = dict[str, Any]
FaultKind = Literal["reset", "truncate", "status", "bad_json"]


def make_record(record_id: int) -> JSONObject:
    """The sample record with this id (1-based)."""
    return {
        "id": record_id,
        "name": f"Record {record_id}",
        "email": f"user{record_id}@example.test",
        "group": ["red", "green", "blue"][record_id % 3],
        "score": (record_id * 37) % 101,
    }


# --------------------------------------------------------------------------------------------
# Stats and faults
# --------------------------------------------------------------------------------------------


class Stats:
    """Traffic seen by one sample API app (data requests only). Thread-safe.

    The lists keep the most recent ``keep`` entries.
    """

    def __init__(self, keep: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._in_flight = 0
        self._requests = 0
        self._max_in_flight = 0
        self._by_path: Counter[str] = Counter()
        self._authorizations: deque[str] = deque(maxlen=keep)
        self._timestamps: deque[float] = deque(maxlen=keep)

    def request_started(self, path: str, authorization: str | None) -> None:
        """Record a data request entering the app."""
        with self._lock:
            self._requests += 1
            self._by_path[path] += 1
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
            self._timestamps.append(time.monotonic())
            if authorization is not None:
                self._authorizations.append(authorization)

    def request_finished(self) -> None:
        """Record a data request leaving the app (answered, failed or dropped)."""
        with self._lock:
            self._in_flight -= 1

    def reset(self) -> None:
        """Forget everything seen so far (requests still in flight stay counted as in flight)."""
        with self._lock:
            self._requests = 0
            self._max_in_flight = self._in_flight
            self._by_path.clear()
            self._authorizations.clear()
            self._timestamps.clear()

    @property
    def requests(self) -> int:
        """Data requests received."""
        with self._lock:
            return self._requests

    @property
    def requests_by_path(self) -> dict[str, int]:
        """Data requests received, by URL path (no query)."""
        with self._lock:
            return dict(self._by_path)

    @property
    def in_flight(self) -> int:
        """Data requests being handled right now."""
        with self._lock:
            return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """Most data requests seen in flight at once (latency and slow faults included)."""
        with self._lock:
            return self._max_in_flight

    @property
    def authorizations(self) -> list[str]:
        """``Authorization`` header values received, oldest first (requests without one are absent)."""
        with self._lock:
            return list(self._authorizations)

    @property
    def timestamps(self) -> list[float]:
        """``time.monotonic()`` at the arrival of each data request, oldest first."""
        with self._lock:
            return list(self._timestamps)

    def snapshot(self) -> JSONObject:
        """Everything above as one JSON-ready dict (what ``GET /_stats`` returns)."""
        with self._lock:
            return {
                "requests": self._requests,
                "requests_by_path": dict(self._by_path),
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "authorizations": list(self._authorizations),
                "timestamps": list(self._timestamps),
            }


@dataclasses.dataclass
class FaultPlan:
    """Deterministic misbehaviour of the sample API; all off by default. See the module docstring.

    ``*_every=k`` fires on every k-th authorised data request (numbered from 1 since the plan
    was installed). Fields may be changed while the server runs.
    """

    status_every: int | None = None
    status_code: int = 503
    retry_after: str | None = None
    reset_every: int | None = None
    truncate_every: int | None = None
    bad_json_every: int | None = None
    slow_every: int | None = None
    slow_seconds: float = 1.0
    loop: bool = False
    evil_next_url: str | None = None
    empty_forever: bool = False
    growing_total: bool = False
    huge_body_bytes: int | None = None

    @classmethod
    def from_json(cls, data: object) -> FaultPlan:
        """Build a plan from a JSON object, rejecting unknown fields and wrong types.

        Raises:
            ValueError: with a message fit for a 400 answer.
        """
        if not isinstance(data, Mapping):
            raise ValueError("the fault plan must be a JSON object")
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown fault fields: {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            return pydantic.TypeAdapter(cls).validate_python(dict(data))
        except pydantic.ValidationError as exc:
            raise ValueError(f"invalid fault plan: {exc}") from None

    def fault_for(self, request_number: int) -> FaultKind | None:
        """The response-replacing fault for this request number, if any."""
        candidates: tuple[tuple[FaultKind, int | None], ...] = (
            ("reset", self.reset_every),
            ("truncate", self.truncate_every),
            ("status", self.status_every),
            ("bad_json", self.bad_json_every),
        )
        for kind, every in candidates:
            if _fires(every, request_number):
                return kind
        return None

    def is_slow(self, request_number: int) -> bool:
        """Whether this request is delayed by ``slow_seconds``."""
        return _fires(self.slow_every, request_number)


def _fires(every: int | None, request_number: int) -> bool:
    return every is not None and every > 0 and request_number % every == 0


# --------------------------------------------------------------------------------------------
# Request helpers
# --------------------------------------------------------------------------------------------


class _BadRequest(Exception):
    """Answered as ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class _ConnectionDropped(RuntimeError):
    """Raised to make a non-uvicorn ASGI server close the connection (fault injection)."""


def _bad_request_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, _BadRequest)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


def _as_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise _BadRequest(f"{name} must be an integer, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise _BadRequest(f"{name} must be an integer, got {value!r}") from None
    if not isinstance(value, int):
        raise _BadRequest(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise _BadRequest(f"{name} must be at least {minimum}, got {value}")
    return value


def _query_int(request: Request, name: str, default: int, minimum: int = 0) -> int:
    raw = request.query_params.get(name)
    return default if raw is None else _as_int(raw, name, minimum)


def _page_size(request: Request, name: str, cap: int) -> int:
    return min(_query_int(request, name, DEFAULT_PAGE_SIZE, minimum=1), cap)


def _encode_cursor(prefix: str, offset: int) -> str:
    return prefix + base64.urlsafe_b64encode(f"offset={offset}".encode()).decode().rstrip("=")


def _decode_cursor(prefix: str, cursor: str, name: str) -> int:
    """The offset inside a cursor minted by :func:`_encode_cursor`; 400 for anything else."""
    encoded = cursor.removeprefix(prefix)
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    key, _, number = text.partition("=")
    if not cursor.startswith(prefix) or key != "offset" or not (number.isascii() and number.isdigit()):
        raise _BadRequest(f"invalid {name}")
    return int(number)


def _with_origin(url: str, origin: str) -> str:
    """``url`` moved to another scheme://host:port, path and query kept."""
    target, parts = urlsplit(origin), urlsplit(url)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


def _with_query(url: URL, **params: object) -> URL:
    """``url`` with ``params`` set (first, in this order) and its other query parameters kept."""
    kept = [(key, value) for key, value in parse_qsl(url.query, keep_blank_values=True) if key not in params]
    query = urlencode([(key, str(value)) for key, value in params.items()] + kept, safe="$")
    return url.replace(query=query)


def _link_header(links: Mapping[str, str]) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())


async def _drop_connection(receive: Receive, send: Send, *, flush: bool) -> None:
    """Close the client's connection: flushing what was written (``flush``) or not at all.

    ASGI cannot close a connection without answering, so this reaches the uvicorn transport
    behind ``send``. Under another server it raises, which makes the server close the connection
    if a response was started (or answer 500 otherwise; with httpx's ASGITransport the client
    sees the exception).
    """
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    close: object = getattr(transport, "close" if flush else "abort", None)
    if not callable(close):
        raise _ConnectionDropped("fault injection: connection dropped")
    close()
    # Wait until the server has noticed, so it neither answers 500 nor logs an error.
    with anyio.move_on_after(1.0):
        while (await receive())["type"] != "http.disconnect":
            pass


async def _padded_json(size: int) -> AsyncIterator[bytes]:
    """A JSON document of exactly ``size`` bytes, produced in chunks."""
    head, tail = b'{"data": "', b'"}'
    if size < len(head) + len(tail):
        yield b" " * size
        return
    yield head
    remaining = size - len(head) - len(tail)
    chunk = b"x" * 65_536
    while remaining > 0:
        yield chunk[: min(remaining, len(chunk))]
        remaining -= len(chunk)
    yield tail


@dataclasses.dataclass(frozen=True)
class _Slice:
    records: list[JSONObject]
    offset: int
    size: int
    next_offset: int | None  # None: this is the last page

    @property
    def is_first(self) -> bool:
        return self.offset == 0


# --------------------------------------------------------------------------------------------
# The application
# --------------------------------------------------------------------------------------------


class _SampleBackend:
    """Records, stats, faults and one endpoint method per pagination style."""

    def __init__(self, records: int, latency: float, api_key: str | None, faults: FaultPlan | None) -> None:
        if records < 0:
            raise ValueError("records must be >= 0")
        self.total = records
        self.latency = latency
        self.api_key = api_key
        self.stats = Stats()
        self._faults = faults or FaultPlan()
        self._fault_lock = threading.Lock()
        self._fault_count = 0

    # -- faults ----------------------------------------------------------------------------

    @property
    def faults(self) -> FaultPlan:
        return self._faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        with self._fault_lock:
            self._faults = plan
            self._fault_count = 0

    def next_request_number(self) -> tuple[FaultPlan, int]:
        """The current plan and this request's number under it (1, 2, 3...)."""
        with self._fault_lock:
            self._fault_count += 1
            return self._faults, self._fault_count

    # -- data ------------------------------------------------------------------------------

    def _slice(self, offset: int, size: int, *, cursor: bool = False) -> _Slice:
        """Records ``offset+1 .. offset+size`` and the next offset, faults applied."""
        end = min(offset + size, self.total)
        records = [make_record(i) for i in range(offset + 1, end + 1)]
        next_offset = end if end < self.total else None
        if next_offset is None and self.faults.empty_forever:
            next_offset = offset + size
        if cursor and self.faults.loop and offset == 2 * size:
            next_offset = size  # what the first page handed out
        return _Slice(records, offset, size, next_offset)

    def _next_link(self, page: _Slice, url: URL | str) -> str:
        evil = self.faults.evil_next_url
        return _with_origin(str(url), evil) if evil and page.is_first else str(url)

    # -- styles ----------------------------------------------------------------------------

    async def alloy(self, request: Request) -> Response:
        for header in ("x-api-version", "x-alloy-userid"):
            if not request.headers.get(header):
                raise _BadRequest(f"missing required header {header}")
        try:
            body = await request.json()
        except json.JSONDecodeError:
            raise _BadRequest("request body must be JSON") from None
        except ClientDisconnect:  # the client gave up (a cancelled prefetch): nobody to answer
            return Response(status_code=499)
        if not isinstance(body, dict):
            raise _BadRequest("request body must be a JSON object")
        if not isinstance(body.get("credentialId"), str) or not body["credentialId"]:
            raise _BadRequest("credentialId is required")
        action = request.path_params["action"]
        if body.get("actionId") != action:
            raise _BadRequest(f"actionId must be {action!r}, got {body.get('actionId')!r}")
        action_input = body.get("input", {})
        if not isinstance(action_input, dict):
            raise _BadRequest("input must be an object")
        limit = _as_int(action_input.get("limit", DEFAULT_PAGE_SIZE), "limit", 1)
        offset = _as_int(action_input.get("offset", 0), "offset", 0)
        if limit > ALLOY_MAX_LIMIT:
            raise _BadRequest(f"limit must be at most {ALLOY_MAX_LIMIT}")
        page = self._slice(offset, limit)
        has_more = page.next_offset is not None
        next_offset = page.next_offset if page.next_offset is not None else offset + len(page.records)
        return JSONResponse(
            {"data": page.records, "pagination": {"hasMore": has_more, "nextOffset": next_offset}}
        )

    async def offset(self, request: Request) -> Response:
        limit = _page_size(request, "limit", MAX_PAGE_SIZE)
        offset = _query_int(request, "offset", 0)
        total = self.total
        if self.faults.growing_total:
            total += getattr(request.state, "request_number", 0) * limit
        page = self._slice(offset, limit)
        return JSONResponse({"items": page.records, "total": total, "limit": limit, "offset": offset})

    async def pages(self, request: Request) -> Response:
        return self._numbered_page(request, cap=SILENT_PAGE_CAP, with_total=False)

    async def pages_total(self, request: Request) -> Response:
        return self._numbered_page(request, cap=MAX_PAGE_SIZE, with_total=True)

    def _numbered_page(self, request: Request, *, cap: int, with_total: bool) -> Response:
        size = _page_size(request, "page_size", cap)
        number = _query_int(request, "page", 1, minimum=1)
        page = self._slice((number - 1) * size, size)
        body: JSONObject = {"results": page.records, "page": number}
        if with_total:
            body |= {"total": self.total, "total_pages": math.ceil(self.total / size)}
        return JSONResponse(body)

    async def token(self, request: Request) -> Response:
        size = _page_size(request, "max_results", MAX_PAGE_SIZE)
        raw = request.query_params.get("pagination_token")
        offset = 0 if raw is None else _decode_cursor("tok_", raw, "pagination_token")
        page = self._slice(offset, size, cursor=True)
        meta: JSONObject = {"result_count": len(page.records)}
        if page.next_offset is not None:
            meta["next_token"] = _encode_cursor("tok_", page.next_offset)
        return JSONResponse({"data": page.records, "meta": meta})

    async def header_cursor(self, request: Request) -> Response:
        size = _page_size(request, "limit", MAX_PAGE_SIZE)
        raw = request.query_params.get("cursor")
        offset = 0 if raw is None else _decode_cursor("cur_", raw, "cursor")
        page = self._slice(offset, size, cursor=True)
        headers = (
            {} if page.next_offset is None else {"X-Next-Cursor": _encode_cursor("cur_", page.next_offset)}
        )
        return JSONResponse(page.records, headers=headers)

    async def link(self, request: Request) -> Response:
        size = _page_size(request, "per_page", MAX_PAGE_SIZE)
        number = _query_int(request, "page", 1, minimum=1)
        page = self._slice((number - 1) * size, size, cursor=True)
        relative = request.query_params.get("relative") == "1"

        def page_url(target: int) -> str:
            url = _with_query(request.url, page=target, per_page=size)
            return f"{url.path}?{url.query}" if relative else str(url)

        links: dict[str, str] = {}
        if page.next_offset is not None:
            links["next"] = self._next_link(page, page_url(page.next_offset // size + 1))
            links["last"] = page_url(max(1, math.ceil(self.total / size)))
        if number > 1:
            links["first"] = page_url(1)
            links["prev"] = page_url(number - 1)
        return JSONResponse(page.records, headers={"Link": _link_header(links)} if links else {})

    async def starting_after(self, request: Request) -> Response:
        size = _page_size(request, "limit", MAX_PAGE_SIZE)
        after = _query_int(request, "starting_after", 0)
        page = self._slice(after, size)  # ids are 1..N, so "id > after" starts at offset `after`
        return JSONResponse(
            {
                "object": "list",
                "url": "/starting-after",
                "data": page.records,
                "has_more": page.next_offset is not None,
            }
        )

    async def next_url(self, request: Request) -> Response:
        size = _page_size(request, "limit", MAX_PAGE_SIZE)
        offset = _query_int(request, "offset", 0)
        page = self._slice(offset, size, cursor=True)
        next_url = None
        if page.next_offset is not None:
            next_url = self._next_link(page, _with_query(request.url, limit=size, offset=page.next_offset))
        previous = str(_with_query(request.url, limit=size, offset=max(0, offset - size))) if offset else None
        return JSONResponse(
            {"count": self.total, "next": next_url, "previous": previous, "results": page.records}
        )

    async def odata(self, request: Request) -> Response:
        size = _page_size(request, "$top", MAX_PAGE_SIZE)
        skip = _query_int(request, "$skip", 0)
        page = self._slice(skip, size, cursor=True)
        body: JSONObject = {"value": page.records}
        if page.next_offset is not None:
            next_url = _with_query(request.url, **{"$top": size, "$skip": page.next_offset})
            body["@odata.nextLink"] = self._next_link(page, next_url)
        return JSONResponse(body)

    async def hal(self, request: Request) -> Response:
        size = _page_size(request, "size", MAX_PAGE_SIZE)
        number = _query_int(request, "page", 0)
        page = self._slice(number * size, size, cursor=True)
        links: JSONObject = {"self": {"href": str(_with_query(request.url, page=number, size=size))}}
        if page.next_offset is not None:
            next_url = _with_query(request.url, page=page.next_offset // size, size=size)
            links["next"] = {"href": self._next_link(page, next_url)}
        page_info = {
            "size": size,
            "totalElements": self.total,
            "totalPages": math.ceil(self.total / size),
            "number": number,
        }
        return JSONResponse({"_embedded": {"items": page.records}, "_links": links, "page": page_info})

    # -- control ---------------------------------------------------------------------------

    async def show_stats(self, request: Request) -> Response:
        return JSONResponse(self.stats.snapshot())

    async def reset_stats(self, request: Request) -> Response:
        self.stats.reset()
        return JSONResponse(self.stats.snapshot())

    async def show_faults(self, request: Request) -> Response:
        return JSONResponse(dataclasses.asdict(self.faults))

    async def set_faults(self, request: Request) -> Response:
        try:
            self.faults = FaultPlan.from_json(await request.json())
        except (json.JSONDecodeError, ValueError) as exc:
            raise _BadRequest(str(exc)) from None
        return JSONResponse(dataclasses.asdict(self.faults))

    async def clear_faults(self, request: Request) -> Response:
        self.faults = FaultPlan()
        return JSONResponse(dataclasses.asdict(self.faults))

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/connectors/{connector}/actions/{action}/execute", self.alloy, methods=["POST"]),
            Route("/offset", self.offset),
            Route("/pages", self.pages),
            Route("/pages-total", self.pages_total),
            Route("/token", self.token),
            Route("/header-cursor", self.header_cursor),
            Route("/link", self.link),
            Route("/starting-after", self.starting_after),
            Route("/next-url", self.next_url),
            Route("/odata", self.odata),
            Route("/hal", self.hal),
            Route("/_stats", self.show_stats),
            Route("/_stats/reset", self.reset_stats, methods=["POST"]),
            Route("/_faults", self.show_faults, methods=["GET"]),
            Route("/_faults", self.set_faults, methods=["POST"]),
            Route("/_faults", self.clear_faults, methods=["DELETE"]),
        ]


class _TrafficLayer:
    """Outermost ASGI layer: stats, latency, api key and faults for data requests.

    It sits outside Starlette's own middleware so that ``send`` is still the server's, which
    the connection-dropping faults need.
    """

    def __init__(self, backend: _SampleBackend, app: ASGIApp) -> None:
        self.backend = backend
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/_"):
            await self.app(scope, receive, send)
            return
        backend = self.backend
        authorization = Headers(scope=scope).get("authorization")
        backend.stats.request_started(scope["path"], authorization)
        try:
            if backend.latency > 0:
                await anyio.sleep(backend.latency)
            if backend.api_key is not None and authorization != f"Bearer {backend.api_key}":
                await JSONResponse({"error": "invalid api key"}, status_code=401)(scope, receive, send)
                return
            plan, number = backend.next_request_number()
            scope.setdefault("state", {})["request_number"] = number
            if plan.is_slow(number):
                await anyio.sleep(plan.slow_seconds)
            await self._respond(plan, number, scope, receive, send)
        finally:
            backend.stats.request_finished()

    async def _respond(
        self, plan: FaultPlan, number: int, scope: Scope, receive: Receive, send: Send
    ) -> None:
        fault = plan.fault_for(number)
        if fault == "reset":
            await _drop_connection(receive, send, flush=False)
        elif fault == "truncate":
            await self.app(scope, receive, _half_body_sender(send))
            await _drop_connection(receive, send, flush=True)
        else:
            app = self._replacement(plan, fault) or self.app
            await app(scope, receive, send)

    @staticmethod
    def _replacement(plan: FaultPlan, fault: FaultKind | None) -> ASGIApp | None:
        """A response standing in for the real one, if the plan calls for it."""
        if fault == "status":
            headers = {"Retry-After": plan.retry_after} if plan.retry_after else {}
            error = {"error": f"injected fault: HTTP {plan.status_code}"}
            return JSONResponse(error, status_code=plan.status_code, headers=headers)
        if fault == "bad_json":
            return HTMLResponse("<html>oops</html>")
        if plan.huge_body_bytes is not None:
            return StreamingResponse(_padded_json(plan.huge_body_bytes), media_type="application/json")
        return None


def _half_body_sender(send: Send) -> Send:
    """A ``send`` that passes the headers, then only the first half of the first body part."""
    body_sent = False

    async def send_half(message: Message) -> None:
        nonlocal body_sent
        if body_sent:
            return
        if message["type"] == "http.response.body":
            body = message.get("body", b"")
            body_sent = True
            message = {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        await send(message)

    return send_half


class _SampleApp(Starlette):
    def __init__(self, backend: _SampleBackend) -> None:
        self.backend = backend
        super().__init__(routes=backend.routes(), exception_handlers={_BadRequest: _bad_request_response})
        self.state.stats = backend.stats
        self.state.sample_api = backend

    def build_middleware_stack(self) -> ASGIApp:
        return _TrafficLayer(self.backend, super().build_middleware_stack())


def create_app(
    records: int = DEFAULT_RECORDS,
    latency: float = 0.0,
    api_key: str | None = None,
    faults: FaultPlan | None = None,
) -> Starlette:
    """The sample API as a Starlette app.

    Args:
        records: how many records (ids 1..records) every endpoint serves.
        latency: seconds added to every data request.
        api_key: if set, data requests need ``Authorization: Bearer <api_key>``.
        faults: the initial fault plan (default: none).

    ``app.state.stats`` is its :class:`Stats`; ``app.state.sample_api.faults`` its live plan.
    """
    return _SampleApp(_SampleBackend(records, latency, api_key, faults))


# --------------------------------------------------------------------------------------------
# Running it
# --------------------------------------------------------------------------------------------


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound and listening, so clients can connect as soon as its URL is known."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP, and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _server(app: Starlette, host: str, *, log_config: dict[str, Any] | None) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        host=host,
        http="h11",  # the connection-dropping faults rely on its transport handling
        ws="none",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=1,
        log_config=log_config,
    )
    return uvicorn.Server(config)


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class SampleAPI:
    """The sample API served by uvicorn in a background thread, for sync and async callers.

    Example::

        with SampleAPI(records=100, latency=0.01) as api:
            response = httpx2.get(f"{api.url}/offset", params={"limit": 50})
            assert api.stats.requests == 1

    Args:
        records, latency, api_key, faults: as for :func:`create_app`.
        host: interface to listen on.
        port: port to listen on; 0 picks a free one.
        startup_timeout: seconds to wait for the server to accept connections.
    """

    def __init__(
        self,
        records: int = DEFAULT_RECORDS,
        latency: float = 0.0,
        api_key: str | None = None,
        faults: FaultPlan | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        startup_timeout: float = 10.0,
    ) -> None:
        self.app = create_app(records=records, latency=latency, api_key=api_key, faults=faults)
        self.host = host
        self.records = records
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def _backend(self) -> _SampleBackend:
        return cast(_SampleApp, self.app).backend

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        if self._port is None:
            raise RuntimeError("the sample API is not running; use `with SampleAPI() as api:`")
        return _url(self.host, self._port)

    @property
    def port(self) -> int:
        """The port listened on."""
        if self._port is None:
            raise RuntimeError("the sample API is not running")
        return self._port

    @property
    def stats(self) -> Stats:
        """The app's live :class:`Stats`."""
        return self._backend.stats

    @property
    def faults(self) -> FaultPlan:
        """The live :class:`FaultPlan`; mutate it, or assign a new one to restart the numbering."""
        return self._backend.faults

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        self._backend.faults = plan

    def start(self) -> Self:
        """Start serving and return once the server accepts connections.

        Raises:
            RuntimeError: the server failed to start.
            TimeoutError: it did not start within ``startup_timeout``.
        """
        if self._thread is not None:
            raise RuntimeError("the sample API is already running")
        sock = _listening_socket(self.host, self._requested_port)
        server = _server(self.app, self.host, log_config=None)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="sample-api", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not server.started:
            if not thread.is_alive():
                sock.close()
                raise RuntimeError("the sample API failed to start; see the uvicorn log")
            if time.monotonic() > deadline:
                server.should_exit = True
                thread.join(timeout=5)
                sock.close()
                raise TimeoutError(f"the sample API did not start within {self._startup_timeout} s")
            time.sleep(0.005)
        self._server, self._thread, self._socket = server, thread, sock
        self._port = sock.getsockname()[1]
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving (in-flight requests get about a second to finish). Idempotent."""
        server, thread, sock = self._server, self._thread, self._socket
        if server is None or thread is None or sock is None:
            return
        server.should_exit = True
        thread.join(timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout)
        sock.close()  # uvicorn closes it too; this covers a server that would not stop
        self._server = self._thread = self._socket = None
        self._port = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the sample API in the foreground; print its URL on one line, then serve until killed."""
    parser = argparse.ArgumentParser(
        prog="python -m mcp_paginate.sample_api",
        description="Serve mcp-paginate's sample REST API (every pagination style, fault injection).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default 0: a free one)")
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS, help="records served (default 237)")
    parser.add_argument("--latency", type=float, default=0.0, help="milliseconds added to each request")
    parser.add_argument("--api-key", default=None, help="require Authorization: Bearer <KEY>")
    args = parser.parse_args(argv)

    app = create_app(records=args.records, latency=args.latency / 1000, api_key=args.api_key)
    sock = _listening_socket(args.host, args.port)
    print(_url(args.host, sock.getsockname()[1]), flush=True)
    server = _server(app, args.host, log_config=LOGGING_CONFIG)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


if __name__ == "__main__":
    main()
