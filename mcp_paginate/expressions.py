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
from contextvars import ContextVar
from typing import Any

import jmespath
import jmespath.exceptions
from jinja2 import ChainableUndefined, StrictUndefined, TemplateError, Undefined
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
    """

    intercepted_binops = frozenset({"*", "**"})

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
