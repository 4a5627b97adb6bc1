"""The config file: ``[server]`` settings and ``[sources.NAME]`` definitions (TOML).

Secrets stay out of everything but the request: ``${ENV}`` references are kept as
written in the loaded config and expanded only when a request is built
(`mcp_paginate.requests.resolve_source`), which names every expanded value for the
caller's `Redactor`, so it is masked wherever text leaves the server.

Example::

    config = load_config(Path("config.toml"))
    source = config.sources["github_issues"]
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mcp_paginate.credentials import ENV_REFERENCE, env_references
from mcp_paginate.errors import ConfigError, ParamsError
from mcp_paginate.paginators import AutoPagination, SourcePagination
from mcp_paginate.paginators.base import check_path, param_text, path_options

__all__ = [
    "PLACEHOLDER",
    "AppConfig",
    "ParamSpec",
    "ServerSettings",
    "SourceConfig",
    "check_path_options",
    "default_config_path",
    "load_config",
    "param_text",
]

PLACEHOLDER = re.compile(r"(?<![{$])\{([A-Za-z_][A-Za-z0-9_]*)\}(?!})")
"""A ``{name}`` placeholder (group 1: the name), but not Jinja's ``{{ }}`` nor JSON-looking braces."""


class ServerSettings(BaseModel):
    """The ``[server]`` table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Hosts (optionally host:port) that ad-hoc request.url may reach. Default: none.",
    )
    allow_private_networks: bool = Field(
        default=False,
        description="Let ad-hoc requests reach loopback/private/link-local addresses of allowed_hosts.",
    )
    session_ttl_seconds: int = Field(default=86400, ge=1)
    max_inline_chars: int = Field(default=60000, ge=1000)
    max_records: int = Field(default=100000, ge=1)
    max_pages: int = Field(default=10000, ge=1)
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    tool_deadline_seconds: float = Field(
        default=45.0,
        gt=0,
        description=(
            "Time one tool call may take, below a host's 60 s timeout: fetch_all answers by then "
            "and its drain goes on in the background."
        ),
    )
    background_drains: int = Field(
        default=4, ge=0, description="fetch_all drains one server process keeps running between calls."
    )
    drain_idle_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A background drain stops after this long without a call asking for it.",
    )
    drain_lease_seconds: float = Field(
        default=15.0,
        gt=0,
        description=(
            "How long a drain's lease outlives a replica that died running it; then another resumes it."
        ),
    )
    retries: int = Field(default=4, ge=0, le=20)
    retry_after_cap_seconds: float = Field(default=60.0, ge=0)
    backoff_base_seconds: float = Field(default=0.5, ge=0)
    max_response_bytes: int = Field(default=50_000_000, ge=1024)
    max_sessions: int = Field(default=10000, ge=1)
    max_stored_results: int = Field(default=200, ge=1)
    auth_token: str | None = Field(
        default=None, description="Bearer token required over HTTP transport (supports ${ENV})."
    )


class ParamSpec(BaseModel):
    """A value the assistant supplies to a source (``{name}`` in its url/headers/query/body)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: str = ""
    required: bool = True
    default: Any = None


