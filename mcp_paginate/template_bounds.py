"""Memory bounds for sandboxed templates: every value a template builds is sized before it exists.

Pagination templates come from assistants as well as config files, so a template may be
hostile. The work budget (`mcp_paginate.expressions`) counts steps; this module bounds what
each step may allocate. Every operation that can build a large value from a small template —
repetition, concatenation, ``%`` and ``format``, padding (``ljust``, ``center``, ``zfill``…),
``replace``, ``join``, ``translate``, the filters that pad, repeat or serialise — is checked
here against `MAX_TEXT`, `MAX_ITEMS` and `MAX_DIGITS` *before* Python allocates the result,
and fails with `TemplateLimitError`.
"""

from __future__ import annotations

import itertools
import math
import re
import string
from collections.abc import Callable, Iterable, Mapping
from contextvars import ContextVar
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError

__all__ = [
    "MAX_BUILT",
    "MAX_DIGITS",
    "MAX_ITEMS",
    "MAX_TEXT",
    "BoundedFormatter",
    "Built",
    "TemplateLimitError",
    "bounded_binop",
    "bounded_filter",
    "bounded_method",
    "built",
    "check_items",
    "check_text",
    "limit_text",
    "text_size",
]

MAX_TEXT = 1_000_000
"""Longest string (characters) or bytes a template may build, and most it may output in one render."""

MAX_ITEMS = 100_000
"""Most items a list, tuple or dict built by a template may hold."""

MAX_DIGITS = 4_096
"""Most decimal digits of an integer a template may build."""

MAX_BUILT = 16 * MAX_TEXT
"""Most bytes one render may build in all (every string, bytes, list and number counted as it
is built, freed or not): values held at once, in a namespace or a list, cannot add up past it."""

_MAX_BITS = math.ceil(MAX_DIGITS * math.log2(10))


class Built:
    """What the render under way has built so far, in bytes (see `MAX_BUILT`)."""

    __slots__ = ("size",)

    def __init__(self) -> None:
        self.size = 0


built: ContextVar[Built | None] = ContextVar("template_built", default=None)
"""The render under way's `Built`; set by each render (`mcp_paginate.expressions`)."""


def _charge(size: int) -> None:
    total = built.get()
    if total is not None:
        total.size += size
        if total.size > MAX_BUILT:
            raise TemplateLimitError(
                f"the template built more than {MAX_BUILT:,} bytes in all; a template may build at most "
                f"{MAX_BUILT:,} in one render (pagination templates read a page, they never need this much)"
            )


class TemplateLimitError(SecurityError):
    """A template tried to build a value past the limits."""


def _too_big(what: str, size: int, limit: int, unit: str) -> TemplateLimitError:
    return TemplateLimitError(
        f"{what} would build {size:,} {unit}; a template may build at most {limit:,} "
        "(pagination templates read a page, they never need values this large)"
    )


def limit_text(size: int, what: str) -> None:
    """Refuse a text longer than `MAX_TEXT`."""
    if size > MAX_TEXT:
        raise _too_big(what, size, MAX_TEXT, "characters")


def check_text(size: int, what: str) -> None:
    """Refuse a text about to be built past `MAX_TEXT`, or past the render's `MAX_BUILT`."""
    limit_text(size, what)
    _charge(size)


def check_items(size: int, what: str) -> None:
    """Refuse a list about to be built past `MAX_ITEMS`, or past the render's `MAX_BUILT`."""
    if size > MAX_ITEMS:
        raise _too_big(what, size, MAX_ITEMS, "items")
    _charge(size * 8)


def _int_digits(value: int) -> int:
    return int(value.bit_length() * 0.30103) + 2


