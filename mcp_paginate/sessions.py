"""Paging sessions as stored data, and the opaque cursors that name their pages.

A cursor is ``<session id>.<page number>[.<skip>]``: the session id is 144 bits
from the OS CSPRNG, so cursors cannot be guessed; the page number lets one session
mint a cursor for every page it has reached, each of which can be re-read; ``skip``
continues inside a page that a result had to cut short (inline budget, max_records),
so nothing is skipped or repeated.
"""

from __future__ import annotations

import re
import secrets
import time
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mcp_paginate.errors import CursorError
from mcp_paginate.paginators import AutoPagination, ConcretePagination
from mcp_paginate.paginators.base import check_path
from mcp_paginate.paginators.probe import Probe

__all__ = [
    "AdHocMethod",
    "AdHocRequest",
    "ResultsMeta",
    "SessionRecord",
    "format_cursor",
    "new_id",
    "parse_cursor",
]

AdHocMethod = Literal["GET", "POST", "QUERY"]
"""The methods an ad-hoc request may use. The tools are annotated read-only, so nothing that
changes data (PUT, PATCH, DELETE) is sent on an assistant's say-so; POST is here for list and
search endpoints that take a JSON body (Alloy's), QUERY for the safe method with a body."""

_CURSOR = re.compile(r"^([A-Za-z0-9_-]{24})\.(\d{1,9})(?:\.(\d{1,9}))?$")


def new_id() -> str:
    """A fresh, unguessable id (about 144 bits, URL-safe, 24 characters) that starts with a
    letter or digit: a cursor starting with ``-`` reads as an option on a command line."""
    while True:
        value = secrets.token_urlsafe(18)
        if value[0].isalnum():
            return value


def format_cursor(session_id: str, page: int, skip: int = 0) -> str:
    return f"{session_id}.{page}.{skip}" if skip else f"{session_id}.{page}"


def parse_cursor(cursor: str) -> tuple[str, int, int]:
    """Split a cursor into (session id, page number, records to skip in that page).

    Raises:
        CursorError: the text is not a cursor this server could have minted.
    """
    match = _CURSOR.match(cursor.strip()) if isinstance(cursor, str) else None
    if match is None:
        raise CursorError(
            "that cursor is not one this server minted; pass a cursor or next_cursor exactly as an "
            "earlier list_page/fetch_all result gave it, or start again with source=…"
        )
    return match.group(1), int(match.group(2)), int(match.group(3) or 0)


class AdHocRequest(BaseModel):
    """A request the assistant describes directly (hosts from server.allowed_hosts only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="Absolute http(s) URL of the first page, on an allowed host.")
    method: AdHocMethod = Field(
        default="GET",
        description=("GET, POST (a JSON body) or QUERY; nothing that changes data."),
    )
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    query: dict[str, str | int | float | bool] = Field(default_factory=dict, description="Query parameters.")
    body: Any = Field(default=None, description="JSON body, for POST-style list endpoints.")
    records: str | None = Field(
        default=None,
        description="JMESPath to the record list, e.g. 'data' or 'results'. Default: found automatically.",
    )

    @field_validator("method", mode="before")
    @classmethod
    def _read_only_method(cls, value: Any) -> Any:
        method = value.upper() if isinstance(value, str) else value
        allowed = get_args(AdHocMethod)
        if method not in allowed:
            raise ValueError(
                f"method {value!r} is not allowed in an ad-hoc request: these tools only read, so they "
                f"send {', '.join(allowed[:-1])} or {allowed[-1]} (a configured source may use PUT or PATCH)"
            )
        return method

    @field_validator("records")
    @classmethod
    def _records_path(cls, value: str | None) -> str | None:
        return check_path(value)  # as a source's records is when the config loads


class SessionRecord(BaseModel):
    """Everything needed to (re)build any page of a session, minus secrets."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    source: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    request: AdHocRequest | None = None
    pagination: ConcretePagination | AutoPagination = Field(discriminator="mode")
    detected: dict[str, Any] | None = None
    probe: Probe | None = None
    """An auto session whose first page showed no established scheme: what its second page tries."""
    page_size: int | None = None
    fields: list[str] | None = None
    owner: str | None = None
    created: float = Field(default_factory=time.time)
    expires: float = 0.0


class ResultsMeta(BaseModel):
    """A stored fetch_all result set, kept in chunks (one per page fetched), and how far the
    drain that fills it got."""

    model_config = ConfigDict(extra="forbid")

    id: str
    session_id: str
    count: int = 0
    chunks: int = 0
    complete: bool = False
    stop_reason: str | None = None
    cursor: str | None = None
    """Where the drain that fills these results stopped short of the end (the next record's
    cursor): a later drain continues from here into the same results."""
    owner: str | None = None
    created: float = Field(default_factory=time.time)
    expires: float = 0.0
