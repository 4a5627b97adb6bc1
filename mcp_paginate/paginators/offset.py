"""Offset/limit pagination: ``?limit=50&offset=100``.

The next offset is the server's ``next_offset`` when it gives one, else the current
offset plus the records actually received (never plus the page size: an API that
returns fewer records than asked would otherwise lose the difference). A server's
next offset past the records of a page shorter than asked is the same loss (an API
that silently caps its pages but counts the limit it was sent): paging continues from
the records received instead, with a note.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mcp_paginate.errors import PaginationLoopError
from mcp_paginate.paginators.base import (
    NextOffset,
    PageView,
    PreparedRequest,
    RequestOption,
    Signal,
    State,
    Step,
    StopRules,
    Total,
    check_signal,
    check_value_templates,
    not_a_url,
    optional_option,
    read_count,
    read_int,
    short_page_rule,
)

__all__ = ["OffsetPagination"]


class OffsetPagination(StopRules):
    """Offset/limit: the offset advances by the records received (or the server's next offset)."""

    mode: Literal["offset"] = "offset"
    page_size: int | None = Field(
        default=None, ge=1, description="Records per request (the limit). Defaults to the source's cap."
    )
    limit_param: RequestOption | None = Field(
        default=RequestOption.model_validate({"in": "query", "name": "limit"}),
        description="Where the limit goes; null if the API takes no limit.",
    )
    offset_param: RequestOption = Field(
        default=RequestOption.model_validate({"in": "query", "name": "offset"}),
        description="Where the offset goes.",
    )
    start_offset: int = Field(default=0, ge=0, description="Offset of the first request.")
    next_offset: NextOffset = Field(
        default=None,
        description=("A server-given next offset (like has_more), e.g. 'pagination.nextOffset'."),
    )
    total: Total = Field(
        default=None,
        description=("Total record count (like has_more), e.g. 'total' or {header: 'X-Total-Count'}."),
    )

    @field_validator("next_offset", "total")
    @classmethod
    def _valid_paths(cls, value: Signal) -> Signal:
        return check_signal(value)

    @model_validator(mode="after")
    def _value_templates(self) -> OffsetPagination:
        check_value_templates(self, ("offset", "page_size", "value"))
        return self

    @field_validator("limit_param", mode="before")
    @classmethod
    def _false_means_none(cls, value: Any) -> Any:
        return optional_option(value)

    @field_validator("limit_param", "offset_param")
    @classmethod
    def _no_url(cls, value: RequestOption | None, info: ValidationInfo) -> RequestOption | None:
        return not_a_url(value, info.field_name or "a request option")

    def first_state(self, page_size: int | None) -> State:
        return State(offset=self.start_offset, page_size=page_size)

    def apply(self, request: PreparedRequest, state: State) -> None:
        variables = {"offset": state.offset, "page_size": state.page_size}
        if self.limit_param is not None:
            self.limit_param.inject(request, state.page_size, variables)
        self.offset_param.inject(request, state.offset, variables)

    def next_state(self, page: PageView, state: State) -> Step:
        notes: list[str] = []
        step = self._step(page, state, read_count(self.total, page, "total", notes), notes)
        step.notes[:0] = notes
        return step

    def _step(self, page: PageView, state: State, total: int | None, notes: list[str]) -> Step:
        offset = state.offset or 0
        count = len(page.records)
        explicit = self.explicit_more(page, notes)
        short = 0 < count < (state.page_size or 0)
        # An API that counts the limit it was sent, not the records it capped the page to, says
        # "no more" early too: its has_more is not trusted then (a stop_condition is).
        checked = explicit is not False or (short and self.stop_condition is None)
        server_next = read_int(self.next_offset, page, "next_offset") if checked else None
        skipping = server_next is not None and short and server_next > offset + count
        if explicit is False and not skipping:
            return Step(None, total, "the API said there are no more records")
        next_offset = server_next if server_next is not None and not skipping else offset + count
        if skipping and server_next is not None:
            # Offsets count records, and fewer came than were asked for: following the API's jump
            # loses the difference. Repeating some (an API whose offsets count rows it filtered
            # out) can be seen in the records; a skipped one cannot, so the records received win.
            notes.append(
                f"the API's next offset {server_next} skips {server_next - next_offset} records after "
                f"{count} received at offset {offset} (asked for {state.page_size}); continued from "
                f"offset {next_offset} instead, so that none is lost"
                + (
                    "; it also said there are no more records, which is checked there"
                    if explicit is False
                    else ""
                )
            )
            explicit = True
        if count == 0 and explicit is not True:
            if total is not None and offset < total:
                return Step(
                    None, total, f"empty page at offset {offset}, before the reported total of {total}"
                )
            return Step(None, total, "empty page")
        if next_offset <= offset:
            if count == 0:
                # has_more (or a total) says more, but nothing came and nothing moved.
                raise PaginationLoopError(
                    f"the API returned an empty page at offset {offset} and no way forward "
                    "while claiming more records; stopping instead of asking again",
                    source=page.source,
                )
            raise PaginationLoopError(
                f"the API's next offset {next_offset} does not move past the current offset {offset}",
                source=page.source,
            )
        advanced = state.model_copy(update={"offset": next_offset})
        if total is not None:
            if next_offset >= total:
                return Step(None, total, f"reached the total of {total} records")
            return Step(advanced, total)
        if explicit is True:
            return Step(advanced, total)
        more, learned, note = short_page_rule(count, advanced)
        if not more:
            return Step(None, total, note, [])
        return Step(learned, total, None, [note] if note else [])
