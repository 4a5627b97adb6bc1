"""Cursor pagination: a token, header, ``Link`` rel or last record id leads to the next page.

The cursor is taken from one place (`NextCursor`): a JMESPath into the body
(``meta.next_token``), a response header, an RFC 8288 ``Link`` relation (GitHub's
``rel="next"``), a field of the last record (Stripe-style ``starting_after``), or a
sandboxed Jinja template. It is sent as a query/header/body value, or, with
``cursor_param = {in = "url"}``, it *is* the next URL (relative links are resolved
against the current URL). A missing or empty cursor ends paging.
"""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urljoin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from mcp_paginate.expressions import PAGE_VARIABLES, check_template, compile_path, render_cursor, search
from mcp_paginate.paginators.base import (
    HeaderSignal,
    PageView,
    PreparedRequest,
    RequestOption,
    State,
    Step,
    StopRules,
    check_value_templates,
    not_a_url,
    optional_option,
    param_text,
)

__all__ = ["CursorPagination", "NextCursor"]


class NextCursor(BaseModel):
    """Where the next cursor is found. Give exactly one field."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    body: str | None = Field(default=None, description="JMESPath into the body, e.g. 'meta.next_token'.")
    header: str | None = Field(
        default=None,
        description="Response header holding the cursor or next URL; with path, a header carrying JSON.",
    )
    path: str | None = Field(
        default=None,
        description=("With header: JMESPath into the header's JSON, e.g. 'next_page'."),
    )
    link: str | None = Field(
        default=None, description="Relation in the RFC 8288 Link header, usually 'next' (next URL)."
    )
    last_record: str | None = Field(
        default=None,
        description="JMESPath into the last record of the page, e.g. 'id' for starting_after-style APIs.",
    )
    template: str | None = Field(
        default=None,
        description=(
            "Jinja rendering the cursor, e.g. \"{{ last_records[-1]['key'] }}\" (variables as in "
            "stop_condition); empty, {}, [], None or null means no next cursor."
        ),
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> NextCursor:
        given = [name for name, value in self.__dict__.items() if value is not None and name != "path"]
        if len(given) != 1:
            raise ValueError(
                "next needs exactly one of body, header, link, last_record, template "
                f"(got {', '.join(given) or 'none'})"
            )
        if self.path is not None and self.header is None:
            raise ValueError("next.path reads into a header's JSON: give it with header, e.g. {header, path}")
        for path in (self.body, self.last_record, self.path):
            if path is not None:
                compile_path(path)
        if self.template is not None:
            check_template(self.template, PAGE_VARIABLES)
        return self

    def find(self, page: PageView) -> str | int | float | dict[str, Any] | list[Any] | None:
        """The next cursor in ``page``, or None when there is none (missing, null, false, empty).

        A JSON number, object or array keeps its type (``starting_after = 3`` in a JSON body,
        not ``"3"``; an object is sent as JSON text in a query); anything else is text.
        """
        value: Any
        if self.body is not None:
            value = search(self.body, page.body)
        elif self.header is not None:
            value = HeaderSignal(header=self.header, path=self.path).read(page, "next")
        elif self.link is not None:
            value = page.links.get(self.link.lower())
        elif self.last_record is not None:
            value = search(self.last_record, page.records[-1]) if page.records else None
        else:
            assert self.template is not None
            value = render_cursor(self.template, page.template_variables())
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int | float):
            return value
        if isinstance(value, dict | list):
            return value or None
        text = str(value).strip()
        return text or None


class CursorPagination(StopRules):
    """Cursor or next-link: follow what the API hands back until it hands back nothing."""

    mode: Literal["cursor"] = "cursor"
    page_size: int | None = Field(
        default=None, ge=1, description="Records per request, if size_param is set."
    )
    size_param: RequestOption | None = Field(
        default=None,
        description="Where the page size goes, e.g. {in='query', name='per_page'}; null = not sent.",
    )
    next: NextCursor = Field(description="Where the next cursor comes from (exactly one of its fields).")
    cursor_param: RequestOption = Field(
        default=RequestOption.model_validate({"in": "query", "name": "cursor"}),
        description=("Where the cursor goes; {in='url'} when it is the next page's URL."),
    )
    start_cursor: str | None = Field(default=None, description="Cursor for the first request, if any.")

    @field_validator("size_param", mode="before")
    @classmethod
    def _false_means_none(cls, value: Any) -> Any:
        return optional_option(value)

    @field_validator("size_param")
    @classmethod
    def _no_url(cls, value: RequestOption | None, info: ValidationInfo) -> RequestOption | None:
        return not_a_url(value, info.field_name or "a request option")

    @model_validator(mode="after")
    def _value_templates(self) -> CursorPagination:
        check_value_templates(self, ("cursor", "offset", "page_size", "value"))
        return self

    def first_state(self, page_size: int | None) -> State:
        return State(cursor=self.start_cursor, page_size=page_size, offset=0)

    def apply(self, request: PreparedRequest, state: State) -> None:
        variables = {"cursor": state.cursor, "page_size": state.page_size, "offset": state.offset}
        follows_link = self.cursor_param.in_ == "url"
        self.cursor_param.inject(request, state.cursor, variables)
        # A next-link already carries the page size the first request asked for.
        if self.size_param is not None and not (follows_link and state.cursor):
            self.size_param.inject(request, state.page_size, variables)

    def next_state(self, page: PageView, state: State) -> Step:
        notes: list[str] = []
        if self.explicit_more(page, notes) is False:
            return Step(None, None, "the API said there are no more records", notes)
        cursor = self.next.find(page)
        if cursor is None:
            if page.page_number == 0 and isinstance(page.body, list) and self.start_cursor is None:
                notes.append(
                    "the first answer is a bare list with no cursor in it: if this API answers in pages "
                    "only once it is sent a cursor, set start_cursor (the first page's cursor, e.g. "
                    "start_cursor = '0' or '*')"
                )
            return Step(None, None, "no next cursor in the response", notes)
        if self.cursor_param.in_ == "url":
            # Resolve now so the stored state (and loop detection) sees absolute URLs.
            cursor = urljoin(page.url, param_text(cursor))
        seen = (state.offset or 0) + len(page.records)
        return Step(state.model_copy(update={"cursor": cursor, "offset": seen}))
