"""What every pagination mode shares: request options, paging state, the page view, stop rules.

A paginator is a frozen pydantic config with three pure methods::

    state = pagination.first_state(page_size)       # where paging starts
    pagination.apply(request, state)                # put offset/page/cursor into a request
    step = pagination.next_state(page, state)       # where the next page is, or None

State is data (`State`), saved by the store after every page, so any replica can
re-read or continue a page without the paginator instance that produced it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeAlias
from urllib.parse import quote, urljoin

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema, field_validator, model_validator

from mcp_paginate.errors import ResponseShapeError
from mcp_paginate.expressions import (
    PAGE_VARIABLES,
    VALUE_VARIABLES,
    HeaderMap,
    check_template,
    compile_path,
    condition_text,
    render_condition,
    render_value,
    search,
)

__all__ = [
    "HeaderSignal",
    "PageView",
    "PreparedRequest",
    "RequestOption",
    "State",
    "Signal",
    "Step",
    "StopRules",
    "param_text",
    "path_options",
]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class RequestOption(BaseModel):
    """Where a paging value goes in the request."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, serialize_by_alias=True)

    in_: Literal["query", "header", "body", "url", "path"] = Field(
        alias="in",
        description=(
            "query parameter; header; body: dotted path into the JSON body ('input.offset'); path: "
            "fills the URL's {name} placeholder; url: the value replaces the URL (next-links, cursor mode)."
        ),
    )
    name: str | None = Field(
        default=None,
        description=("Parameter, header or body path name, or the path placeholder; not with in='url'."),
    )
    template: str | None = Field(
        default=None,
        description=(
            "Jinja for the value, e.g. '{{ offset }},{{ page_size }}'; variables: value, page_size, "
            "offset, page, cursor."
        ),
    )

    @model_validator(mode="after")
    def _name_required(self) -> RequestOption:
        if self.in_ != "url" and not self.name:
            raise ValueError(f"a request option with in='{self.in_}' needs a 'name'")
        if self.in_ == "path" and not _IDENTIFIER.fullmatch(self.name or ""):
            raise ValueError(
                f"in='path': name {self.name!r} must be the name of a {{placeholder}} in the url, "
                "e.g. 'page' for a url ending '/items/page/{page}'"
            )
        if self.template is not None:
            check_template(self.template, VALUE_VARIABLES, strict=True)
        return self

    def inject(self, request: PreparedRequest, value: Any, variables: dict[str, Any]) -> None:
        """Put value (or its rendered template) where this option says: as text in a query,
        header or URL (an object as JSON text); as it is (a number stays a number, an object an
        object) in a JSON body. No value (no cursor before the first page, no page size) is not
        sent, except into a path, where its placeholder is left empty."""
        if value is None:
            if self.in_ == "path":
                assert self.name is not None
                request.fill_path(self.name, "")
            return
        if self.template is not None:
            value = render_value(self.template, {**variables, "value": value})
        if self.in_ == "path":
            assert self.name is not None
            request.fill_path(self.name, param_text(value))
        elif self.in_ == "url":
            request.replace_url(param_text(value))
        elif self.in_ == "query":
            assert self.name is not None
            request.query[self.name] = param_text(value)
        elif self.in_ == "header":
            assert self.name is not None
            request.headers[self.name] = param_text(value)
        else:
            assert self.name is not None
            request.set_body_path(self.name, value)


