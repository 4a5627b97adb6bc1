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

Paging values go where the request already carried them (``?limit=50``, ``?$top=``, a POST
body's ``input.limit``), so the next request differs from the first only in its position.
Detection sends no request: a next link to another origin is recognised as the pagination, and
the session's origin policy refuses to follow it (unless that host is in ``allowed_hosts``),
with an error that says so. The chosen spec is reported as ``detected`` so it can be pinned in
config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urljoin, urlsplit

from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption, State
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = ["AutoPagination", "detect"]

Detected = OffsetPagination | PagePagination | CursorPagination | NoPagination

# Names are compared normalised: lower case, without '_', '-', '$', '@' and '.'.
NEXT_LINK_NAMES = frozenset(
    {
        "next",
        "nextlink",
        "nexturl",
        "nexturi",
        "nexthref",
        "nextpage",
        "nextpageurl",
        "nextpageuri",
        "nextpagelink",
        "nextrecordsurl",
        "odatanextlink",
    }
)
LINK_OBJECT_KEYS = ("href", "url", "uri", "link")
LINK_ARRAY_KEYS = frozenset({"links", "link"})
HAS_MORE_NAMES = frozenset(
    {
        "hasmore",
        "more",
        "hasnext",
        "hasnextpage",
        "hasmorepages",
        "hasmoreitems",
        "hasmorerecords",
        "hasmoreresults",
        "moreavailable",
        "moreitems",
        "morerecords",
    }
)
IS_LAST_NAMES = frozenset({"islast", "last", "islastpage", "lastpage"})
NEXT_CURSOR_NAMES = frozenset(
    {
        "nextcursor",
        "cursor",
        "nexttoken",
        "nextpagetoken",
        "nextpagecursor",
        "continuationtoken",
        "continuation",
        "nextmarker",
        "marker",
        "after",
        "aftercursor",
        "endcursor",
        "startingafter",
        "next",
        "nextpage",
        "offset",  # Airtable: an opaque string offset is a cursor
    }
)
NEXT_OFFSET_NAMES = frozenset({"nextoffset", "nextstart", "nextskip", "nextfrom", "nextstartindex"})
NEXT_PAGE_NAMES = frozenset({"next", "nextpage", "nextpagenumber", "nextpageno"})
TOTAL_NAMES = (
    "total",
    "totalcount",
    "totalresults",
    "totalelements",
    "totalitems",
    "totalrecords",
    "totalsize",
    "totalhits",
    "count",
)
TOTAL_PAGES_NAMES = ("totalpages", "pagecount", "numpages", "lastpage")
OFFSET_NAMES = frozenset({"offset", "skip", "start", "startat", "startindex", "from"})
LIMIT_NAMES = frozenset(
    {"limit", "top", "take", "maxresults", "maxrecords", "size", "pagesize", "perpage", "rows"}
)
PAGE_NAMES = frozenset({"page", "pagenumber", "pageno", "pagenum", "pageindex", "currentpage", "number"})
PAGE_SIZE_NAMES = frozenset({"pagesize", "perpage", "size", "limit", "maxresults", "pagelimit", "per"})
CURSOR_PARAM_NAMES = frozenset(
    {
        "cursor",
        "pagetoken",
        "paginationtoken",
        "nexttoken",
        "continuationtoken",
        "continuation",
        "after",
        "startingafter",
        "startcursor",
        "marker",
        "pageinfo",
        "token",
    }
)
CURSOR_HEADERS = {"x-next-cursor": "cursor", "next-cursor": "cursor", "x-next-page": "page"}
PARAM_CONTAINERS = ("input", "params", "parameters", "options")
"""Body objects that usually hold an action's parameters (Alloy's ``input``)."""

_MAX_DEPTH = 3


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
    params = _RequestParams.read(request)
    fields = list(_walk(page.body)) if isinstance(page.body, dict) else []
    has_more = _has_more_path(fields)
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


# -- what the request carried -------------------------------------------------------------


@dataclass(frozen=True)
class _Param:
    option: RequestOption
    value: Any

    def as_int(self) -> int | None:
        return _as_int(self.value)


class _RequestParams:
    """The request's query (URL and query dict) and JSON body values, by normalised name."""

    def __init__(self, request: PreparedRequest, found: dict[str, _Param]) -> None:
        self.request = request
        self.found = found

    @classmethod
    def read(cls, request: PreparedRequest) -> _RequestParams:
        found: dict[str, _Param] = {}
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        query.update(request.query)
        for name, value in query.items():
            found.setdefault(_norm(name), _Param(_option("query", name), value))
        if isinstance(request.body, dict):
            for path, value in _walk_body(request.body):
                found.setdefault(_norm(path[-1]), _Param(_option("body", ".".join(path)), value))
        return cls(request, found)

    def first(self, names: frozenset[str], *, numeric: bool = False) -> _Param | None:
        """The first parameter with one of the names (with an integer value, if numeric)."""
        for name, param in self.found.items():
            if name in names and (not numeric or param.as_int() is not None):
                return param
        return None

    def offset(self) -> _Param | None:
        return self.first(OFFSET_NAMES, numeric=True)

    def page(self) -> _Param | None:
        return self.first(PAGE_NAMES, numeric=True)

    def place(self, name: str, near: _Param | None = None) -> RequestOption:
        """Where a new paging value goes: next to a related parameter, else the body of a
        non-GET JSON request (in its parameter object, if it has one), else the query."""
        if near is not None:
            if near.option.in_ == "body" and near.option.name is not None:
                container = near.option.name.rpartition(".")[0]
                return _option("body", f"{container}.{name}" if container else name)
            return _option(near.option.in_, name)
        body = self.request.body
        if self.request.method.upper() != "GET" and isinstance(body, dict):
            for container in PARAM_CONTAINERS:
                if isinstance(body.get(container), dict):
                    return _option("body", f"{container}.{name}")
            return _option("body", name)
        return _option("query", name)

    def size_param(self) -> _Param | None:
        return self.first(PAGE_SIZE_NAMES | LIMIT_NAMES, numeric=True)


def _walk_body(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in body.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and len(path) < _MAX_DEPTH:
            yield from _walk_body(value, path)
        elif not isinstance(value, dict | list):
            yield path, value


# -- what the response says -----------------------------------------------------------------


@dataclass(frozen=True)
class _Field:
    """A value in the response body: its JMESPath, its own key (normalised) and its parent's."""

    path: str
    name: str
    key: str
    parent: str
    value: Any


def _walk(body: dict[str, Any]) -> Iterator[_Field]:
    """Every value in the body's objects, shallow first, up to three levels down (lists are
    not entered: they hold records)."""
    level: list[tuple[str, str, dict[str, Any]]] = [("", "", body)]
    for _ in range(_MAX_DEPTH):
        deeper: list[tuple[str, str, dict[str, Any]]] = []
        for prefix, parent, node in level:
            for key, value in node.items():
                path = f"{prefix}.{_quote(str(key))}" if prefix else _quote(str(key))
                yield _Field(path, str(key), _norm(str(key)), parent, value)
                if isinstance(value, dict):
                    deeper.append((path, _norm(str(key)), value))
        level = deeper


def _find(
    fields: list[_Field], names: frozenset[str] | tuple[str, ...], kind: type | tuple[type, ...]
) -> _Field | None:
    """The shallowest field with one of the names and a value of the kind (bools are not ints).

    With a tuple of names, earlier names win over later ones at any depth.
    """
    ordered = [names] if isinstance(names, frozenset) else [frozenset({name}) for name in names]
    for group in ordered:
        for item in fields:
            if item.key in group and _is_kind(item.value, kind):
                return item
    return None


def _is_kind(value: Any, kind: type | tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return kind is bool or (isinstance(kind, tuple) and bool in kind)
    return isinstance(value, kind)


def _has_more_path(fields: list[_Field]) -> str | None:
    """JMESPath that is true while more records exist, from a has_more or is_last flag."""
    flag = _find(fields, HAS_MORE_NAMES, bool)
    if flag is not None:
        return flag.path
    last = _find(fields, IS_LAST_NAMES, bool)
    return f"!{last.path}" if last is not None else None


# -- detectors, most trusted first ----------------------------------------------------------


def _link_header(page: PageView, fields: list[_Field], has_more: str | None) -> CursorPagination | None:
    url = page.links.get("next")
    if url is None or not _is_web_url(url):
        return None
    return CursorPagination(next=NextCursor(link="next"), cursor_param=_option("url"), has_more=has_more)


def _body_link(page: PageView, fields: list[_Field], has_more: str | None) -> CursorPagination | None:
    for item in fields:
        path = _link_path(item)
        if path is None:
            continue
        value = _search(path, page.body)
        if isinstance(value, str) and _looks_like_url(value) and _is_web_url(urljoin(page.url, value)):
            return CursorPagination(
                next=NextCursor(body=path), cursor_param=_option("url"), has_more=has_more
            )
    return None


def _link_path(item: _Field) -> str | None:
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


def _header_cursor(page: PageView, params: _RequestParams) -> CursorPagination | None:
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
    page: PageView, fields: list[_Field], has_more: str | None, params: _RequestParams
) -> OffsetPagination | CursorPagination | None:
    """A next cursor, next offset or next page number in the body."""
    size = params.size_param()
    next_offset = _find(fields, NEXT_OFFSET_NAMES, (int, str))
    if next_offset is not None and _as_int(next_offset.value) is not None:
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
    page: PageView, fields: list[_Field], has_more: str | None, params: _RequestParams, page_size: int | None
) -> OffsetPagination | PagePagination | CursorPagination | None:
    """A has_more flag with no position in the body: offset or page parameters, else the last id."""
    if has_more is None:
        return None
    total, total_pages = _total_paths(page, fields)
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
    page: PageView, fields: list[_Field], params: _RequestParams, page_size: int | None
) -> OffsetPagination | PagePagination | None:
    total, total_pages = _total_paths(page, fields)
    if total is None and total_pages is None:
        return None
    return _positional(fields, params, page_size, has_more=None, total=total, total_pages=total_pages)


