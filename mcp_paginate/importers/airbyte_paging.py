"""An Airbyte ``DefaultPaginator`` as our ``[sources.NAME.pagination]`` table.

| Airbyte | ours |
|---|---|
| ``OffsetIncrement`` | ``mode = "offset"``, ``offset_param`` / ``limit_param`` from the two options |
| ``PageIncrement`` | ``mode = "page"``, ``start_page = start_from_page`` |
| ``CursorPagination`` | ``mode = "cursor"``; ``next = {body/header/link/last_record}``, else a template |
| ``RequestOption`` | ``{in = "query"/"header"/"body", name}`` (``field_path`` as a dotted body name) |
| ``RequestPath`` | ``cursor_param = {in = "url"}`` |
| a requester value ``{{ next_page_token['next_page_token'] }}`` | the option where it sits |

Airbyte's Jinja is only pasted (as ``next = {template}`` or ``stop_condition``) where no
structured field fits, rewritten to our variables (``last_record`` is ``last_records[-1]``), and
refused with the reason when it needs what our templates lack (Airbyte's parsed ``Link`` dict,
its own filters and macros, the connector's config).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2.filters
from jinja2 import nodes

from mcp_paginate.importers.jinja_reading import (
    chain_of,
    expression_of,
    jmespath_of,
    parse_template,
    split_blocks,
    variables_of,
)

__all__ = ["TokenPlacement", "Untranslatable", "translate_paginator"]

_STANDARD_FILTERS = set(jinja2.filters.FILTERS)
_LAST_RECORD = re.compile(r"\blast_record\b(?!s)")
_TOKEN_READ = re.compile(
    r"next_page_token\s*(?:\[\s*['\"]next_page_token['\"]\s*\]|\.next_page_token|"
    r"\.get\(\s*['\"]next_page_token['\"]\s*\))"
)
# Airbyte replaces headers['link'] (lower case) with the parsed Link dict; any other spelling
# ('Link') still reads the raw header text, as ours does.
_PARSED_LINK = re.compile(r"headers\s*(\[\s*['\"]link['\"]|\.get\(\s*['\"]link['\"]|\.link\b)")
# '{"after": "' + response.a.b + '"}' if response.a.b else "": a JSON object around one value.
_JSON_OBJECT_CURSOR = re.compile(
    r"""\{\{\s*'\{"(?P<key>\w+)":\s*"'\s*\+\s*(?P<path>[\w.\[\]'"]+)\s*\+\s*'"\}'"""
    r"""(?:\s*if\s+(?P=path)\s+else\s+(?:""|''))?\s*\}\}"""
)
_CURSOR_VARIABLES = {"response", "headers", "last_record", "last_page_size"}


class Untranslatable(Exception):
    """A stream (or one of its parts) that our config cannot express; the message says why."""


TokenPlacement = tuple[str, dict[str, Any]]
"""Where a requester template puts the page token: (the option's ``in``, the option)."""


def translate_paginator(
    paginator: Mapping[str, Any] | None,
    placed_by_template: dict[str, Any] | None,
    size_of: Callable[[Any, str], int | None],
    comments: list[str],
) -> dict[str, Any]:
    """The pagination table for an Airbyte paginator.

    Args:
        paginator: the resolved ``paginator`` component (None for none).
        placed_by_template: the request option that a requester template over
            ``next_page_token`` amounts to, if one does (see ``airbyte.py``).
        size_of: turns a ``page_size`` (number or template) into a number, or None.
        comments: notes on the translation, said in the output.

    Raises:
        Untranslatable: what cannot be expressed, and why.
    """
    if not paginator or paginator.get("type") == "NoPagination":
        return {"mode": "none"}
    if paginator.get("type") != "DefaultPaginator":
        raise Untranslatable(f"paginator {paginator.get('type')} (Python code)")
    strategy = paginator.get("pagination_strategy") or {}
    kind = strategy.get("type")
    if kind == "CustomPaginationStrategy":
        raise Untranslatable(
            f"CustomPaginationStrategy {strategy.get('class_name', '')} (Python code)".strip()
        )
    if kind not in ("OffsetIncrement", "PageIncrement", "CursorPagination"):
        raise Untranslatable(f"pagination strategy {kind!r} is not one Airbyte documents")
    token = _token_option(paginator.get("page_token_option"), placed_by_template, kind)
    size_option = _size_option(paginator.get("page_size_option"), comments)
    page_size = size_of(strategy.get("page_size"), "page_size")
    if kind == "OffsetIncrement":
        table: dict[str, Any] = {"mode": "offset", "offset_param": _not_url(token, kind)}
        table["limit_param"] = size_option if size_option is not None else False
    elif kind == "PageIncrement":
        table = {"mode": "page", "page_param": _not_url(token, kind)}
        table["size_param"] = size_option if size_option is not None else False
        table["start_page"] = int(strategy.get("start_from_page") or 0)
    else:
        table = {"mode": "cursor", "next": None, "cursor_param": token}
        if size_option is not None:
            table["size_param"] = size_option
        next_cursor, stop, nested = _cursor(strategy, comments)
        table["next"] = next_cursor
        if nested is not None:
            if token.get("in") != "body":
                raise Untranslatable("cursor template builds a JSON object sent outside a JSON body")
            table["cursor_param"] = {**token, "name": f"{token['name']}.{nested}"}
            name = f"{token['name']}.{nested}"
            comments.append(f"Airbyte's cursor is the object {{{nested!r}: cursor}}: sent as body {name}")
        if stop is not None:
            table["stop_condition"] = stop
    if page_size is not None:
        table["page_size"] = page_size
    return table


def _not_url(option: dict[str, Any], kind: str) -> dict[str, Any]:
    if option.get("in") == "url":
        raise Untranslatable(f"RequestPath with {kind} (the page number/offset as the URL)")
    return option


def _token_option(
    option: Mapping[str, Any] | None, placed_by_template: dict[str, Any] | None, kind: Any
) -> dict[str, Any]:
    if option is not None and option.get("type") == "RequestPath":
        return {"in": "url"}
    if option is not None:
        translated = request_option(option, "page_token_option")
        if translated is None:
            raise Untranslatable("page_token_option's field name is a template over the config")
        return translated
    if placed_by_template is not None:
        return placed_by_template
    raise Untranslatable(f"{kind} whose token is never sent (no page_token_option)")


def _size_option(option: Mapping[str, Any] | None, comments: list[str]) -> dict[str, Any] | None:
    if option is None:
        return None
    translated = request_option(option, "page_size_option")
    if translated is None:
        comments.append(
            "page_size_option's field name is a template over the config: the page size is not sent"
        )
    return translated


def request_option(option: Mapping[str, Any], what: str) -> dict[str, Any] | None:
    """A ``RequestOption`` as ``{in, name}``; None when its name is a template (unknown now).

    Raises:
        Untranslatable: a form-encoded body (``body_data``), or no name.
    """
    where = option.get("inject_into")
    path = option.get("field_path")
    name = (
        ".".join(str(part) for part in path) if isinstance(path, list) and path else option.get("field_name")
    )
    if not isinstance(name, str) or not name:
        raise Untranslatable(f"{what} has no field_name")
    if "{{" in name:
        return None
    if where == "request_parameter":
        return {"in": "query", "name": name}
    if where == "header":
        return {"in": "header", "name": name}
    if where == "body_json":
        return {"in": "body", "name": name}
    if where == "body_data":
        raise Untranslatable(f"{what} inject_into body_data (form-encoded body)")
    raise Untranslatable(f"{what} inject_into {where!r} is not one Airbyte documents")


def _cursor(
    strategy: Mapping[str, Any], comments: list[str]
) -> tuple[dict[str, Any], str | None, str | None]:
    """(next, stop condition, key) for a CursorPagination; key when Airbyte's cursor is a JSON
    object ``{key: value}`` built as text, which we send as the body's ``option.key``."""
    value = strategy.get("cursor_value")
    if not isinstance(value, str) or not value.strip():
        raise Untranslatable("CursorPagination without a cursor_value")
    stop = strategy.get("stop_condition")
    stop = stop if isinstance(stop, str) and stop.strip() else None
    nested = None
    built = _JSON_OBJECT_CURSOR.fullmatch(value.strip())
    if built is not None:
        value, nested = "{{ " + built.group("path") + " }}", built.group("key")
    next_cursor = _structured_cursor(value)
    if next_cursor is None:
        next_cursor = {"template": _cursor_template(value)}
    if stop is not None and _redundant_stop(stop, next_cursor):
        comments.append(f"dropped stop_condition {stop!r}: a missing next cursor ends paging anyway")
        stop = None
    return next_cursor, None if stop is None else _stop_condition(stop), nested


def _structured_cursor(value: str) -> dict[str, Any] | None:
    chain = chain_of(expression_of(value))
    if chain is None or not chain.keys:
        return None
    if chain.root == "response":
        return {"body": jmespath_of(chain.keys)}
    if chain.root == "last_record":
        return {"last_record": jmespath_of(chain.keys)}
    if chain.root == "headers":
        first = str(chain.keys[0])
        if first != "link":
            return {"header": first} if len(chain.keys) == 1 else None
        if len(chain.keys) == 3 and chain.keys[2] == "url":
            return {"link": str(chain.keys[1])}
        raise Untranslatable("cursor reads a Link-header parameter (Airbyte's parsed Link dict beyond url)")
    return None


def _cursor_template(value: str) -> str:
    _check_template(value, "cursor_value")
    if "'{\"" in value or '"{\\"' in value:
        raise Untranslatable(
            "cursor template builds a JSON object as text (Airbyte reads it back into an object)"
        )
    expression = expression_of(value)
    text = _LAST_RECORD.sub("last_records[-1]", value)
    if expression is not None:
        # Airbyte reads the rendered text back as a Python literal, and a falsy one ({}, 0, [])
        # is no token; ours treats only blank as none, so a falsy value renders blank.
        inner = _missing_is_empty(text.strip()[2:-2].strip())
        text = "{{ (" + inner + ") or '' }}"
    return text


_RESPONSE_CHAIN = re.compile(r"\bresponse((?:\.[A-Za-z_]\w*(?!\w)|\[(?:'[^']*'|\"[^\"]*\")\])+)(?!\s*\()")
_CHAIN_KEY = re.compile(r"\.([A-Za-z_]\w*)|\[(?:'([^']*)'|\"([^\"]*)\")\]")


def _missing_is_empty(expression: str) -> str:
    """``response.meta.next_token`` as ``response.get('meta', {}).get('next_token')``: Airbyte renders
    a key the response lacks as empty (no next token, as on Twitter's last page), ours refuses it."""

    def lenient(match: re.Match[str]) -> str:
        keys = [a or b or c for a, b, c in _CHAIN_KEY.findall(match.group(1))]
        reads = [f".get({key!r}, {{}})" for key in keys[:-1]] + [f".get({keys[-1]!r})"]
        return "response" + "".join(reads)

    return _RESPONSE_CHAIN.sub(lenient, expression)


def _check_template(text: str, what: str) -> None:
    variables = variables_of(text)
    if "config" in variables:
        raise Untranslatable(f"{what} reads the connector's config")
    unknown = sorted(variables - _CURSOR_VARIABLES)
    if unknown:
        raise Untranslatable(f"{what} reads {', '.join(unknown)}, which our templates do not have")
    for block in split_blocks(text):
        if not block.startswith(("{{", "{%")):
            continue
        if _PARSED_LINK.search(block):
            raise Untranslatable(f"{what} reads Airbyte's parsed Link dict (headers['link'])")
    for name in _filters_used(text):
        if name not in _STANDARD_FILTERS:
            raise Untranslatable(f"{what} uses Airbyte filter {name}")


def _filters_used(text: str) -> set[str]:
    tree = parse_template(text)
    if tree is None:
        raise Untranslatable("a template Jinja cannot parse")
    found = {node.name for node in tree.find_all(nodes.Filter)}
    found |= {node.name for node in tree.find_all(nodes.Test) if node.name == "regex_search"}
    return found


def _redundant_stop(stop: str, next_cursor: dict[str, Any]) -> bool:
    """A stop condition that only says "no next link/cursor", which ends paging by itself."""
    if "link" in next_cursor:
        return bool(_PARSED_LINK.search(stop)) and variables_of(stop) == {"headers"}
    if "body" not in next_cursor:
        return False
    expression = expression_of(stop)
    negation = isinstance(expression, nodes.Not)
    absence = isinstance(expression, nodes.Test) and expression.name in ("none", "undefined")
    if not (negation or absence):
        return False
    chain = chain_of(expression.node)  # type: ignore[union-attr]
    return chain is not None and chain.root == "response" and jmespath_of(chain.keys) == next_cursor["body"]


def _stop_condition(stop: str) -> str:
    if _PARSED_LINK.search(stop):
        raise Untranslatable("stop_condition reads Airbyte's parsed Link dict (headers['link'])")
    variables = variables_of(stop)
    if "config" in variables:
        raise Untranslatable("stop_condition reads the connector's config")
    unknown = sorted(variables - _CURSOR_VARIABLES)
    if unknown:
        raise Untranslatable(f"stop_condition reads {', '.join(unknown)}, which our templates do not have")
    for name in _filters_used(stop):
        if name not in _STANDARD_FILTERS:
            raise Untranslatable(f"stop_condition uses Airbyte filter {name}")
    text = _LAST_RECORD.sub("last_records[-1]", stop)
    expression = expression_of(stop)
    boolean = (nodes.Not, nodes.Compare, nodes.Test, nodes.And, nodes.Or)
    if expression is not None and not isinstance(expression, boolean):
        # A bare value: Airbyte stops on anything but False/0/''/{}/[] (None included).
        inner = text.strip()[2:-2].strip()
        falsy = "['False', 'false', '{}', '[]', '()', '', '0', '0.0']"
        text = "{{ (" + inner + ") is none or ((" + inner + ") | string) not in " + falsy + " }}"
    return text


def token_placement(key_path: str, where: str, value: str) -> dict[str, Any] | None:
    """The request option a requester value over ``next_page_token`` amounts to, or None when
    the value reads the token in another way (conditionally, with other values).

    ``{{ next_page_token['next_page_token'] }}`` is the option itself; text around it or an
    expression over it becomes the option's template, with the token as ``value``.
    """
    replaced = _TOKEN_READ.sub("value", value)
    if "next_page_token" in replaced:
        return None
    if set(variables_of(replaced)) - {"value"}:
        return None
    option: dict[str, Any] = {"in": where, "name": key_path}
    if expression_of(value) is None or chain_of(expression_of(replaced)) is None:
        stripped = replaced.strip()
        if len(stripped) > 1 and stripped[0] == stripped[-1] and stripped[0] in "'\"":
            stripped = stripped[1:-1]  # Airbyte reads the rendered text back as a Python literal
        option["template"] = stripped
    return option