def text_size(value: Any, *, indent: int = 0, limit: int = MAX_TEXT) -> int:
    """An upper bound of the length of ``value`` as text (``str()``, JSON), counted without
    building it; stops counting once past ``limit``. Text nested in a container counts six
    times (JSON's ``\\u00e9`` escapes, ``repr``'s ``\\x00``). ``indent`` adds JSON's
    indentation: a newline plus ``depth * indent`` per item."""
    total = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack and total <= limit:
        item, depth = stack.pop()
        size = _scalar_size(item, depth > 0)
        if size is not None:
            total += size
            continue
        children: Iterable[Any]
        if isinstance(item, Mapping):
            children = itertools.chain.from_iterable(item.items())
            count = len(item)
        elif isinstance(item, range):
            total += len(item) * (_int_digits(max(abs(item.start), abs(item.stop))) + 1)
            children, count = (), len(item)
        elif isinstance(item, list | tuple | set | frozenset):
            children, count = item, len(item)
        else:
            total += 64
            continue
        total += 2 + count * (4 + (1 + (depth + 1) * indent if indent else 0))
        for child in children:
            size = _scalar_size(child, True)
            if size is None:
                stack.append((child, depth + 1))
            else:
                total += size
            if total > limit:
                break
    return total


def _scalar_size(item: Any, nested: bool) -> int | None:
    """The text length bound of a scalar; None for a container."""
    if isinstance(item, str | bytes | bytearray):
        return len(item) * 6 + 2 if nested else len(item)
    if isinstance(item, bool) or item is None or isinstance(item, Undefined):
        return 5
    if isinstance(item, int):
        return _int_digits(item)
    if isinstance(item, float):
        return 24
    return None


def _size_arg(value: Any, what: str) -> int:
    """An integer argument that sets a size (a width, a count), as an int."""
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(value)
        except (TypeError, ValueError, OverflowError):
            return 0
    return max(int(value), 0)


# --------------------------------------------------------------------------------------------
# Operators: + * ** %
# --------------------------------------------------------------------------------------------


def _check_sized(value: Any, size: int, what: str) -> None:
    if isinstance(value, str | bytes | bytearray):
        check_text(size, what)
    else:
        check_items(size, what)


