"""Unit tests of the pagination modes on `PageView`/`State` directly (no HTTP).

Each paginator is driven the way the engine drives it: ``first_state`` → ``apply`` to a
`PreparedRequest` → a response as a `PageView` → ``next_state``. The small in-process "APIs"
below answer a `PreparedRequest` from a list of records, so the end-of-data rules are tested
against whole collections (no loss, no duplicates), not single steps only.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from mcp_paginate.errors import HostNotAllowedError, PaginationLoopError, ResponseShapeError
from mcp_paginate.http import OriginPolicy, origin_of
from mcp_paginate.paginators import (
    CursorPagination,
    NextCursor,
    NoPagination,
    OffsetPagination,
    PagePagination,
    PageView,
    PreparedRequest,
    RequestOption,
    State,
    Step,
    pagination_adapter,
)
from mcp_paginate.paginators.auto import detect
from mcp_paginate.paginators.base import short_page_rule

BASE = "https://api.example.test/v1/items"

Respond = Callable[[PreparedRequest, int, int], PageView]


def record(i: int) -> dict[str, Any]:
    return {"id": i, "key": f"k{i:04d}"}


def view(
    body: Any,
    records: list[Any] | None = None,
    *,
    headers: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
    url: str = BASE,
    page_number: int = 0,
    records_so_far: int = 0,
) -> PageView:
    """A response as the paginators see it (header names lower-case, as the HTTP layer gives them)."""
    if records is None:
        records = body if isinstance(body, list) else body.get("data", [])
    return PageView(
        body=body,
        headers={k.lower(): v for k, v in (headers or {}).items()},
        records=records,
        url=url,
        page_number=page_number,
        records_so_far=records_so_far,
        links=links or {},
        source="unit",
    )


def request() -> PreparedRequest:
    return PreparedRequest(method="GET", url=BASE)


def records_of(count: int, start: int = 0) -> list[dict[str, Any]]:
    return [record(i) for i in range(start + 1, start + count + 1)]


@dataclass
class Drained:
    records: list[Any]
    requests: list[PreparedRequest]
    steps: list[Step]
    states: list[State] = field(default_factory=list)

    @property
    def ids(self) -> list[int]:
        return [r["id"] for r in self.records]

    def notes(self) -> list[str]:
        return [note for step in self.steps for note in step.notes]


def drain(
    pagination: OffsetPagination | PagePagination | CursorPagination | NoPagination,
    respond: Respond,
    page_size: int | None = None,
    max_requests: int = 60,
) -> Drained:
    """Run a paginator to its end against an in-process API, as the engine's loop does."""
    state = pagination.first_state(page_size)
    out = Drained([], [], [])
    for number in range(max_requests):
        prepared = request()
        pagination.apply(prepared, state)
        out.requests.append(prepared)
        out.states.append(state)
        page = respond(prepared, number, len(out.records))
        out.records.extend(page.records)
        step = pagination.next_state(page, state)
        out.steps.append(step)
        if step.next is None:
            return out
        state = step.next
    raise AssertionError(f"paging did not stop after {max_requests} requests")


def offset_api(
    total: int,
    *,
    cap: int | None = None,
    signal: str | None = None,
    default_limit: int = 10,
) -> Respond:
    """``?offset=&limit=`` over ``total`` records; ``cap`` silently shrinks the limit.

    signal: None (no end signal), "total", "has_more" or "next_offset".
    """

    def respond(prepared: PreparedRequest, number: int, so_far: int) -> PageView:
        offset = int(prepared.query.get("offset", 0))
        limit = int(prepared.query.get("limit", default_limit))
        if cap is not None:
            limit = min(limit, cap)
        rows = [record(i) for i in range(offset + 1, min(offset + limit, total) + 1)]
        body: dict[str, Any] = {"data": rows}
        end = offset + len(rows)
        if signal == "total":
            body["total"] = total
        elif signal == "has_more":
            body["has_more"] = end < total
        elif signal == "next_offset":
            body["next_offset"] = end if end < total else None
        return view(body, rows, url=BASE, page_number=number, records_so_far=so_far)

    return respond


def page_api(total: int, *, cap: int | None = None, first: int = 1, signal: str | None = None) -> Respond:
    """``?page=&page_size=`` over ``total`` records, pages numbered from ``first``."""

    def respond(prepared: PreparedRequest, number: int, so_far: int) -> PageView:
        size = int(prepared.query.get("page_size", 10))
        if cap is not None:
            size = min(size, cap)
        index = int(prepared.query["page"]) - first
        start = index * size
        rows = [record(i) for i in range(start + 1, min(start + size, total) + 1)]
        body: dict[str, Any] = {"data": rows}
        if signal == "total_pages":
            body["total_pages"] = -(-total // size)
        elif signal == "total":
            body["total"] = total
        elif signal == "has_more":
            body["has_more"] = start + len(rows) < total
        return view(body, rows, page_number=number, records_so_far=so_far)

    return respond


# --------------------------------------------------------------------------------------------
# Request options: query, header, body (dotted path), url, templates
# --------------------------------------------------------------------------------------------


def test_offset_mode_sends_limit_and_offset_as_query_by_default() -> None:
    pagination = OffsetPagination()
    prepared = request()
    pagination.apply(prepared, pagination.first_state(50))
    assert prepared.query == {"limit": "50", "offset": "0"}
    assert prepared.body is None and prepared.headers == {}


def test_page_mode_sends_page_and_page_size_as_query_by_default() -> None:
    pagination = PagePagination()
    prepared = request()
    pagination.apply(prepared, pagination.first_state(25))
    assert prepared.query == {"page": "1", "page_size": "25"}


def test_cursor_mode_sends_no_cursor_on_the_first_request_and_no_size_by_default() -> None:
    pagination = CursorPagination(next=NextCursor(body="next"))
    prepared = request()
    pagination.apply(prepared, pagination.first_state(30))
    assert prepared.query == {}
    assert prepared.url == BASE


def test_request_option_into_header() -> None:
    pagination = OffsetPagination.model_validate(
        {
            "limit_param": {"in": "header", "name": "X-Limit"},
            "offset_param": {"in": "header", "name": "X-Offset"},
        }
    )
    prepared = request()
    pagination.apply(prepared, State(offset=150, page_size=50))
    assert prepared.headers == {"X-Limit": "50", "X-Offset": "150"}
    assert prepared.query == {}


def test_request_option_into_json_body_by_dotted_path_keeps_the_rest_of_the_body() -> None:
    pagination = OffsetPagination.model_validate(
        {
            "limit_param": {"in": "body", "name": "input.limit"},
            "offset_param": {"in": "body", "name": "input.offset"},
        }
    )
    prepared = PreparedRequest(
        method="POST", url=BASE, body={"credentialId": "c", "input": {"filter": {"state": "open"}}}
    )
    pagination.apply(prepared, State(offset=100, page_size=50))
    assert prepared.body == {
        "credentialId": "c",
        "input": {"filter": {"state": "open"}, "limit": 50, "offset": 100},
    }
    assert prepared.query == {}


def test_request_option_into_body_creates_the_body_and_missing_parents() -> None:
    pagination = PagePagination.model_validate(
        {"page_param": {"in": "body", "name": "paging.page.number"}, "size_param": None}
    )
    prepared = request()
    pagination.apply(prepared, pagination.first_state(None))
    assert prepared.body == {"paging": {"page": {"number": 1}}}


def test_apply_does_not_touch_the_template_request_it_was_copied_from() -> None:
    template = PreparedRequest(method="POST", url=BASE, body={"input": {}})
    pagination = OffsetPagination.model_validate({"offset_param": {"in": "body", "name": "input.offset"}})
    first = template.copy()
    pagination.apply(first, State(offset=10, page_size=5))
    assert template.body == {"input": {}}
    assert template.query == {}


def test_value_template_prestashop_style_offset_comma_limit() -> None:
    pagination = OffsetPagination.model_validate(
        {
            "limit_param": None,
            "offset_param": {"in": "query", "name": "limit", "template": "{{ offset }},{{ page_size }}"},
        }
    )
    prepared = request()
    pagination.apply(prepared, State(offset=100, page_size=50))
    assert prepared.query == {"limit": "100,50"}


def test_value_template_can_use_value_and_prefix_it() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"body": "next"},
            "cursor_param": {"in": "header", "name": "Range", "template": "after={{ value }}"},
        }
    )
    prepared = request()
    pagination.apply(prepared, State(cursor="abc", page_size=None, offset=0))
    assert prepared.headers == {"Range": "after=abc"}


