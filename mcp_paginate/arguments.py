"""The paging tools' arguments: one model per tool, validated once at the boundary.

The MCP wiring validates a call's raw arguments with `parse_arguments` into `PagingArguments`
(list_page) or `FetchAllArguments` (fetch_all) and hands the model to `mcp_paginate.tools`;
nothing below re-validates them. Library callers build the models directly::

    await list_page(app, PagingArguments(source="alloy", params={"connector": "hubspot"}))

`parse_arguments` is as strict as the models (unknown fields, fields of another pagination mode,
wrong types are refused) and says what is wrong in one line naming the field and what it
accepts, since that line is all an assistant sees of it. It reads arguments the way hosts send
them: ``""`` or null for an optional argument means it is absent (an argument, not a field
inside one), and an object or array sent as JSON text (as some hosts do) is read as that object
or array.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from mcp_paginate.errors import InputError
from mcp_paginate.paginators import Pagination
from mcp_paginate.sessions import AdHocRequest

__all__ = ["FetchAllArguments", "NoArguments", "PagingArguments", "ReadResultsArguments", "parse_arguments"]

Arguments = TypeVar("Arguments", bound=BaseModel)


class NoArguments(BaseModel):
    """The arguments of a tool that takes none (list_sources)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PagingArguments(BaseModel):
    """Where to read: a source (+ params), an ad-hoc request, or a cursor; and how much of each record."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str | None = Field(default=None, description="A source from list_sources. Omit with cursor.")
    params: dict[str, Any] | None = Field(
        default=None, description="The source's params, e.g. {'connector': 'hubspot'}."
    )
    request: AdHocRequest | None = Field(
        default=None,
        description="Ad-hoc request instead of a source (hosts: list_sources' ad_hoc).",
    )
    pagination: Pagination | None = Field(
        default=None,
        description="How the API pages (mode picks the fields). Default: the source's, or auto.",
    )
    cursor: str | None = Field(
        default=None, description="cursor or next_cursor of an earlier result: re-read that page or go on."
    )
    page_size: int | None = Field(
        default=None, ge=1, description="Records per request (clamped to the source's max)."
    )
    fields: list[str] | None = Field(
        default=None, description="Keep only these dotted fields of each record, e.g. ['id', 'owner.email']."
    )


class FetchAllArguments(PagingArguments):
    """`PagingArguments` plus the limits of a drain."""

    cursor: str | None = Field(
        default=None, description="next_cursor of a fetch_all result: go on from there."
    )
    max_records: int | None = Field(
        default=None, ge=1, description="Stop after this many records (the server's ceiling applies)."
    )
    max_pages: int | None = Field(default=None, ge=1, description="Stop after this many pages.")
    dedupe_key: str | None = Field(
        default=None, description="Dotted field identifying a record, e.g. 'id'; repeats are dropped."
    )


class ReadResultsArguments(BaseModel):
    """Which stored records to read, and how much of each."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    results_uri: str = Field(description="From fetch_all.")
    offset: int = Field(default=0, ge=0, description="First record (or query item).")
    limit: int | None = Field(default=None, ge=1, description="Most records.")
    fields: list[str] | None = Field(
        default=None, description="Keep only these dotted fields of each record, e.g. ['id', 'owner.email']."
    )
    query: str | None = Field(
        default=None,
        description=(
            "JMESPath over the records array; returns its value (paged if an array), e.g. 'length(@)'."
        ),
    )


def parse_arguments(model: type[Arguments], raw: Mapping[str, Any] | None, tool: str) -> Arguments:
    """A tool call's raw arguments as ``model``.

    Raises:
        InputError: one line naming the wrong argument (or field inside one) and what it accepts.
    """
    arguments = dict(raw or {})
    _refuse_unknown(list(arguments), list(model.model_fields), owner=tool, what="argument")
    data = {}
    for name, value in arguments.items():
        annotation = model.model_fields[name].annotation
        if not _admits_text(annotation):
            value = _read_json_text(value)
        if value is None or value == "":
            if name == "cursor" and value == "" and not {"source", "request"} & set(arguments):
                # Nothing else to start from: the caller meant a cursor, and it is empty.
                raise InputError(
                    "cursor '' is not one this server minted: pass the cursor or next_cursor of an "
                    "earlier result, or source=... (see list_sources) to start"
                )
            continue  # absent
        models = _models_in(annotation)
        data[name] = _checked(value, models, name) if models else value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InputError(_one_line(exc.errors(), data)) from None


def _read_json_text(value: Any) -> Any:
    """An object or array sent as JSON text, parsed; anything else as it is."""
    if not isinstance(value, str) or not value.lstrip().startswith(("{", "[")):
        return value
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return value
    return parsed if isinstance(parsed, dict | list) else value