def bounded_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left <operator> right`` when its result would be past the limits."""
    if operator == "**":
        huge = isinstance(left, int) and isinstance(right, int) and abs(left) > 1
        if huge and right * math.log10(abs(left)) > MAX_DIGITS:
            raise TemplateLimitError(
                f"{_short(left)} ** {right} would have more than {MAX_DIGITS:,} digits; "
                f"a template may build at most {MAX_DIGITS:,}"
            )
    elif operator == "*":
        if isinstance(left, int) and isinstance(right, int) and not isinstance(left | right, bool):
            bits = left.bit_length() + right.bit_length()
            _charge(bits // 8)
            if bits > _MAX_BITS:
                raise TemplateLimitError(
                    f"a product of {_int_digits(left):,}- and {_int_digits(right):,}-digit numbers "
                    "would have "
                    f"more than {MAX_DIGITS:,} digits; a template may build at most {MAX_DIGITS:,}"
                )
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, str | bytes | list | tuple) and isinstance(times, int):
                _check_sized(sequence, len(sequence) * max(times, 0), "repeating a value")
    elif operator == "+":
        both = (str, bytes, list, tuple)
        if isinstance(left, both) and type(left) is type(right):
            _check_sized(left, len(left) + len(right), "concatenating two values")
    elif operator == "%" and isinstance(left, str | bytes):
        check_text(printf_size(left, right), "a '%' format")


def _short(value: int) -> str:
    text = str(value) if value.bit_length() < 200 else f"a {_int_digits(value):,}-digit number"
    return text


_PRINTF = re.compile(
    rb"%(?:\((?P<key>[^)]*)\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d*))?[hlL]?(?P<type>.)?",
    re.DOTALL,
)


def printf_size(template: str | bytes, arguments: Any) -> int:
    """An upper bound of the length of ``template % arguments`` (printf-style), ``*`` widths
    included, computed from the widths, precisions and values alone."""
    data = template.encode("utf-8", "surrogatepass") if isinstance(template, str) else bytes(template)
    values = list(arguments) if isinstance(arguments, tuple) else [arguments]
    mapping = arguments if isinstance(arguments, Mapping) else None
    position = 0
    total = len(data)

    def take() -> Any:
        nonlocal position
        value = values[position] if position < len(values) else None
        position += 1
        return value

    for match in _PRINTF.finditer(data):
        if match["type"] == b"%":
            continue
        width = match["width"]
        precision = match["precision"]
        size = _size_arg(take(), "a '*' width") if width == b"*" else int(width or 0)
        size += _size_arg(take(), "a '*' precision") if precision == b"*" else int(precision or 0)
        if match["key"] is not None and mapping is not None:
            value = mapping.get(match["key"].decode("utf-8", "replace"))
        else:
            value = take()
        size += text_size(value) * (4 if match["type"] in (b"r", b"a") else 1) + (330 if match["type"] else 0)
        total += size
        if total > MAX_TEXT:
            break
    return total


# --------------------------------------------------------------------------------------------
# str.format and format_map
# --------------------------------------------------------------------------------------------

_SPEC = re.compile(
    r"(?:.?[<>=^])?[-+ ]?z?#?0?(?P<width>\d*)[_,]?(?:\.(?P<precision>\d+))?[A-Za-z%]?", re.DOTALL
)


class BoundedFormatter(string.Formatter):
    """Checks each field's width and precision (after nested ``{0:{1}}`` specs are resolved)
    and the running length of the result, before each field is formatted."""

    def __init__(self) -> None:
        super().__init__()
        self.built = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        width = precision = 0
        match = _SPEC.fullmatch(format_spec)
        if match is not None:
            width = int(match["width"] or 0)
            precision = int(match["precision"] or 0)
        elif len(format_spec) > 64:
            raise TemplateLimitError(f"a format spec of {len(format_spec):,} characters is not a template's")
        self.built += max(width, text_size(value) + precision + 330) + len(format_spec)
        check_text(self.built, "a str.format call")
        return super().format_field(value, format_spec)


# --------------------------------------------------------------------------------------------
# Methods of str, bytes and int
# --------------------------------------------------------------------------------------------


def _arg(args: tuple[Any, ...], kwargs: dict[str, Any], index: int, name: str, default: Any) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _padded(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    return max(len(text), _size_arg(_arg(args, kwargs, 0, "width", 0), "a width"))


def _expanded(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    tab = "\t" if isinstance(text, str) else b"\t"
    size = _size_arg(_arg(args, kwargs, 0, "tabsize", 8), "a tab size")
    return int(len(text) + (text.count(tab) + 1) * size)


def _replaced(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    old, new = _arg(args, kwargs, 0, "old", ""), _arg(args, kwargs, 1, "new", "")
    if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
        return len(text)
    count = _arg(args, kwargs, 2, "count", -1)
    found = len(text) + 1 if not old else text.count(old)
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * max(len(new) - len(old), 0)


def _translated(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    table = _arg(args, kwargs, 0, "table", None)
    if isinstance(text, str) and isinstance(table, Mapping):
        longest = max((len(v) for v in table.values() if isinstance(v, str)), default=1)
        return len(text) * max(longest, 1)
    return len(text)


def _split(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    separator = _arg(args, kwargs, 0, "sep", None)
    most = _arg(args, kwargs, 1, "maxsplit", -1)
    if isinstance(separator, str | bytes) and separator:
        parts = int(text.count(separator)) + 1
    else:
        parts = _words(text) if len(text) > 2 * MAX_ITEMS else len(text) // 2 + 1
    return min(parts, most + 1) if isinstance(most, int) and most >= 0 else parts


_WORD = re.compile(r"\S+")
_BYTES_WORD = re.compile(rb"\S+")


def _words(text: str | bytes) -> int:
    """How many words ``text.split()`` would give, counted without building them (up to just
    past `MAX_ITEMS`)."""
    count = 0
    matches = _WORD.finditer(text) if isinstance(text, str) else _BYTES_WORD.finditer(text)
    for _ in matches:
        count += 1
        if count > MAX_ITEMS:
            break
    return count


def _lines(text: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    if isinstance(text, bytes):
        return int(text.count(b"\n") + text.count(b"\r")) + 1
    return sum(int(text.count(c)) for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029") + 1


_TEXT_METHODS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], int]] = {
    "center": _padded,
    "ljust": _padded,
    "rjust": _padded,
    "zfill": _padded,
    "expandtabs": _expanded,
    "replace": _replaced,
    "translate": _translated,
    "encode": lambda text, args, kwargs: len(text) * 4 + 4,
    "hex": lambda text, args, kwargs: len(text) * 3,
}
_ITEM_METHODS: dict[str, Callable[[Any, tuple[Any, ...], dict[str, Any]], int]] = {
    "split": _split,
    "rsplit": _split,
    "splitlines": _lines,
}


def bounded_method(value: Any) -> Any:
    """``value`` itself, or, for a method of str/bytes/int that can build a large value from
    small arguments, a wrapper that sizes the result first."""
    owner = getattr(value, "__self__", None)
    name = getattr(value, "__name__", "")
    if isinstance(owner, str | bytes | bytearray):
        if name == "join":
            return _bounded_join(owner)
        if name in _TEXT_METHODS or name in _ITEM_METHODS:
            return _checked_method(owner, name, value)
    elif isinstance(owner, int) and name == "to_bytes":
        return _checked_method(owner, name, value)
    return value


def _checked_method(owner: Any, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
    def checked(*args: Any, **kwargs: Any) -> Any:
        if name == "to_bytes":
            check_text(_size_arg(_arg(args, kwargs, 0, "length", 1), "a length"), "int.to_bytes")
        elif name in _ITEM_METHODS:
            check_items(_ITEM_METHODS[name](owner, args, kwargs), f"{type(owner).__name__}.{name}")
        else:
            check_text(_TEXT_METHODS[name](owner, args, kwargs), f"{type(owner).__name__}.{name}")
        return method(*args, **kwargs)

    return checked


def _bounded_join(separator: Any) -> Callable[[Iterable[Any]], Any]:
    def join(items: Iterable[Any]) -> Any:
        parts = take_items(items, f"{type(separator).__name__}.join")
        check_text(sum(text_size(part) for part in parts) + len(separator) * len(parts), "join")
        return separator.join(parts)

    return join


def take_items(items: Iterable[Any], what: str) -> list[Any]:
    """``items`` as a list, refused past `MAX_ITEMS` (a generator is read at most that far)."""
    if isinstance(items, str | bytes | list | tuple | Mapping | set | frozenset | range):
        check_items(len(items), what)
        return list(items)
    taken = list(itertools.islice(items, MAX_ITEMS + 1))
    check_items(len(taken), what)
    return taken


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------


def _text_of(value: Any) -> int:
    return text_size(value)


def _pre_center(value: Any, width: Any = 80) -> None:
    check_text(max(_text_of(value), _size_arg(width, "a width")), "the center filter")


def _pre_indent(value: Any, width: Any = 4, first: bool = False, blank: bool = False) -> None:
    text = value if isinstance(value, str) else ""
    pad = len(width) if isinstance(width, str) else _size_arg(width, "a width")
    check_text(_text_of(value) + (text.count("\n") + 1) * pad, "the indent filter")


def _pre_wordwrap(value: Any, width: Any = 79, break_long_words: bool = True, wrapstring: Any = None,
                  break_on_hyphens: bool = True) -> None:  # fmt: skip
    size = _text_of(value)
    joint = len(wrapstring) if isinstance(wrapstring, str) else 1
    check_text(size + (size + 1) * joint, "the wordwrap filter")


def _pre_urlize(value: Any, trim_url_limit: Any = None, nofollow: bool = False, target: Any = None,
                rel: Any = None, extra_schemes: Any = None) -> None:  # fmt: skip
    size = _text_of(value)
    extra = sum(len(part) for part in (target, rel) if isinstance(part, str))
    check_text(size * 3 + (size // 2 + 1) * (60 + extra), "the urlize filter")


def _pre_truncate(value: Any, length: Any = 255, killwords: bool = False, end: Any = "...",
                  leeway: Any = None) -> None:  # fmt: skip
    check_text(_text_of(value) + (len(end) if isinstance(end, str) else 0), "the truncate filter")


def _pre_format(value: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(value, str):
        check_text(printf_size(value, kwargs or (args if len(args) != 1 else args[0])), "the format filter")


def _pre_replace(value: Any, old: Any = "", new: Any = "", count: Any = None) -> None:
    check_text(_text_of(value), "the replace filter")
    text = value if isinstance(value, str) else str(value)
    old_text, new_text = (part if isinstance(part, str) else "" for part in (old, new))
    found = _replaced(text, (old_text, new_text, -1 if count is None else count), {})
    check_text(found, "the replace filter")


def _pre_tojson(value: Any, indent: Any = None) -> None:
    pad = len(indent) if isinstance(indent, str) else _size_arg(indent, "an indent") if indent else 0
    size = text_size(value, indent=pad)  # text nested in containers counts six times already
    check_text(size * 6 if isinstance(value, str) else size, "the tojson filter")


def _pre_string(value: Any, *args: Any, **kwargs: Any) -> None:
    check_text(_text_of(value), "converting a value to text")


def _pre_batch(value: Any, linecount: Any = 1, fill_with: Any = None) -> None:
    if fill_with is not None:
        check_items(_size_arg(linecount, "a line count"), "the batch filter")


def _pre_slice(value: Any, slices: Any = 1, fill_with: Any = None) -> None:
    check_items(_size_arg(slices, "a slice count"), "the slice filter")


_PRECHECKS: dict[str, Callable[..., None]] = {
    "center": _pre_center,
    "indent": _pre_indent,
    "wordwrap": _pre_wordwrap,
    "urlize": _pre_urlize,
    "truncate": _pre_truncate,
    "format": _pre_format,
    "replace": _pre_replace,
    "tojson": _pre_tojson,
    "string": _pre_string,
    "pprint": _pre_string,
    "batch": _pre_batch,
    "slice": _pre_slice,
}

_MATERIALISED = frozenset({"join", "list", "sum", "unique", "sort", "reverse", "dictsort", "groupby"})
"""Filters that read their whole input: a generator is read at most `MAX_ITEMS` far first."""


def bounded_filter(name: str, function: Callable[..., Any], position: int) -> Callable[..., Any]:
    """``function`` (the filter called ``name``; its value is argument ``position``) with its
    result sized first where an argument sets that size, and its result checked after."""
    precheck = _PRECHECKS.get(name)

    def bounded(*args: Any, **kwargs: Any) -> Any:
        if len(args) > position and name in _MATERIALISED:
            value = _materialised(name, args[position], args[position + 1 :], kwargs)
            args = (*args[:position], value, *args[position + 1 :])
        if precheck is not None and len(args) > position:
            try:
                precheck(*args[position:], **kwargs)
            except TypeError:  # arguments that do not fit the filter: it is not called
                raise TypeError(f"wrong arguments for the {name} filter") from None
        result = function(*args, **kwargs)
        if isinstance(result, str | bytes):
            check_text(len(result), f"the {name} filter")
        elif isinstance(result, list | tuple | dict):
            check_items(len(result), f"the {name} filter")
        return result

    return bounded


def _materialised(name: str, value: Any, rest: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    if isinstance(value, str | bytes | Mapping | Undefined):
        return value
    items = take_items(value, f"the {name} filter")
    if name == "join":
        separator = rest[0] if rest else kwargs.get("d", "")
        separator_size = len(separator) if isinstance(separator, str) else 0
        check_text(sum(text_size(item) for item in items) + separator_size * len(items), "the join filter")
    elif name == "sum":
        sizes = [len(item) for item in items if isinstance(item, list | tuple | str)]
        check_items(sum(sizes), "the sum filter")
    return items