class SourceConfig(BaseModel):
    """One ``[sources.NAME]`` table: a request template plus its pagination."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    url: str
    method: Literal["GET", "POST", "PUT", "PATCH", "QUERY"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str | int | float | bool] = Field(default_factory=dict)
    body: Any = None
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    records: str | None = None
    max_page_size: int | None = Field(default=None, ge=1)
    pagination: SourcePagination = Field(default_factory=AutoPagination)
    concurrency: int = Field(default=4, ge=1, le=64)
    rate_limit: float | None = Field(default=None, gt=0)
    prefetch: int = Field(default=0, ge=0, le=32)

    @model_validator(mode="before")
    @classmethod
    def _expand_preset(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and "preset" in data:
            from mcp_paginate.presets import expand_preset

            context = info.context or {}
            return expand_preset(data, context.get("environ", os.environ))
        return data

    @field_validator("params", mode="before")
    @classmethod
    def _params_shorthand(cls, value: Any) -> Any:
        # params = { owner = "Repository owner" } is shorthand for a required param.
        if isinstance(value, dict):
            return {k: ({"description": v} if isinstance(v, str) else v) for k, v in value.items()}
        return value

    @field_validator("records")
    @classmethod
    def _records_path(cls, value: str | None) -> str | None:
        return check_path(value)

    @model_validator(mode="after")
    def _placeholders_declared(self) -> SourceConfig:
        # The url's placeholders are params, or paging values filled by in='path' options.
        paging = {placeholder for _, placeholder in path_options(self.pagination)}
        used = set(PLACEHOLDER.findall(self.url)) - paging
        for text in _strings(self.headers, self.query, self.body):
            used.update(PLACEHOLDER.findall(text))
        missing = sorted(used - set(self.params))
        if missing:
            raise ValueError(
                f"placeholders {missing} are used but not declared in params; add them to params"
            )
        check_path_options(self.url, self.pagination, self.params)
        return self

    def env_references(self) -> set[str]:
        """Environment variables this source reads at request time."""
        return env_references(_strings(self.url, self.headers, self.query, self.body, self.params))

    def check_params(self, params: Mapping[str, Any] | None) -> dict[str, Any]:
        """Check the assistant's params against the declared ones; return those given.

        Defaults are not filled here: they may hold ``${ENV}`` references, which are
        expanded only at request time and never stored.
        """
        given = {k: v for k, v in (params or {}).items() if v is not None}
        unknown = sorted(set(given) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise ParamsError(
                f"source {self.name!r} has no params {unknown}; its params are: {known}",
                source=self.name,
                unknown=unknown,
                known=sorted(self.params),
            )
        for key, spec in self.params.items():
            if key not in given and spec.default is None and spec.required:
                raise ParamsError(
                    f"source {self.name!r} needs param {key!r} ({spec.description or 'no description'}); "
                    "pass it in params",
                    source=self.name,
                    missing=key,
                    description=spec.description,
                )
        return given

    def secret_header_names(self) -> set[str]:
        """Headers whose value comes from the environment: treated as credentials."""
        return {k.lower() for k, v in self.headers.items() if ENV_REFERENCE.search(v)}


class AppConfig(BaseModel):
    """The whole config: server settings and sources (built-ins included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: ServerSettings = Field(default_factory=ServerSettings)
    sources: dict[str, SourceConfig] = Field(default_factory=dict)
    path: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _name_sources(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("sources"), dict):
            data = dict(data)
            data["sources"] = {
                name: ({**table, "name": name} if isinstance(table, dict) else table)
                for name, table in data["sources"].items()
            }
        return data


def check_path_options(url: str, pagination: BaseModel, params: Collection[str] | None) -> None:
    """Check that pagination's ``in='path'`` options fit ``url``: each names a ``{placeholder}``
    in its path, no two the same one, none that is also a param. With ``params`` (a source),
    also that every placeholder of the url is a param or filled by such an option.

    Raises:
        ValueError: what does not fit, naming the pagination field and the placeholder.
    """
    in_url = set(PLACEHOLDER.findall(url))
    try:
        in_path = set(PLACEHOLDER.findall(urlsplit(url).path))
    except ValueError:
        return  # a malformed url (``http://[::1/``): the request's own URL checks refuse it, saying why
    filled: dict[str, str] = {}
    for field_name, placeholder in path_options(pagination):
        where = (
            f"pagination.{field_name} is in='path' with name {placeholder!r}, "
            f"but the url has no {{{placeholder}}}"
        )
        if placeholder in filled:
            raise ValueError(
                f"pagination.{filled[placeholder]} and pagination.{field_name} both fill {{{placeholder}}}; "
                "give each its own placeholder"
            )
        if placeholder not in in_url:
            raise ValueError(f"{where} placeholder; put {{{placeholder}}} in the url where the value goes")
        if placeholder not in in_path:
            raise ValueError(f"{where} in its path; for a query parameter use in='query'")
        if params is not None and placeholder in params:
            raise ValueError(
                f"{{{placeholder}}} is both a param and pagination.{field_name} (in='path'); "
                "rename one of them"
            )
        filled[placeholder] = field_name
    unfilled = sorted(in_url - set(params) - set(filled)) if params is not None else []
    if unfilled:
        raise ValueError(
            f"the url's {{{unfilled[0]}}} is filled by no request option with in='path' and is not a "
            f"param; give the pagination a request option {{in='path', name='{unfilled[0]}'}}"
        )


def default_config_path(environ: Mapping[str, str] | None = None) -> Path | None:
    """``$MCP_PAGINATE_CONFIG``, else ``~/.config/mcp-paginate/config.toml`` if it exists."""
    environment = os.environ if environ is None else environ
    if environment.get("MCP_PAGINATE_CONFIG"):
        return Path(environment["MCP_PAGINATE_CONFIG"]).expanduser()
    candidate = Path("~/.config/mcp-paginate/config.toml").expanduser()
    return candidate if candidate.is_file() else None


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> AppConfig:
    """Read and validate a config file (or the built-in defaults when path is None).

    Raises:
        ConfigError: the file is missing, not TOML, or invalid; the message names the
            file, the source and the field.
    """
    from mcp_paginate.presets import builtin_sources

    environment = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    where = "built-in defaults"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file {where} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {where}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"config file {where} is not valid TOML: {exc}") from None
    sources = dict(builtin_sources(environment))
    sources.update(data.get("sources") or {})
    data = {**data, "sources": sources, "path": None if path is None else str(path)}
    try:
        return AppConfig.model_validate(data, context={"environ": environment})
    except ValidationError as exc:
        raise ConfigError(f"invalid config in {where}:\n{_describe(exc)}") from None


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors():
        location = list(error["loc"])
        # Drop pydantic's union branch labels (e.g. 'cursor', 'function-after[...]').
        parts = [str(p) for p in location if not str(p).startswith(("function-", "tagged-union"))]
        if len(parts) >= 2 and parts[0] == "sources":
            label = f"[sources.{parts[1]}] field {'.'.join(parts[2:]) or '(table)'}"
        else:
            label = f"field {'.'.join(parts) or '(top level)'}"
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"  {label}: {message}")
    return "\n".join(lines)


def _strings(*values: Any) -> list[str]:
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, str):
            found.append(value)
        elif isinstance(value, Mapping):
            for key, item in value.items():
                walk(item)
                if isinstance(key, str):
                    found.append(key)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, BaseModel):
            walk(value.model_dump())

    for value in values:
        walk(value)
    return found