def _members(annotation: Any) -> list[Any]:
    """The types a field admits: ``str | None`` -> [str, NoneType] (``Annotated`` unwrapped)."""
    if get_origin(annotation) is Annotated:
        return _members(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return [inner for member in get_args(annotation) for inner in _members(member)]
    return [annotation]


def _admits_text(annotation: Any) -> bool:
    return str in _members(annotation)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models a field holds: ``AdHocRequest | None`` -> [AdHocRequest]; the pagination union
    -> its five modes. Containers (lists, dicts) are left to pydantic."""
    return [
        member
        for member in _members(annotation)
        if isinstance(member, type) and issubclass(member, BaseModel)
    ]


def _checked(value: Any, models: list[type[BaseModel]], path: str) -> Any:
    """``value``, after refusing the fields its model does not take (for a union tagged by
    ``mode``, the model of the mode given), down through its nested models. Inside an argument
    ``""`` is a value like any other: an ad-hoc ``method: ""`` is refused, not taken for GET."""
    if not isinstance(value, dict):
        return value  # not an object: pydantic names the type expected
    model = models[0]
    if len(models) > 1:
        model = _mode_model(value, models, path)
    fields = {(info.alias or name): info for name, info in model.model_fields.items()}
    unknown = [name for name in value if name not in fields]
    if unknown:
        others = [m for m in models if m is not model and unknown[0] in _aliases(m)]
        if others:
            raise InputError(
                f"{path}.{unknown[0]} is not a field of mode {value['mode']!r} (it belongs to "
                f"{' and '.join(repr(_tag(m)) for m in others)}); {value['mode']!r} takes: "
                f"{', '.join(name for name in fields if name != 'mode') or 'no other fields'}"
            )
        taker = f"{path} mode {value['mode']!r}" if len(models) > 1 else path
        _refuse_unknown(unknown, list(fields), owner=taker, what="field", at=path)
    checked = {}
    for name, item in value.items():
        nested = _models_in(fields[name].annotation)
        checked[name] = _checked(item, nested, f"{path}.{name}") if nested else item
    return checked


def _mode_model(value: dict[str, Any], models: list[type[BaseModel]], path: str) -> type[BaseModel]:
    modes = {_tag(model): model for model in models}
    mode = value.get("mode")
    if not isinstance(mode, str) or mode not in modes:
        given = "no mode" if mode in (None, "") else f"mode {mode!r}"
        raise InputError(f"{path} has {given}; mode must be one of {', '.join(map(str, modes))}")
    return modes[mode]


def _tag(model: type[BaseModel]) -> Any:
    return model.model_fields["mode"].default


def _aliases(model: type[BaseModel]) -> set[str]:
    return {info.alias or name for name, info in model.model_fields.items()}


def _refuse_unknown(
    given: list[str], known: list[str], *, owner: str, what: str, at: str | None = None
) -> None:
    """Refuse names ``owner`` (a tool, or a field of an argument ``at``) does not take,
    suggesting the closest one it does."""
    unknown = [name for name in given if name not in known]
    if not unknown:
        return
    listed = [name for name in known if name != "mode"]  # the mode is what chose the fields
    takes = f"{owner} takes: {', '.join(listed)}" if listed else f"{owner} takes no {what}s"
    at = f" in {at}" if at else ""
    guesses = {name: difflib.get_close_matches(name, known, n=1) for name in unknown}
    if len(unknown) == 1:
        name = unknown[0]
        guess = f"; did you mean {guesses[name][0]!r}? " if guesses[name] else "; "
        raise InputError(f"unknown {what} {name!r}{at}{guess}{takes}")
    named = [
        f"{name!r} (did you mean {guesses[name][0]!r}?)" if guesses[name] else repr(name) for name in unknown
    ]
    raise InputError(f"unknown {what}s {', '.join(named[:-1])} and {named[-1]}{at}; {takes}")


_EXPECTED = {
    "string": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "dict": "an object",
    "model": "an object",
    "list": "an array",
}
"""What a pydantic type error expects, by the start of its type (``int_parsing`` -> int)."""


def _one_line(errors: list[ErrorDetails], data: Any) -> str:
    """pydantic's errors as one line: each field once, with what it accepts."""
    by_path: dict[str, list[ErrorDetails]] = {}
    for error in errors:
        by_path.setdefault(_path(error, data), []).append(error)
    parts = [_explain(path, group) for path, group in by_path.items()]
    more = f" (and {len(parts) - 3} more)" if len(parts) > 3 else ""
    return "; ".join(parts[:3]) + more


def _path(error: ErrorDetails, data: Any) -> str:
    """The field an error is about, as the caller wrote it (``pagination.next.body``): the
    location without the union members pydantic inserts (``offset``, ``str``, ``int``…)."""
    parts: list[str] = []
    here = data
    location = list(error["loc"])
    for index, part in enumerate(location):
        if isinstance(here, dict) and part in here:
            here = here[part]
        elif isinstance(here, list) and isinstance(part, int) and 0 <= part < len(here):
            parts.append(f"[{part}]")
            here = here[part]
            continue
        elif not (error["type"] == "missing" and index == len(location) - 1):
            continue  # a union member's name, not a field
        parts.append(("." if parts else "") + str(part))
    return "".join(parts) or "arguments"


def _explain(path: str, group: list[ErrorDetails]) -> str:
    expected = [_EXPECTED.get(error["type"].split("_")[0]) for error in group]
    if all(expected) and any(error["type"].endswith(("_type", "_parsing")) for error in group):
        accepted = list(dict.fromkeys(word for word in expected if word))
        listed = ", ".join(accepted[:-1]) + " or " + accepted[-1] if len(accepted) > 1 else accepted[0]
        return f"{path} must be {listed}, not {_json_type(group[0]['input'])}"
    error = next((e for e in group if not e["type"].endswith("_type")), group[0])
    if error["type"] == "missing":
        return f"{path} is required"
    message = " ".join(error["msg"].removeprefix("Value error, ").split())  # one line
    return f"{path}: {message[:1].lower()}{message[1:]}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"
