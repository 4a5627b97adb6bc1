"""Auto mode when the first page does not show how to page: the schemes to try, and the check
that adopts one.

`detect_scheme` reads the first page as `detect` does, and says more: whether what `detect`
chose is established (a next link, a cursor, a position the request already carried) or only
guessed from names the response echoes; the total the API reports (in the body, in
``X-Total-Count``, in a JSON header like flask-smorest's ``X-Pagination``, in
``Content-Range: items 0-49/237``); and, when the first page shows no scheme (or only a
guessed one) while more records may exist, a `Probe`: the schemes to try on the next request,
in order, at most `MAX_PROBES` of them (the next request and two extra).

A scheme is adopted only when the records it brings continue the sequence (`verify`): some
records, none of them a record of the first page, and no total contradicting the first one
(an API that takes an unknown ``?skip=`` for a filter answers ``total: 0``). The probe is
stored with the session, so a stepwise ``list_page`` probes on its next call, and the next
page's cursor re-sends exactly the request of the scheme adopted.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import pydantic_core
from pydantic import BaseModel, ConfigDict, Field

from mcp_paginate.paginators.auto import detect
from mcp_paginate.paginators.auto_names import (
    OFFSET_NAMES,
    PAGE_NAMES,
    PAGE_SIZE_NAMES,
    BodyField,
    RequestParams,
    as_int,
    find,
    norm,
    total_paths,
    walk,
)
from mcp_paginate.paginators.base import HeaderSignal, PageView, PreparedRequest, Signal, State
from mcp_paginate.paginators.cursor import CursorPagination
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = ["MAX_PROBES", "REPEATED", "Detection", "Probe", "detect_scheme", "record_digests", "verify"]

MAX_PROBES = 3
"""Schemes tried for the second page: the request paging would make anyway, and two extra."""

ROUND_SIZES = frozenset({10, 12, 15, 20, 24, 25, 30, 40, 48, 50, 60, 75, 100, 150, 200, 250, 300, 500, 1000})
"""A first answer of exactly this many records, with no total, is probably a page: the page sizes
frameworks and APIs default to (a probe costs an unpaged list of that size two requests; a missed
page would cost every record after it)."""

DIGESTS_KEPT = 200
"""The first page's records remembered (as digests) to see a probe answer repeat them."""

REPEATED = "answered records of the first page again (the parameter was ignored)"
"""`verify`'s reason for an answer that repeats the first page: the API ignored the parameter."""

JSON_HEADERS = ("x-pagination", "pagination")
TOTAL_HEADERS = ("x-total-count", "x-total", "total-count", "x-wp-total")
PAGES_HEADERS = ("x-total-pages", "x-wp-totalpages", "total-pages")
_CONTENT_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)\s*/\s*(\d+)\s*$")

Candidate = Annotated[OffsetPagination | PagePagination, Field(discriminator="mode")]


