"""Exceptions raised by mcp-paginate.

Every error carries a message written for whoever has to act on it: an assistant
reading a tool error, or a person reading the terminal. The tree::

    PaginateError
    ├── ConfigError            the config file or a source definition is invalid
    ├── InputError             a tool argument is wrong (unknown source, bad params, bad spec)
    │   ├── UnknownSourceError     no configured source has that name
    │   ├── ParamsError            a source's params are missing or unknown
    │   ├── HostNotAllowedError    an ad-hoc URL or next-link points where it may not go
    │   └── CursorError            a cursor is unknown, expired, forged or someone else's
    ├── UpstreamError          the API answered, but not with what we can use
    │   ├── UpstreamStatusError    a non-2xx status (carries status, url, trimmed message)
    │   └── ResponseShapeError     bad JSON, records path missing, has_more not a boolean…
    ├── TransportError         the API could not be reached (connect, timeout, reset)
    ├── PaginationLoopError    a cursor or next-link seen before in the session came back
    └── StoreError             the session store is unreachable or failed

The MCP wiring (`mcp_paginate.server`) translates these, and only these, into
`ToolError`s; anything else is a bug. A message is worded for the tools (argument names); the
errors a terminal user can also meet carry what they are about as fields (`UnknownSourceError`,
`ParamsError`), from which the command line words its own (flags and commands).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ConfigError",
    "CursorError",
    "HostNotAllowedError",
    "InputError",
    "PaginateError",
    "PaginationLoopError",
    "ParamsError",
    "ResponseShapeError",
    "StoreError",
    "TransportError",
    "UnknownSourceError",
    "UpstreamError",
    "UpstreamStatusError",
    "closest",
]


class PaginateError(Exception):
    """Root of every error mcp-paginate raises on purpose."""

    def __init__(self, message: str, *, source: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.source = source

    def __str__(self) -> str:
        return self.message


class ConfigError(PaginateError):
    """The config file, or a source in it, is invalid."""


class InputError(PaginateError):
    """A tool argument is wrong; the message says which and how to fix it."""


class UnknownSourceError(InputError):
    """No configured source is called ``name``; ``known`` are the names that are, ``guess`` the
    closest of them (or None)."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.known = sorted(known)
        self.guess = closest(name, self.known)
        guess = f"did you mean {self.guess!r}? " if self.guess else ""
        listed = ", ".join(self.known) or "none configured"
        super().__init__(f"unknown source {name!r}; {guess}available sources: {listed} (see list_sources)")


class ParamsError(InputError):
    """The params given for source ``source`` do not fit its declaration: ``missing`` is a
    required param not given (``description`` says what it is), or ``unknown`` are names the
    source does not declare (``known`` are those it does)."""

    def __init__(
        self,
        message: str,
        *,
        source: str,
        missing: str | None = None,
        description: str | None = None,
        unknown: Iterable[str] = (),
        known: Iterable[str] = (),
    ) -> None:
        super().__init__(message, source=source)
        self.missing = missing
        self.description = description
        self.unknown = list(unknown)
        self.known = list(known)


class UnsetVariableInputError(InputError):
    """Source ``source`` refers to ``${variable}``, which is not set for the server."""

    def __init__(self, variable: str, *, source: str) -> None:
        super().__init__(
            f"source {source!r} needs the environment variable {variable}, which is not set for the "
            "server; add it to the env block of your MCP host config",
            source=source,
        )
        self.variable = variable


class HostNotAllowedError(InputError):
    """An ad-hoc request, next-link or redirect points at a host that is not allowed."""


class CursorError(InputError):
    """A cursor is unknown, expired, malformed, or belongs to another caller."""


class UpstreamError(PaginateError):
    """The upstream API answered with something we cannot use."""

    def __init__(self, message: str, *, source: str | None = None, url: str | None = None) -> None:
        super().__init__(message, source=source)
        self.url = url


class UpstreamStatusError(UpstreamError):
    """The upstream API answered with a non-success status; ``said`` is what its body said
    (short, secrets masked), without the status line around it."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        source: str | None = None,
        url: str | None = None,
        retry_after: float | None = None,
        said: str | None = None,
    ) -> None:
        super().__init__(message, source=source, url=url)
        self.status = status
        self.retry_after = retry_after
        self.said = said


class ResponseShapeError(UpstreamError):
    """The response body is not JSON, or a configured path does not fit it."""

    def __str__(self) -> str:
        # "records path 'data' is missing…" is only actionable when it says whose config to fix.
        if self.source and self.source not in self.message:
            return f"{self.source}: {self.message}"
        return self.message


class TransportError(PaginateError):
    """The upstream API could not be reached or the connection broke."""


class PaginationLoopError(PaginateError):
    """The API handed back a cursor or next-link already visited in this session."""


class StoreError(PaginateError):
    """The session store failed or is unreachable."""


def closest(name: str, names: Iterable[str]) -> str | None:
    """The name in ``names`` closest to ``name`` (difflib), if one is close enough to suggest."""
    matches = difflib.get_close_matches(name, list(names), n=1)
    return matches[0] if matches else None