def test_limit_param_null_or_false_sends_no_limit() -> None:
    for value in (None, False):
        pagination = OffsetPagination.model_validate({"limit_param": value})
        prepared = request()
        pagination.apply(prepared, pagination.first_state(50))
        assert prepared.query == {"offset": "0"}


def test_size_param_false_in_page_mode_sends_no_size() -> None:
    pagination = PagePagination.model_validate({"size_param": False})
    prepared = request()
    pagination.apply(prepared, pagination.first_state(50))
    assert prepared.query == {"page": "1"}


def test_next_link_replaces_the_url_and_its_query() -> None:
    pagination = CursorPagination.model_validate({"next": {"link": "next"}, "cursor_param": {"in": "url"}})
    prepared = PreparedRequest(method="GET", url=BASE, query={"state": "open"})
    pagination.apply(prepared, State(cursor="https://api.example.test/v1/items?page=2&state=open"))
    assert prepared.url == "https://api.example.test/v1/items?page=2&state=open"
    assert prepared.query == {}


def test_relative_next_link_is_resolved_against_the_current_url() -> None:
    pagination = CursorPagination.model_validate({"next": {"body": "next"}, "cursor_param": {"in": "url"}})
    state = pagination.first_state(None)
    page = view(
        {"data": [record(1)], "next": "/v1/items?page=2"}, url="https://api.example.test/v1/items?page=1"
    )
    step = pagination.next_state(page, state)
    assert step.next is not None
    assert step.next.cursor == "https://api.example.test/v1/items?page=2"
    sibling = view(
        {"data": [record(1)], "next": "items?page=3"}, url="https://api.example.test/v1/items?page=2"
    )
    step = pagination.next_state(sibling, state)
    assert step.next is not None and step.next.cursor == "https://api.example.test/v1/items?page=3"


def test_size_param_is_sent_on_the_first_request_but_not_added_to_next_links() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"link": "next"},
            "cursor_param": {"in": "url"},
            "size_param": {"in": "query", "name": "per_page"},
        }
    )
    first = request()
    pagination.apply(first, pagination.first_state(100))
    assert first.query == {"per_page": "100"}
    following = request()
    pagination.apply(following, State(cursor=BASE + "?page=2&per_page=100", page_size=100, offset=100))
    assert following.url == BASE + "?page=2&per_page=100"
    assert following.query == {}


def test_cursor_into_json_body_by_dotted_path() -> None:
    pagination = CursorPagination.model_validate(
        {"next": {"body": "paging.next"}, "cursor_param": {"in": "body", "name": "paging.after"}}
    )
    prepared = PreparedRequest(method="POST", url=BASE, body={"query": "x"})
    pagination.apply(prepared, State(cursor="c2", offset=10))
    assert prepared.body == {"query": "x", "paging": {"after": "c2"}}


@pytest.mark.parametrize("next_cursor", [{"body": "next_id"}, {"last_record": "id"}])
def test_a_numeric_cursor_keeps_its_json_type_in_a_body_and_is_text_in_a_query(
    next_cursor: dict[str, str],
) -> None:
    body_cursor = CursorPagination.model_validate(
        {"next": next_cursor, "cursor_param": {"in": "body", "name": "starting_after"}}
    )
    step = body_cursor.next_state(view({"data": records_of(3), "next_id": 3}), State(offset=0))
    assert step.next is not None and step.next.cursor == 3
    stored = State.model_validate_json(step.next.model_dump_json())
    assert stored == step.next and stored.cursor == 3
    prepared = PreparedRequest(method="POST", url=BASE, body={"q": "x"})
    body_cursor.apply(prepared, stored)
    assert prepared.body == {"q": "x", "starting_after": 3}
    query_cursor = CursorPagination.model_validate(
        {"next": next_cursor, "cursor_param": {"in": "query", "name": "starting_after"}}
    )
    prepared = request()
    query_cursor.apply(prepared, stored)
    assert prepared.query == {"starting_after": "3"}


@pytest.mark.parametrize("cursor", [{"after": "k9", "n": [1, True]}, ["k9", 2]])
def test_an_object_or_array_cursor_is_json_text_in_a_query_or_header_and_json_in_a_body(cursor: Any) -> None:
    # It went out as Python's spelling: ?cursor={'after': 'k9', 'n': [1, True]}.
    found = CursorPagination.model_validate({"next": {"body": "next"}})
    step = found.next_state(view({"data": records_of(3), "next": cursor}), State(offset=0))
    assert step.next is not None
    stored = State.model_validate_json(step.next.model_dump_json())
    assert stored == step.next and stored.cursor == cursor
    text = json.dumps(cursor, separators=(",", ":"))
    for where in ("query", "header"):
        sent = CursorPagination.model_validate(
            {"next": {"body": "next"}, "cursor_param": {"in": where, "name": "c"}}
        )
        prepared = request()
        sent.apply(prepared, stored)
        assert (prepared.query if where == "query" else prepared.headers) == {"c": text}
    templated = CursorPagination.model_validate(
        {"next": {"body": "next"}, "cursor_param": {"in": "query", "name": "c", "template": "x{{ value }}"}}
    )
    prepared = request()
    templated.apply(prepared, stored)
    assert prepared.query == {"c": "x" + text}
    in_body = CursorPagination.model_validate(
        {"next": {"body": "next"}, "cursor_param": {"in": "body", "name": "page.after"}}
    )
    prepared = PreparedRequest(method="POST", url=BASE, body={"q": "x"})
    in_body.apply(prepared, stored)
    assert prepared.body == {"q": "x", "page": {"after": cursor}}


