"""The session store interface: sessions, the state of every page reached, fetch_all results.

Three backends implement it (`memory://`, `sqlite:///`, `redis://`); one contract test
suite runs against all of them. Every write that two callers may race on is atomic
("insert if absent"), so replicas sharing a store never lose or fork page state.
"""

from __future__ import annotations

import abc
import json
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import pydantic_core

from mcp_paginate.errors import ConfigError
from mcp_paginate.paginators import State
from mcp_paginate.sessions import ResultsMeta, SessionRecord

__all__ = ["PageSlot", "Store", "dump_records", "load_records", "number_option", "take_options"]


def take_options(url: str, names: frozenset[str]) -> tuple[str, dict[str, str]]:
    """Split a store URL's query options ``names`` off it: ``(url without them, {name: value})``.

    Other query parameters stay in the URL (redis-py reads its own, e.g. ``socket_timeout``).
    """
    base, _, query = url.partition("?")
    taken: dict[str, str] = {}
    kept: list[tuple[str, str]] = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in names:
            taken[name] = value
        else:
            kept.append((name, value))
    return (f"{base}?{urlencode(kept)}" if kept else base), taken


def number_option(options: dict[str, str], name: str, default: float, *, integer: bool = False) -> float:
    """A positive number from a store URL's options, or ``default``.

    Raises:
        ConfigError: not a (whole, if ``integer``) number above zero.
    """
    text = options.get(name)
    if text is None:
        return default
    try:
        value = int(text) if integer else float(text)
    except ValueError:
        value = -1
    if not (value > 0 and math.isfinite(value)):
        kind = "a whole number" if integer else "a number of seconds"
        raise ConfigError(f"invalid store URL option {name}={text!r}: it must be {kind} above 0")
    return value


def dump_records(records: list[Any]) -> str:
    """A chunk of records as JSON text, for stores that keep text (pydantic-core's encoder,
    about three times as fast as ``json``; ``json`` for anything it cannot encode)."""
    try:
        return pydantic_core.to_json(records).decode()
    except ValueError:
        return json.dumps(records, separators=(",", ":"))


def load_records(text: str | bytes) -> list[Any]:
    """The records `dump_records` wrote (``NaN`` and ``Infinity`` included, as ``json`` reads them)."""
    try:
        return list(pydantic_core.from_json(text, allow_inf_nan=True))
    except ValueError:
        return list(json.loads(text))


@dataclass(frozen=True)
class PageSlot:
    """The outcome of storing a page's state.

    ``state`` is what the store holds for that page (the earlier value if one was
    there); ``repeats`` is the number of an *earlier* page with the same position,
    i.e. the API led back to where it had been: a loop.
    """

    state: State
    repeats: int | None = None


class Store(abc.ABC):
    """Async storage for paging sessions and fetch_all results."""

    url: str = ""

    @abc.abstractmethod
    async def put_session(self, session: SessionRecord) -> None:
        """Create or replace a session (its pages are kept)."""

    @abc.abstractmethod
    async def get_session(self, session_id: str) -> SessionRecord | None:
        """The session, or None if unknown or expired."""

    @abc.abstractmethod
    async def add_page(self, session_id: str, number: int, state: State) -> PageSlot:
        """Store page ``number``'s state unless one is stored; detect a repeated position."""

    @abc.abstractmethod
    async def get_page(self, session_id: str, number: int) -> State | None:
        """The stored state of page ``number``, or None if that page was never reached."""

    async def get_position(self, session_id: str, number: int) -> tuple[SessionRecord | None, State | None]:
        """The session and page ``number``'s state together (either None when unknown), which a
        continued ``list_page`` needs on every call: backends override it to read both at once."""
        session = await self.get_session(session_id)
        return session, (await self.get_page(session_id, number) if session is not None else None)

    @abc.abstractmethod
    async def put_results(self, meta: ResultsMeta) -> None:
        """Create or update a result set's metadata."""

    @abc.abstractmethod
    async def get_results(self, results_id: str) -> ResultsMeta | None:
        """A result set's metadata, or None if unknown or expired."""

    @abc.abstractmethod
    async def put_chunk(self, results_id: str, index: int, records: list[Any]) -> None:
        """Store chunk ``index`` of a result set."""

    @abc.abstractmethod
    async def get_chunk(self, results_id: str, index: int) -> list[Any] | None:
        """Chunk ``index`` of a result set, or None."""

    @abc.abstractmethod
    async def put_value(self, name: str, value: str, expires: float) -> None:
        """Keep a small text value under ``name`` until ``expires`` (a Unix time)."""

    @abc.abstractmethod
    async def get_value(self, name: str) -> str | None:
        """The value `put_value` kept under ``name``, or None if unknown or expired."""

    @abc.abstractmethod
    async def take_lease(self, name: str, holder: str, seconds: float) -> bool:
        """Hold the lease ``name`` for ``seconds`` from now, if it is free, expired or held by
        ``holder`` already (then it is renewed); whether ``holder`` holds it now. Atomic: of
        replicas racing for a free lease, one gets it."""

    @abc.abstractmethod
    async def drop_lease(self, name: str, holder: str) -> None:
        """Free the lease ``name`` if ``holder`` holds it."""

    @abc.abstractmethod
    async def purge_expired(self) -> int:
        """Delete expired sessions and results; return how many were removed."""

    @abc.abstractmethod
    async def counts(self) -> dict[str, int]:
        """How many live sessions and result sets are held (for limits and health)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
