"""Compiled JMESPath paths and sandboxed Jinja templates, cached by source text.

Paths and templates come from config files and from the assistant; both are
compiled once (`functools.lru_cache`) and validated when a spec is parsed, so a
typo is reported before any request is sent and no page re-parses them.

A template is bounded three ways: in steps (`_MAX_WORK`), in memory (every value it builds,
sized before it exists: `mcp_paginate.template_bounds`), and in what it may name (variables
and lookups that would render empty: `mcp_paginate.template_names`). A key or attribute that
does not exist is an error naming it, not an empty string; ``is defined``, ``default`` and
``.get()`` still read an optional one.
"""

from __future__ import annotations

import functools
import json
import re
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from typing import Any

import jmespath
import jmespath.exceptions
from jinja2 import (
    ChainableUndefined,
    StrictUndefined,
    Template,
    TemplateError,
    Undefined,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter

from mcp_paginate.template_bounds import (
    BoundedFormatter,
    Built,
    bounded_binop,
    bounded_filter,
    bounded_method,
    built,
    check_text,
    limit_text,
    text_size,
)
from mcp_paginate.template_names import PAGE_VARIABLES, VALUE_VARIABLES, filter_hint, template_problem

__all__ = [
    "PAGE_VARIABLES",
    "HeaderMap",
    "VALUE_VARIABLES",
    "check_template",
    "condition_text",
    "compile_path",
    "compile_template",
    "render_condition",
    "render_cursor",
    "render_value",
    "search",
]

MAX_SOURCE = 2_000
"""Longest template source: ten times the longest of 3,123 Airbyte cursor and stop templates."""

_MAX_WORK = 10_000
"""Most steps one render may take: a loop item, a call, a filter (plus one per 100 items it is
given, so ``range(100000) | sum`` costs 1,001). Stop conditions and cursor templates read one
page; they need far fewer."""

_MAX_SECONDS = 1.0
"""Longest one render may run, whatever its steps: a filter's per-item work (an attribute read
through the sandbox for each of 100,000 items) costs time the step count does not see. Legitimate
pagination templates render in microseconds."""

_SIZED = (str, list, tuple, dict, range)
"""Values a filter is charged for by size."""

_COUNTED = "(counted)"
"""The filter every ``for`` loop's items pass through; no template can name it."""

_CONCAT = "(concat)"
"""The filter ``a ~ b`` becomes, so that its result is sized first."""

_LITERAL = "(literal)"
"""The filter a template's literal text passes through, so that it counts as output."""


class _Work:
    """The steps left to the render under way, and the characters it has output."""

    __slots__ = ("deadline", "left", "output")

    def __init__(self) -> None:
        self.left = _MAX_WORK
        self.output = 0
        self.deadline = time.monotonic() + _MAX_SECONDS


_work: ContextVar[_Work | None] = ContextVar("template_work", default=None)


def _spend(steps: int) -> None:
    """Count steps against the render under way; past `_MAX_WORK`, the render fails."""
    work = _work.get()
    if work is not None:
        work.left -= steps
        if work.left < 0:
            raise SecurityError(
                f"the template took more than {_MAX_WORK:,} steps (loop items, calls, filters); "
                "a pagination template needs far fewer"
            )
        _in_time(work)


def _in_time(work: _Work | None) -> None:
    """Fail the render under way once it has run `_MAX_SECONDS` (checked at every step and
    every attribute or item read, so inside a filter's per-item work too)."""
    if work is not None and time.monotonic() > work.deadline:
        raise SecurityError(
            f"the template ran for more than {_MAX_SECONDS:g} s; a pagination template renders in "
            "microseconds"
        )


def _output(size: int) -> None:
    """Count characters output by the render under way (literal text and ``{{ }}`` values, in
    blocks and macros too); past `MAX_TEXT`, the render fails."""
    work = _work.get()
    if work is not None:
        work.output += size
        limit_text(work.output, "the template's output")


class _BudgetedTemplate(Template):
    """A template whose every render has its own work budget (`_MAX_WORK`), so a loop in a
    template from an assistant cannot hold the event loop (every other tool call waits on it)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _work.set(_Work())
        building = built.set(Built())
        try:
            return super().render(*args, **kwargs)
        finally:
            built.reset(building)
            _work.reset(token)


@pass_context
def _counted(context: Context, items: Iterable[Any]) -> Iterable[Any]:
    """A ``for`` loop's items, one step each: at once when they can be counted (a list, a string,
    a range), else as they come (a generator from a filter)."""
    try:
        size = len(items)  # type: ignore[arg-type]
    except TypeError:
        return _one_step_each(items)
    _spend(size)
    return items


def _one_step_each(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        _spend(1)
        yield item


def _metered(items: Iterator[Any]) -> Iterator[Any]:
    """A filter's input that is a generator (another filter's output), charged as it is read:
    a step per 100 items, as a sized input is charged up front."""
    for count, item in enumerate(items):
        if count % 100 == 99:
            _spend(1)
        yield item


@pass_context
def _concat(context: Context, parts: list[Any]) -> str:
    """``a ~ b ~ c``: sized before it is joined."""
    check_text(sum(text_size(part) for part in parts), "concatenating with '~'")
    return "".join(str(part) for part in parts)


class _Literal(str):
    """Literal template text on its way out: already counted, and no ``{{ }}`` value."""

    __slots__ = ()


@pass_context
def _literal(context: Context, text: str) -> _Literal:
    _output(len(text))
    return _Literal(text)


def _charged(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that costs a step, and one more per 100 items of the value it is given."""
    position = 0 if getattr(function, "jinja_pass_arg", None) is None else 1

    @functools.wraps(function)  # keeps ``jinja_pass_arg``: the context still comes first
    def charged(*args: Any, **kwargs: Any) -> Any:
        value = args[position] if len(args) > position else None
        _spend(1 + len(value) // 100 if isinstance(value, _SIZED) else 1)
        if isinstance(value, Iterator):
            args = (*args[:position], _metered(value), *args[position + 1 :])
        return function(*args, **kwargs)

    return charged


def _bounded(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    position = 0 if getattr(function, "jinja_pass_arg", None) is None else 1
    return functools.wraps(function)(bounded_filter(name, function, position))


def _fromjson(text: Any) -> Any:
    """``headers['X-Pagination'] | fromjson``: JSON text parsed (flask-smorest's header)."""
    if isinstance(text, Undefined) or text is None:
        return None
    if not isinstance(text, str | bytes):
        raise ValueError(f"fromjson needs text, got {type(text).__name__}")
    check_text(len(text), "fromjson")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"fromjson: the text is not JSON ({exc})") from None


def _keys_of(value: Any) -> str:
    keys = [str(key)[:40] for key in list(value)[:12]]
    more = ", …" if len(value) > 12 else ""
    return ", ".join(keys) + more if keys else "none"


class _Missing(ChainableUndefined, StrictUndefined):
    """A key or attribute that does not exist: an error naming it as soon as it is used (output,
    compared, tested for truth), while ``is defined`` and ``default`` still read it, through
    chains too (``response.a.b is defined``)."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        name, owner = self._undefined_name, self._undefined_obj
        if owner is None or name is None:
            return super()._undefined_message
        optional = f"where the API can leave it out, test it with 'is defined' or read it with .get({name!r})"
        if isinstance(owner, dict):
            return f"no key {name!r} (there are: {_keys_of(owner)}); {optional}"
        if isinstance(owner, str | bytes):
            return f"{name!r} looked up in a text value, which has no keys or fields"
        if isinstance(owner, list | tuple):
            return f"{name!r} looked up in a list of {len(owner)} items; index it with a number"
        return f"{type(owner).__name__} value has no {name!r}"


class _Absent(ChainableUndefined):
    """An item past the end of a list (``last_records[-1]`` on an empty page): no value, the
    way an empty page has no last record."""

    __slots__ = ()


class _Formatter(SandboxedFormatter, BoundedFormatter):
    """``str.format`` in the sandbox: its field lookups checked, its result sized first."""


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, stricter in several ways and closer to JSON in one.

    - ``response.items`` is the response's ``items`` field. Jinja looks an attribute up before
      a key, so a JSON key named like a dict method (items, keys, values, get, pop, copy,
      update…) gave the method instead. A dict's own key now wins; without one, the lookup
      is Jinja's (``response.items()`` still iterates).
    - Touching an unsafe attribute (``''.__class__``) raises `SecurityError` at once. The stock
      sandbox returns an Undefined that raises only when used, and a lenient Undefined renders
      it as an empty string: an escape attempt would silently end paging instead of failing.
    - A key that does not exist is `_Missing` (an error when used); a field of a JSON null is
      null and an item past a list's end `_Absent` (no value); a header the response lacks is
      null (headers are optional by nature).
    - Every value built is sized first (`mcp_paginate.template_bounds`): operators, methods of
      str/bytes/int, ``str.format``, filters, ``~`` and the output itself.
    - Every render has a work budget (`_MAX_WORK` steps: loop items, calls, filters), so nested
      loops or recursive macros fail at once instead of holding the event loop for minutes.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    template_class = _BudgetedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _charged(_bounded(name, function)) for name, function in self.filters.items()}
        self.filters["fromjson"] = _charged(_fromjson)
        self.filters[_COUNTED] = _counted
        self.filters[_CONCAT] = _concat
        self.filters[_LITERAL] = _literal
        self.globals.pop("lipsum", None)  # lorem ipsum of any length: no use in paging

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.iter.lineno)
        for output in tree.find_all(nodes.Output):
            output.nodes = [
                nodes.Filter(child, _LITERAL, [], [], None, None, lineno=child.lineno)
                if isinstance(child, nodes.TemplateData)
                else child
                for child in output.nodes
            ]
        for concat in list(tree.find_all(nodes.Concat)):
            parts = nodes.List(concat.nodes, lineno=concat.lineno)
            concat.nodes = [nodes.Filter(parts, _CONCAT, [], [], None, None, lineno=concat.lineno)]
        return tree

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend(1)  # a macro that calls itself twice would otherwise run 2**depth times
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        _in_time(_work.get())
        if type(obj) is dict and attribute in obj:  # parsed JSON: objects are plain dicts
            return obj[attribute]
        return self._found(obj, attribute, super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        _in_time(_work.get())
        return self._found(obj, argument, super().getitem(obj, argument))

    def _found(self, obj: Any, key: Any, value: Any) -> Any:
        if isinstance(value, Undefined):
            if obj is None or isinstance(obj, HeaderMap):
                return None
            if isinstance(obj, _Absent) or (isinstance(obj, list | tuple) and isinstance(key, int)):
                return _Absent(obj=obj, name=key)
            return value
        return bounded_method(value)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        f_self: str = value.__self__
        is_format_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                return str(_Formatter(self).vformat(f_self, (), args[0]))
            return str(_Formatter(self).vformat(f_self, args, kwargs))

        return bounded

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        bounded_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)


class HeaderMap(dict[str, str]):
    """Response headers for templates, looked up in any case as HTTP names them
    (``headers['X-Total-Count']``); the keys are lower-case. A header the response lacks is
    null in a template, not an error."""

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower() if isinstance(name, str) else name, default)

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)


def _json_spelling(value: Any) -> Any:
    """An object or array renders as compact JSON text (``{"a":1}``), not Python's ``{'a': 1}``."""
    if isinstance(value, dict | list):
        check_text(text_size(value), "rendering a value")  # nested text counts six times already
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _shown(value: Any) -> Any:
    """A value on its way out, counted against the render's output."""
    if not isinstance(value, Undefined):
        _output(text_size(value))
    return value


def _null_empty(value: Any) -> Any:
    """A JSON null renders as nothing, not as Python's ``None``."""
    if type(value) is _Literal:
        return value
    return "" if value is None else _shown(_json_spelling(value))


_values_rendered: ContextVar[list[bool] | None] = ContextVar("_values_rendered", default=None)
"""While `render_cursor` renders: whether each ``{{ }}`` value it output was non-blank."""


def _null_or_false_empty(value: Any) -> Any:
    """A JSON null or false, or an empty object or array, renders as nothing: for a cursor
    template, "no next cursor" (``{{ response.meta.next_token }}`` on the last page), never the
    text "None" (or "{}") sent as one."""
    if type(value) is _Literal:
        return value
    empty = value is None or value is False or (isinstance(value, dict | list) and not value)
    shown = "" if empty else _shown(_json_spelling(value))
    rendered = _values_rendered.get()
    if rendered is not None:
        rendered.append(bool(str(shown).strip()))
    return shown


# Templates may read the response, never call methods that mutate it or reach Python
# internals. A key that does not exist is an error when used (`_Missing`); a null value, and
# in cursor templates a false one, renders empty.
_environment = _Sandbox(autoescape=False, undefined=_Missing, finalize=_null_or_false_empty)
_strict_environment = _Sandbox(autoescape=False, undefined=_Missing, finalize=_null_empty)


_FIELDS = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


class _FieldPath:
    """A JMESPath of plain field names (``meta.next_token``), evaluated by dictionary lookups:
    the same answer as JMESPath's (a field of anything but an object is null), several times
    faster. Most paths are of this kind, and some are read on every page."""

    def __init__(self, expression: str) -> None:
        self.fields = tuple(expression.split("."))

    def search(self, data: Any) -> Any:
        for name in self.fields:
            if not isinstance(data, dict):
                return None
            data = data.get(name)
        return data


@functools.lru_cache(maxsize=1024)
def compile_path(expression: str) -> Any:
    """Compile a JMESPath expression; raises ValueError with the parser's message."""
    if _FIELDS.fullmatch(expression):
        return _FieldPath(expression)
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {expression!r}: {exc}") from exc


def search(expression: str, data: Any) -> Any:
    """Evaluate a JMESPath expression against data; None when the path does not exist."""
    try:
        return compile_path(expression).search(data)
    except jmespath.exceptions.JMESPathError:
        # Type errors at evaluation time (e.g. a function applied to the wrong type)
        # mean "no value here", as a missing key does.
        return None


@functools.lru_cache(maxsize=512)
def compile_template(source: str, *, strict: bool = False) -> Any:
    """Compile a sandboxed Jinja template; raises ValueError with the syntax error."""
    environment = _strict_environment if strict else _environment
    if len(source) > MAX_SOURCE:
        raise ValueError(
            f"template {_quoted(source)} is {len(source):,} characters long; "
            f"at most {MAX_SOURCE:,} are accepted"
        )
    try:
        return environment.from_string(source)
    except TemplateError as exc:
        raise ValueError(f"invalid template {_quoted(source)}: {exc}{filter_hint(str(exc))}") from exc


def check_template(source: str, variables: Iterable[str], *, strict: bool = False) -> None:
    """Compile ``source`` and refuse what would render empty instead of failing: a variable not
    among ``variables`` (Airbyte's ``last_record``, ``config``…, with the equivalent named), a
    key looked up in a header's text (Airbyte's parsed ``headers['link']``). Raises ValueError."""
    compile_template(source, strict=strict)
    environment = _strict_environment if strict else _environment
    problem = template_problem(source, environment.parse(source), variables, environment.globals)
    if problem is not None:
        raise ValueError(f"template {_quoted(source)}: {problem}")


def condition_text(source: str) -> str:
    """A stop condition as a template: ``"response.more is false"`` is ``"{{ response.more is false }}"``."""
    return source if "{{" in source or "{%" in source else "{{ " + source + " }}"


def render_value(source: str, variables: dict[str, Any]) -> str:
    """Render a value template (e.g. ``"{{ offset }},{{ page_size }}"``) to a string; a null
    value renders empty, an undefined variable is an error."""
    try:
        return str(compile_template(source, strict=True).render(**variables))
    except Exception as exc:  # user code: TypeError, ZeroDivisionError... are its failures too
        raise ValueError(f"template {_quoted(source)} failed: {_reason(exc)}") from exc


_NO_CURSOR = frozenset({"{}", "[]", "none", "null", "undefined"})
"""What a cursor template renders when the value it read was empty: ``{{ response.get('next', {}) }}``
over no next, ``{{ response.next | tojson }}`` over a null."""


def render_cursor(source: str, variables: dict[str, Any]) -> str | None:
    """Render a cursor template; None when it gives no next cursor.

    There is none when the template renders blank, ``{}``, ``[]``, ``None`` or ``null``, or when
    every ``{{ }}`` value in it renders blank (null, false or empty), whatever literal text
    surrounds them: ``"p-{{ response.next }}"`` on the last page is no cursor, not ``"p-"``.
    """
    template = compile_template(source)  # before counting: constants are output at compile time
    rendered: list[bool] = []
    token = _values_rendered.set(rendered)
    try:
        text = str(template.render(**variables)).strip()
    except Exception as exc:  # user code: TypeError, ZeroDivisionError... are its failures too
        raise ValueError(f"template {_quoted(source)} failed: {_reason(exc)}") from exc
    finally:
        _values_rendered.reset(token)
    if not text or text.lower() in _NO_CURSOR or (rendered and not any(rendered)):
        return None
    return text


def render_condition(source: str, variables: dict[str, Any]) -> bool:
    """Render a stop condition and read it as a boolean.

    Accepts both ``"{{ response.more is false }}"`` (Airbyte style) and a bare
    expression ``"response.more is false"``.
    """
    try:
        rendered = str(compile_template(condition_text(source)).render(**variables)).strip().lower()
    except Exception as exc:  # user code: any exception is the condition's failure
        raise ValueError(f"stop_condition {_quoted(source)} failed: {_reason(exc)}") from exc
    return rendered in {"true", "1", "yes"}


def _quoted(source: str) -> str:
    """A template in a message: whole when short, else its start."""
    return repr(source) if len(source) <= 200 else repr(source[:200]) + f"… ({len(source):,} characters)"


def _reason(exc: Exception) -> str:
    """Jinja's own message, or the Python error's type and message for anything else."""
    return str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