def test_a_template_cursor_over_an_object_renders_it_as_json() -> None:
    pagination = CursorPagination.model_validate({"next": {"template": "{{ response.next }}"}})
    step = pagination.next_state(view({"data": records_of(1), "next": {"a": 1}}), State())
    assert step.next is not None and step.next.cursor == '{"a":1}'


@pytest.mark.parametrize("empty", [{}, []])
def test_an_empty_object_or_array_cursor_ends_paging(empty: Any) -> None:
    pagination = CursorPagination.model_validate({"next": {"body": "next"}})
    assert pagination.next_state(view({"data": records_of(1), "next": empty}), State()).next is None


def test_a_state_stored_with_a_text_cursor_still_loads_as_text() -> None:
    assert State.model_validate_json('{"offset": 10, "cursor": "30"}').cursor == "30"


def test_setting_a_body_path_on_a_non_object_body_is_refused() -> None:
    prepared = PreparedRequest(method="POST", url=BASE, body=[1, 2])
    with pytest.raises(ValueError, match="not a JSON object"):
        prepared.set_body_path("input.offset", 5)


# --------------------------------------------------------------------------------------------
# Start positions
# --------------------------------------------------------------------------------------------


def test_start_offset_is_the_first_requests_offset() -> None:
    pagination = OffsetPagination(start_offset=200)
    prepared = request()
    pagination.apply(prepared, pagination.first_state(50))
    assert prepared.query["offset"] == "200"


@pytest.mark.parametrize("start_page", [0, 1])
def test_start_page_numbers_the_first_request(start_page: int) -> None:
    pagination = PagePagination(start_page=start_page)
    state = pagination.first_state(10)
    prepared = request()
    pagination.apply(prepared, state)
    assert prepared.query["page"] == str(start_page)
    step = pagination.next_state(view({"data": records_of(10)}), state)
    assert step.next is not None and step.next.page == start_page + 1


@pytest.mark.parametrize("start_page", [0, 1])
def test_total_pages_counts_from_the_start_page(start_page: int) -> None:
    drained = drain(
        PagePagination(start_page=start_page, total_pages="total_pages"),
        page_api(25, first=start_page, signal="total_pages"),
        page_size=10,
    )
    assert drained.ids == list(range(1, 26))
    assert [r.query["page"] for r in drained.requests] == [str(start_page + i) for i in range(3)]
    assert "3 pages" in (drained.steps[-1].reason or "")


def test_start_cursor_is_sent_on_the_first_request() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"body": "next"},
            "start_cursor": "resume-here",
            "cursor_param": {"in": "query", "name": "after"},
        }
    )
    prepared = request()
    pagination.apply(prepared, pagination.first_state(None))
    assert prepared.query == {"after": "resume-here"}


# --------------------------------------------------------------------------------------------
# Offset mode
# --------------------------------------------------------------------------------------------


def test_offset_advances_by_records_received_not_by_page_size() -> None:
    pagination = OffsetPagination(has_more="has_more")
    state = pagination.first_state(50)
    step = pagination.next_state(view({"data": records_of(30), "has_more": True}), state)
    assert step.next is not None
    assert step.next.offset == 30


def test_offset_follows_the_servers_next_offset() -> None:
    pagination = OffsetPagination(next_offset="pagination.nextOffset")
    state = pagination.first_state(50)
    body = {"data": records_of(50), "pagination": {"nextOffset": 75}}
    step = pagination.next_state(view(body), state)
    assert step.next is not None and step.next.offset == 75


def test_offset_next_offset_given_as_a_numeric_string_is_read_as_an_integer() -> None:
    pagination = OffsetPagination(next_offset="next")
    step = pagination.next_state(view({"data": records_of(10), "next": "10"}), pagination.first_state(10))
    assert step.next is not None and step.next.offset == 10


@pytest.mark.parametrize("signal", ["total", "has_more", "next_offset"])
def test_offset_drains_exactly_with_each_end_signal(signal: str) -> None:
    spec: dict[str, Any] = {signal: signal}
    drained = drain(OffsetPagination.model_validate(spec), offset_api(237, signal=signal), page_size=50)
    assert drained.ids == list(range(1, 238))
    assert [r.query["offset"] for r in drained.requests] == ["0", "50", "100", "150", "200"]


def test_offset_total_reached_ends_with_the_total() -> None:
    pagination = OffsetPagination(total="total")
    step = pagination.next_state(
        view({"data": records_of(20, 80), "total": 100}), State(offset=80, page_size=20)
    )
    assert step.next is None
    assert step.total == 100
    assert "100" in (step.reason or "")


def test_offset_empty_page_before_the_reported_total_ends_and_says_so() -> None:
    pagination = OffsetPagination(total="total")
    step = pagination.next_state(view({"data": [], "total": 100}), State(offset=80, page_size=20))
    assert step.next is None
    assert "before the reported total of 100" in (step.reason or "")


def test_offset_server_next_offset_that_does_not_move_is_a_loop_error() -> None:
    pagination = OffsetPagination(next_offset="next")
    with pytest.raises(PaginationLoopError, match="does not move"):
        pagination.next_state(view({"data": records_of(10, 40), "next": 40}), State(offset=40, page_size=10))


def test_offset_empty_page_while_has_more_claims_more_is_a_loop_error() -> None:
    pagination = OffsetPagination(has_more="has_more")
    with pytest.raises(PaginationLoopError, match="empty page"):
        pagination.next_state(view({"data": [], "has_more": True}), State(offset=40, page_size=10))


# --------------------------------------------------------------------------------------------
# End of data without an explicit signal: the short-page rule and silent caps
# --------------------------------------------------------------------------------------------


def test_short_page_from_silent_cap_does_not_stop_offset_mode() -> None:
    # Asked 50, the API silently gives 25 and more exist: learn 25, lose nothing.
    drained = drain(OffsetPagination(), offset_api(120, cap=25), page_size=50)
    assert drained.ids == list(range(1, 121))
    offsets = [int(r.query["offset"]) for r in drained.requests]
    assert offsets[:5] == [0, 25, 50, 75, 100]
    assert any("at most 25" in note for note in drained.notes())
    assert drained.states[2].learned_page_size == 25


