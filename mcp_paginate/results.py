"""Stored fetch_all results read by record offset: the read_results tool, and the records a
fetch_all call returns inline (those stored from where the call's cursor was handed out).

A result set is kept in chunks, one per page, of any length; `ChunkStarts` remembers where each
chunk starts (chunks that the stored `ResultsMeta` counts never change), so reading at an offset
reads the chunks from there, not all before it.

Example::

    meta = await stored_results(app, "mcp-paginate://results/abc", owner)
    records, after = await read_slice(app, meta, offset=100, limit=50, budget=60_000)
"""

from __future__ import annotations

import bisect
from typing import TYPE_CHECKING, Annotated, Any

import anyio.to_thread
import jmespath
from jmespath.exceptions import JMESPathError
from pydantic import BaseModel, Field, WithJsonSchema

from mcp_paginate.errors import InputError
from mcp_paginate.inline import fit
from mcp_paginate.records import project
from mcp_paginate.sessions import ResultsMeta

if TYPE_CHECKING:
    from mcp_paginate.app import AppContext

__all__ = ["RESULTS_URI", "ChunkStarts", "ReadResultsResult", "read_results", "read_slice", "stored_results"]

RESULTS_URI = "mcp-paginate://results/{id}"

_PREFIX = RESULTS_URI.removesuffix("{id}")


class ReadResultsResult(BaseModel):
    records: Annotated[
        list[Any],
        WithJsonSchema({"type": "array", "description": "Stored records (or query items) from offset on."}),
    ]
    offset: int = Field(description="Index of the first record here.")
    returned: int = Field(description="Records here.")
    count: int = Field(description="Records stored so far (items, for a query giving an array).")
    next_offset: int | None = Field(description="Pass as offset to read on; null at the end.")
    complete: bool = Field(description="True when the drain reached the source's end.")
    value: Annotated[Any, WithJsonSchema({"description": "A query's value when it is not an array."})] = None
    notes: list[str] = Field(default_factory=list)


class ChunkStarts:
    """Where each chunk of a result set starts (record offsets), learnt as chunks are read."""

    def __init__(self, max_results: int = 256) -> None:
        self.max_results = max_results
        self._starts: dict[str, list[int]] = {}

    def of(self, results_id: str) -> list[int]:
        """``starts``: chunk ``i`` begins at record ``starts[i]``; the last entry is where the
        first chunk not yet read begins."""
        if results_id not in self._starts and len(self._starts) >= self.max_results:
            self._starts.clear()  # a cache: relearnt on the next read
        return self._starts.setdefault(results_id, [0])


async def stored_results(app: AppContext, results_uri: str, owner: str | None) -> ResultsMeta:
    """The metadata of the results a ``results_uri`` (or bare id) names, if ``owner`` may read them.

    Raises:
        InputError: not a results URI, unknown, expired, or another caller's.
    """
    results_id = results_uri.strip().removeprefix(_PREFIX)
    if not results_id or "/" in results_id or ":" in results_id:
        raise InputError(
            f"results_uri {results_uri!r} is not a results URI: pass results_uri exactly as fetch_all "
            "returned it (mcp-paginate://results/<id>)"
        )
    meta = await app.store.get_results(results_id)
    if meta is None or (meta.owner is not None and meta.owner != owner):
        raise InputError(f"no stored results {results_id!r}; they may have expired. Run fetch_all again.")
    return meta


async def read_slice(
    app: AppContext,
    meta: ResultsMeta,
    offset: int,
    *,
    limit: int | None = None,
    budget: int | None,
    at_least_one: bool = True,
) -> tuple[list[Any], bool]:
    """Stored records from ``offset`` on, at most ``limit``, as many as fit ``budget``
    characters (None: all; ``at_least_one``: the first even if it alone is over); and whether
    the budget cut them short."""
    starts = app.chunk_starts.of(meta.id)
    index = min(max(0, bisect.bisect_right(starts, offset) - 1), len(starts) - 1)
    wanted = limit if limit is not None else meta.count
    taken: list[Any] = []
    used = 0
    while index < meta.chunks and len(taken) < wanted:
        records = await app.store.get_chunk(meta.id, index) or []
        start = starts[index]
        if len(starts) == index + 1:
            starts.append(start + len(records))
        index += 1
        if start + len(records) <= offset:
            continue
        part = records[max(0, offset - start) :][: wanted - len(taken)]
        if budget is None:
            taken.extend(part)
            continue
        kept, cut, size = fit(part, budget - used, at_least_one=at_least_one and not taken)
        taken.extend(kept)
        used += size
        if cut:
            return taken, True
    return taken, False


async def read_results(
    app: AppContext,
    results_uri: str,
    *,
    offset: int = 0,
    limit: int | None = None,
    fields: list[str] | None = None,
    query: str | None = None,
    owner: str | None = None,
) -> ReadResultsResult:
    """A page of a stored result set (or of a JMESPath query's value over it) within the inline
    budget; works while the drain filling it still runs.

    Raises:
        InputError: see `stored_results`; a query that does not compile or fails.
    """
    meta = await stored_results(app, results_uri, owner)
    app.drains.touch(meta.id)
    budget = app.config.server.max_inline_chars
    notes: list[str] = []
    if query is not None:
        return await _query(app, meta, query, offset, limit, fields, notes)
    records, cut = await read_slice(app, meta, offset, limit=limit, budget=budget)
    if fields:
        records = [project(record, fields) for record in records]
    after = offset + len(records)
    return _page(meta, records, offset, meta.count, after, cut, notes)


async def _query(
    app: AppContext,
    meta: ResultsMeta,
    query: str,
    offset: int,
    limit: int | None,
    fields: list[str] | None,
    notes: list[str],
) -> ReadResultsResult:
    try:
        compiled = jmespath.compile(query)
    except JMESPathError as exc:
        raise InputError(
            f"query {query!r} is not a JMESPath expression: {' '.join(str(exc).split())}"
        ) from None
    records, _ = await read_slice(app, meta, 0, budget=None)  # every record: the query sees the array
    if fields:
        records = [project(record, fields) for record in records]
    try:
        # Off the event loop: an expression over a large result can take a while.
        value = await anyio.to_thread.run_sync(compiled.search, records)
    except (JMESPathError, TypeError, ValueError) as exc:
        raise InputError(f"query {query!r} failed: {' '.join(str(exc).split())}") from None
    if not isinstance(value, list):
        result = _page(meta, [], 0, meta.count, None, False, notes)
        result.value = value
        return result
    part = value[offset:] if limit is None else value[offset : offset + limit]
    shown, cut, _ = fit(part, app.config.server.max_inline_chars)
    return _page(meta, shown, offset, len(value), offset + len(shown), cut, notes)


def _page(
    meta: ResultsMeta,
    records: list[Any],
    offset: int,
    count: int,
    after: int | None,
    cut: bool,
    notes: list[str],
) -> ReadResultsResult:
    next_offset = after if after is not None and after < count else None
    if cut:
        notes.append(f"{len(records)} records fit the inline budget; read on from next_offset={after}")
    if meta.stop_reason is None and not meta.complete:
        notes.append(
            f"the drain filling these results is still running ({meta.count} records so far); read "
            "again later, or call fetch_all with its next_cursor to wait for it"
        )
    return ReadResultsResult(
        records=records,
        offset=offset,
        returned=len(records),
        count=count,
        next_offset=next_offset,
        complete=meta.complete,
        notes=notes,
    )
