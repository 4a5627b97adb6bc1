"""Auto-detected pagination: choose a concrete mode from the first response.

`detect` reads the first page (and the request that produced it) and returns the
concrete pagination that continues from it. In order of trust:

1. an RFC 8288 ``Link: <…>; rel="next"`` header (GitHub, json-server 0.x, Okta);
2. a next URL in the body: ``next`` (Django REST Framework), ``links.next`` (JSON:API),
   ``_links.next.href`` (HAL), ``@odata.nextLink`` (Microsoft Graph), ``paging.next``
   (Facebook), ``next_page_url`` (Laravel), ``nextRecordsUrl`` (Salesforce), a
   ``links: [{rel: "next", href}]`` array…;
3. a next cursor in a header (``X-Next-Cursor``, ``X-Next-Page``);
4. a next cursor, next offset or next page number in the body (``meta.next_token``,
   ``next_cursor``, ``nextPageToken``, ``pagination.nextOffset``, json-server 1.x's ``next: 2``),
   with a ``has_more``-style flag when there is one;
5. a ``has_more``-style flag with the offset or page parameters the request used, or that
   the response echoes, or, for Stripe-style lists of records with an ``id``,
   ``starting_after=<last id>``;
6. a total (``total``, ``count``, ``totalElements``, ``total_pages``…) with offset or page
   parameters the request used or the response echoes;
7. otherwise a single page.

What 5 to 7 read from names the response only echoes, and a "single page" that reports a larger
total or looks like a page, is not established: `mcp_paginate.paginators.probe` says what the
second request tries and how its answer is verified before anything is adopted.

Paging values go where the request already carried them (``?limit=50``, ``?$top=``, a POST
body's ``input.limit``), so the next request differs from the first only in its position.
Detection sends no request: a next link to another origin is recognised as the pagination, and
the session's origin policy refuses to follow it (unless that host is in ``allowed_hosts``),
with an error that says so. The chosen spec is reported as ``detected`` so it can be pinned in
config.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.paginators.auto_names import (
    CURSOR_HEADERS,
    CURSOR_PARAM_NAMES,
    LIMIT_NAMES,
    LINK_ARRAY_KEYS,
    LINK_OBJECT_KEYS,
    NEXT_CURSOR_NAMES,
    NEXT_LINK_NAMES,
    NEXT_OFFSET_NAMES,
    NEXT_PAGE_NAMES,
    OFFSET_NAMES,
    PAGE_NAMES,
    PAGE_SIZE_NAMES,
    BodyField,
    RequestParams,
    as_int,
    find,
    has_more_path,
    is_web_url,
    looks_like_url,
    option,
    search_path,
    total_paths,
    walk,
)
from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption, State
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = ["AutoPagination", "detect"]

Detected = OffsetPagination | PagePagination | CursorPagination | NoPagination


class AutoPagination(BaseModel):
    """Detect the pagination style from the first response and report it as ``detected``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["auto"] = "auto"
    page_size: int | None = Field(default=None, ge=1, description="Records per request, when detectable.")

    def first_state(self, page_size: int | None) -> State:
        return State(offset=0, page_size=page_size)


def detect(page: PageView, request: PreparedRequest, page_size: int | None) -> Detected:
    """The concrete pagination that continues from this first page.

    Args:
        page: the first response, with its records already located.
        request: the first request as it was sent (its query and body show which paging
            parameters the caller already uses, and where).
        page_size: the session's page size (None when the API chooses).
    """
    params = RequestParams.read(request)
    fields = list(walk(page.body)) if isinstance(page.body, dict) else []
    has_more = has_more_path(fields)
    for detector in (_link_header, _body_link):
        found = detector(page, fields, has_more)
        if found is not None:
            return found
    return (
        _header_cursor(page, params)
        or _body_position(page, fields, has_more, params)
        or _flagged(page, fields, has_more, params, page_size)
        or _totals(page, fields, params, page_size)
        or _echoed_page(fields, params, page_size)
        or NoPagination()
    )


# -- detectors, most trusted first ----------------------------------------------------------


def _link_header(page: PageView, fields: list[BodyField], has_more: str | None) -> CursorPagination | None:
    url = page.links.get("next")
    if url is None or not is_web_url(url):
        return None
    return CursorPagination(next=NextCursor(link="next"), cursor_param=option("url"), has_more=has_more)


def _body_link(page: PageView, fields: list[BodyField], has_more: str | None) -> CursorPagination | None:
    for item in fields:
        path = _link_path(item)
        if path is None:
            continue
        value = search_path(path, page.body)
        if isinstance(value, str) and looks_like_url(value) and is_web_url(urljoin(page.url, value)):
            return CursorPagination(next=NextCursor(body=path), cursor_param=option("url"), has_more=has_more)
    return None


