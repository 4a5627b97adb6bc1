"""Reading Airbyte's Jinja: which templates are plain paths, and into what.

Airbyte writes a cursor as ``{{ response.get("meta", {}).get("next") }}`` or
``{{ response['meta']['next'] }}``; a config value as ``{{ config['api_key'] }}``. These are
paths, and a path has a structured form in our config (``next = {body = "meta.next"}``,
``${ENV}``, ``{param}``). This module parses templates with Jinja's own parser and recognises
such paths; anything else is reported as not a path, never guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

__all__ = [
    "Chain",
    "chain_of",
    "expression_of",
    "jmespath_of",
    "names_in",
    "parse_template",
    "split_blocks",
    "variables_of",
]

_ENVIRONMENT = Environment()
_BLOCK = re.compile(r"({{.*?}}|{%.*?%})", re.DOTALL)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_KEPT_FILTERS = {"string", "trim", "tojson", "urlencode"}


@dataclass(frozen=True)
class Chain:
    """``root[k1][k2]…``: a variable and the keys (or list indexes) read from it, with the
    default given by a final ``.get(k, default)`` or ``| default(x)``, if any."""

    root: str
    keys: tuple[str | int, ...]
    default: Any = None
    filters: tuple[str, ...] = ()


def split_blocks(text: str) -> list[str]:
    """Text split into literal pieces and ``{{ }}`` / ``{% %}`` blocks, in order."""
    return [piece for piece in _BLOCK.split(text) if piece]


def expression_of(text: str) -> nodes.Expr | None:
    """The expression of a template that is exactly one ``{{ expression }}``, else None."""
    stripped = text.strip()
    if not (stripped.startswith("{{") and stripped.endswith("}}")) or len(split_blocks(stripped)) != 1:
        return None
    try:
        body = _ENVIRONMENT.parse(stripped).body
    except TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], nodes.Output) or len(body[0].nodes) != 1:
        return None
    node = body[0].nodes[0]
    return node if isinstance(node, nodes.Expr) else None


def parse_template(text: str) -> nodes.Template | None:
    """Jinja's syntax tree of a template, or None when Jinja cannot parse it."""
    try:
        return _ENVIRONMENT.parse(text)
    except TemplateSyntaxError:
        return None


def variables_of(text: str) -> set[str]:
    """The variables a template reads (empty for plain text or a template Jinja cannot parse)."""
    try:
        return set(meta.find_undeclared_variables(_ENVIRONMENT.parse(text)))
    except TemplateSyntaxError:
        return set()


def chain_of(node: nodes.Node | None) -> Chain | None:
    """The `Chain` an expression is, or None when it is anything else (a test, arithmetic,
    a call of anything but ``.get``, a filter that changes the value)."""
    if node is None:
        return None
    filters: list[str] = []
    default: Any = None
    while isinstance(node, nodes.Filter):
        if node.name == "default" and node.args and isinstance(node.args[0], nodes.Const):
            default = node.args[0].value
        elif node.name not in _KEPT_FILTERS:
            return None
        filters.append(node.name)
        node = node.node
    keys: list[str | int] = []
    first = True
    while not isinstance(node, nodes.Name):
        if node is None:
            return None
        if isinstance(node, nodes.Getattr):
            keys.append(node.attr)
            node = node.node
        elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
            if not isinstance(node.arg.value, str | int) or isinstance(node.arg.value, bool):
                return None
            keys.append(node.arg.value)
            node = node.node
        elif _is_get_call(node):
            assert isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr)
            keys.append(node.args[0].value)  # type: ignore[attr-defined]
            if first and len(node.args) == 2:
                default = _const_value(node.args[1])
            node = node.node.node
        else:
            return None
        first = False
    return Chain(node.name, tuple(reversed(keys)), default, tuple(reversed(filters)))


def _is_get_call(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Getattr)
        and node.node.attr == "get"
        and 1 <= len(node.args) <= 2
        and not node.kwargs
        and isinstance(node.args[0], nodes.Const)
        and isinstance(node.args[0].value, str | int)
        and (len(node.args) == 1 or _const_value(node.args[1]) is not _NOT_CONST)
    )


_NOT_CONST = object()


def _const_value(node: nodes.Node) -> Any:
    if isinstance(node, nodes.Const):
        return node.value
    if isinstance(node, nodes.Dict) and not node.items:
        return {}
    if isinstance(node, nodes.List) and not node.items:
        return []
    return _NOT_CONST


def jmespath_of(keys: tuple[str | int, ...]) -> str:
    """Keys as a JMESPath: ``meta.next``, ``data[-1].id``, ``"@odata.nextLink"``."""
    parts: list[str] = []
    for key in keys:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            name = (
                key
                if _PLAIN_KEY.fullmatch(key)
                else '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'
            )
            parts.append(("." if parts else "") + name)
    return "".join(parts) or "@"


def names_in(node: nodes.Node) -> Iterator[str]:
    """Every variable name an expression reads."""
    for found in node.find_all(nodes.Name):
        yield found.name
