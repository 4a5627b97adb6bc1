"""`detect_scheme`: what the first page of an auto session says when it shows no established
scheme — the total the API reports (body, X-Total-Count, a JSON header, Content-Range) and the
schemes the second page tries, in order. Pure: no request is made here (the probes themselves
run against real servers in tests/test_probing.py and tests/test_peers.py)."""

from __future__ import annotations

import json

from mcp_paginate.paginators import NoPagination, OffsetPagination, PagePagination
from mcp_paginate.paginators.base import HeaderSignal
from mcp_paginate.paginators.probe import MAX_PROBES, Detection, detect_scheme, verify
from tests.test_auto import get, view

URL = "https://api.example.com/items"


def records(first: int, count: int) -> list[dict[str, int]]:
    return [{"id": i} for i in range(first, first + count)]


def names(detection: Detection) -> list[tuple[str, str | None]]:
    assert detection.probe is not None
    found: list[tuple[str, str | None]] = []
    for candidate in detection.probe.candidates:
        option = candidate.offset_param if isinstance(candidate, OffsetPagination) else candidate.page_param
        found.append((candidate.mode, option.name))
    return found


def test_a_count_above_the_records_is_kept_and_probed_offset_first() -> None:
    detection = detect_scheme(view({"items": records(1, 100), "count": 237}), get(URL), None)
    assert isinstance(detection.pagination, NoPagination)
    assert detection.total == 237
    assert detection.probe is not None and detection.probe.received == 100
    # Page numbers nothing echoes: ?page=1 first (an API counting from 0), then ?page=2.
    assert names(detection) == [("offset", "offset"), ("page", "page"), ("page", "page")]
    starts = [getattr(candidate, "start_page", None) for candidate in detection.probe.candidates]
    assert starts == [None, 0, 1]
    assert all(candidate.total == "count" for candidate in detection.probe.candidates)


def test_a_count_the_first_page_reaches_is_the_end_with_that_total() -> None:
    detection = detect_scheme(view({"data": records(1, 2), "total": 2}), get(URL), None)
    assert detection.probe is None and detection.total == 2


def test_x_pagination_puts_page_numbers_first_and_reads_its_totals() -> None:
    header = {"total": 237, "total_pages": 24, "first_page": 1, "last_page": 24, "page": 1, "next_page": 2}
    page = view(records(1, 10), headers={"X-Pagination": json.dumps(header)})
    detection = detect_scheme(page, get(URL), None)
    assert detection.total == 237
    assert names(detection) == [("page", "page"), ("offset", "offset")]
    first = detection.probe.candidates[0] if detection.probe else None
    assert isinstance(first, PagePagination)
    assert first.total == HeaderSignal(header="X-Pagination", path="total")
    assert first.total_pages == HeaderSignal(header="X-Pagination", path="total_pages")


def test_json_server_spelling_and_x_total_count() -> None:
    page = view(records(1, 40), headers={"X-Total-Count": "237"})
    detection = detect_scheme(page, get(URL + "?_limit=40"), None)
    assert detection.total == 237
    assert names(detection) == [("offset", "_start"), ("page", "_page"), ("page", "_page")]  # from 0, from 1
    assert detection.probe is not None
    assert detection.probe.candidates[0].total == HeaderSignal(header="X-Total-Count")


def test_content_range_reports_a_total() -> None:
    page = view(records(1, 50), headers={"Content-Range": "items 0-49/237"})
    detection = detect_scheme(page, get(URL), None)
    assert detection.total == 237 and detection.probe is not None
    assert detection.probe.reported == "header 'Content-Range'"


def test_an_echoed_skip_is_paged_as_guessed_and_checked_with_its_odata_spelling() -> None:
    body = {"data": records(1, 10), "total": 237, "skip": 0, "top": 10}
    detection = detect_scheme(view(body), get(URL), None)
    assert isinstance(detection.pagination, OffsetPagination)  # reported as detected from page 1
    assert names(detection)[:2] == [("offset", "skip"), ("offset", "$skip")]
    assert len(names(detection)) <= MAX_PROBES


def test_a_plain_list_with_no_sign_of_paging_is_one_page() -> None:
    detection = detect_scheme(view(records(1, 7)), get(URL), None)
    assert isinstance(detection.pagination, NoPagination) and detection.probe is None


def test_a_round_count_without_a_total_is_probed() -> None:
    detection = detect_scheme(view(records(1, 100)), get(URL), None)
    assert detection.probe is not None and detection.probe.total is None


def test_verify_refuses_repeats_empties_and_contradicting_totals() -> None:
    first = view({"items": records(1, 100), "count": 237})
    detection = detect_scheme(first, get(URL), None)
    probe = detection.probe
    assert probe is not None
    offset = probe.candidates[0]
    assert isinstance(offset, OffsetPagination)
    assert verify(probe, view({"items": records(101, 100), "count": 237}), offset) is None
    repeated = verify(probe, view({"items": records(1, 100), "count": 237}), offset)
    assert repeated is not None and "again" in repeated
    empty = verify(probe, view({"items": [], "count": 0}), offset)
    assert empty is not None and "237" in empty
    contradicted = verify(probe, view({"items": records(500, 3), "count": 3}), offset)
    assert contradicted is not None and "contradicting" in contradicted