class State(BaseModel):
    """Where a page is: the position to request, and what has been learned so far.

    Stored per page in a session. ``offset`` is the count of records before the page
    in every mode that knows it (page mode too, so totals work under silent caps).
    ``cursor`` keeps the JSON type the API gave it: a number read from the body stays a
    number and an object an object, so a JSON body gets ``3`` or ``{"id": 3}`` back, not
    ``"3"`` (query and header values are text: `param_text`).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    offset: int | None = None
    page: int | None = None
    cursor: str | int | float | dict[str, Any] | list[Any] | None = None
    page_size: int | None = None
    learned_page_size: int | None = None
    unconfirmed_short: int | None = None
    empty_run: int = 0
    after: str | None = None
    """A digest of the records of the page before this one (see `records_digest`): an API that
    ignores the position it is sent answers the same records again, which no position shows."""

    def position(self) -> str:
        """A key identifying the requested position; a repeat in a session means a loop.

        Only what the request carries counts: the cursor when there is one (in cursor mode
        ``offset`` is a running record count, so A->B->A must not look new), else the
        page number, else the offset.
        """
        if isinstance(self.cursor, dict | list):
            return "c=" + json.dumps(self.cursor, sort_keys=True, separators=(",", ":"))
        if self.cursor is not None:
            return f"c={self.cursor}"
        if self.page is not None:
            return f"p={self.page}"
        return f"o={self.offset}"


@dataclass
class PreparedRequest:
    """A request being built: the source's request with paging values applied."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    body: Any = None

    def copy(self) -> PreparedRequest:
        return PreparedRequest(
            method=self.method,
            url=self.url,
            headers=dict(self.headers),
            query=dict(self.query),
            body=_copied(self.body),
        )

    def replace_url(self, url: str) -> None:
        """Follow a next-link: it replaces the URL and carries its own query string."""
        self.url = urljoin(self.url, url)
        self.query.clear()

    def fill_path(self, name: str, text: str) -> None:
        """Put text into the URL's ``{name}`` placeholder, percent-encoded as one path segment
        (a ``/`` in it cannot add a segment, nor ``.`` or ``..`` step up the path); the query is
        left alone."""
        placeholder = "{" + name + "}"
        if placeholder not in self.url:
            raise ValueError(f"the request URL has no {placeholder} placeholder for a value in='path'")
        segment = quote(text, safe="")
        if segment in (".", ".."):
            segment = segment.replace(".", "%2E")
        self.url = self.url.replace(placeholder, segment)

    def set_body_path(self, dotted: str, value: Any) -> None:
        if self.body is None:
            self.body = {}
        if not isinstance(self.body, dict):
            raise ValueError(f"cannot set body path {dotted!r}: the request body is not a JSON object")
        target: dict[str, Any] = self.body
        *parents, last = dotted.split(".")
        for part in parents:
            child = target.get(part)
            if not isinstance(child, dict):
                child = {}
                target[part] = child
            target = child
        target[last] = value


