"""The reference form's connectors: each third party's own paging, as Alloy hands it back.

Alloy's API reference (docs.runalloy.com › reference › connectivity-api ›
execute-connector-action) passes an action's parameters through ``queryParameters`` /
``requestBody`` / ``pathParams`` and answers with the third party's own body in ``responseData``.
So every connector pages the way its API does; these are five of them, each with its action
metadata (``action.parameters[*]`` with ``name`` and ``in``):

- ``hubspot`` ``listContacts``: ``limit``/``after`` in the query; ``{results, paging.next.after}``;
- ``notion`` ``queryDatabase``: ``page_size``/``start_cursor`` in the body (``database_id`` in the
  path); ``{object: "list", results, next_cursor, has_more}``;
- ``shopify`` ``listCustomers``: a GraphQL connection, ``first``/``after`` in the body;
  ``{data: {customers: {edges[].node, pageInfo {hasNextPage, endCursor}}}}``;
- ``zendesk`` ``listTickets``: ``per_page``/``page`` in the query; ``{tickets, next_page: URL}``;
- ``mailchimp`` ``listMembers``: ``count``/``offset`` in the query; ``{members, total_items}``.

Every page-size parameter is refused above 50 (Alloy's cap, whatever the connector allows).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp_paginate.sample.records import SampleData

__all__ = ["ALLOY_MAX_LIMIT", "CONNECTORS", "Action", "AlloyError", "Call"]

ALLOY_MAX_LIMIT = 50

JSON = dict[str, Any]


class AlloyError(Exception):
    """Answered in Alloy's error shape: ``{"error": <reason>, "message": <text>}``."""

    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


@dataclass(frozen=True)
class Call:
    """One execution's parameters, already sorted by where the action takes them."""

    query: JSON
    body: JSON
    path: JSON
    base_url: str

    def int_param(self, where: JSON, name: str, default: int, minimum: int = 0) -> int:
        raw = where.get(name, default)
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise AlloyError(400, "Bad Request", f"{name} must be an integer, got {raw!r}") from None
        if value < minimum:
            raise AlloyError(400, "Bad Request", f"{name} must be at least {minimum}, got {value}")
        return value


@dataclass(frozen=True)
class Action:
    """A connector action: its metadata and how it answers."""

    id: str
    name: str
    http_method: str
    parameters: tuple[tuple[str, str, bool], ...]
    """(name, in, required)"""
    size_param: str
    run: Callable[[SampleData, Call, int], JSON]
    """(data, call, page size asked) -> the third party's body"""

    def metadata(self) -> JSON:
        return {
            "id": self.id,
            "name": self.name,
            "httpMethod": self.http_method,
            "parameters": [
                {"name": name, "in": where, "required": required, "type": "string"}
                for name, where, required in self.parameters
            ],
        }


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _offset_of(token: Any, name: str) -> int:
    text = str(token)
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        decoded = ""
    if not decoded.startswith("o:") or not decoded[2:].isdigit():
        raise AlloyError(400, "Bad Request", f"invalid {name} {text[:40]!r}")
    return int(decoded[2:])


def _hubspot(data: SampleData, call: Call, size: int) -> JSON:
    after = call.query.get("after")
    offset = 0 if after is None else _offset_of(after, "after")
    page = data.slice(offset, size)
    body: JSON = {"results": page.records}
    if page.next_offset is not None:
        token = _token(page.next_offset)
        body["paging"] = {
            "next": {"after": token, "link": f"https://api.hubapi.com/crm/v3/objects/contacts?after={token}"}
        }
    return body


def _notion(data: SampleData, call: Call, size: int) -> JSON:
    if not call.path.get("database_id"):
        raise AlloyError(400, "Bad Request", "pathParams.database_id is required")
    cursor = call.body.get("start_cursor")
    offset = 0 if cursor is None else _offset_of(cursor, "start_cursor")
    page = data.slice(offset, size)
    more = page.next_offset is not None
    next_cursor = _token(page.next_offset) if page.next_offset is not None else None
    return {"object": "list", "results": page.records, "next_cursor": next_cursor, "has_more": more}


def _shopify(data: SampleData, call: Call, size: int) -> JSON:
    after = call.body.get("after")
    offset = 0 if after is None else _offset_of(after, "after")
    page = data.slice(offset, size)
    edges = [{"cursor": _token(offset + i + 1), "node": record} for i, record in enumerate(page.records)]
    end = edges[-1]["cursor"] if edges else None
    info = {"hasNextPage": page.next_offset is not None, "endCursor": end}
    return {"data": {"customers": {"edges": edges, "pageInfo": info}}}


def _zendesk(data: SampleData, call: Call, size: int) -> JSON:
    number = call.int_param(call.query, "page", 1, minimum=1)
    page = data.slice((number - 1) * size, size)
    next_page = None
    if page.next_offset is not None:
        next_page = f"https://example.zendesk.com/api/v2/tickets.json?page={number + 1}&per_page={size}"
    return {"tickets": page.records, "next_page": next_page, "count": data.total}


def _mailchimp(data: SampleData, call: Call, size: int) -> JSON:
    offset = call.int_param(call.query, "offset", 0)
    page = data.slice(offset, size)
    return {"members": page.records, "total_items": data.total}


CONNECTORS: dict[str, tuple[str, dict[str, Action]]] = {
    "hubspot": (
        "HubSpot",
        {
            "listContacts": Action(
                "listContacts",
                "List contacts",
                "GET",
                (("limit", "query", False), ("after", "query", False), ("properties", "query", False)),
                "limit",
                _hubspot,
            )
        },
    ),
    "notion": (
        "Notion",
        {
            "queryDatabase": Action(
                "queryDatabase",
                "Query a database",
                "POST",
                (
                    ("database_id", "path", True),
                    ("page_size", "body", False),
                    ("start_cursor", "body", False),
                    ("filter", "body", False),
                ),
                "page_size",
                _notion,
            )
        },
    ),
    "shopify": (
        "Shopify (GraphQL)",
        {
            "listCustomers": Action(
                "listCustomers",
                "List customers",
                "POST",
                (("first", "body", False), ("after", "body", False), ("query", "body", False)),
                "first",
                _shopify,
            )
        },
    ),
    "zendesk": (
        "Zendesk",
        {
            "listTickets": Action(
                "listTickets",
                "List tickets",
                "GET",
                (("per_page", "query", False), ("page", "query", False)),
                "per_page",
                _zendesk,
            )
        },
    ),
    "mailchimp": (
        "Mailchimp",
        {
            "listMembers": Action(
                "listMembers",
                "List members of a list",
                "GET",
                (("count", "query", False), ("offset", "query", False)),
                "count",
                _mailchimp,
            )
        },
    ),
}
"""connector id -> (name, actions by id)."""
