"""What the sample API's handlers share: reading paging parameters (a bad one is a 400),
minting and reading opaque cursors, and writing the next page's URL and ``Link`` header.

Page-size parameters default to 10; a value that is not an integer, or is out of range, gets
``400 {"error": "..."}``. "Cap" means a larger page size is silently reduced to the cap.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode

from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from mcp_paginate.sample.records import DEFAULT_PAGE_SIZE

__all__ = [
    "BadRequest",
    "as_int",
    "bad_request_response",
    "decode_cursor",
    "encode_cursor",
    "link_header",
    "page_size",
    "query_int",
    "with_query",
]


class BadRequest(Exception):
    """Answered as ``{"error": message}`` with ``status``."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def bad_request_response(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadRequest)
    return JSONResponse({"error": exc.message}, status_code=exc.status)


def as_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool):
        raise BadRequest(f"{name} must be an integer, got {value!r}")
    if isinstance(value, str):
        try:
            value = int(value)
        except ValueError:
            raise BadRequest(f"{name} must be an integer, got {value!r}") from None
    if not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, got {value!r}")
    if value < minimum:
        raise BadRequest(f"{name} must be at least {minimum}, got {value}")
    return value


def query_int(request: Request, name: str, default: int, minimum: int = 0) -> int:
    raw = request.query_params.get(name)
    return default if raw is None else as_int(raw, name, minimum)


def page_size(request: Request, name: str, cap: int) -> int:
    return min(query_int(request, name, DEFAULT_PAGE_SIZE, minimum=1), cap)


def encode_cursor(prefix: str, offset: int) -> str:
    return prefix + base64.urlsafe_b64encode(f"offset={offset}".encode()).decode().rstrip("=")


def decode_cursor(prefix: str, cursor: str, name: str) -> int:
    """The offset inside a cursor minted by `encode_cursor`; 400 for anything else."""
    encoded = cursor.removeprefix(prefix)
    try:
        text = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    key, _, number = text.partition("=")
    if not cursor.startswith(prefix) or key != "offset" or not (number.isascii() and number.isdigit()):
        raise BadRequest(f"invalid {name}")
    return int(number)


def with_query(url: URL, **params: object) -> URL:
    """``url`` with ``params`` set (first, in this order) and its other query parameters kept."""
    kept = [(key, value) for key, value in parse_qsl(url.query, keep_blank_values=True) if key not in params]
    query = urlencode([(key, str(value)) for key, value in params.items()] + kept, safe="$")
    return url.replace(query=query)


def link_header(links: Mapping[str, str]) -> str:
    return ", ".join(f'<{url}>; rel="{rel}"' for rel, url in links.items())