def param_text(value: Any) -> str:
    """A value where text is needed (a URL, a query value, a header, a string in a body): JSON's
    spelling for booleans, objects and arrays, not Python's (``true``, ``{"k":[1]}``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _copied(value: Any) -> Any:
    """A copy of a JSON body's objects and arrays (what paging values are written into); scalars
    are shared. Much cheaper than ``copy.deepcopy``, which every request of a POST source pays."""
    if isinstance(value, dict):
        return {key: _copied(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copied(item) for item in value]
    return value


@dataclass
class PageView:
    """One response, as paginators see it."""

    body: Any
    headers: dict[str, str]
    records: list[Any]
    url: str
    page_number: int
    records_so_far: int
    links: dict[str, str] = field(default_factory=dict)
    source: str | None = None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def template_variables(self) -> dict[str, Any]:
        return {
            "response": self.body,
            "headers": HeaderMap(self.headers),
            "last_records": self.records,
            "last_page_size": len(self.records),
            "page_number": self.page_number,
            "records_so_far": self.records_so_far,
        }


@dataclass
class Step:
    """What a paginator concluded from a page: the next state (None = last page) and why."""

    next: State | None
    total: int | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)
    found: dict[str, Any] | None = None
    """A pagination spec this page showed and a source could pin (Alloy's form and the
    connector's scheme), reported as ``detected``."""


class HeaderSignal(BaseModel):
    """A value read from a response header: its text, or with ``path`` a field of the JSON it
    carries (flask-smorest's ``X-Pagination: {"total": 237, "next_page": 2}``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header: str = Field(min_length=1, description="Response header name, in any case, e.g. 'X-Total-Count'.")
    path: str | None = Field(
        default=None,
        description="JMESPath into the header's JSON value, e.g. 'total'; omitted: the header's text.",
    )

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str | None) -> str | None:
        return check_path(value)

    def read(self, page: PageView, what: str) -> Any:
        """The header's value, or the field at ``path`` of its JSON; None when it is absent."""
        text = page.header(self.header)
        if text is None or self.path is None:
            return text
        try:
            parsed = json.loads(text)
        except ValueError:
            raise ResponseShapeError(
                f"{what}: header {self.header!r} is not JSON, so it has no path {self.path!r}; "
                f"drop path to read the header's text",
                source=page.source,
                url=page.url,
            ) from None
        return search(self.path, parsed)

    def __str__(self) -> str:
        return f"header {self.header!r}" + (f" path {self.path!r}" if self.path else "")


def _signal_schema(example: str) -> dict[str, Any]:
    """A signal's JSON schema without ``anyOf`` or ``$ref`` (hosts accept only plain schemas):
    a string, or an object naming a header."""
    return {
        "type": ["string", "object", "null"],
        "properties": {
            "header": {"type": "string", "description": "Response header name, e.g. 'X-Pagination'."},
            "path": {"type": "string", "description": "JMESPath into the header's JSON value, e.g. 'total'."},
        },
        "required": ["header"],
        "additionalProperties": False,
        "examples": [example, {"header": "X-Pagination", "path": example.rsplit(".", 1)[-1]}],
    }


Signal: TypeAlias = str | HeaderSignal | None
"""A JMESPath into the response body (text), or a header: ``{header = "X-Total-Count"}``,
``{header = "X-Pagination", path = "total"}``."""

_SIGNAL_DOC = (
    "JMESPath into the response body, or {header: NAME} for a header's value, or "
    "{header: NAME, path: JMESPath} for a field of a header carrying JSON"
)


def read_signal(signal: Signal, page: PageView, what: str) -> Any:
    """The value a signal names in ``page``; None when it is absent."""
    if signal is None:
        return None
    if isinstance(signal, HeaderSignal):
        return signal.read(page, what)
    return search(signal, page.body)


def describe(signal: Signal, what: str) -> str:
    """``total path 'meta.total'`` or ``total header 'X-Pagination' path 'total'``."""
    return f"{what} {signal}" if isinstance(signal, HeaderSignal) else f"{what} path {signal!r}"


def check_signal(value: Signal) -> Signal:
    """A field validator's body for a `Signal`: a path is compiled now."""
    if isinstance(value, str):
        compile_path(value)
    return value


HAS_MORE_RULE = (
    "True, non-zero, or non-empty text/list/object means more; null, absent, false, 0, empty or "
    "'false'/'no'/'none'/'null'/'0' means no more."
)

_NO_MORE_TEXT = frozenset({"", "false", "0", "no", "none", "null"})


def more_from(value: Any) -> bool:
    """What a has_more value says, by `HAS_MORE_RULE`."""
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() not in _NO_MORE_TEXT
    return bool(value)


def optional_option(value: Any) -> Any:
    """TOML has no null: ``limit_param = false`` means "do not send it"."""
    return None if value is False else value


def not_a_url(option: RequestOption | None, field: str) -> RequestOption | None:
    """Refuse ``in='url'`` for anything but a cursor: an offset, page number or page size is
    not a URL, and replacing the request URL with it requests the wrong path."""
    if option is not None and option.in_ == "url":
        raise ValueError(
            f"{field} cannot be in='url': only cursor mode's cursor_param replaces the request URL "
            "(next-links); send the value in='query', 'header' or 'body', or in='path' into a "
            "{placeholder} of the url"
        )
    return option


def path_options(pagination: BaseModel) -> list[tuple[str, str]]:
    """(field, placeholder name) of each of pagination's request options with ``in='path'``,
    in field order: the URL placeholders its paging values fill."""
    found = []
    for field_name in type(pagination).model_fields:
        option = getattr(pagination, field_name)
        if isinstance(option, RequestOption) and option.in_ == "path":
            assert option.name is not None
            found.append((field_name, option.name))
    return found


def check_value_templates(pagination: BaseModel, variables: Iterable[str]) -> None:
    """Refuse a request option's template that names a variable this mode does not give it."""
    for field_name in type(pagination).model_fields:
        option = getattr(pagination, field_name)
        if isinstance(option, RequestOption) and option.template is not None:
            try:
                check_template(option.template, variables, strict=True)
            except ValueError as exc:
                raise ValueError(f"{field_name}: {exc}") from None


def check_path(value: str | None) -> str | None:
    """A field validator's body for a JMESPath: compiled now, so a typo is reported where the
    value is read (config load, tool arguments), not at the first page."""
    if value is not None:
        compile_path(value)
    return value


HasMore = Annotated[Signal, WithJsonSchema(_signal_schema("pagination.hasMore"))]
Total = Annotated[Signal, WithJsonSchema(_signal_schema("meta.total"))]
TotalPages = Annotated[Signal, WithJsonSchema(_signal_schema("meta.total_pages"))]
NextOffset = Annotated[Signal, WithJsonSchema(_signal_schema("pagination.nextOffset"))]


class StopRules(BaseModel):
    """Explicit end-of-data signals shared by the modes: has_more, total, stop_condition."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    has_more: HasMore = Field(
        default=None,
        description=(
            f"Whether more records exist: {_SIGNAL_DOC}, e.g. 'pagination.hasMore'. {HAS_MORE_RULE}"
        ),
    )
    stop_condition: str | None = Field(
        default=None,
        description=(
            "Jinja; stops paging when true. Variables: response, headers, last_records, last_page_size, "
            "page_number, records_so_far; a missing key is an error (use .get); filter fromjson."
        ),
    )

    @field_validator("has_more")
    @classmethod
    def _valid_signal(cls, value: Signal) -> Signal:
        return check_signal(value)

    @field_validator("stop_condition")
    @classmethod
    def _valid_condition(cls, value: str | None) -> str | None:
        if value is not None:
            check_template(condition_text(value), PAGE_VARIABLES)
        return value

    def explicit_more(self, page: PageView, notes: list[str] | None = None) -> bool | None:
        """True/False from has_more or stop_condition (`HAS_MORE_RULE`); None when neither is set."""
        if self.stop_condition is not None and render_condition(
            self.stop_condition, page.template_variables()
        ):
            return False
        if self.has_more is None:
            return None
        value = read_signal(self.has_more, page, "has_more")
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            raise ResponseShapeError(
                f"{describe(self.has_more, 'has_more')} gave the negative number {value}, which says neither "
                "more nor no more; fix the source's has_more, or end paging with stop_condition instead",
                source=page.source,
                url=page.url,
            )
        more = more_from(value)
        if value is None and notes is not None:
            notes.append(f"{describe(self.has_more, 'has_more')} is absent or null: taken as no more records")
        return more


def read_int(signal: Signal, page: PageView, what: str) -> int | None:
    """Read an integer (total, next offset) from a body path or a header; None when absent."""
    if signal is None:
        return None
    value = read_signal(signal, page, what)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ResponseShapeError(
            f"{describe(signal, what)} gave {type(value).__name__}, expected an integer",
            source=page.source,
            url=page.url,
        )
    try:
        return int(value)
    except ValueError:
        shown = repr(value) if len(value) <= 40 else f"a text of {len(value)} characters"  # type: ignore[arg-type]
        raise ResponseShapeError(
            f"{describe(signal, what)} gave {shown}, expected an integer", source=page.source, url=page.url
        ) from None


def read_count(signal: Signal, page: PageView, what: str, notes: list[str]) -> int | None:
    """Read a count (total, total_pages) like `read_int`. A negative one is how some APIs say
    "unknown": taken as absent, with a note, instead of ending paging at once (records lost)."""
    value = read_int(signal, page, what)
    if value is not None and value < 0:
        notes.append(f"the API reported a negative {what} ({value}); ignored it as unknown")
        return None
    return value


def short_page_rule(count: int, state: State) -> tuple[bool, State, str | None]:
    """Decide whether a page with no explicit signal ends the data.

    Returns (more, state carrying what was learned, note). An empty page ends.
    A page shorter than asked is the end only once the API's real page size is
    known: an API that silently caps (asked 50, got 25) must not stop paging early,
    so the first short page is checked by asking for the next one.
    """
    learned = state.learned_page_size
    if count == 0:
        return False, state, "empty page"
    if state.unconfirmed_short is not None:
        if count == state.unconfirmed_short:
            note = f"the API returns at most {count} records per page; continuing with that page size"
            return (
                True,
                state.model_copy(update={"learned_page_size": count, "unconfirmed_short": None}),
                note,
            )
        if count < state.unconfirmed_short:
            return False, state.model_copy(update={"unconfirmed_short": None}), "short page"
        return True, state.model_copy(update={"unconfirmed_short": None}), None
    if learned is not None:
        if count < learned:
            return False, state, "short page"
        return True, state, None
    asked = state.page_size
    if asked is None:
        # The API chooses the page size: the first page teaches it.
        return True, state.model_copy(update={"learned_page_size": count}), None
    if count >= asked:
        return True, state.model_copy(update={"learned_page_size": asked}), None
    note = (
        f"asked for {asked} records, got {count}; checking whether the API caps its page size "
        "before treating this as the last page"
    )
    return True, state.model_copy(update={"unconfirmed_short": count}), note
