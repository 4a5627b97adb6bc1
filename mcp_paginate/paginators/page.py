"""Page-number pagination: ``?page=3&page_size=50``, pages counted from ``start_page``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mcp_paginate.paginators.base import (
    PageView,
    PreparedRequest,
    RequestOption,
    Signal,
    State,
    Step,
    StopRules,
    Total,
    TotalPages,
    check_signal,
    check_value_templates,
    not_a_url,
    optional_option,
    read_count,
    short_page_rule,
)

__all__ = ["PagePagination"]


class PagePagination(StopRules):
    """Page numbers: the page advances by one; the records before a page are counted for totals."""

    mode: Literal["page"] = "page"
    page_size: int | None = Field(
        default=None, ge=1, description="Records per page. Defaults to the source's cap."
    )
    size_param: RequestOption | None = Field(
        default=RequestOption.model_validate({"in": "query", "name": "page_size"}),
        description="Where the page size goes; null if the API takes none.",
    )
    page_param: RequestOption = Field(
        default=RequestOption.model_validate({"in": "query", "name": "page"}),
        description="Where the page number goes.",
    )
    start_page: int = Field(default=1, ge=0, description="Number of the first page: 1 for most APIs, or 0.")
    total: Total = Field(
        default=None,
        description=("Total record count (like has_more), e.g. 'meta.total' or {header: 'X-Total-Count'}."),
    )
    total_pages: TotalPages = Field(
        default=None,
        description=("Total page count (like has_more), e.g. 'meta.total_pages'."),
    )

    @field_validator("total", "total_pages")
    @classmethod
    def _valid_paths(cls, value: Signal) -> Signal:
        return check_signal(value)

    @model_validator(mode="after")
    def _value_templates(self) -> PagePagination:
        check_value_templates(self, ("page", "offset", "page_size", "value"))
        return self

    @field_validator("size_param", mode="before")
    @classmethod
    def _false_means_none(cls, value: Any) -> Any:
        return optional_option(value)

    @field_validator("size_param", "page_param")
    @classmethod
    def _no_url(cls, value: RequestOption | None, info: ValidationInfo) -> RequestOption | None:
        return not_a_url(value, info.field_name or "a request option")

    def first_state(self, page_size: int | None) -> State:
        return State(page=self.start_page, offset=0, page_size=page_size)

    def apply(self, request: PreparedRequest, state: State) -> None:
        variables = {"page": state.page, "offset": state.offset, "page_size": state.page_size}
        if self.size_param is not None:
            self.size_param.inject(request, state.page_size, variables)
        self.page_param.inject(request, state.page, variables)

    def next_state(self, page: PageView, state: State) -> Step:
        notes: list[str] = []
        total = read_count(self.total, page, "total", notes)
        step = self._step(page, state, total, read_count(self.total_pages, page, "total_pages", notes), notes)
        step.notes[:0] = notes
        return step

    def _step(
        self, page: PageView, state: State, total: int | None, total_pages: int | None, notes: list[str]
    ) -> Step:
        number = state.page if state.page is not None else self.start_page
        count = len(page.records)
        explicit = self.explicit_more(page, notes)
        if explicit is False:
            return Step(None, total, "the API said there are no more records")
        seen = (state.offset or 0) + count
        advanced = state.model_copy(update={"page": number + 1, "offset": seen})
        if total_pages is not None:
            if number - self.start_page + 1 >= total_pages:
                return Step(None, total, f"reached the last of {total_pages} pages")
            return Step(advanced, total)
        if total is not None:
            if seen >= total:
                return Step(None, total, f"reached the total of {total} records")
            if count == 0:
                return Step(None, total, "empty page before the reported total")
            return Step(advanced, total)
        if explicit is True:
            return Step(advanced, total)
        more, learned, note = short_page_rule(count, advanced)
        if not more:
            return Step(None, total, note)
        return Step(learned, total, None, [note] if note else [])
