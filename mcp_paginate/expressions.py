"""Compiled JMESPath paths and sandboxed Jinja templates, cached by source text.

Paths and templates come from config files and from the assistant; both are
compiled once (`functools.lru_cache`) and validated when a spec is parsed, so a
typo is reported before any request is sent and no page re-parses them.
"""

from __future__ import annotations

import functools
import json
import math
import re
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
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = [
    "compile_path",
    "compile_template",
    "render_condition",
    "render_cursor",
    "render_value",
    "search",
]

_MAX_BUILT = 100_000
"""Longest string or list a template may build with ``*``, and largest ``**`` result in digits."""

_MAX_WORK = 10_000
"""Most steps one render may take: a loop item, a call, a filter (plus one per 100 items it is
given, so ``range(100000) | sum`` costs 1,001). Stop conditions and cursor templates read one
page; they need far fewer."""

_SIZED = (str, list, tuple, dict, range)
"""Values a filter is charged for by size."""

_COUNTED = "(counted)"
"""The filter every ``for`` loop's items pass through; no template can name it."""


class _Work:
    """The steps left to the render under way."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = _MAX_WORK


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


class _BudgetedTemplate(Template):
    """A template whose every render has its own work budget (`_MAX_WORK`), so a loop in a
    template from an assistant cannot hold the event loop (every other tool call waits on it)."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        token = _work.set(_Work())
        try:
            return super().render(*args, **kwargs)
        finally:
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


