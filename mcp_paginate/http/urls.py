"""URLs as the origin policy compares them, and as messages show them."""

from __future__ import annotations

import functools
from urllib.parse import SplitResult, urlsplit

from mcp_paginate.errors import InputError

__all__ = ["display_url", "host_port", "netloc", "origin_of", "split_url"]


@functools.lru_cache(maxsize=1024)
def split_url(url: str) -> tuple[SplitResult, str, int]:
    """``urlsplit`` plus the lower-cased host and the port (default made explicit); remembered,
    as every request of a source checks the same URL (its query parameters are kept apart).

    Raises:
        InputError: the URL cannot be parsed (bad IPv6 brackets, port out of range...).
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InputError(f"{display_url(url)!r} is not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    return parts, (parts.hostname or "").lower(), port or (443 if scheme == "https" else 80)


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the default port made explicit.

    Raises:
        InputError: the URL cannot be parsed.
    """
    parts, host, port = split_url(url)
    return f"{parts.scheme.lower()}://{host}:{port}"


def host_port(url: str) -> tuple[str, int]:
    """The lower-cased host and the port (default made explicit).

    Raises:
        InputError: the URL cannot be parsed.
    """
    _, host, port = split_url(url)
    return host, port


def netloc(host: str, port: int) -> str:
    """``host:port``, an IPv6 address in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def display_url(url: str) -> str:
    """The URL without its query string (which may carry keys) or user info, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url.split("?", 1)[0].rpartition("@")[2][:200]
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
