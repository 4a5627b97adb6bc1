"""What auto detection reads: the paging names APIs use, the request's parameters and the
response's fields, by normalised name (lower case, without ``_``, ``-``, ``$``, ``@``, ``.``).

Shared by `mcp_paginate.paginators.auto` (detection from the first page) and
`mcp_paginate.paginators.probe` (the schemes tried on the next request when it shows none).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from mcp_paginate.paginators.base import PageView, PreparedRequest, RequestOption

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
    "totaldocs",
    "totalentries",
    "totalrows",
    "odatacount",
    "numfound",  # Solr
    "nbhits",  # Algolia
    "count",
)
TOTAL_PAGES_NAMES = ("totalpages", "pagecount", "numpages", "nbpages", "lastpage")
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

MAX_DEPTH = 3


# -- what the request carried -------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    option: RequestOption
    value: Any

    def as_int(self) -> int | None:
        return as_int(self.value)


class RequestParams:
    """The request's query (URL and query dict) and JSON body values, by normalised name."""

    def __init__(self, request: PreparedRequest, found: dict[str, Param]) -> None:
        self.request = request
        self.found = found

    @classmethod
    def read(cls, request: PreparedRequest) -> RequestParams:
        found: dict[str, Param] = {}
        query = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
        query.update(request.query)
        for name, value in query.items():
            found.setdefault(norm(name), Param(option("query", name), value))
        if isinstance(request.body, dict):
            for path, value in walk_body(request.body):
                found.setdefault(norm(path[-1]), Param(option("body", ".".join(path)), value))
        return cls(request, found)

    def first(self, names: frozenset[str], *, numeric: bool = False) -> Param | None:
        """The first parameter with one of the names (with an integer value, if numeric)."""
        for name, param in self.found.items():
            if name in names and (not numeric or param.as_int() is not None):
                return param
        return None

    def offset(self) -> Param | None:
        return self.first(OFFSET_NAMES, numeric=True)

    def page(self) -> Param | None:
        return self.first(PAGE_NAMES, numeric=True)

    def place(self, name: str, near: Param | None = None) -> RequestOption:
        """Where a new paging value goes: next to a related parameter, else the body of a
        non-GET JSON request (in its parameter object, if it has one), else the query."""
        if near is not None:
            if near.option.in_ == "body" and near.option.name is not None:
                container = near.option.name.rpartition(".")[0]
                return option("body", f"{container}.{name}" if container else name)
            return option(near.option.in_, name)
        body = self.request.body
        if self.request.method.upper() != "GET" and isinstance(body, dict):
            for container in PARAM_CONTAINERS:
                if isinstance(body.get(container), dict):
                    return option("body", f"{container}.{name}")
            return option("body", name)
        return option("query", name)

    def size_param(self) -> Param | None:
        return self.first(PAGE_SIZE_NAMES | LIMIT_NAMES, numeric=True)


def walk_body(body: dict[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    for key, value in body.items():
        path = (*prefix, str(key))
        if isinstance(value, dict) and len(path) < MAX_DEPTH:
            yield from walk_body(value, path)
        elif not isinstance(value, dict | list):
            yield path, value


# -- what the response says -----------------------------------------------------------------


@dataclass(frozen=True)
class BodyField:
    """A value in the response body: its JMESPath, its own key (normalised) and its parent's."""

    path: str
    name: str
    key: str
    parent: str
    value: Any
    depth: int = 0
    """0 for the body's own keys, 1 for theirs, …"""


def walk(body: dict[str, Any]) -> Iterator[BodyField]:
    """Every value in the body's objects, shallow first, up to three levels down (lists are
    not entered: they hold records)."""
    level: list[tuple[str, str, dict[str, Any]]] = [("", "", body)]
    for depth in range(MAX_DEPTH):
        deeper: list[tuple[str, str, dict[str, Any]]] = []
        for prefix, parent, node in level:
            for key, value in node.items():
                path = f"{prefix}.{quote_key(str(key))}" if prefix else quote_key(str(key))
                yield BodyField(path, str(key), norm(str(key)), parent, value, depth)
                if isinstance(value, dict):
                    deeper.append((path, norm(str(key)), value))
        level = deeper


def find(
    fields: list[BodyField], names: frozenset[str] | tuple[str, ...], kind: type | tuple[type, ...]
) -> BodyField | None:
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


def has_more_path(fields: list[BodyField]) -> str | None:
    """JMESPath that is true while more records exist, from a has_more or is_last flag."""
    flag = find(fields, HAS_MORE_NAMES, bool)
    if flag is not None:
        return flag.path
    last = find(fields, IS_LAST_NAMES, bool)
    return f"!{last.path}" if last is not None else None


def total_paths(page: PageView, fields: list[BodyField]) -> tuple[str | None, str | None]:
    """JMESPaths of the total record count and the total page count, when the body has them."""
    total = find(fields, TOTAL_NAMES, int)
    if total is not None and total.key == "count" and total.value < len(page.records):
        total = None  # a count of this page, not of the collection
    path = total.path if total is not None else _boxed_total(fields)
    total_pages = find(fields, TOTAL_PAGES_NAMES, int)
    return path, (total_pages.path if total_pages else None)


def _boxed_total(fields: list[BodyField]) -> str | None:
    """A total given as an object, ``"total": {"value": 237, "relation": "eq"}`` (Elasticsearch,
    OpenSearch), when its relation (if any) says the count is exact."""
    for item in fields:
        if item.key in {"total", "totalhits"} and isinstance(item.value, dict):
            value, relation = item.value.get("value"), item.value.get("relation", "eq")
            if isinstance(value, int) and not isinstance(value, bool) and relation == "eq":
                return f"{item.path}.value"
    return None


def looks_like_url(value: str) -> bool:
    text = value.strip()
    return text.startswith(("http://", "https://", "/", "?"))


def is_web_url(url: str) -> bool:
    """An http(s) link. Where it may go is not decided here: a next link to another origin is
    still recognised as the pagination (so ``detected`` is right), and the session's origin
    policy refuses to follow it, with an error naming the host and ``server.allowed_hosts``.
    Skipping it instead would end paging after one page and call that complete."""
    return urlsplit(url).scheme.lower() in {"http", "https"}


def option(where: str, name: str | None = None) -> RequestOption:
    return RequestOption.model_validate({"in": where, "name": name} if name else {"in": where})


def norm(name: str) -> str:
    return re.sub(r"[_\-$@.\s]", "", name).lower()


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def quote_key(key: str) -> str:
    return key if _IDENTIFIER.match(key) else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def search_path(path: str, body: Any) -> Any:
    from mcp_paginate.expressions import search

    return search(path, body)