class Probe(BaseModel):
    """What the first page of an auto session left to check: the schemes to try on the next
    request, and what a probe answer must agree with."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    candidates: list[Candidate]
    total: int | None = None
    """The total the first page reported (None: it reported none)."""
    reported: str | None = None
    """Where that total was read, e.g. "count" or "header X-Total-Count"."""
    pages: int | None = None
    """The number of pages the first page reported (None: it reported none)."""
    pages_reported: str | None = None
    """Where that number was read, e.g. "total_pages"."""
    received: int
    """Records on the first page."""
    digests: list[str] = Field(default_factory=list)


@dataclass
class Detection:
    """What the first page of an auto session says."""

    pagination: OffsetPagination | PagePagination | CursorPagination | NoPagination
    probe: Probe | None = None
    """Set when no scheme is established and more records may exist: the second page is a probe.
    With a guessed ``pagination`` (offset or page names the response echoes), paging starts as
    guessed and the probe checks it first."""
    total: int | None = None
    """The total the API reported, kept as it reported it."""
    notes: list[str] = field(default_factory=list)


def detect_scheme(page: PageView, request: PreparedRequest, page_size: int | None) -> Detection:
    """`detect`, and when that is not established, whether and how the next request probes."""
    found = detect(page, request, page_size)
    params = RequestParams.read(request)
    guessed = _guessed(found, params)
    if not guessed and not isinstance(found, NoPagination):
        return Detection(found)
    fields = list(walk(page.body)) if isinstance(page.body, dict) else []
    total_signal, pages_signal = _total_signals(page, fields)
    total, reported = _reported_total(page, total_signal)
    pages, pages_reported = _reported(page, pages_signal, "total_pages")
    count = len(page.records)
    if count == 0:
        return Detection(found, total=total)
    if guessed:
        assert isinstance(found, OffsetPagination | PagePagination)
        if found.next_state(page, found.first_state(page_size)).next is None:
            return Detection(found, total=total)  # the guess ends here: the total is reached
    elif total is not None and total <= count:
        return Detection(found, total=total, notes=[f"the first page holds all {total} records reported"])
    elif total is None and pages is not None and pages <= 1:
        return Detection(found, notes=[f"the first page is the only one ({pages_reported} says {pages})"])
    elif total is None and pages is None and not _hints(page, params, count):
        return Detection(found)
    guess = found if isinstance(found, OffsetPagination | PagePagination) and guessed else None
    candidates = _candidates(guess, page, params, fields, total_signal, pages_signal)
    probe = Probe(
        candidates=candidates[:MAX_PROBES],
        total=total,
        reported=reported,
        pages=pages,
        pages_reported=pages_reported,
        received=count,
        digests=record_digests(page.records),
    )
    if guess is not None:
        # Paged as guessed from the start (``detected`` says so), and checked on the second page.
        return Detection(guess, probe=probe)
    return Detection(NoPagination(), probe=probe, total=total, notes=[_pending_note(probe)])


def verify(probe: Probe, page: PageView, candidate: OffsetPagination | PagePagination) -> str | None:
    """Why a probe answer does not continue the first page (None: it does)."""
    if not page.records:
        if probe.total is not None:
            return f"answered no records, while the first page reported {probe.total}"
        return "answered no records"
    seen = set(probe.digests)
    if any(digest in seen for digest in record_digests(page.records)):
        return REPEATED
    total = _probe_total(page, candidate)
    if probe.total is not None and total is not None and total < probe.received:
        return f"reported a total of {total}, contradicting the {probe.total} of the first page"
    return None


def record_digests(records: list[Any]) -> list[str]:
    """A short digest of each of the first `DIGESTS_KEPT` records."""
    return [
        hashlib.blake2b(pydantic_core.to_json(record, fallback=str), digest_size=8).hexdigest()
        for record in records[:DIGESTS_KEPT]
    ]


def describe(candidate: OffsetPagination | PagePagination) -> str:
    """``?offset=`` / ``?page=2``: where a candidate puts its position."""
    if isinstance(candidate, OffsetPagination):
        option = candidate.offset_param
        return f"offset in {option.in_} {option.name!r}"
    option = candidate.page_param
    return f"page numbers in {option.in_} {option.name!r} from {candidate.start_page}"


def second_state(candidate: OffsetPagination | PagePagination, state: State) -> State:
    """The second page's stored state as this candidate reads it: an offset, or a page number."""
    if isinstance(candidate, OffsetPagination):
        return state.model_copy(update={"page": None})
    return state.model_copy(update={"page": candidate.start_page + 1})


# -- the first page -------------------------------------------------------------------------


def _guessed(found: Any, params: RequestParams) -> bool:
    """An offset or page mode read only from names the response echoes, with nothing to say
    when to stop or where the next page is: its parameter name is a guess."""
    if not isinstance(found, OffsetPagination | PagePagination) or found.has_more is not None:
        return False
    if isinstance(found, OffsetPagination) and found.next_offset is not None:
        return False
    return params.offset() is None and params.page() is None


def _json_header(page: PageView) -> tuple[str, dict[str, Any]] | None:
    for name in JSON_HEADERS:
        text = page.header(name)
        if text:
            try:
                value = json.loads(text)
            except ValueError:
                continue
            if isinstance(value, dict):
                return name, value
    return None


def _canonical(header: str) -> str:
    return "-".join(part.upper() if part in {"x", "wp"} else part.capitalize() for part in header.split("-"))


def _total_signals(page: PageView, fields: list[BodyField]) -> tuple[Signal, Signal]:
    """Where the total and the page count are: the body, a total header, or a JSON header."""
    total, total_pages = total_paths(page, fields)
    total_signal: Signal = total
    pages_signal: Signal = total_pages
    if total_signal is None:
        for name in TOTAL_HEADERS:
            if as_int(page.header(name)) is not None:
                total_signal = HeaderSignal(header=_canonical(name))
                break
    if pages_signal is None:
        for name in PAGES_HEADERS:
            if as_int(page.header(name)) is not None:
                pages_signal = HeaderSignal(header=_canonical(name))
                break
    carried = _json_header(page)
    if carried is not None:
        name, value = carried
        keys = {norm(key): key for key in value}
        if total_signal is None and isinstance(value.get(keys.get("total", "")), int):
            total_signal = HeaderSignal(header=_canonical(name), path=keys["total"])
        if pages_signal is None and isinstance(value.get(keys.get("totalpages", "")), int):
            pages_signal = HeaderSignal(header=_canonical(name), path=keys["totalpages"])
    return total_signal, pages_signal


def _reported_total(page: PageView, signal: Signal) -> tuple[int | None, str | None]:
    if signal is not None:
        return _reported(page, signal, "total")
    match = _CONTENT_RANGE.search(page.header("content-range") or "")
    if match is not None:
        return int(match.group(3)), "header 'Content-Range'"
    return None, None


def _reported(page: PageView, signal: Signal, name: str) -> tuple[int | None, str | None]:
    """The count a signal reads on this page (a header, or a path in the body), and where."""
    if isinstance(signal, HeaderSignal):
        return as_int(signal.read(page, name)), str(signal)
    if isinstance(signal, str):
        return as_int(_body_value(signal, page.body)), repr(signal)
    return None, None


