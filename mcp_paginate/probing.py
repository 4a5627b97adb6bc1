"""An auto session's first page when it shows no established scheme, and the probe of its second.

`pending_first_page` turns the first page into a page whose next state is the second page's
position in every scheme (records so far; its page number is the scheme's own), with the
session's `Probe` to store; `probe_second_page` then tries the probe's schemes on that position,
one request each, and adopts the first whose records continue the first page (`verify`). When
none does, paging stops with ``complete: false``: the records read are kept, and the error says
what the API reported, what was tried, and how to pin a mode. An API that answers its first page
again whatever it is sent, and reports neither a total nor a page count, has one page: that is
the end of the data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mcp_paginate.errors import CursorError, ResponseShapeError, UpstreamStatusError
from mcp_paginate.http import HttpResponse, RequestLog
from mcp_paginate.paginators import OffsetPagination, PagePagination, PageView, State
from mcp_paginate.paginators.probe import REPEATED, Detection, Probe, describe, second_state, verify
from mcp_paginate.records import extract_records, records_digest

if TYPE_CHECKING:
    from mcp_paginate.engine import Engine, Outgoing, Page, Plan

__all__ = ["pending_first_page", "probe_second_page", "refused_probe", "repeated_page"]

PROBE_STATUSES = frozenset({400, 404, 405, 409, 410, 416, 422})
"""Answers that refuse a probe's parameter (the next scheme is tried); others are errors."""


def pending_first_page(
    plan: Plan, outgoing: Outgoing, view: PageView, detection: Detection, shown: list[Any]
) -> Page:
    """The first page of an auto session whose second page is a probe (``detection.probe``)."""
    from mcp_paginate.engine import Page

    probe = detection.probe
    assert probe is not None
    records = view.records
    following = State(  # no page number: a probed page scheme may count from 0 or from 1
        offset=len(records),
        page_size=outgoing.state.page_size,
        after=records_digest(records),
    )
    session = plan.session.model_copy(update={"probe": probe})
    return Page(
        number=0,
        state=State(offset=0, page_size=outgoing.state.page_size),
        records=shown,
        next_state=following,
        total=detection.total,
        notes=[*outgoing.log.notes(), *detection.notes],
        log=outgoing.log,
        size_sent=False,
        detected=session,
    )


async def probe_second_page(
    engine: Engine, plan: Plan, number: int, state: State, records_so_far: int
) -> Page:
    """Page 2 of a session whose first page showed no scheme: the probe's schemes in order.

    Raises:
        CursorError: an auto session past its first page with nothing to probe.
        PaginateError: a probe request failed other than by refusing its parameter.
    """
    original = plan.session
    probe = original.probe
    if probe is None:
        raise CursorError("that auto session has no detected pagination to continue; start it again")
    log = RequestLog()
    tried: list[str] = []
    repeats = 0
    for candidate in probe.candidates:
        plan.session = original.model_copy(update={"pagination": candidate})
        try:
            outgoing = engine.prepare(plan, number, second_state(candidate, state), records_so_far)
            outgoing.log = log
            try:
                response = await engine.send(plan, outgoing)
                url = response.url
                records = extract_records(response.body, plan.records_path, source=plan.name, url=url)
            except UpstreamStatusError as exc:
                if exc.status not in PROBE_STATUSES:
                    raise
                tried.append(f"{describe(candidate)}: answered HTTP {exc.status}")
                continue
            except ResponseShapeError:
                tried.append(f"{describe(candidate)}: answered no record list")
                continue
            view = PageView(
                body=response.body,
                headers=response.headers,
                records=records,
                url=response.url,
                page_number=number,
                records_so_far=records_so_far,
                links=response.links,
                source=plan.name,
            )
            why = verify(probe, view, candidate)
            if why is None:
                return _adopted(engine, plan, candidate, outgoing, response, tried)
        except BaseException:
            plan.session = original
            raise
        repeats += why == REPEATED
        tried.append(f"{describe(candidate)}: {why}")
    plan.session = original
    return _unverified(number, state, probe, tried, log, every_repeat=repeats == len(probe.candidates))


