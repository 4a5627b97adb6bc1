"""Wire building: the `httpx2.Request` for a method, URL, headers, query and JSON body."""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx2

__all__ = ["build_request", "on_sent"]

_SENDS_BODY = frozenset({"POST", "PUT", "PATCH", "QUERY"})


def build_request(
    client: httpx2.AsyncClient,
    method: str,
    url: str,
    headers: dict[str, str],
    params: dict[str, str] | None,
    body: Any,
    extensions: dict[str, Any] | None,
) -> httpx2.Request:
    """The request ``client.build_request(method, url, headers=, params=, json=body,
    extensions=)`` builds, header for header and byte for byte, for our clients (no base URL,
    query params or cookies of their own), at a fraction of its cost: it parses a URL without
    query params once, and merges the headers in one pass (a JSON POST, an Alloy page, takes
    about 16 µs instead of 80-150). A test holds it equal to ``build_request``, with one
    difference: ``params`` are merged into a query the URL already has instead of replacing it.

    Raises what ``build_request`` raises: ``httpx2.InvalidURL``, ``UnicodeEncodeError`` for a
    header that is not ASCII, ``TypeError``/``ValueError`` for a body JSON cannot encode.
    """
    method = method.upper()
    target = _parsed_url(url)
    if params:
        # Added to the URL's own query (a name in both takes the value in params): httpx2 would
        # replace that query, dropping a filter written into a source's url from every page.
        target = target.copy_merge_params(params) if target.query else httpx2.URL(url, params=params)
    # Client.build_request: the client's headers, each one the request sets replaced by it
    # (names and values in ASCII, as httpx2 encodes them).
    own = [(_ascii(key), _ascii(value)) for key, value in headers.items()]
    ours = {key.lower() for key, _ in own}
    merged = [(key, value) for key, value in client.headers.raw if key.lower() not in ours]
    merged.extend(own)
    present = {key.lower() for key, _ in merged}
    content = b""
    if body is not None:  # httpx2's JSON encoding, and the headers it adds unless already set
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        if b"content-length" not in present and b"transfer-encoding" not in present:
            merged.append((b"Content-Length", str(len(content)).encode("ascii")))
            present.add(b"content-length")
        if b"content-type" not in present:
            merged.append((b"Content-Type", b"application/json"))
    auto = []  # Request._prepare: these go first
    if b"host" not in present and target.host:
        auto.append((b"Host", target.netloc))
    if method in _SENDS_BODY and b"content-length" not in present and b"transfer-encoding" not in present:
        auto.append((b"Content-Length", b"0"))
    request = httpx2.Request(
        method,
        target,
        headers=auto + merged,
        stream=httpx2.ByteStream(content),
        extensions={**(extensions or {}), "timeout": client.timeout.as_dict()},
    )
    request.read()
    return request


def _ascii(text: str | bytes) -> bytes:
    if isinstance(text, bytes):
        return text
    if not isinstance(text, str):
        raise TypeError(f"header names and values must be str, not {type(text).__name__}")
    return text.encode("ascii")


@functools.lru_cache(maxsize=1024)
def _parsed_url(url: str) -> httpx2.URL:
    return httpx2.URL(url)


def on_sent(sent: anyio.Event) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
    """An httpcore ``trace`` hook that sets ``sent`` once the request body is written."""

    async def trace(event: str, info: dict[str, Any]) -> None:
        if event.endswith("send_request_body.complete"):
            sent.set()

    return trace