def _probe_total(page: PageView, candidate: OffsetPagination | PagePagination) -> int | None:
    if candidate.total is None:
        return None
    try:
        return as_int(
            candidate.total.read(page, "total")
            if isinstance(candidate.total, HeaderSignal)
            else _body_value(candidate.total, page.body)
        )
    except ValueError:
        return None


def _body_value(path: str, body: Any) -> Any:
    from mcp_paginate.expressions import search

    return search(path, body)


def _hints(page: PageView, params: RequestParams, count: int) -> bool:
    """Whether a first answer without a total may still be one page of several."""
    if count in ROUND_SIZES or params.first(OFFSET_NAMES | PAGE_NAMES | PAGE_SIZE_NAMES) is not None:
        return True
    return _json_header(page) is not None or page.header("content-range") is not None


# -- the schemes to try ---------------------------------------------------------------------


def _candidates(
    guess: OffsetPagination | PagePagination | None,
    page: PageView,
    params: RequestParams,
    fields: list[BodyField],
    total: Signal,
    total_pages: Signal,
) -> list[OffsetPagination | PagePagination]:
    """The schemes to try, most likely first: the guess from echoed names (and its OData
    spelling), page numbers a JSON header announces, then offset and page in the spelling of
    the parameters the request already has (``_limit`` → ``_start``, ``_page``).

    Page numbers that nothing echoes may start at 0 or at 1: ``?page=1`` is tried first, the
    second page of an API counting from 0 and the first page again of one counting from 1 (whose
    ``?page=2`` is tried next). Sending ``?page=2`` first would read the third page of an API
    counting from 0 as its second, and skip a page."""
    found: list[OffsetPagination | PagePagination] = []
    if guess is not None:
        found.append(guess)
        if isinstance(guess, OffsetPagination) and guess.offset_param.name in {"skip", "top"}:
            dollar = params.place("$skip", params.size_param())
            found.append(guess.model_copy(update={"offset_param": dollar}))
        if isinstance(guess, PagePagination):
            found += [
                guess.model_copy(update={"page_param": params.place(name, params.size_param())})
                for name in _echoed_page_names(fields)
            ]
    prefix = _prefix(params) or ("$" if any(item.name.startswith("@odata.") for item in fields) else "")
    if _search_hits(page.body):
        found.append(OffsetPagination(offset_param=params.place("from"), limit_param=None, total=total))
    offset = OffsetPagination(
        offset_param=params.place({"_": "_start", "$": "$skip"}.get(prefix, "offset"), params.size_param()),
        limit_param=None,
        total=total,
    )
    pages = PagePagination(
        page_param=params.place("_page" if prefix == "_" else "page", params.size_param()),
        size_param=None,
        start_page=1,
        total=total,
        total_pages=total_pages,
    )
    carried = _json_header(page)
    announces_pages = carried is not None and any(
        norm(key) in {"page", "nextpage", "currentpage"} for key in carried[1]
    )
    if announces_pages or find(fields, frozenset({"page", "currentpage"}), int) is not None:
        found += [pages, offset]
    elif find(fields, PAGE_NAMES, int) is not None:
        found += [offset, pages]
    else:
        found += [offset, pages.model_copy(update={"start_page": 0}), pages]
    unique: list[OffsetPagination | PagePagination] = []
    for candidate in found:
        if candidate not in unique:
            unique.append(candidate)
    return unique


def _echoed_page_names(fields: list[BodyField]) -> list[str]:
    """Query names for a page number the response echoes, beyond ``page``: the echo's own name
    when it is the parameter (Litestar's ``current_page``), and Strapi's ``pagination[page]``
    for a page echoed under ``pagination``."""
    echo = find(fields, PAGE_NAMES, int)
    if echo is None or echo.key == "number":
        return []
    names = [echo.name] if echo.key != "page" else []
    if echo.parent == "pagination":
        names.append(f"pagination[{echo.name}]")
    return names


def _search_hits(body: Any) -> bool:
    """An Elasticsearch / OpenSearch answer, ``{"hits": {"hits": [...]}}``, paged by ``from``."""
    hits = body.get("hits") if isinstance(body, dict) else None
    return isinstance(hits, dict) and isinstance(hits.get("hits"), list)


def _prefix(params: RequestParams) -> str:
    """``_`` or ``$`` when the request's own parameters are spelled so (json-server, OData)."""
    for param in params.found.values():
        name = param.option.name or ""
        if param.option.in_ == "query" and name[:1] in {"_", "$"}:
            return name[0]
    return ""


def _pending_note(probe: Probe) -> str:
    if probe.total is not None:
        said = f"the API reports {probe.total} records ({probe.reported}), {probe.received} came"
    elif probe.pages is not None:
        said = f"the API reports {probe.pages} pages ({probe.pages_reported}), {probe.received} records came"
    else:
        said = f"{probe.received} records came with no total"
    tried = "; ".join(describe(candidate) for candidate in probe.candidates)
    return (
        f"the first page does not show how to page ({said}); the next page tries, in order: {tried}, "
        "and keeps the first whose records continue this page"
    )
