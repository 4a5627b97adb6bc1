"""Alloy's action execution, in both documented forms: ``mode = "alloy"``.

- **Guide form** (Alloy's Pagination guide): ``{credentialId, actionId, input: {limit, offset}}``,
  answered ``{data, pagination: {hasMore, nextOffset}}``: offset paging, exactly as
  `OffsetPagination` does it (this mode is one, with the guide's fields as defaults).
- **Reference form** (Alloy's API reference, execute-connector-action): ``{credentialId,
  queryParameters, requestBody, pathParams}``, answered ``{responseData: <the third party's
  body>, ...}``. The action's parameters and its paging values go where the action takes them
  (``parameters``, from the action's metadata or config), and the next position is read inside
  ``responseData`` in the connector's own scheme: a GraphQL connection (``pageInfo``), an
  after-token (HubSpot ``paging.next.after``), else whatever auto detection finds there
  (``next_cursor``/``has_more``, next URLs, offsets with a total…). A reference-form position is
  a state whose ``cursor`` is the body values the next request sets, e.g.
  ``{"queryParameters.after": "MTA="}``.

With ``form = "auto"`` the first request carries both forms' fields (each form reads its own),
and the first answer decides: ``data`` + ``pagination`` is the guide form, ``responseData`` the
reference form. The form and the scheme found are reported in the page's notes, to pin.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field, TypeAdapter, field_validator

from mcp_paginate.errors import ResponseShapeError
from mcp_paginate.expressions import search
from mcp_paginate.paginators.auto import detect
from mcp_paginate.paginators.base import (
    HasMore,
    NextOffset,
    PageView,
    PreparedRequest,
    RequestOption,
    State,
    Step,
)
from mcp_paginate.paginators.cursor import CursorPagination, NextCursor
from mcp_paginate.paginators.none import NoPagination
from mcp_paginate.paginators.offset import OffsetPagination
from mcp_paginate.paginators.page import PagePagination

__all__ = ["ALLOY_RECORDS", "AlloyPagination", "answer_form"]

Scheme = OffsetPagination | PagePagination | CursorPagination | NoPagination
_SCHEME: TypeAdapter[Scheme] = TypeAdapter(Scheme)

ALLOY_RECORDS = (
    "[data, responseData.results, responseData.data, responseData.items, responseData.records, "
    "responseData.data.*.edges[].node, responseData.edges[].node, "
    "(type(responseData) == 'object' && values(responseData)[?type(@) == 'array'] | [0]) || `null`, "
    "responseData][?type(@) == 'array'] | [0]"
)
"""The records of either form: the guide's ``data``; inside ``responseData`` the usual keys, a GraphQL
connection's ``edges[].node``, the only list there, or ``responseData`` itself when it is a list."""

SECTIONS = {
    "query": "queryParameters",
    "body": "requestBody",
    "path": "pathParams",
    "header": "additionalHeaders",
}
"""Where an action parameter taken ``in`` query/body/path/header goes in a reference-form body."""

GUIDE_FIELDS = ("actionId", "input")

_SIZE_NAMES = ("limit", "pagesize", "perpage", "first", "count", "maxresults", "size", "top", "take")
_OFFSET_NAMES = ("offset", "start", "skip", "startindex")
_PAGE_NAMES = ("page", "pagenumber", "pageno")
_CURSOR_NAMES = (
    "after",
    "startcursor",
    "cursor",
    "pagetoken",
    "nextpagetoken",
    "startingafter",
    "continuationtoken",
    "marker",
    "pageinfo",
)
_GRAPHQL_DEPTH = 4


