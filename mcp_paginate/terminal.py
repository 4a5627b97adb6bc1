"""What the ``mcp-paginate`` command prints, worded for a person at a terminal.

The tools' errors name tool arguments (``params``, ``source=…``, ``list_sources``); the command
line has flags and commands instead (``-p connector=…``, ``mcp-paginate sources``). The errors
both can meet carry what they are about as fields (`UnknownSourceError`, `ParamsError`), and
`cli_message` words them here, once, for the terminal. It also holds the next steps a newcomer
needs (a config to pass, how to enable the built-in Alloy source) and the consoles the commands
print with, which do not wrap lines when the output is piped.

Example::

    try:
        ...
    except PaginateError as exc:
        print(f"mcp-paginate: error: {cli_message(exc, Invocation(config_path=None))}")
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from rich.console import Console

from mcp_paginate.errors import (
    PaginateError,
    ParamsError,
    UnknownSourceError,
    UnsetVariableInputError,
    closest,
)

__all__ = [
    "ALLOY_VARIABLES",
    "PIPE_WIDTH",
    "Invocation",
    "alloy_hint",
    "cli_console",
    "cli_message",
    "no_config_steps",
]

PIPE_WIDTH = 4096
"""Columns a console has when its output is not a terminal: wide enough that nothing (a message,
a table row, the progress bar's last frame) is broken onto a second line."""

ALLOY_VARIABLES = ("ALLOY_API_KEY", "ALLOY_USER_ID", "ALLOY_CREDENTIAL_ID")
"""The variables of the built-in ``alloy`` source: the key enables it, the other two give its
``user_id`` and ``credential_id`` params their defaults."""

_ALLOY_PARAM_VARIABLES = {"user_id": "ALLOY_USER_ID", "credential_id": "ALLOY_CREDENTIAL_ID"}


def cli_console(*, stderr: bool = False, highlight: bool = True) -> Console:
    """A console for the command's output: as rich makes it on a terminal; piped or redirected,
    one that never wraps (soft wrapping, `PIPE_WIDTH` columns), so a line stays one line for
    ``grep`` and log files."""
    console = Console(stderr=stderr, highlight=highlight)
    if console.is_terminal:
        return console
    return Console(stderr=stderr, highlight=highlight, soft_wrap=True, width=PIPE_WIDTH)


@dataclass(frozen=True)
class Invocation:
    """How the command was run, for the commands a message suggests next."""

    config_path: str | None
    """The config file loaded; None when none was (built-in defaults only)."""
    config_flag: str | None = None
    """``--config`` as the user gave it, repeated in suggested commands."""
    environ: Mapping[str, str] = field(default_factory=lambda: os.environ)

    def command(self, *words: str) -> str:
        """``mcp-paginate WORDS…`` with this run's ``--config``, quoted for a shell."""
        config = ["--config", self.config_flag] if self.config_flag else []
        return "`" + shlex.join(["mcp-paginate", *words, *config]) + "`"


def cli_message(exc: PaginateError, invocation: Invocation) -> str:
    """``exc`` as one line for the terminal: flags and commands where the tools' wording names
    arguments. Errors that carry no such wording are left as they are."""
    if isinstance(exc, UnknownSourceError):
        return _unknown_source(exc, invocation)
    if isinstance(exc, ParamsError):
        return _params(exc, invocation)
    if isinstance(exc, UnsetVariableInputError):
        return (
            f"source {exc.source!r} needs the environment variable {exc.variable}, which is not set: "
            f"export {exc.variable}=… in this shell and run the command again"
        )
    return str(exc)


def _unknown_source(exc: UnknownSourceError, invocation: Invocation) -> str:
    guess = f"did you mean {exc.guess!r}? " if exc.guess else ""
    known = f"configured sources: {', '.join(exc.known)}" if exc.known else "no sources are configured"
    parts = [f"unknown source {exc.name!r}", guess + known]
    alloy = alloy_hint(invocation.environ) if exc.name == "alloy" else None
    if alloy:
        parts.append(alloy)
    elif invocation.config_path is None:
        parts.append("no config file was loaded: pass --config FILE (or set MCP_PAGINATE_CONFIG)")
    then = "to list them with their params" if exc.known else "for how to add one"
    parts.append(f"run {invocation.command('sources')} {then}")
    return "; ".join(parts)


def _params(exc: ParamsError, invocation: Invocation) -> str:
    source = exc.source or "?"
    if exc.missing is not None:
        what = f" ({exc.description})" if exc.description else ""
        message = f"source {source!r} needs -p {exc.missing}=…{what}"
        variable = _ALLOY_PARAM_VARIABLES.get(exc.missing) if source == "alloy" else None
        if variable:
            message += f", or set {variable} in the environment"
        return message
    named = ", ".join(repr(name) for name in exc.unknown)
    message = f"source {source!r} has no param{'s' if len(exc.unknown) > 1 else ''} {named}"
    guess = closest(exc.unknown[0], exc.known) if len(exc.unknown) == 1 else None
    takes = ", ".join(f"-p {name}=…" for name in exc.known)
    takes = f"it takes: {takes}" if takes else "it takes no -p params"
    return f"{message}; did you mean -p {guess}=…? {takes}" if guess else f"{message}; {takes}"


def alloy_hint(environ: Mapping[str, str]) -> str | None:
    """How to enable the built-in ``alloy`` source (or complete it), naming the variables and
    never their values; None when nothing is missing."""
    if not environ.get("ALLOY_API_KEY"):
        return (
            "the built-in source 'alloy' (the Alloy Connectivity API) appears when ALLOY_API_KEY is "
            "set: export ALLOY_API_KEY, and ALLOY_USER_ID and ALLOY_CREDENTIAL_ID for its user_id "
            "and credential_id params (or pass -p user_id=… -p credential_id=… each run)"
        )
    unset = [name for name in ALLOY_VARIABLES[1:] if not environ.get(name)]
    if not unset:
        return None
    params = " ".join(f"-p {param}=…" for param, name in _ALLOY_PARAM_VARIABLES.items() if name in unset)
    them = "them" if len(unset) > 1 else "it"
    return (
        f"source 'alloy' has no default for {' and '.join(unset)}: export {them}, or pass {params} each run"
    )


def no_config_steps() -> list[str]:
    """What to do when no config file was loaded: where one is looked for, and a config to
    try against the built-in sample API."""
    return [
        "no config file was loaded (none given with --config or $MCP_PAGINATE_CONFIG, and no "
        "~/.config/mcp-paginate/config.toml); sources are defined in one",
        "next: pass one with --config FILE; to try things out, run the sample API and the "
        "example config of the mcp-paginate repository:",
        "  mcp-paginate sample-api --port 8080          # in another terminal",
        "  mcp-paginate sources --config examples/config.toml --check",
        "  mcp-paginate fetch offset --config examples/config.toml --out offset.jsonl",
    ]