def _charged(function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that costs a step, and one more per 100 items of the value it is given."""
    position = 0 if getattr(function, "jinja_pass_arg", None) is None else 1

    @functools.wraps(function)  # keeps ``jinja_pass_arg``: the context still comes first
    def charged(*args: Any, **kwargs: Any) -> Any:
        value = args[position] if len(args) > position else None
        _spend(1 + len(value) // 100 if isinstance(value, _SIZED) else 1)
        return function(*args, **kwargs)

    return charged


class _Sandbox(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox, stricter in two ways and closer to JSON in one.

    - ``response.items`` is the response's ``items`` field. Jinja looks an attribute up before
      a key, so a JSON key named like a dict method (items, keys, values, get, pop, copy,
      update…) gave the method instead. A dict's own key now wins; without one, the lookup
      is Jinja's (``response.items()`` still iterates).
    - Touching an unsafe attribute (``''.__class__``) raises `SecurityError` at once. The stock
      sandbox returns an Undefined that raises only when used, and a lenient Undefined renders
      it as an empty string: an escape attempt would silently end paging instead of failing.
    - ``*`` and ``**`` are size-checked, so ``'x' * 10**10`` cannot exhaust memory or stall
      the event loop (templates come from assistants as well as config files).
    - Every render has a work budget (`_MAX_WORK` steps: loop items, calls, filters), so nested
      loops or recursive macros fail at once instead of holding the event loop for minutes.
    """

    intercepted_binops = frozenset({"*", "**"})
    template_class = _BudgetedTemplate

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.filters = {name: _charged(function) for name, function in self.filters.items()}
        self.filters[_COUNTED] = _counted

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _COUNTED, [], [], None, None, lineno=loop.iter.lineno)
        return tree

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _spend(1)  # a macro that calls itself twice would otherwise run 2**depth times
        return super().call(__context, __obj, *args, **kwargs)

    def getattr(self, obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute in obj:  # parsed JSON: objects are plain dicts
            return obj[attribute]
        return super().getattr(obj, attribute)

    def unsafe_undefined(self, obj: Any, attribute: str) -> Undefined:
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            huge = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
            if huge and right * math.log10(abs(left)) > _MAX_BUILT:
                raise SecurityError(f"{left} ** {right} is too large for a template")
        else:
            for sequence, times in ((left, right), (right, left)):
                sized = isinstance(sequence, str | list | tuple) and isinstance(times, int)
                if sized and len(sequence) * times > _MAX_BUILT:
                    raise SecurityError(f"a template may not build a value longer than {_MAX_BUILT:,} items")
        return super().call_binop(context, operator, left, right)


def _json_spelling(value: Any) -> Any:
    """An object or array renders as compact JSON text (``{"a":1}``), not Python's ``{'a': 1}``."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _null_empty(value: Any) -> Any:
    """A JSON null renders as nothing, not as Python's ``None``."""
    return "" if value is None else _json_spelling(value)


_values_rendered: ContextVar[list[bool] | None] = ContextVar("_values_rendered", default=None)
"""While `render_cursor` renders: whether each ``{{ }}`` value it output was non-blank."""


def _null_or_false_empty(value: Any) -> Any:
    """A JSON null or false renders as nothing: for a cursor template, "no next cursor"
    (``{{ response.meta.next_token }}`` on the last page), never the text "None" sent as one."""
    shown = "" if value is None or value is False else _json_spelling(value)
    rendered = _values_rendered.get()
    if rendered is not None:
        rendered.append(bool(str(shown).strip()))
    return shown


# Templates may read the response, never call methods that mutate it or reach Python
# internals. Missing fields render empty, even through chains such as
# ``last_records[-1]['key']`` on an empty page (a missing field is normal in API
# responses), and so do null and false values; StrictUndefined is used for value templates
# where a missing variable is a bug (a null one still renders empty there).
_environment = _Sandbox(autoescape=False, undefined=ChainableUndefined, finalize=_null_or_false_empty)
_strict_environment = _Sandbox(autoescape=False, undefined=StrictUndefined, finalize=_null_empty)


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
    try:
        return environment.from_string(source)
    except TemplateError as exc:
        raise ValueError(f"invalid template {source!r}: {exc}") from exc


def render_value(source: str, variables: dict[str, Any]) -> str:
    """Render a value template (e.g. ``"{{ offset }},{{ page_size }}"``) to a string; a null
    value renders empty, an undefined variable is an error."""
    try:
        return str(compile_template(source, strict=True).render(**variables))
    except Exception as exc:  # user code: TypeError, ZeroDivisionError... are its failures too
        raise ValueError(f"template {source!r} failed: {_reason(exc)}") from exc


def render_cursor(source: str, variables: dict[str, Any]) -> str | None:
    """Render a cursor template leniently; None when it gives no next cursor.

    There is none when the template renders blank, or when every ``{{ }}`` value in it renders
    blank (missing, null, false or empty), whatever literal text surrounds them:
    ``"p-{{ response.next }}"`` on the last page is no cursor, not ``"p-"``.
    """
    template = compile_template(source)  # before counting: constants are output at compile time
    rendered: list[bool] = []
    token = _values_rendered.set(rendered)
    try:
        text = str(template.render(**variables)).strip()
    except Exception as exc:  # user code: TypeError, ZeroDivisionError... are its failures too
        raise ValueError(f"template {source!r} failed: {_reason(exc)}") from exc
    finally:
        _values_rendered.reset(token)
    if not text or (rendered and not any(rendered)):
        return None
    return text


def render_condition(source: str, variables: dict[str, Any]) -> bool:
    """Render a stop condition and read it as a boolean.

    Accepts both ``"{{ response.more is false }}"`` (Airbyte style) and a bare
    expression ``"response.more is false"``.
    """
    text = source if "{{" in source or "{%" in source else "{{ " + source + " }}"
    try:
        rendered = str(compile_template(text).render(**variables)).strip().lower()
    except Exception as exc:  # user code: any exception is the condition's failure
        raise ValueError(f"stop_condition {source!r} failed: {_reason(exc)}") from exc
    return rendered in {"true", "1", "yes"}


def _reason(exc: Exception) -> str:
    """Jinja's own message, or the Python error's type and message for anything else."""
    return str(exc) if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {exc}"