def _link_path(item: BodyField) -> str | None:
    """The JMESPath of a next link at this field, if it holds one."""
    if item.key in NEXT_LINK_NAMES:
        if isinstance(item.value, str):
            return item.path
        if isinstance(item.value, dict):
            for key in LINK_OBJECT_KEYS:
                if isinstance(item.value.get(key), str):
                    return f"{item.path}.{key}"
    if item.key in LINK_ARRAY_KEYS and isinstance(item.value, list):
        for entry in item.value:
            if not isinstance(entry, dict):
                continue
            for rel_key in ("rel", "relation"):
                if entry.get(rel_key) == "next":
                    for key in LINK_OBJECT_KEYS:
                        if isinstance(entry.get(key), str):
                            return f"{item.path}[?{rel_key}=='next'].{key} | [0]"
    return None


def _header_cursor(page: PageView, params: RequestParams) -> CursorPagination | None:
    for header, param_name in CURSOR_HEADERS.items():
        value = page.header(header)
        if value and value.strip():
            known = params.page() if param_name == "page" else params.first(CURSOR_PARAM_NAMES)
            cursor_param = (
                known.option if known is not None else params.place(param_name, params.size_param())
            )
            return CursorPagination(
                next=NextCursor(header=_header_name(header)),
                cursor_param=cursor_param,
                **_cursor_size(params),
            )
    return None


def _body_position(
    page: PageView, fields: list[BodyField], has_more: str | None, params: RequestParams
) -> OffsetPagination | CursorPagination | None:
    """A next cursor, next offset or next page number in the body."""
    size = params.size_param()
    next_offset = find(fields, NEXT_OFFSET_NAMES, (int, str))
    if next_offset is not None and as_int(next_offset.value) is not None:
        offset = params.offset()
        return OffsetPagination(
            offset_param=offset.option if offset is not None else params.place("offset", size),
            limit_param=size.option if size is not None else None,
            next_offset=next_offset.path,
            has_more=has_more,
        )
    for item in fields:
        if item.key in NEXT_PAGE_NAMES and isinstance(item.value, int) and not isinstance(item.value, bool):
            known = params.page()
            return CursorPagination(
                next=NextCursor(body=item.path),
                cursor_param=known.option if known is not None else params.place("page", size),
                has_more=has_more,
                **_cursor_size(params),
            )
        if item.key in NEXT_CURSOR_NAMES and _is_token(item):
            known = params.first(CURSOR_PARAM_NAMES)
            name = _cursor_param_name(item, page.body)
            return CursorPagination(
                next=NextCursor(body=item.path),
                cursor_param=known.option if known is not None else params.place(name, size),
                has_more=has_more,
                **_cursor_size(params),
            )
    return None


def _flagged(
    page: PageView,
    fields: list[BodyField],
    has_more: str | None,
    params: RequestParams,
    page_size: int | None,
) -> OffsetPagination | PagePagination | CursorPagination | None:
    """A has_more flag with no position in the body: offset or page parameters, else the last id."""
    if has_more is None:
        return None
    total, total_pages = total_paths(page, fields)
    positional = _positional(
        fields, params, page_size, has_more=has_more, total=total, total_pages=total_pages
    )
    if positional is not None:
        return positional
    last = page.records[-1] if page.records else None
    if isinstance(last, dict) and isinstance(last.get("id"), str | int):
        return CursorPagination(
            next=NextCursor(last_record="id"),
            cursor_param=params.place("starting_after", params.size_param()),
            has_more=has_more,
            **_cursor_size(params),
        )
    return None


def _totals(
    page: PageView, fields: list[BodyField], params: RequestParams, page_size: int | None
) -> OffsetPagination | PagePagination | None:
    total, total_pages = total_paths(page, fields)
    if total is None and total_pages is None:
        return None
    return _positional(fields, params, page_size, has_more=None, total=total, total_pages=total_pages)


def _echoed_page(
    fields: list[BodyField], params: RequestParams, page_size: int | None
) -> PagePagination | None:
    """A page number the request sent or the response echoes, with no other signal: pages
    continue until an empty or short one."""
    if params.page() is None and find(fields, frozenset({"page", "currentpage"}), int) is None:
        return None
    return _page_mode(fields, params, page_size, has_more=None, total=None, total_pages=None)