def test_short_page_from_silent_cap_does_not_stop_page_mode() -> None:
    drained = drain(PagePagination(), page_api(120, cap=25), page_size=50)
    assert drained.ids == list(range(1, 121))
    assert any("at most 25" in note for note in drained.notes())


def test_first_short_page_is_checked_with_a_note_not_trusted() -> None:
    pagination = OffsetPagination()
    step = pagination.next_state(view({"data": records_of(25)}), pagination.first_state(50))
    assert step.next is not None
    assert step.next.offset == 25
    assert step.next.unconfirmed_short == 25
    assert any("asked for 50" in note and "got 25" in note for note in step.notes)


def test_real_short_last_page_ends_after_a_full_page() -> None:
    drained = drain(OffsetPagination(), offset_api(60), page_size=50)
    assert drained.ids == list(range(1, 61))
    assert len(drained.requests) == 2
    assert drained.steps[-1].reason == "short page"


def test_real_short_last_page_ends_page_mode() -> None:
    drained = drain(PagePagination(), page_api(60), page_size=50)
    assert drained.ids == list(range(1, 61))
    assert len(drained.requests) == 2


def test_silent_cap_then_a_shorter_last_page_ends() -> None:
    # cap 25: pages of 25, 25, then 10 — the 10 is a real short page once 25 is learned.
    drained = drain(PagePagination(), page_api(60, cap=25), page_size=50)
    assert drained.ids == list(range(1, 61))
    assert len(drained.requests) == 3
    assert drained.steps[-1].reason == "short page"


def test_empty_page_ends_page_mode() -> None:
    drained = drain(PagePagination(), page_api(100), page_size=50)
    assert drained.ids == list(range(1, 101))
    assert len(drained.requests) == 3
    assert drained.steps[-1].reason == "empty page"


def test_empty_page_ends_offset_mode_when_the_collection_is_a_multiple_of_the_page_size() -> None:
    drained = drain(OffsetPagination(), offset_api(100), page_size=50)
    assert drained.ids == list(range(1, 101))
    assert drained.steps[-1].reason == "empty page"


def test_small_collection_below_page_size_ends_cleanly_in_offset_mode() -> None:
    drained = drain(OffsetPagination(), offset_api(12), page_size=50)
    assert drained.ids == list(range(1, 13))
    assert len(drained.requests) == 2


def test_small_collection_below_page_size_ends_cleanly_in_page_mode() -> None:
    drained = drain(PagePagination(), page_api(12), page_size=50)
    assert drained.ids == list(range(1, 13))
    assert len(drained.requests) == 2


def test_api_chosen_page_size_is_learned_from_the_first_page() -> None:
    # No size sent: the API picks 10; the first page teaches it, a shorter page ends.
    drained = drain(PagePagination(size_param=None), page_api(35), page_size=None)
    assert drained.ids == list(range(1, 36))
    assert len(drained.requests) == 4
    assert drained.states[1].learned_page_size == 10


@pytest.mark.parametrize(
    ("count", "state", "more"),
    [
        (0, State(page_size=50), False),
        (50, State(page_size=50), True),
        (25, State(page_size=50), True),
        (25, State(page_size=50, unconfirmed_short=25), True),
        (10, State(page_size=50, unconfirmed_short=25), False),
        (30, State(page_size=50, unconfirmed_short=25), True),
        (25, State(page_size=50, learned_page_size=25), True),
        (24, State(page_size=50, learned_page_size=25), False),
        (7, State(page_size=None), True),
    ],
)
def test_short_page_rule_table(count: int, state: State, more: bool) -> None:
    assert short_page_rule(count, state)[0] is more


def test_short_page_rule_learns_the_cap_after_two_equal_short_pages() -> None:
    _, first, _ = short_page_rule(25, State(page_size=50))
    more, second, note = short_page_rule(25, first)
    assert more is True
    assert second.learned_page_size == 25 and second.unconfirmed_short is None
    assert note is not None and "25" in note


# --------------------------------------------------------------------------------------------
# Explicit signals beat the short-page rule (parametrized across modes)
# --------------------------------------------------------------------------------------------

PAGE_STATE = {
    "offset": State(offset=0, page_size=50),
    "page": State(page=1, offset=0, page_size=50),
    "cursor": State(offset=0, page_size=50),
}


def make(mode: str, **fields: Any) -> OffsetPagination | PagePagination | CursorPagination:
    spec: dict[str, Any] = {"mode": mode, **fields}
    if mode == "cursor":
        spec.setdefault("next", {"body": "next"})
    parsed = pagination_adapter.validate_python(spec)
    assert isinstance(parsed, OffsetPagination | PagePagination | CursorPagination)
    return parsed


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_has_more_true_beats_a_short_page(mode: str) -> None:
    pagination = make(mode, has_more="has_more")
    body = {"data": records_of(3), "has_more": True, "next": "c2"}
    step = pagination.next_state(view(body), PAGE_STATE[mode])
    assert step.next is not None
    assert step.next.unconfirmed_short is None


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_has_more_false_ends_even_a_full_page(mode: str) -> None:
    pagination = make(mode, has_more="meta.has_more")
    body = {"data": records_of(50), "meta": {"has_more": False}, "next": "still-here"}
    step = pagination.next_state(view(body), PAGE_STATE[mode])
    assert step.next is None
    assert "no more" in (step.reason or "")


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_has_more_absent_from_the_body_means_no_more_and_says_so(mode: str) -> None:
    # Issue 14: absent means no more (as Airbyte's "not response.next"), with a note naming the path.
    pagination = make(mode, has_more="has_more")
    step = pagination.next_state(view({"data": records_of(50), "next": "c2"}), PAGE_STATE[mode])
    assert step.next is None
    assert any("has_more path 'has_more' is absent" in note for note in step.notes)


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
@pytest.mark.parametrize(
    "value",
    [True, 2, 1.5, "https://api.test/items?page=2", "c2", "true", "yes", {"page": 2}, [1]],
    ids=repr,
)
def test_has_more_that_apis_really_send_for_more(mode: str, value: Any) -> None:
    # A next page number, a URL, a token or a non-empty object all mean "more".
    pagination = make(mode, has_more="next_page")
    body = {"data": records_of(3), "next_page": value, "next": "c2"}
    step = pagination.next_state(view(body), PAGE_STATE[mode])
    assert step.next is not None, value
    assert step.next.unconfirmed_short is None  # an explicit "more" beats the short page


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
@pytest.mark.parametrize(
    "value", [None, False, 0, 0.0, "", "  ", "false", "FALSE", "0", "no", "null", "None", [], {}], ids=repr
)
def test_has_more_that_apis_really_send_for_no_more(mode: str, value: Any) -> None:
    pagination = make(mode, has_more="next_page")
    body = {"data": records_of(50), "next_page": value, "next": "still-here"}
    step = pagination.next_state(view(body), PAGE_STATE[mode])
    assert step.next is None, value
    assert "no more" in (step.reason or "")


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_has_more_that_is_a_negative_number_is_a_response_shape_error(mode: str) -> None:
    pagination = make(mode, has_more="has_more")
    with pytest.raises(ResponseShapeError, match="negative number -1") as caught:
        pagination.next_state(view({"data": records_of(5), "has_more": -1, "next": "c"}), PAGE_STATE[mode])
    assert caught.value.source == "unit"


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_has_more_given_as_text_true_or_false_reads_as_a_boolean(mode: str) -> None:
    pagination = make(mode, has_more="has_more")
    body = {"data": records_of(50), "has_more": "false", "next": "c"}
    assert pagination.next_state(view(body), PAGE_STATE[mode]).next is None
    body["has_more"] = "true"
    assert pagination.next_state(view(body), PAGE_STATE[mode]).next is not None


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_airbyte_stop_condition_more_results_is_false_ends_paging(mode: str) -> None:
    pagination = make(mode, stop_condition="{{ response.more_results is false }}")
    full = records_of(50)
    stop = pagination.next_state(view({"data": full, "more_results": False, "next": "c"}), PAGE_STATE[mode])
    assert stop.next is None
    go_on = pagination.next_state(view({"data": full, "more_results": True, "next": "c"}), PAGE_STATE[mode])
    assert go_on.next is not None


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_stop_condition_as_a_bare_expression_over_records_so_far(mode: str) -> None:
    pagination = make(mode, stop_condition="records_so_far + last_page_size >= 100")
    state = PAGE_STATE[mode]
    page = view({"data": records_of(50), "next": "c"}, records_so_far=50)
    assert pagination.next_state(page, state).next is None
    page = view({"data": records_of(50), "next": "c"}, records_so_far=0)
    assert pagination.next_state(page, state).next is not None


