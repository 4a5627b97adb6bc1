"""The inline budget: how many records fit in a tool result's text.

A tool result carries its records as JSON text; `server.max_inline_chars` bounds that text so
one result never floods an assistant's context. `fit` takes the leading records that fit,
measured in the same text `json_text` writes.
"""

from __future__ import annotations

from typing import Any

import pydantic_core

__all__ = ["fit", "json_text"]


def json_text(value: Any) -> str:
    """``value`` as the JSON text a tool result carries (UTF-8 characters, not ``\\u`` escapes);
    the inline budget is measured in the same text."""
    return pydantic_core.to_json(value, fallback=str).decode()


def fit(records: list[Any], budget: int, *, at_least_one: bool = True) -> tuple[list[Any], bool, int]:
    """The leading records whose JSON fits ``budget`` characters, whether any were cut, and the
    characters they take (each record's JSON plus a separator). ``at_least_one`` keeps the first
    record even when it alone is over the budget: a list_page result is never empty for size
    alone, as its records are nowhere else (fetch_all's are all in results_uri)."""
    if not records:
        return records, False, 0
    whole = _chars(records) - 1  # less "[]", plus ","s
    if whole <= budget:
        return records, False, whole  # the common case, in one pass
    used = 0
    for index, record in enumerate(records):
        size = _chars(record) + 1
        if used + size > budget and (index > 0 or not at_least_one):
            return records[:index], True, used
        used += size
    return records, False, used


def _chars(value: Any) -> int:
    return len(json_text(value))