def _total_paths(page: PageView, fields: list[_Field]) -> tuple[str | None, str | None]:
    """JMESPaths of the total record count and the total page count, when the body has them."""
    total = _find(fields, TOTAL_NAMES, int)
    if total is not None and total.key == "count" and total.value < len(page.records):
        total = None  # a count of this page, not of the collection
    total_pages = _find(fields, TOTAL_PAGES_NAMES, int)
    return (total.path if total else None), (total_pages.path if total_pages else None)


def _echoed_page(
    fields: list[_Field], params: _RequestParams, page_size: int | None
) -> PagePagination | None:
    """A page number the request sent or the response echoes, with no other signal: pages
    continue until an empty or short one."""
    if params.page() is None and _find(fields, frozenset({"page", "currentpage"}), int) is None:
        return None
    return _page_mode(fields, params, page_size, has_more=None, total=None, total_pages=None)


def _positional(
    fields: list[_Field],
    params: _RequestParams,
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
    if _find(fields, OFFSET_NAMES, int) is not None:
        return _offset_mode(fields, params, has_more=has_more, total=total)
    if _find(fields, PAGE_NAMES, int) is not None:
        return _page_mode(fields, params, page_size, has_more=has_more, total=total, total_pages=total_pages)
    return None


def _offset_mode(
    fields: list[_Field], params: _RequestParams, *, has_more: str | None, total: str | None
) -> OffsetPagination:
    offset = params.offset()
    limit = params.first(LIMIT_NAMES, numeric=True)
    if offset is not None:
        offset_param = offset.option
    else:
        echoed = _find(fields, OFFSET_NAMES, int)
        assert echoed is not None
        offset_param = params.place(echoed.name, limit)
    if limit is not None:
        limit_param: RequestOption | None = limit.option
    else:
        echoed_limit = _find(fields, LIMIT_NAMES, int)
        limit_param = params.place(echoed_limit.name, offset) if echoed_limit is not None else None
    return OffsetPagination(
        offset_param=offset_param,
        limit_param=limit_param,
        start_offset=(offset.as_int() or 0) if offset is not None else 0,
        total=total,
        has_more=has_more,
    )


def _page_mode(
    fields: list[_Field],
    params: _RequestParams,
    page_size: int | None,
    *,
    has_more: str | None,
    total: str | None,
    total_pages: str | None,
) -> PagePagination:
    sent = params.page()
    echoed = _find(fields, PAGE_NAMES, int)
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


def _cursor_size(params: _RequestParams) -> dict[str, Any]:
    size = params.size_param()
    return {"size_param": size.option} if size is not None else {}


def _cursor_param_name(item: _Field, body: Any) -> str:
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


def _is_token(item: _Field) -> bool:
    """An opaque cursor: a non-empty string that is not a URL or a plain number."""
    value = item.value
    if not isinstance(value, str) or not value.strip() or _looks_like_url(value):
        return False
    if item.key == "offset" and value.strip().isdigit():
        return False
    return item.key not in {"next", "nextpage"} or not value.strip().isdigit()


def _looks_like_url(value: str) -> bool:
    text = value.strip()
    return text.startswith(("http://", "https://", "/", "?"))


def _is_web_url(url: str) -> bool:
    """An http(s) link. Where it may go is not decided here: a next link to another origin is
    still recognised as the pagination (so ``detected`` is right), and the session's origin
    policy refuses to follow it, with an error naming the host and ``server.allowed_hosts``.
    Skipping it instead would end paging after one page and call that complete."""
    return urlsplit(url).scheme.lower() in {"http", "https"}


def _header_name(lowered: str) -> str:
    canonical = {"x-next-cursor": "X-Next-Cursor", "next-cursor": "Next-Cursor", "x-next-page": "X-Next-Page"}
    return canonical.get(lowered, lowered)


def _option(where: str, name: str | None = None) -> RequestOption:
    return RequestOption.model_validate({"in": where, "name": name} if name else {"in": where})


def _norm(name: str) -> str:
    return re.sub(r"[_\-$@.\s]", "", name).lower()


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _quote(key: str) -> str:
    return key if _IDENTIFIER.match(key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _search(path: str, body: Any) -> Any:
    from mcp_paginate.expressions import search

    return search(path, body)