def test_stop_condition_sees_headers_and_page_number() -> None:
    pagination = make("cursor", stop_condition="{{ headers['x-last'] == '1' or page_number >= 9 }}")
    assert (
        pagination.next_state(
            view({"data": records_of(5), "next": "c"}, headers={"X-Last": "1"}), State()
        ).next
        is None
    )
    assert (
        pagination.next_state(view({"data": records_of(5), "next": "c"}, page_number=9), State()).next is None
    )
    assert (
        pagination.next_state(view({"data": records_of(5), "next": "c"}, page_number=2), State()).next
        is not None
    )


@pytest.mark.parametrize(
    "template",
    [
        "{{ headers['X-Last'] == '1' }}",  # HTTP names headers in any case; templates too
        "{{ headers.get('X-LAST') == '1' }}",
        "{{ 'X-Last' in headers and headers['x-last'] == '1' }}",
    ],
)
def test_templates_read_headers_in_any_case(template: str) -> None:
    pagination = make("cursor", stop_condition=template)
    last = view({"data": records_of(5), "next": "c"}, headers={"X-Last": "1"})
    assert pagination.next_state(last, State()).next is None
    more = view({"data": records_of(5), "next": "c"}, headers={"X-Last": "0"})
    assert pagination.next_state(more, State()).next is not None
    follow = make("cursor", next={"template": "{{ headers['X-Next-Token'] }}"})
    page = view({"data": records_of(5)}, headers={"X-Next-Token": "tok2"})
    step = follow.next_state(page, State())
    assert step.next is not None and step.next.cursor == "tok2"


def test_total_beats_short_page_in_page_mode() -> None:
    pagination = PagePagination(total="total")
    step = pagination.next_state(
        view({"data": records_of(25), "total": 100}), State(page=1, offset=0, page_size=50)
    )
    assert step.next is not None
    assert step.next.page == 2 and step.next.offset == 25
    assert step.total == 100


def test_page_mode_ends_when_records_reach_the_total() -> None:
    drained = drain(PagePagination(total="total"), page_api(95, signal="total"), page_size=50)
    assert drained.ids == list(range(1, 96))
    assert len(drained.requests) == 2
    assert drained.steps[-1].total == 95


def test_page_mode_has_more_drains_exactly() -> None:
    drained = drain(PagePagination(has_more="has_more"), page_api(100, signal="has_more"), page_size=50)
    assert drained.ids == list(range(1, 101))
    assert len(drained.requests) == 2


def test_total_that_is_not_an_integer_is_a_response_shape_error() -> None:
    pagination = OffsetPagination(total="total")
    with pytest.raises(ResponseShapeError, match="expected an integer"):
        pagination.next_state(view({"data": records_of(5), "total": "many"}), State(offset=0, page_size=5))
    with pytest.raises(ResponseShapeError, match="expected an integer"):
        pagination.next_state(view({"data": records_of(5), "total": 3.5}), State(offset=0, page_size=5))


def test_total_pages_that_is_a_boolean_is_a_response_shape_error() -> None:
    pagination = PagePagination(total_pages="pages")
    with pytest.raises(ResponseShapeError):
        pagination.next_state(view({"data": records_of(5), "pages": True}), State(page=1, offset=0))


# --------------------------------------------------------------------------------------------
# Cursor mode: where the cursor comes from
# --------------------------------------------------------------------------------------------


def test_cursor_from_body_path() -> None:
    pagination = CursorPagination(next=NextCursor(body="meta.next_token"))
    step = pagination.next_state(
        view({"data": records_of(10), "meta": {"next_token": "tok2"}}), State(offset=0)
    )
    assert step.next is not None
    assert step.next.cursor == "tok2"
    assert step.next.offset == 10


@pytest.mark.parametrize("missing", [{}, {"next_token": None}, {"next_token": ""}, {"next_token": "  "}])
def test_missing_or_empty_body_cursor_ends_paging(missing: dict[str, Any]) -> None:
    pagination = CursorPagination(next=NextCursor(body="meta.next_token"))
    step = pagination.next_state(view({"data": records_of(10), "meta": missing}), State(offset=0))
    assert step.next is None
    assert "no next cursor" in (step.reason or "")


def test_numeric_cursor_is_sent_as_text_and_false_means_none() -> None:
    pagination = CursorPagination(next=NextCursor(body="next"))
    step = pagination.next_state(view({"data": records_of(1), "next": 1234}), State())
    assert step.next is not None and step.next.cursor == 1234
    prepared = request()
    pagination.apply(prepared, step.next)
    assert prepared.query == {"cursor": "1234"}
    assert pagination.next_state(view({"data": records_of(1), "next": False}), State()).next is None