def _positional(
    fields: list[BodyField],
    params: RequestParams,
    page_size: int | None,
    *,
    has_more: str | None,
    total: str | None,
    total_pages: str | None,
) -> OffsetPagination | PagePagination | None:
    """Offset or page mode, from the parameters the request sent, else those the response echoes."""
    if params.offset() is not None:
        return _offset_mode(fields, params, has_more=has_more, total=total)
    if params.page() is not None:
        return _page_mode(fields, params, page_size, has_more=has_more, total=total, total_pages=total_pages)
    offset, number = find(fields, OFFSET_NAMES, int), find(fields, PAGE_NAMES, int)
    if offset is not None and (number is None or offset.depth <= number.depth):
        return _offset_mode(fields, params, has_more=has_more, total=total)
    if number is not None:
        # Spring Data's Page echoes its page ("number": 0) above the offset it implies
        # ("pageable": {"offset": 0}): the shallower echo is the one the API is paged by.
        return _page_mode(fields, params, page_size, has_more=has_more, total=total, total_pages=total_pages)
    return None


def _offset_mode(
    fields: list[BodyField], params: RequestParams, *, has_more: str | None, total: str | None
) -> OffsetPagination:
    offset = params.offset()
    limit = params.first(LIMIT_NAMES, numeric=True)
    if offset is not None:
        offset_param = offset.option
    else:
        echoed = find(fields, OFFSET_NAMES, int)
        assert echoed is not None
        offset_param = params.place(echoed.name, limit)
    if limit is not None:
        limit_param: RequestOption | None = limit.option
    else:
        echoed_limit = find(fields, LIMIT_NAMES, int)
        limit_param = params.place(echoed_limit.name, offset) if echoed_limit is not None else None
    return OffsetPagination(
        offset_param=offset_param,
        limit_param=limit_param,
        start_offset=(offset.as_int() or 0) if offset is not None else 0,
        total=total,
        has_more=has_more,
    )


def _page_mode(
    fields: list[BodyField],
    params: RequestParams,
    page_size: int | None,
    *,
    has_more: str | None,
    total: str | None,
    total_pages: str | None,
) -> PagePagination:
    sent = params.page()
    echoed = find(fields, PAGE_NAMES, int)
    if sent is not None:
        page_param = sent.option
        start = sent.as_int()
    else:
        assert echoed is not None
        name = "page" if echoed.key in {"number", "currentpage"} else echoed.name
        page_param = params.place(name, params.size_param())
        start = None
    if start is None:
        start = echoed.value if echoed is not None and echoed.value in (0, 1) else 1
    # Page numbers only line up if every page has the first page's size: keep the size the
    # request sent (it stays in the query) unless the session asks for that same size.
    size = params.first(PAGE_SIZE_NAMES, numeric=True)
    size_param = None
    if size is not None and (page_size is None or size.as_int() == page_size):
        size_param = size.option
    return PagePagination(
        page_param=page_param,
        size_param=size_param,
        start_page=start,
        total=total,
        total_pages=total_pages,
        has_more=has_more,
    )


# -- helpers ---------------------------------------------------------------------------------


def _cursor_size(params: RequestParams) -> dict[str, Any]:
    size = params.size_param()
    return {"size_param": size.option} if size is not None else {}


def _cursor_param_name(item: BodyField, body: Any) -> str:
    """The conventional request parameter for a cursor found under this key."""
    key = item.name
    snake = "_" in key
    if item.key == "nexttoken":
        return "pagination_token"  # Twitter API v2
    if item.key == "nextpagetoken":
        return "page_token" if snake else "pageToken"  # Google APIs
    if item.key in {"nextmarker", "marker"}:
        return "marker"
    if item.key in {"after", "aftercursor", "endcursor"}:
        return "after"
    if item.key == "startingafter":
        return "starting_after"
    if item.key in {"continuationtoken", "continuation", "offset"}:
        return key
    if item.key == "nextcursor" and isinstance(body, dict) and body.get("object") == "list":
        return "start_cursor"  # Notion
    return "cursor"


INT_CURSOR_NAMES = frozenset({"cursor", "nextcursor", "after", "endcursor", "startingafter", "nextmarker"})
"""Keys whose integer value is still a cursor: the last record's id (Litestar's ``cursor``)."""


def _is_token(item: BodyField) -> bool:
    """An opaque cursor: a non-empty string that is not a URL or a plain number, or an integer
    under a key that only ever holds a cursor."""
    value = item.value
    if isinstance(value, int) and not isinstance(value, bool):
        return item.key in INT_CURSOR_NAMES
    if not isinstance(value, str) or not value.strip() or looks_like_url(value):
        return False
    if item.key == "offset" and value.strip().isdigit():
        return False
    return item.key not in {"next", "nextpage"} or not value.strip().isdigit()


def _header_name(lowered: str) -> str:
    canonical = {"x-next-cursor": "X-Next-Cursor", "next-cursor": "Next-Cursor", "x-next-page": "X-Next-Page"}
    return canonical.get(lowered, lowered)
