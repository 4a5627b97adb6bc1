"""Finding the record list in a response, and trimming records to the fields asked for."""

from __future__ import annotations

import hashlib
from typing import Any

import pydantic_core

from mcp_paginate.errors import ResponseShapeError
from mcp_paginate.expressions import search

__all__ = [
    "RECORD_KEYS",
    "extract_records",
    "fields_note",
    "find_records_path",
    "project",
    "records_digest",
]

RECORD_KEYS = ("data", "results", "items", "records", "entries", "values", "value")


def find_records_path(body: Any) -> str | None:
    """The default records location: the body if it is a list, else the first list among
    the usual keys, else the only list at top level, else the only list one level down
    (HAL's ``_embedded.<name>``, ``{"data": {"items": [...]}}``). None when nothing fits."""
    if isinstance(body, list):
        return "@"
    if not isinstance(body, dict):
        return None
    for key in RECORD_KEYS:
        if isinstance(body.get(key), list):
            return key
    lists = [key for key, value in body.items() if isinstance(value, list)]
    if len(lists) == 1:
        return _quote(lists[0])
    if lists:
        return None  # several lists at top level: ambiguous, ask for a records path
    nested = [
        f"{_quote(key)}.{_quote(inner)}"
        for key, value in body.items()
        if isinstance(value, dict)
        for inner, item in value.items()
        if isinstance(item, list)
    ]
    return nested[0] if len(nested) == 1 else None


def _quote(key: str) -> str:
    return key if key.isidentifier() else '"' + key.replace('"', '\\"') + '"'


def extract_records(
    body: Any, path: str | None, *, source: str | None = None, url: str | None = None
) -> list[Any]:
    """The records of one response.

    Raises:
        ResponseShapeError: the path is missing or not a list (the message names the
            path and what was found), or no default location fits.
    """
    if path is None:
        if body is None:
            return []
        path = find_records_path(body)
        if path is None:
            raise ResponseShapeError(
                f"cannot find the record list in the response ({_describe(body)}); set records to a "
                "JMESPath such as 'data' or 'results.items'",
                source=source,
                url=url,
            )
    value = search(path, body)
    if value is None:
        raise ResponseShapeError(
            f"records path {path!r} is missing from the response ({_describe(body)}); fix the records path",
            source=source,
            url=url,
        )
    if not isinstance(value, list):
        raise ResponseShapeError(
            f"records path {path!r} gave {type(value).__name__}, not a list ({_describe(body)})",
            source=source,
            url=url,
        )
    return value


def _describe(body: Any) -> str:
    if isinstance(body, dict):
        keys = ", ".join(list(map(str, body))[:12]) or "none"
        return f"top-level keys: {keys}"
    return f"the body is a {type(body).__name__}"


def project(record: Any, fields: list[str]) -> Any:
    """Keep only the given dotted fields of a record (missing ones are left out)."""
    if not isinstance(record, dict):
        return record
    out: dict[str, Any] = {}
    for dotted in fields:
        parts = dotted.split(".")
        value: Any = record
        for part in parts:
            if not isinstance(value, dict) or part not in value:
                break
            value = value[part]
        else:
            target = out
            for part in parts[:-1]:
                target = target.setdefault(part, {})
            target[parts[-1]] = value
    return out


def fields_note(records: list[Any], fields: list[str]) -> list[str]:
    """A note when none of ``fields`` is in any of the records (each would come back ``{}``)."""
    objects = [record for record in records if isinstance(record, dict)]
    if not objects or any(project(record, fields) for record in objects):
        return []
    keys = sorted({str(key) for record in objects[:20] for key in record})
    shown = ", ".join(keys[:15]) + (", …" if len(keys) > 15 else "")
    return [
        f"fields {fields} match nothing in these records (each comes back as {{}}); the records' keys "
        f"are: {shown} (a nested field is dotted, e.g. 'owner.login')"
    ]


def records_digest(records: list[Any]) -> str | None:
    """A short digest of a page's records, to notice an API answering the same page again.

    It covers the count and the first, middle and last records (a page of distinct records
    differs from the next in all three; hashing every record would cost ten times more on
    each page of a chain). None for fewer than two records: one record repeated is too likely
    to be real data.
    """
    count = len(records)
    if count < 2:
        return None
    sample = [count, records[0], records[count // 2], records[-1]]
    return hashlib.blake2b(pydantic_core.to_json(sample, fallback=str), digest_size=12).hexdigest()