def test_cursor_from_header_is_case_insensitive() -> None:
    pagination = CursorPagination(next=NextCursor(header="X-Next-Cursor"))
    step = pagination.next_state(view(records_of(10), headers={"x-next-cursor": "cur_9"}), State(offset=0))
    assert step.next is not None and step.next.cursor == "cur_9"
    assert pagination.next_state(view(records_of(10)), State(offset=0)).next is None


def test_cursor_from_link_header_rel() -> None:
    pagination = CursorPagination.model_validate({"next": {"link": "next"}, "cursor_param": {"in": "url"}})
    links = {"next": BASE + "?page=2", "last": BASE + "?page=9"}
    step = pagination.next_state(view(records_of(10), links=links), State(offset=0))
    assert step.next is not None and step.next.cursor == BASE + "?page=2"
    only_prev = {"prev": BASE + "?page=1"}
    assert pagination.next_state(view(records_of(10), links=only_prev), State(offset=0)).next is None


def test_cursor_from_other_link_rel() -> None:
    pagination = CursorPagination.model_validate({"next": {"link": "older"}, "cursor_param": {"in": "url"}})
    step = pagination.next_state(view(records_of(10), links={"older": BASE + "?before=5"}), State())
    assert step.next is not None and step.next.cursor == BASE + "?before=5"


def test_cursor_from_last_record_starting_after_style() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"last_record": "id"},
            "cursor_param": {"in": "query", "name": "starting_after"},
            "has_more": "has_more",
        }
    )
    body = {"data": records_of(10, 20), "has_more": True}
    step = pagination.next_state(view(body), State(offset=20))
    assert step.next is not None and step.next.cursor == 30
    prepared = request()
    pagination.apply(prepared, step.next)
    assert prepared.query == {"starting_after": "30"}


def test_cursor_from_last_record_on_an_empty_page_ends() -> None:
    pagination = CursorPagination(next=NextCursor(last_record="id"))
    assert pagination.next_state(view({"data": []}), State()).next is None


def test_partnerstack_template_cursor_from_the_last_records_key() -> None:
    # From the Airbyte connector-builder docs (seed 004): a "custom" cursor off the last record.
    pagination = CursorPagination.model_validate(
        {
            "next": {"template": "{{ last_records[-1]['key'] }}"},
            "cursor_param": {"in": "query", "name": "starting_after"},
            "stop_condition": "{{ response.data.has_more is false }}",
        }
    )
    rows = records_of(3, 6)
    body = {"data": {"items": rows, "has_more": True}}
    step = pagination.next_state(view(body, rows), State(offset=6))
    assert step.next is not None and step.next.cursor == "k0009"
    end = {"data": {"items": rows, "has_more": False}}
    assert pagination.next_state(view(end, rows), State(offset=6)).next is None


def test_template_cursor_from_the_raw_response() -> None:
    pagination = CursorPagination.model_validate(
        {"next": {"template": "{{ response['data']['items'][-1]['key'] }}"}}
    )
    rows = records_of(2)
    step = pagination.next_state(view({"data": {"items": rows}}, rows), State())
    assert step.next is not None and step.next.cursor == "k0002"


def test_template_cursor_that_renders_empty_ends_paging() -> None:
    pagination = CursorPagination.model_validate(
        {"next": {"template": "{{ response.next_key if 'next_key' in response else '' }}"}}
    )
    assert pagination.next_state(view({"data": records_of(2)}), State()).next is None


@pytest.mark.parametrize(
    ("template", "body"),
    [
        ("{{ response.get('next_key') }}", {"data": records_of(2)}),
        ("{{ response.next_key | default(none) }}", {"data": records_of(2)}),
        ("{{ response.next_key if response.next_key is defined }}", {"data": records_of(2)}),
        ("{{ last_records[-1]['key'] }}", {"data": []}),
        ("{{ response.meta.next_key }}", {"data": records_of(2), "meta": None}),
    ],
)
def test_template_cursor_over_an_optional_value_ends_paging(template: str, body: dict[str, Any]) -> None:
    # Read with .get / default / is defined, an item past the end of a list, a field of a null.
    pagination = CursorPagination.model_validate({"next": {"template": template}})
    assert pagination.next_state(view(body), State()).next is None


@pytest.mark.parametrize(
    "template",
    ["{{ response.next_key }}", "p-{{ response.meta.next_key }}", "{{ last_records[0]['nope'] }}"],
)
def test_template_cursor_over_a_key_that_does_not_exist_is_an_error_naming_it(template: str) -> None:
    # Issue 14: a typo rendered empty, and paging stopped after page 1 with nothing said.
    pagination = CursorPagination.model_validate({"next": {"template": template}})
    body = {"data": records_of(2), "meta": {"next_token": "t"}}
    with pytest.raises(
        ValueError, match=r"template .* failed: no key '(next_key|nope)' \(there are: "
    ) as caught:
        pagination.next_state(view(body), State())
    assert ".get(" in str(caught.value) and "is defined" in str(caught.value)


EMPTY_CURSOR_VALUES: tuple[object, ...] = ({}, [], None, "None", "null")
"""Values a cursor template may render that mean "no cursor" (the first three as JSON too)."""


@pytest.mark.parametrize(
    ("rendered", "value"),
    [
        *(("{{ response.next }}", value) for value in EMPTY_CURSOR_VALUES),
        *(("{{ response.get('next', {}) }}", value) for value in EMPTY_CURSOR_VALUES),
        *(("{{ response.next | tojson }}", value) for value in EMPTY_CURSOR_VALUES[:3]),
    ],
    ids=repr,
)
def test_template_cursor_rendering_an_empty_object_list_or_null_is_no_cursor(
    rendered: str, value: Any
) -> None:
    pagination = CursorPagination.model_validate({"next": {"template": rendered}})
    step = pagination.next_state(view({"data": records_of(2), "next": value}), State())
    assert step.next is None and "no next cursor" in (step.reason or "")


@pytest.mark.parametrize("value", [None, False, ""])
def test_template_cursor_over_a_null_or_false_value_ends_paging(value: Any) -> None:
    # A null rendered as the text "None" was sent as the next cursor (?cursor=None).
    pagination = CursorPagination.model_validate({"next": {"template": "{{ response.meta.next_token }}"}})
    body = {"data": records_of(2), "meta": {"next_token": value}}
    step = pagination.next_state(view(body), State())
    assert step.next is None and "no next cursor" in (step.reason or "")