def _adopted(
    engine: Engine,
    plan: Plan,
    candidate: OffsetPagination | PagePagination,
    outgoing: Outgoing,
    response: HttpResponse,
    tried: list[str],
) -> Page:
    """Page 2 read with the candidate that verified, and the session that pins it."""
    detected = candidate.model_dump(mode="json", exclude_defaults=True)
    detected["mode"] = candidate.mode
    session = plan.session.model_copy(update={"detected": detected, "probe": None})
    plan.session = session
    page = engine.interpret(plan, outgoing, response)
    page.detected = session
    before = f", after {'; '.join(tried)}" if tried else ""
    page.notes.insert(
        0,
        f"auto-detected pagination: {candidate.model_dump_json(exclude_defaults=True)}, verified on page 2 "
        f"(its records continue page 1{before})",
    )
    return page


def _unverified(
    number: int, state: State, probe: Probe, tried: list[str], log: RequestLog, *, every_repeat: bool
) -> Page:
    from mcp_paginate.engine import Page

    if every_repeat and probe.total is None and probe.pages is None:
        note = (
            f"every paging parameter tried ({'; '.join(tried)}) brought back page 1: the API ignores "
            "them, so page 1 is all there is"
        )
        return Page(
            number=number,
            state=state,
            records=[],
            next_state=None,
            end_reason="the API answers its one page whatever it is sent",
            notes=[*log.notes(), note],
            log=log,
        )
    if probe.total is not None:
        said = f"{probe.reported} says {probe.total}, received {probe.received}"
    elif probe.pages is not None:
        said = f"{probe.pages_reported} says {probe.pages} pages, received {probe.received} records"
    else:
        said = f"received {probe.received} records and no total"
    error = (
        f"auto mode could not verify how this API pages ({said}); tried {'; '.join(tried)}. The records "
        "read so far are kept. Pin the pagination: pagination={mode: 'offset', offset_param: {in: 'query', "
        "name: '<its offset parameter>'}} (or mode 'page' with page_param, 'cursor', or 'none' for one page)"
    )
    return Page(
        number=number,
        state=state,
        records=[],
        next_state=None,
        loop_error=error,
        notes=[*log.notes(), f"auto mode verified no paging scheme ({said}): the result is incomplete"],
        log=log,
    )


def refused_probe(outgoing: Outgoing, status: int) -> Page:
    """The last page, empty: the API refused the page after a short one (``state`` is such a
    probe, asked for in case the API caps its page size) as an API refuses a page past its end."""
    from mcp_paginate.engine import Page

    number, state = outgoing.number, outgoing.state
    note = (
        f"the API answered {status} to page {number + 1}, asked for after a short page of "
        f"{state.unconfirmed_short} records in case the API caps its page size; took that short "
        "page as the last page"
    )
    return Page(
        number=number,
        state=state,
        records=[],
        next_state=None,
        end_reason=f"the API answered {status} past the last page",
        notes=[*outgoing.log.notes(), note],
        log=outgoing.log,
    )


def repeated_page(page: Page) -> None:
    """A page that came back with exactly the records of the page before it. From the third page
    on (the position moved paging once already, so the API does not ignore it), that is how some
    APIs (json-server 1.x) answer any page past their last one: the end of the data. On the
    second page it cannot be told from an API that ignores the position it was sent: an error."""
    if page.number >= 2:
        page.records = []  # read already, with the page before
        page.end_reason = "the API repeated the last page"
        page.notes.append(
            f"page {page.number + 1} came back with exactly the records of page {page.number}, as APIs that "
            "answer any page past their last one with the last page do: taken as the end of the data"
        )
        return
    page.repeated = True
    page.loop_error = (
        f"page {page.number + 1} came back with exactly the records of page {page.number}: the "
        f"API ignored the position it was sent ({_position_sent(page)}); check the source's "
        "pagination parameter names (offset_param / page_param / cursor_param)"
    )


def _position_sent(page: Page) -> str:
    sent = ", ".join(f"{name} {value}" for name, value in page.requested.items() if name != "limit")
    return sent or "the first request's position"