def _normal(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def answer_form(body: Any) -> Literal["guide", "reference"] | None:
    """Which form an execution answer is in: ``responseData`` (reference), ``data`` or
    ``pagination`` (guide); None for neither."""
    if not isinstance(body, dict):
        return None
    if "responseData" in body:
        return "reference"
    if "pagination" in body or "data" in body:
        return "guide"
    return None


class AlloyPagination(OffsetPagination):
    """An Alloy action's paging, in the guide's form or the API reference's (see the module)."""

    mode: Literal["alloy"] = "alloy"  # type: ignore[assignment]
    form: Literal["auto", "guide", "reference"] = Field(
        default="auto",
        description=(
            "Which Alloy form: 'guide' (input.limit/offset, data + pagination), 'reference' "
            "(queryParameters/requestBody, responseData), or 'auto' (the first answer decides)."
        ),
    )
    parameters: dict[str, Literal["query", "body", "path", "header"]] = Field(
        default_factory=dict,
        description=(
            "Reference form: where the action takes each parameter, e.g. {page_size = 'body'}; "
            "default: from the action's metadata (query when unknown)."
        ),
    )
    size_name: str | None = Field(
        default=None,
        description=(
            "Reference form: the action's page-size parameter (default: found among parameters, "
            "else 'limit')."
        ),
    )
    scheme: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Reference form: the connector's paging inside responseData as a pagination spec (as "
            "reported in the notes); default: found on every answer."
        ),
    )
    limit_param: RequestOption | None = RequestOption.model_validate({"in": "body", "name": "input.limit"})
    offset_param: RequestOption = RequestOption.model_validate({"in": "body", "name": "input.offset"})
    has_more: HasMore = "pagination.hasMore"
    next_offset: NextOffset = "pagination.nextOffset"

    @field_validator("scheme")
    @classmethod
    def _valid_scheme(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            _SCHEME.validate_python(value)
        return value

    # -- requests ---------------------------------------------------------------------------

    def apply(self, request: PreparedRequest, state: State) -> None:
        form = self.request_form(state)
        if form == "guide":
            super().apply(request, state)
            return
        body = request.body if isinstance(request.body, dict) else {}
        given = body.get("input")
        sections = self.place_input(given if isinstance(given, dict) else {})
        self._place_paging(sections, state)
        if form == "reference":
            for field in GUIDE_FIELDS:
                body.pop(field, None)
        request.body = body
        for section, values in sections.items():
            if values:
                body[section] = {**values, **(body.get(section) or {})}
        if form == "both":
            super().apply(request, state)

    def request_form(self, state: State) -> Literal["guide", "reference", "both"]:
        """Which form's fields the request at ``state`` carries."""
        if self.form != "auto":
            return self.form
        if isinstance(state.cursor, dict):
            return "reference"
        return "both" if not state.offset else "guide"

    def place_input(self, given: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The action input the user gave, sorted into the reference form's sections: values
        already under ``queryParameters``/``requestBody``/… stay there, the others go where the
        action takes them (query when unknown)."""
        sections: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS.values()}
        for name, value in given.items():
            if name in sections and isinstance(value, dict):
                sections[name].update(value)
            elif _normal(name) not in ("limit", "offset") or name in self.parameters:
                sections[SECTIONS[self.parameters.get(name, "query")]][name] = value
        return sections

    def _place_paging(self, sections: dict[str, dict[str, Any]], state: State) -> None:
        size_name = self.page_size_name()
        if state.page_size is not None:
            sections[SECTIONS[self.parameters.get(size_name, "query")]][size_name] = state.page_size
        if isinstance(state.cursor, dict):
            for dotted, value in state.cursor.items():
                section, _, name = dotted.partition(".")
                if section in sections and name:
                    sections[section][name] = value
        elif not state.offset:
            offset_name = self._named(_OFFSET_NAMES)
            if offset_name is not None:  # shows auto detection where the action takes its offset
                sections[SECTIONS[self.parameters[offset_name]]][offset_name] = 0

    def page_size_name(self) -> str:
        return self.size_name or self._named(_SIZE_NAMES) or "limit"

    def _named(self, names: tuple[str, ...]) -> str | None:
        """The action parameter with the first of ``names`` (normalised), if the metadata lists one."""
        by_normal = {_normal(name): name for name in self.parameters}
        return next((by_normal[name] for name in names if name in by_normal), None)

    # -- answers ----------------------------------------------------------------------------

    def next_state(self, page: PageView, state: State) -> Step:
        form = answer_form(page.body)
        if form is None:
            keys = (
                ", ".join(sorted(page.body)[:8]) if isinstance(page.body, dict) else type(page.body).__name__
            )
            raise ResponseShapeError(
                f"the Alloy answer has neither responseData (API reference form) nor data + pagination "
                f"(Pagination guide form); it has {keys}",
                source=page.source,
                url=page.url,
            )
        if self.form != "auto" and form != self.form:
            raise ResponseShapeError(
                f"this source is pinned to Alloy's {self.form} form but the answer is in the {form} form; "
                f"set form = '{form}' or 'auto' in the source's pagination",
                source=page.source,
                url=page.url,
            )
        if form == "guide":
            step = super().next_state(page, state)
            if self.form == "auto":
                step.found = {"mode": "alloy", "form": "guide"}
                if state.cursor is None and not state.offset:
                    step.notes.append("alloy: Pagination guide form (data + pagination.hasMore/nextOffset)")
            return step
        return self._reference_step(page, state)

    def _reference_step(self, page: PageView, state: State) -> Step:
        inner = PageView(
            body=page.body["responseData"],
            headers=page.headers,
            records=page.records,
            url=page.url,
            page_number=page.page_number,
            records_so_far=page.records_so_far,
            source=page.source,
        )
        scheme = self.find_scheme(inner, state)
        if state.cursor is not None and isinstance(scheme, NoPagination):
            # A later page with no next position: the end of the connector's scheme, whose
            # last page has no total of its own (not a single-page source of that many records).
            return Step(None, None, "the connector's answer has no next position", [])
        step = scheme.next_state(inner, state.model_copy(update={"cursor": None}))
        notes = list(step.notes)
        if state.cursor is None:
            notes.insert(0, self._describe(scheme))
        found = None
        if self.form == "auto" or self.scheme is None:
            found = {"mode": "alloy", "form": "reference", "scheme": _spec(scheme)}
        if step.next is None:
            return Step(None, step.total, step.reason, notes, found)
        position = self._position(scheme, step.next, page)
        return Step(step.next.model_copy(update={"cursor": position}), step.total, step.reason, notes, found)

    def find_scheme(self, inner: PageView, state: State) -> Scheme:
        """The connector's paging in ``responseData``: pinned, a GraphQL connection, an
        after-token, else what auto detection finds given the paging values this request sent."""
        if self.scheme is not None:
            return _SCHEME.validate_python(self.scheme)
        connection = _graphql_connection(inner.body, "", _GRAPHQL_DEPTH)
        if connection is not None:
            prefix = f"{connection}." if connection else ""
            return CursorPagination(
                next=NextCursor(body=f"{prefix}pageInfo.endCursor"),
                has_more=f"{prefix}pageInfo.hasNextPage",
                cursor_param=RequestOption.model_validate({"in": "body", "name": "after"}),
            )
        if isinstance(search("paging.next.after", inner.body), str | int):
            return CursorPagination(
                next=NextCursor(body="paging.next.after"),
                cursor_param=RequestOption.model_validate({"in": "query", "name": "after"}),
            )
        return detect(inner, self._sent(state), state.page_size)

    def _sent(self, state: State) -> PreparedRequest:
        """The third party's request as this page sent it (its paging values), for detection."""
        sections: dict[str, dict[str, Any]] = {section: {} for section in SECTIONS.values()}
        self._place_paging(sections, state)
        query = {name: str(value) for name, value in sections["queryParameters"].items()}
        return PreparedRequest(
            "GET", "https://connector.invalid/", query=query, body=sections["requestBody"] or None
        )

    def _position(self, scheme: Scheme, following: State, page: PageView) -> dict[str, Any]:
        """The body values that ask for ``following``: ``{"queryParameters.after": "…"}``."""
        if isinstance(scheme, CursorPagination) and scheme.cursor_param.in_ == "url":
            return self._from_url(str(following.cursor), page)
        option: RequestOption
        value: Any
        names: tuple[str, ...]
        if isinstance(scheme, OffsetPagination):
            option, value, names = scheme.offset_param, following.offset, _OFFSET_NAMES
        elif isinstance(scheme, PagePagination):
            option, value, names = scheme.page_param, following.page, _PAGE_NAMES
        else:
            assert isinstance(scheme, CursorPagination)
            option, value, names = scheme.cursor_param, following.cursor, _CURSOR_NAMES
        name = self._named(names) or option.name or "cursor"
        where = self.parameters.get(name) or ("body" if option.in_ == "body" else "query")
        return {f"{SECTIONS[where]}.{name}": value}

    def _from_url(self, url: str, page: PageView) -> dict[str, Any]:
        """A next URL's query as the action's query parameters (its page size aside: set per request)."""
        size = _normal(self.page_size_name())
        taken = {
            name: value
            for name, value in parse_qsl(urlsplit(url).query)
            if _normal(name) != size and (not self.parameters or name in self.parameters)
        }
        if not taken:
            raise ResponseShapeError(
                f"the connector's next URL carries no query parameter this action takes ({url[:120]}); "
                "pin the source's pagination scheme",
                source=page.source,
                url=page.url,
            )
        return {f"queryParameters.{name}": value for name, value in taken.items()}

    def _describe(self, scheme: Scheme) -> str:
        return (
            "alloy: API reference form (responseData); the connector's paging there: "
            f"{_compact(_spec(scheme))}; page size sent as {self.page_size_name()!r}; pin with "
            "pagination = {mode = 'alloy', form = 'reference', scheme = <that spec>}"
        )


def _spec(scheme: Scheme) -> dict[str, Any]:
    """A scheme as the pagination spec that pins it."""
    spec = scheme.model_dump(mode="json", exclude_defaults=True)
    spec["mode"] = scheme.mode
    return spec


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _graphql_connection(body: Any, path: str, depth: int) -> str | None:
    """The JMESPath of the first GraphQL connection (``edges`` and ``pageInfo`` with
    ``hasNextPage``) in ``body``, depth-first, at most ``depth`` levels down."""
    if not isinstance(body, dict) or depth < 0:
        return None
    info = body.get("pageInfo")
    if isinstance(info, dict) and "hasNextPage" in info and "edges" in body:
        return path
    for key, value in body.items():
        if isinstance(value, dict) and key.isidentifier():
            found = _graphql_connection(value, f"{path}.{key}" if path else key, depth - 1)
            if found is not None:
                return found
    return None