@pytest.mark.parametrize("value", [None, False, ""])
@pytest.mark.parametrize(
    "template",
    [
        "p-{{ response.meta.next_token }}",
        "{{ response.meta.next_token }}:{{ response.meta.other }}",
        "{{ 'p-' ~ response.meta.next_token if response.meta.next_token }}",
    ],
)
def test_template_cursor_whose_every_value_is_empty_ends_paging_despite_literal_text(
    template: str, value: Any
) -> None:
    # "p-{{ x }}" rendered "p-" over a null x, which was sent as the next cursor.
    pagination = CursorPagination.model_validate({"next": {"template": template}})
    body = {"data": records_of(2), "meta": {"next_token": value, "other": None}}
    step = pagination.next_state(view(body), State())
    assert step.next is None and "no next cursor" in (step.reason or "")


@pytest.mark.parametrize(
    ("template", "cursor"),
    [
        ("p-{{ response.meta.next_token }}", "p-t2"),
        ("{{ response.meta.other }}/{{ response.meta.next_token }}", "/t2"),
        ("{% if response.meta.next_token %}fixed{% endif %}", "fixed"),
    ],
)
def test_template_cursor_with_one_value_present_keeps_its_literal_text(template: str, cursor: str) -> None:
    pagination = CursorPagination.model_validate({"next": {"template": template}})
    body = {"data": records_of(2), "meta": {"next_token": "t2", "other": None}}
    step = pagination.next_state(view(body), State())
    assert step.next is not None and step.next.cursor == cursor


def test_stop_condition_over_a_null_value_does_not_stop() -> None:
    pagination = make("cursor", stop_condition="{{ response.done }}")
    body = {"data": records_of(5), "done": None, "next": "c"}
    assert pagination.next_state(view(body), PAGE_STATE["cursor"]).next is not None


def test_value_template_renders_a_null_variable_empty_not_as_none() -> None:
    pagination = CursorPagination.model_validate(
        {
            "next": {"body": "next"},
            "cursor_param": {"in": "query", "name": "after", "template": "{{ value }}:{{ page_size }}"},
        }
    )
    prepared = request()
    pagination.apply(prepared, State(cursor="abc", page_size=None, offset=0))
    assert prepared.query == {"after": "abc:"}


def test_cursor_mode_drains_a_token_api_exactly() -> None:
    total = 95

    def respond(prepared: PreparedRequest, number: int, so_far: int) -> PageView:
        offset = int(prepared.query.get("cursor", "t0")[1:])
        size = int(prepared.query["limit"])
        rows = [record(i) for i in range(offset + 1, min(offset + size, total) + 1)]
        end = offset + len(rows)
        body: dict[str, Any] = {"data": rows, "next": f"t{end}" if end < total else None}
        return view(body, rows, page_number=number, records_so_far=so_far)

    pagination = CursorPagination.model_validate(
        {"next": {"body": "next"}, "size_param": {"in": "query", "name": "limit"}}
    )
    drained = drain(pagination, respond, page_size=20)
    assert drained.ids == list(range(1, total + 1))
    assert [r.query.get("cursor") for r in drained.requests] == [None, "t20", "t40", "t60", "t80"]


def test_cursor_mode_follows_relative_next_links_exactly() -> None:
    total = 45

    def respond(prepared: PreparedRequest, number: int, so_far: int) -> PageView:
        parts = urlsplit(prepared.url)
        query = dict(parse_qsl(parts.query)) | prepared.query
        page = int(query.get("page", 1))
        size = int(query.get("per_page", 10))
        start = (page - 1) * size
        rows = [record(i) for i in range(start + 1, min(start + size, total) + 1)]
        links = {"next": f"/v1/items?page={page + 1}&per_page={size}"} if start + size < total else {}
        return view(
            rows,
            rows,
            links=links,
            url=prepared.url
            + ("?" + "&".join(f"{k}={v}" for k, v in prepared.query.items()) if prepared.query else ""),
        )

    pagination = CursorPagination.model_validate(
        {
            "next": {"link": "next"},
            "cursor_param": {"in": "url"},
            "size_param": {"in": "query", "name": "per_page"},
        }
    )
    drained = drain(pagination, respond, page_size=20)
    assert drained.ids == list(range(1, total + 1))
    assert [r.url for r in drained.requests[1:]] == [
        "https://api.example.test/v1/items?page=2&per_page=20",
        "https://api.example.test/v1/items?page=3&per_page=20",
    ]


# --------------------------------------------------------------------------------------------
# None mode, states, positions
# --------------------------------------------------------------------------------------------


def test_none_mode_is_one_page_and_sends_nothing() -> None:
    pagination = NoPagination()
    prepared = request()
    state = pagination.first_state(50)
    pagination.apply(prepared, state)
    assert prepared.query == {} and prepared.body is None
    step = pagination.next_state(view({"data": records_of(7)}), state)
    assert step.next is None
    assert step.total == 7


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_next_state_returns_a_new_state_and_leaves_the_old_one_alone(mode: str) -> None:
    pagination = make(mode)
    state = pagination.first_state(10)
    before = state.model_dump()
    step = pagination.next_state(view({"data": records_of(10), "next": "c2"}), state)
    assert step.next is not None and step.next != state
    assert state.model_dump() == before
    with pytest.raises(ValidationError):
        state.offset = 5  # type: ignore[misc]


@pytest.mark.parametrize("mode", ["offset", "page", "cursor"])
def test_successive_states_have_distinct_positions(mode: str) -> None:
    pagination = make(mode)
    state = pagination.first_state(10)
    positions = {state.position()}
    for n in range(4):
        step = pagination.next_state(view({"data": records_of(10, n * 10), "next": f"c{n}"}), state)
        assert step.next is not None
        state = step.next
        positions.add(state.position())
    assert len(positions) == 5


def test_a_cursor_handed_out_again_is_the_same_position() -> None:
    pagination = CursorPagination(next=NextCursor(body="next"))
    state = pagination.first_state(10)
    seen: list[str] = []
    # pages hand out B, C, then B again (the A->B->A loop the engine must catch)
    for n, cursor in enumerate(["B", "C", "B"]):
        step = pagination.next_state(view({"data": records_of(10, n * 10), "next": cursor}), state)
        assert step.next is not None
        state = step.next
        seen.append(state.position())
    assert seen[2] == seen[0]


def test_state_round_trips_through_json_for_the_store() -> None:
    state = State(offset=75, page=4, cursor="abc", page_size=50, learned_page_size=25, unconfirmed_short=None)
    assert State.model_validate_json(state.model_dump_json()) == state


# --------------------------------------------------------------------------------------------
# Auto detection (chooses a concrete mode from the first response)
# --------------------------------------------------------------------------------------------


def test_auto_detects_a_link_header_next() -> None:
    page = view(records_of(5), links={"next": BASE + "?page=2"})
    chosen = detect(page, request(), None)
    assert isinstance(chosen, CursorPagination)
    assert chosen.next.link == "next" and chosen.cursor_param.in_ == "url"


