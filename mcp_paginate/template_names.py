"""What a template may name, checked when it is read (config load, tool arguments).

A template that names a variable the render does not give (Airbyte's ``last_record``,
``config['x']``, ``next_page_token``, ``stream_slice``…) or reads Airbyte's parsed Link dict
(``headers['link']['next']['url']``) rendered empty: paging stopped after page 1, silently.
Each is refused here with what to write instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator

from jinja2 import nodes
from jinja2.meta import find_undeclared_variables

__all__ = ["PAGE_VARIABLES", "VALUE_VARIABLES", "filter_hint", "template_problem"]

PAGE_VARIABLES = (
    "response",
    "headers",
    "last_records",
    "last_page_size",
    "page_number",
    "records_so_far",
)
"""What a stop_condition or a next cursor template sees: the page just read."""

VALUE_VARIABLES = ("offset", "page", "cursor", "page_size", "value")
"""What a request option's template sees: the position being sent (``value`` is this option's)."""

_ENV = "make it a source param (params = {name = '…'}, a {name} placeholder in the url) or write ${ENV_VAR}"
_AIRBYTE = {
    "last_record": (
        "Airbyte's last_record is last_records[-1] here; for a cursor taken from the last record, "
        'write next = {last_record = "id"}'
    ),
    "config": (
        f"Airbyte's config[...] is not a template variable here: {_ENV} in the source's query or headers"
    ),
    "next_page_token": (
        "Airbyte's next_page_token: the value being sent is 'value' in a request option's template "
        "(also offset, page, cursor); a cursor template computes the next one from response, headers "
        "and last_records"
    ),
    "parameters": "Airbyte's $parameters: write the value itself in the template",
}
for _name in ("stream_slice", "stream_partition", "stream_state", "stream_interval"):
    _AIRBYTE[_name] = (
        f"Airbyte's {_name} (partitions, incremental state) has no equivalent in a pagination template; "
        f"for a fixed value, {_ENV}"
    )

_LINK_HINT = (
    'the Link header is parsed for you: write next = {link = "next"} (cursor_param = {in = "url"}), '
    "which also ends paging when there is no next link (drop a stop_condition that tests it)"
)
_JSON_HEADER_HINT = (
    "a header is text: for a JSON header read a field with (headers['X-Pagination'] | fromjson).total, "
    'or name it in total/has_more/next as {header = "X-Pagination", path = "total"}'
)
_FILTER_HINTS = {
    "regex_search": (
        "Airbyte's regex_search filter is not available (a regular expression from a tool argument can "
        'stall the server): for a next link write next = {link = "next"} or next = {body = "..."}, '
        "or cut text with split, e.g. response.next.split('page=')[1]"
    ),
}


def filter_hint(message: str) -> str:
    """What to write instead of a filter Jinja says it has not (Airbyte's own filters)."""
    for name, hint in _FILTER_HINTS.items():
        if f"No filter named '{name}'" in message:
            return f"; {hint}"
    return ""


_TEXT_METHODS = frozenset(name for name in dir(str) if not name.startswith("_"))


def template_problem(
    source: str, ast: nodes.Template, known: Iterable[str], globals_: Iterable[str]
) -> str | None:
    """Why ``ast`` (parsed from ``source``) cannot render as meant with the variables ``known``,
    or None when it can."""
    allowed = set(known)
    unknown = sorted(find_undeclared_variables(ast) - allowed - set(globals_))
    if unknown:
        name = unknown[0]
        hint = _AIRBYTE.get(name)
        if hint is None and name in VALUE_VARIABLES + PAGE_VARIABLES:
            hint = f"{name!r} is not given to this template"
        if hint is None:
            close = difflib.get_close_matches(name, sorted(allowed), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "no variable of that name is given"
        return f"unknown variable {name!r}: {hint}; the variables here are {', '.join(sorted(allowed))}"
    for node in _header_lookups(ast):
        if _header_name(node) == "link":
            return f"it reads the Link header as Airbyte's parsed dict: {_LINK_HINT}"
        return f"it looks a key up in a header's text: {_JSON_HEADER_HINT}"
    return None


def _header_value(node: nodes.Node) -> bool:
    """Whether ``node`` is one header's value: ``headers['x']``, ``headers.x``, ``headers.get('x')``."""
    if isinstance(node, nodes.Getitem | nodes.Getattr):
        return isinstance(node.node, nodes.Name) and node.node.name == "headers" and not _is_dict_method(node)
    if isinstance(node, nodes.Call) and isinstance(node.node, nodes.Getattr):
        owner = node.node.node
        return isinstance(owner, nodes.Name) and owner.name == "headers" and node.node.attr == "get"
    return False


def _is_dict_method(node: nodes.Getitem | nodes.Getattr) -> bool:
    return isinstance(node, nodes.Getattr) and node.attr in {"get", "items", "keys", "values"}


def _header_lookups(ast: nodes.Template) -> Iterator[nodes.Node]:
    """Header values used as Airbyte's parsed Link dict or looked into by key: a Link header named
    at all, or ``headers['x']['key']`` / ``headers['x'].key`` (a text has no keys)."""
    for node in ast.find_all((nodes.Getitem, nodes.Getattr, nodes.Call)):
        if _header_value(node) and _header_name(node) == "link":
            yield node
    for node in ast.find_all((nodes.Getitem, nodes.Getattr)):
        assert isinstance(node, nodes.Getitem | nodes.Getattr)
        if not _header_value(node.node):
            continue
        if (
            isinstance(node, nodes.Getattr)
            and node.attr not in _TEXT_METHODS
            or (
                isinstance(node, nodes.Getitem)
                and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)
            )
        ):
            yield node.node


def _header_name(node: nodes.Node) -> str | None:
    """The lower-cased header name ``node`` reads, when it is a constant."""
    if isinstance(node, nodes.Getattr):
        return node.attr.lower()
    argument: nodes.Node | None = None
    if isinstance(node, nodes.Getitem):
        argument = node.arg
    elif isinstance(node, nodes.Call) and node.args:
        argument = node.args[0]
    if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
        return argument.value.lower()
    return None
