"""A small TOML writer for source tables, with comments (which TOML libraries do not write).

Scalars, arrays and inline tables are written as TOML 1.0 values; a table's nested tables
(``params``, ``pagination``) get their own ``[header]``; ``None`` values are left out (TOML has
no null).

Example::

    toml_table(["sources", "items"], {"url": "https://x", "pagination": {"mode": "none"}})
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["toml_comment", "toml_key", "toml_table", "toml_value"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def toml_key(key: str) -> str:
    """A key, bare when TOML allows it, else quoted."""
    return key if _BARE_KEY.fullmatch(key) else _string(key)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """A value as TOML: strings, booleans, integers, finite floats, arrays, inline tables.

    Raises:
        ValueError: a value TOML cannot hold (a non-finite float, an object of another type).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"TOML cannot hold the number {value}")
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = [f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items() if v is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(item) for item in value if item is not None) + "]"
    raise ValueError(f"TOML cannot hold a {type(value).__name__}")


def toml_comment(text: str, indent: str = "") -> str:
    """Text as comment lines (``# ...``), one per line of text."""
    return "\n".join(f"# {indent}{line}".rstrip() for line in text.splitlines() or [""])


def toml_table(path: Sequence[str], table: Mapping[str, Any], subtables: Sequence[str] = ()) -> str:
    """``[a.b]`` and its keys; the keys named in ``subtables`` (whose values are tables) follow as
    ``[a.b.key]`` sections, every other table value is written inline."""
    header = ".".join(toml_key(part) for part in path)
    lines = [f"[{header}]"]
    later = []
    for key, value in table.items():
        if value is None:
            continue
        if key in subtables and isinstance(value, Mapping):
            later.append(toml_table([*path, key], value))
        else:
            lines.append(f"{toml_key(key)} = {toml_value(value)}")
    return "\n\n".join(["\n".join(lines), *later])
