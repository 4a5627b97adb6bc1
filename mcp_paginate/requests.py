"""The request room: a configured source and its params, or an ad-hoc request, made into the
`PreparedRequest` of a session's first page.

Only config-written text is expanded from the environment (``${ENV}``); the assistant's params
are taken literally, so they cannot read the server's environment. The secrets a request carries
(expanded values, credential headers of an ad-hoc request) come back with it in
`ResolvedRequest.secrets`: the caller registers them with its `Redactor` before the request goes
anywhere (`ResolvedRequest.register_secrets`), so nothing is added to a shared redactor behind
its back.

Example::

    request = resolve_source(source, params, environ).register_secrets(app.redactor)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from mcp_paginate.config import PLACEHOLDER
from mcp_paginate.credentials import Secret, UnsetVariableError, expand_env, looks_like_credential
from mcp_paginate.errors import UnsetVariableInputError
from mcp_paginate.paginators import PreparedRequest
from mcp_paginate.paginators.base import param_text
from mcp_paginate.presets import PRESET_SECRET_VARIABLES
from mcp_paginate.redaction import Redactor

if TYPE_CHECKING:
    from mcp_paginate.config import AppConfig, SourceConfig
    from mcp_paginate.sessions import AdHocRequest

__all__ = ["ResolvedRequest", "known_secrets", "resolve_ad_hoc", "resolve_source"]


@dataclass(frozen=True)
class ResolvedRequest:
    """A first request, and the secrets in it (to mask wherever text leaves the server)."""

    request: PreparedRequest
    secrets: tuple[Secret, ...] = ()

    def register_secrets(self, redactor: Redactor) -> PreparedRequest:
        """Register the secrets with ``redactor``; return the request."""
        for secret in self.secrets:
            redactor.add(secret.value, name=secret.name)
        return self.request


def resolve_source(
    source: SourceConfig, params: Mapping[str, Any], environ: Mapping[str, str]
) -> ResolvedRequest:
    """The first request of ``source``: params and defaults filled, ``${ENV}`` expanded.

    ``params`` are the assistant's, already checked (`SourceConfig.check_params`).

    Raises:
        InputError: a variable the source refers to is not set for the server.
    """
    found: list[Secret] = []

    def expand(text: str) -> str:
        try:
            return expand_env(text, environ, found=found)
        except UnsetVariableError as exc:
            raise UnsetVariableInputError(exc.name, source=source.name) from None

    values: dict[str, Any] = {}
    for key, spec in source.params.items():
        if params.get(key) is not None:
            values[key] = params[key]
        elif spec.default is not None:
            values[key] = _map_strings(spec.default, expand)

    def fill_text(text: str, in_url: bool) -> Any:
        text = expand(text)
        whole = PLACEHOLDER.fullmatch(text)
        if whole and not in_url:
            return values.get(whole.group(1))

        def one(match: re.Match[str]) -> str:
            if match.group(1) not in source.params:
                return match.group(0)  # a paging value's, filled per page (in='path')
            value = values.get(match.group(1))
            text = "" if value is None else param_text(value)
            return quote(text, safe="") if in_url else text

        return PLACEHOLDER.sub(one, text)

    def fill(value: Any) -> Any:
        return _map_strings(value, lambda text: fill_text(text, in_url=False))

    request = PreparedRequest(
        method=source.method,
        url=fill_text(source.url, in_url=True),
        headers={k: param_text(v) for k, v in fill(source.headers).items() if v is not None},
        query={k: param_text(v) for k, v in fill(source.query).items() if v is not None},
        body=_drop_none(fill(source.body)),
    )
    return ResolvedRequest(request, tuple(found))


def resolve_ad_hoc(ad_hoc: AdHocRequest) -> ResolvedRequest:
    """The first request of an ad-hoc session, taken as the assistant wrote it; the values of its
    headers that look like credentials are its secrets (unnamed: they came from no variable)."""
    request = PreparedRequest(
        method=ad_hoc.method,
        url=ad_hoc.url,
        headers=dict(ad_hoc.headers),
        query={k: param_text(v) for k, v in ad_hoc.query.items()},
        body=ad_hoc.body,
    )
    secrets = tuple(
        Secret(value) for header, value in ad_hoc.headers.items() if looks_like_credential(header)
    )
    return ResolvedRequest(request, secrets)


def known_secrets(config: AppConfig, environ: Mapping[str, str]) -> list[Secret]:
    """The secrets known before any request: the presets' keys and every variable a source refers
    to, when set (masked from the start, as a source's first error may already quote one)."""
    names = list(PRESET_SECRET_VARIABLES)
    for source in config.sources.values():
        names.extend(sorted(source.env_references()))
    return [Secret(environ[name], name) for name in dict.fromkeys(names) if environ.get(name)]


def _map_strings(value: Any, function: Callable[[str], Any]) -> Any:
    """Apply function to every string inside a JSON-like value."""
    if isinstance(value, str):
        return function(value)
    if isinstance(value, dict):
        return {k: _map_strings(v, function) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_strings(v, function) for v in value]
    return value


def _drop_none(value: Any) -> Any:
    """Remove keys whose placeholder had no value (an optional param not given)."""
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value
