"""What counts as a secret: ``${ENV}`` references and header names that carry credentials.

One expander and one heuristic, used wherever the question comes up: a source's request is
built with `expand_env` (`mcp_paginate.requests`), the HTTP bearer token too
(`mcp_paginate.http_app`); `looks_like_credential` decides which headers are dropped before a
request leaves its origin (`mcp_paginate.http.policy`) and which header values of an ad-hoc
request are masked (`mcp_paginate.requests`).

Example::

    found: list[Secret] = []
    expand_env("Bearer ${GITHUB_TOKEN}", {"GITHUB_TOKEN": "ghp_x"}, found=found)  # 'Bearer ghp_x'
    found  # [Secret(value='ghp_x', name='GITHUB_TOKEN')]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "CREDENTIAL_WORDS",
    "ENV_REFERENCE",
    "Secret",
    "UnsetVariableError",
    "env_references",
    "expand_env",
    "looks_like_credential",
]

ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
"""A ``${NAME}`` reference to an environment variable (group 1: the name)."""

CREDENTIAL_WORDS = ("auth", "token", "key", "secret", "cookie", "session", "password")
"""A header whose lower-cased name contains one of these may carry a credential
(``Authorization``, ``X-Api-Key``, ``X-Auth-Token``, ``Cookie``, ``X-Session-Id``...)."""


@dataclass(frozen=True)
class Secret:
    """A value to mask wherever text leaves the server; ``name`` is the environment variable it
    came from, if any (a named secret can also be concealed, see `Redactor.conceal`)."""

    value: str
    name: str | None = None


class UnsetVariableError(LookupError):
    """A ``${NAME}`` reference to a variable the environment does not have."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def looks_like_credential(name: str) -> bool:
    """Whether a header (or parameter) of this name may carry a credential."""
    lowered = name.lower()
    return any(word in lowered for word in CREDENTIAL_WORDS)


def env_references(texts: Iterable[str]) -> set[str]:
    """The names of the environment variables ``texts`` refer to."""
    found: set[str] = set()
    for text in texts:
        found.update(ENV_REFERENCE.findall(text))
    return found


def expand_env(
    text: str,
    environ: Mapping[str, str],
    *,
    found: list[Secret] | None = None,
    default: str | None = None,
) -> str:
    """``text`` with each ``${NAME}`` replaced by the variable's value.

    Args:
        text: config-written text (never a caller's input: that would let it read the environment).
        environ: the environment to read.
        found: if given, each value expanded is appended to it (as a `Secret` named after its
            variable), for the caller to register with its `Redactor`.
        default: the value of an unset variable; without it, an unset variable raises.

    Raises:
        UnsetVariableError: a referenced variable is not set and no default was given.
    """

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        value = environ.get(name)
        if value is None:
            if default is None:
                raise UnsetVariableError(name)
            return default
        if found is not None:
            found.append(Secret(value, name))
        return value

    return ENV_REFERENCE.sub(one, text)