@pytest.mark.parametrize("key", ["next", "@odata.nextLink"])
def test_auto_detects_a_next_url_in_the_body(key: str) -> None:
    page = view({"value": records_of(5), key: BASE + "?skip=5"}, records_of(5))
    chosen = detect(page, request(), None)
    assert isinstance(chosen, CursorPagination)
    assert chosen.next.body is not None


def test_auto_recognises_a_next_link_to_another_origin_that_the_policy_then_refuses() -> None:
    # Skipping the link would end paging after one page and call it complete; choosing it lets
    # the session's origin policy refuse to follow it, with an error naming allowed_hosts.
    evil = "https://evil.example.net/steal?page=2"
    chosen = detect(view(records_of(5), links={"next": evil}), request(), None)
    assert isinstance(chosen, CursorPagination) and chosen.next.link == "next"
    with pytest.raises(HostNotAllowedError, match="allowed_hosts"):
        OriginPolicy(home=origin_of(BASE)).check(evil)


def test_auto_falls_back_to_a_single_page() -> None:
    assert isinstance(detect(view({"data": records_of(5)}), request(), None), NoPagination)


# --------------------------------------------------------------------------------------------
# Invalid specs are rejected with clear messages
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"mode": "cursor", "next": {"body": "a", "header": "X-Next"}}, "exactly one of body, header"),
        ({"mode": "cursor", "next": {}}, "exactly one"),
        ({"mode": "cursor"}, "next"),
        ({"mode": "offset", "offset_param": {"in": "query"}}, "needs a 'name'"),
        ({"mode": "page", "page_param": {"in": "header"}}, "needs a 'name'"),
        ({"mode": "offset", "offset_param": {"in": "cookie", "name": "x"}}, "query"),
        ({"mode": "sideways"}, "mode"),
        ({"mode": "offset", "limit": 50}, "Extra inputs are not permitted"),
        ({"mode": "offset", "has_more": "pagination.[hasMore"}, "invalid JMESPath"),
        ({"mode": "offset", "total": "total)"}, "invalid JMESPath"),
        ({"mode": "page", "total_pages": "a..b"}, "invalid JMESPath"),
        ({"mode": "cursor", "next": {"body": "meta..next"}}, "invalid JMESPath"),
        ({"mode": "cursor", "next": {"template": "{{ last_records[-1] "}}, "invalid template"),
        ({"mode": "offset", "stop_condition": "{{ response.more is }}"}, "invalid template"),
        (
            {"mode": "offset", "offset_param": {"in": "query", "name": "o", "template": "{% if %}"}},
            "template",
        ),
        ({"mode": "offset", "offset_param": {"in": "url"}}, "offset_param cannot be in='url'"),
        ({"mode": "offset", "limit_param": {"in": "url"}}, "limit_param cannot be in='url'"),
        ({"mode": "page", "page_param": {"in": "url"}}, "page_param cannot be in='url'"),
        ({"mode": "page", "size_param": {"in": "url"}}, "size_param cannot be in='url'"),
        (
            {"mode": "cursor", "next": {"body": "n"}, "size_param": {"in": "url"}},
            "size_param cannot be in='url'",
        ),
        ({"mode": "page", "start_page": -1}, "greater than or equal to 0"),
        ({"mode": "offset", "start_offset": -5}, "greater than or equal to 0"),
        ({"mode": "offset", "page_size": 0}, "greater than or equal to 1"),
    ],
)
def test_invalid_specs_are_rejected_with_clear_messages(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        pagination_adapter.validate_python(spec)
    assert message in str(caught.value)


def test_every_mode_parses_through_the_adapter() -> None:
    assert isinstance(pagination_adapter.validate_python({"mode": "offset"}), OffsetPagination)
    assert isinstance(pagination_adapter.validate_python({"mode": "page"}), PagePagination)
    assert isinstance(
        pagination_adapter.validate_python({"mode": "cursor", "next": {"link": "next"}}), CursorPagination
    )
    assert isinstance(pagination_adapter.validate_python({"mode": "none"}), NoPagination)
    assert pagination_adapter.validate_python({"mode": "auto"}).mode == "auto"


def test_request_option_url_needs_no_name_and_the_in_alias_round_trips() -> None:
    option = RequestOption.model_validate({"in": "url"})
    assert option.in_ == "url" and option.name is None
    assert option.model_dump() == {"in": "url", "name": None, "template": None}


def test_pagination_spec_json_schema_describes_the_modes() -> None:
    schema = pagination_adapter.json_schema()
    text = str(schema)
    for mode in ("offset", "page", "cursor", "none", "auto"):
        assert f"'{mode}'" in text
    assert "last_record" in text and "stop_condition" in text


@pytest.mark.parametrize("key", ["items", "keys", "values", "get", "copy"])
def test_stop_condition_reads_a_json_key_named_like_a_dict_method(key: str) -> None:
    pagination = make("cursor", stop_condition=f"{{{{ response.{key} | length < 3 }}}}")
    state = PAGE_STATE["cursor"]
    assert pagination.next_state(view({"data": records_of(5), key: [1, 2], "next": "c"}), state).next is None
    assert pagination.next_state(view({"data": records_of(5), key: [1, 2, 3], "next": "c"}), state).next


def test_dict_methods_still_work_where_no_key_has_their_name() -> None:
    pagination = make("cursor", stop_condition="{{ response.items() | list | length > 9 }}")
    assert pagination.next_state(view({"data": records_of(5), "next": "c"}), PAGE_STATE["cursor"]).next


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("abc_"), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(path=st.lists(st.sampled_from(["a", "b", "c", "_"]), min_size=1, max_size=4), data=_json)
def test_plain_field_paths_answer_as_jmespath_does(path: list[str], data: Any) -> None:
    import jmespath

    from mcp_paginate.expressions import compile_path

    expression = ".".join(path)
    compiled = compile_path(expression)
    assert type(compiled).__name__ == "_FieldPath"  # the fast path, checked against JMESPath itself
    assert compiled.search(data) == jmespath.search(expression, data)


@pytest.mark.parametrize(("value", "segment"), [(".", "%2E"), ("..", "%2E%2E"), ("a/../b", "a%2F..%2Fb")])
def test_a_path_value_cannot_step_up_the_path(value: str, segment: str) -> None:
    # quote() leaves dots alone: a cursor of ".." in a {placeholder} would have walked up a level.
    request = PreparedRequest(method="GET", url="http://127.0.0.1:9/api/{cursor}/items")
    request.fill_path("cursor", value)
    assert request.url == f"http://127.0.0.1:9/api/{segment}/items"
